// The map without Leaflet (not installed on this server): a plain SVG grid fitted to the
// cameras, with the same camera markers, and units and incidents drawn on it as points,
// lines and rings (the overlay every map gives; see map.js).
import { decimals, flashNode, fmtLat, fmtLon, markerTitle, niceStep, placed } from "./maputil.js";

const SVG = "http://www.w3.org/2000/svg";
const M_PER_DEG = 111_195; // metres per degree of latitude

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Turns (lat, lon) into pixels of a w x h picture that shows `onMap` (cameras). */
function projection(onMap, w, h) {
  const lats = onMap.map((c) => c.lat);
  const lons = onMap.map((c) => c.lon);
  const lat0 = lats.length ? (Math.min(...lats) + Math.max(...lats)) / 2 : 0;
  const lon0 = lons.length ? (Math.min(...lons) + Math.max(...lons)) / 2 : 0;
  const cos = Math.cos((lat0 * Math.PI) / 180) || 1;
  const spanX = lons.length ? Math.max((Math.max(...lons) - Math.min(...lons)) * cos, 0.0004) : 0.004;
  const spanY = lats.length ? Math.max(Math.max(...lats) - Math.min(...lats), 0.0004) : 0.004;
  const scale = Math.min((w * 0.7) / spanX, (h * 0.7) / spanY); // pixels per degree (of latitude)
  return {
    scale,
    x: (lon) => w / 2 + (lon - lon0) * cos * scale,
    y: (lat) => h / 2 - (lat - lat0) * scale,
    lonAt: (px) => lon0 + (px - w / 2) / (cos * scale),
    latAt: (py) => lat0 - (py - h / 2) / scale,
  };
}

function drawGrid(p, w, h) {
  const step = niceStep(120 / p.scale);
  const d = decimals(step);
  const grid = svgEl("g", { class: "plain-grid" });
  for (let k = Math.ceil(p.lonAt(0) / step); k * step <= p.lonAt(w); k++) {
    const px = p.x(k * step);
    grid.append(svgEl("line", { x1: px, y1: 0, x2: px, y2: h }));
    const t = svgEl("text", { x: px + 3, y: 12 });
    t.textContent = fmtLon(k * step, d);
    grid.append(t);
  }
  for (let k = Math.ceil(p.latAt(h) / step); k * step <= p.latAt(0); k++) {
    const py = p.y(k * step);
    grid.append(svgEl("line", { x1: 0, y1: py, x2: w, y2: py }));
    const t = svgEl("text", { x: 3, y: py - 3 });
    t.textContent = fmtLat(k * step, d);
    grid.append(t);
  }
  return grid;
}

function cameraMarker(cam, p, onSelect) {
  const g = svgEl("g", {
    class: "plain-marker unknown",
    transform: `translate(${p.x(cam.lon)},${p.y(cam.lat)})`,
    tabindex: 0,
    role: "button",
    "aria-label": `Camera ${cam.name}`,
    "data-camera": cam.id,
  });
  g.append(svgEl("circle", { r: 6 }));
  const label = svgEl("text", { x: 10, y: 4 });
  label.textContent = cam.name;
  const title = svgEl("title");
  g.append(label, title);
  g.addEventListener("click", () => onSelect(cam.id));
  g.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onSelect(cam.id);
    }
  });
  return { g, title };
}

/** One overlay shape (kept as its spec, drawn again with every redraw). */
function shapeNode(shape, p) {
  const { kind, spec } = shape;
  if (kind === "line") {
    const points = spec.points.map(([lat, lon]) => `${p.x(lon)},${p.y(lat)}`).join(" ");
    return svgEl("polyline", { class: `plain-line ${spec.className}`, points });
  }
  if (kind === "ring") {
    const r = Math.max(1, (spec.radiusM / M_PER_DEG) * p.scale);
    return svgEl("circle", { class: `plain-ring ${spec.className}`, cx: p.x(spec.lon), cy: p.y(spec.lat), r });
  }
  const g = svgEl("g", { class: `plain-point ${spec.className}`, transform: `translate(${p.x(spec.lon)},${p.y(spec.lat)})` });
  for (const [k, v] of Object.entries(spec.dataset || {})) g.dataset[k] = String(v);
  const label = svgEl("text", { x: 9, y: 4 });
  label.textContent = spec.label;
  const title = svgEl("title");
  title.textContent = spec.title || spec.label;
  g.append(svgEl("circle", { r: 5 }), label, title);
  if (spec.onClick) {
    g.setAttribute("role", "button");
    g.setAttribute("tabindex", "0");
    g.addEventListener("click", spec.onClick);
  }
  return g;
}

export function plainMap(container, cameras, onSelect) {
  const onMap = placed(cameras);
  const markers = new Map();
  const svg = svgEl("svg", { class: "plain-map", role: "img", "aria-label": "Camera positions on a coordinate grid" });
  const layer = svgEl("g", { class: "plain-overlay" });
  container.classList.add("plain");
  container.append(svg);
  const states = new Map();
  const shapes = new Map(); // key -> {kind, spec}
  let proj = null;

  function drawShapes() {
    if (!proj) return;
    layer.replaceChildren(...[...shapes.values()].sort((a, b) => (a.kind === "point") - (b.kind === "point")).map((s) => shapeNode(s, proj)));
  }

  function draw() {
    const w = container.clientWidth || 300;
    const h = container.clientHeight || 200;
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.replaceChildren();
    markers.clear();
    proj = projection(onMap, w, h);
    svg.append(drawGrid(proj, w, h));
    for (const cam of onMap) {
      const { g, title } = cameraMarker(cam, proj, onSelect);
      svg.append(g);
      markers.set(cam.id, { cam, node: g, title });
      apply(cam.id);
    }
    svg.append(layer); // units and incidents over the cameras
    drawShapes();
  }

  function apply(id) {
    const m = markers.get(id);
    if (!m) return;
    const health = states.get(id);
    m.node.classList.toggle("online", !!health && health.online);
    m.node.classList.toggle("offline", !!health && !health.online);
    m.node.classList.toggle("unknown", !health);
    m.title.textContent = markerTitle(m.cam, health);
  }

  let pending = false;
  const put = (key, kind, spec) => {
    shapes.set(key, { kind, spec });
    if (pending) return;
    pending = true; // many changes at once (a load): one redraw
    queueMicrotask(() => {
      pending = false;
      drawShapes();
    });
  };

  new ResizeObserver(draw).observe(container);
  draw();
  return {
    kind: "plain",
    setHealth(id, health) {
      states.set(id, health);
      apply(id);
    },
    select(id) {
      for (const [cid, m] of markers) m.node.classList.toggle("selected", cid === id);
    },
    flash(id) {
      const m = markers.get(id);
      if (m) flashNode(m.node);
    },
    overlay: {
      point: (key, spec) => put(key, "point", spec),
      line: (key, spec) => put(key, "line", spec),
      ring: (key, spec) => put(key, "ring", spec),
      remove(key) {
        if (shapes.delete(key)) drawShapes();
      },
      show() {},
      fit() {}, // the plain grid always shows the cameras
    },
  };
}
