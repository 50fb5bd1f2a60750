// The camera map. With Leaflet (served from node_modules): a dark coordinate grid drawn on
// canvas tiles, so it works with no network at all, and the configured tile server
// (`map.tiles` in vigil.yml, none by default: no third party learns anything) as the street
// map. A tile server other than this one is named on the map (it learns the operator's
// address and where the map looks); when its tiles cannot be loaded the map says so and
// shows the grid. Without Leaflet: a plain SVG grid with the same markers.
import { clock, el, fmtFps } from "./util.js";

// No tile at all within this long: the tile server is taken as unreachable (a firewall that
// drops packets gives no error for minutes).
const TILE_WAIT_MS = 8000;
const SVG = "http://www.w3.org/2000/svg";

/** A "nice" step (1, 2 or 5 times a power of ten) near `raw`. */
export function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * power;
}

const decimals = (step) => Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
const fmtLat = (v, d) => `${Math.abs(v).toFixed(d)}°${v >= 0 ? "N" : "S"}`;
const fmtLon = (v, d) => `${Math.abs(v).toFixed(d)}°${v >= 0 ? "E" : "W"}`;

function placed(cameras) {
  return cameras.filter((c) => typeof c.lat === "number" && typeof c.lon === "number");
}

function markerTitle(cam, health) {
  if (!health) return cam.name;
  if (health.online) return `${cam.name}: online, ${fmtFps(health.fps)} fps`;
  const since = health.offline_since ? ` since ${clock(health.offline_since)}` : "";
  return `${cam.name}: OFFLINE${since}${health.error ? ` (${health.error})` : ""}`;
}

function markerNode(cam) {
  return el(
    "div",
    { class: "cam-marker unknown", dataset: { camera: cam.id } },
    el("span", { class: "cam-pin" }),
    el("span", { class: "cam-name" }, cam.name),
  );
}

function setMarkerState(node, cam, health) {
  node.classList.toggle("online", !!health && health.online);
  node.classList.toggle("offline", !!health && !health.online);
  node.classList.toggle("unknown", !health);
  const title = markerTitle(cam, health);
  node.title = title;
  return title;
}

function flashNode(node) {
  node.classList.remove("flash");
  void node.offsetWidth; // restart the animation
  node.classList.add("flash");
}

/* ---------------------------------------------------------------- Leaflet */

/** Grid steps (degrees) at zoom z: a major line every 150 to 400 pixels, the same
 * ground distance north-south as east-west near the site (refLat), the same on every tile. */
function gridSteps(z, cosRef) {
  const lon = niceStep(360 / 2 ** z / 1.5);
  return { lon, lat: niceStep(lon * cosRef) };
}

function gridLayer(L, cosRef) {
  const Grid = L.GridLayer.extend({
    createTile(coords) {
      const size = this.getTileSize();
      const ratio = window.devicePixelRatio || 1;
      const canvas = document.createElement("canvas");
      canvas.width = size.x * ratio;
      canvas.height = size.y * ratio;
      const ctx = canvas.getContext("2d");
      ctx.scale(ratio, ratio);
      const map = this._map;
      const origin = coords.scaleBy(size);
      const nw = map.unproject(origin, coords.z);
      const se = map.unproject(origin.add(size), coords.z);
      ctx.fillStyle = "#0b1118";
      ctx.fillRect(0, 0, size.x, size.y);
      const steps = gridSteps(coords.z, cosRef);
      const line = (x0, y0, x1, y1, major) => {
        ctx.strokeStyle = major ? "rgba(120, 150, 180, 0.30)" : "rgba(120, 150, 180, 0.10)";
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(Math.round(x0) + 0.5, Math.round(y0) + 0.5);
        ctx.lineTo(Math.round(x1) + 0.5, Math.round(y1) + 0.5);
        ctx.stroke();
      };
      const minorLon = steps.lon / 5;
      for (let k = Math.ceil(nw.lng / minorLon); k * minorLon <= se.lng; k++) {
        const x = map.project(L.latLng(nw.lat, k * minorLon), coords.z).x - origin.x;
        line(x, 0, x, size.y, k % 5 === 0);
      }
      const minorLat = steps.lat / 5;
      for (let k = Math.ceil(se.lat / minorLat); k * minorLat <= nw.lat; k++) {
        const y = map.project(L.latLng(k * minorLat, nw.lng), coords.z).y - origin.y;
        line(0, y, size.x, y, k % 5 === 0);
      }
      return canvas;
    },
  });
  return new Grid({ maxZoom: 22, attribution: "coordinate grid" });
}

/** Labels of the grid's major lines along the map's top and left edges. */
function gridLabels(L, map, cosRef) {
  const box = L.DomUtil.create("div", "grid-labels", map.getContainer());
  function draw() {
    const steps = gridSteps(Math.round(map.getZoom()), cosRef);
    const b = map.getBounds();
    const size = map.getSize();
    const labels = [];
    const dLon = decimals(steps.lon);
    for (let k = Math.ceil(b.getWest() / steps.lon); k * steps.lon <= b.getEast(); k++) {
      const x = map.latLngToContainerPoint([b.getNorth(), k * steps.lon]).x;
      if (x < 40 || x > size.x - 40) continue;
      labels.push(L.DomUtil.create("span", "gl gl-lon"));
      labels.at(-1).style.left = `${Math.round(x)}px`;
      labels.at(-1).textContent = fmtLon(k * steps.lon, dLon);
    }
    const dLat = decimals(steps.lat);
    for (let k = Math.ceil(b.getSouth() / steps.lat); k * steps.lat <= b.getNorth(); k++) {
      const y = map.latLngToContainerPoint([k * steps.lat, b.getWest()]).y;
      if (y < 24 || y > size.y - 24) continue;
      labels.push(L.DomUtil.create("span", "gl gl-lat"));
      labels.at(-1).style.top = `${Math.round(y)}px`;
      labels.at(-1).textContent = fmtLat(k * steps.lat, dLat);
    }
    box.replaceChildren(...labels);
  }
  map.on("move zoom resize", draw);
  return {
    draw,
    show(on) {
      box.hidden = !on;
    },
  };
}

/** "tile.openstreetmap.org" (with ":port" when it has one) from a tile URL template. */
export function tileHost(template) {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]+)/i.exec((template || "").replace("{s}.", ""));
  return m ? m[1].replace(/^[^@]*@/, "").replace(/[{}]/g, "") : "";
}

/** Whether tiles from `template` come from another server than the page's own. */
function thirdParty(template) {
  try {
    return new URL(template.replace("{s}.", "").replace(/[{}]/g, "")).origin !== location.origin;
  } catch {
    return true;
  }
}

/** The street map from `map.tiles`, made the base layer; the grid stays a choice. If its
 * tiles fail to load, `notice` says so and the grid comes back. */
function streetLayer(L, map, grid, labels, container, notice) {
  const template = container.dataset.tiles;
  const host = tileHost(template);
  const source = el(
    "span",
    { class: "tile-source", title: "Your browser loads the map's background from this server, which learns your address and where the map looks." },
    `map tiles: ${host}`,
  );
  const street = L.tileLayer(template, {
    maxZoom: 22,
    maxNativeZoom: Number(container.dataset.maxNativeZoom) || 19,
    className: "street-tiles",
    referrerPolicy: "strict-origin-when-cross-origin",
    attribution: [container.dataset.attribution, thirdParty(template) ? source.outerHTML : ""].filter(Boolean).join(" · "),
  });
  let loaded = 0;
  let failed = false;
  let timer = null;
  const fail = (why) => {
    clearTimeout(timer);
    if (failed || !map.hasLayer(street)) return;
    failed = true;
    notice.textContent = loaded
      ? `Some map tiles could not be loaded from ${host}${why}.`
      : `Map tiles could not be loaded from ${host}${why}; the map shows the camera positions on the coordinate grid instead.`;
    notice.hidden = false;
    notice.dataset.kind = "tiles";
    if (!loaded) {
      map.removeLayer(street);
      grid.addTo(map);
    }
  };
  street.on("tileload", () => {
    loaded += 1;
    clearTimeout(timer);
  });
  street.on("tileerror", () => fail(""));
  street.on("add", () => {
    labels.show(false);
    failed = false;
    clearTimeout(timer);
    if (!loaded) timer = setTimeout(() => fail(` (no answer within ${TILE_WAIT_MS / 1000} s)`), TILE_WAIT_MS);
  });
  street.on("remove", () => {
    labels.show(true);
    clearTimeout(timer);
  });
  L.control.layers({ "Coordinate grid": grid, "Street map": street }, {}, { position: "topright" }).addTo(map);
  map.removeLayer(grid);
  street.addTo(map);
  return street;
}

function leafletMap(L, container, notice, cameras, onSelect) {
  const onMap = placed(cameras);
  const refLat = onMap.length ? onMap.reduce((s, c) => s + c.lat, 0) / onMap.length : 0;
  const map = L.map(container, {
    zoomControl: false,
    attributionControl: true,
    maxZoom: 22,
    minZoom: 2,
    zoomSnap: 0.5,
    keyboard: true,
  });
  map.attributionControl.setPrefix("Leaflet");
  L.control.zoom({ position: "topright" }).addTo(map);
  const cosRef = Math.cos((refLat * Math.PI) / 180) || 1;
  const grid = gridLayer(L, cosRef).addTo(map);
  const labels = gridLabels(L, map, cosRef);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);

  const markers = new Map();
  for (const cam of onMap) {
    const node = markerNode(cam);
    const marker = L.marker([cam.lat, cam.lon], {
      icon: L.divIcon({ html: node, className: "cam-icon", iconSize: [14, 14], iconAnchor: [7, 7] }),
      title: cam.name,
      alt: `Camera ${cam.name}`,
      keyboard: true,
      riseOnHover: true,
    }).addTo(map);
    marker.on("click", () => onSelect(cam.id));
    markers.set(cam.id, { cam, node, marker });
  }
  if (onMap.length === 1) map.setView([onMap[0].lat, onMap[0].lon], 18);
  else if (onMap.length > 1) {
    map.fitBounds(L.latLngBounds(onMap.map((c) => [c.lat, c.lon])), {
      paddingTopLeft: [60, 50],
      paddingBottomRight: [110, 50],
      maxZoom: 19,
    });
  } else map.setView([0, 0], 2);
  labels.draw();
  // The panel may be laid out after the map was made: measure again once it settles.
  new ResizeObserver(() => map.invalidateSize()).observe(container);

  if (container.dataset.tiles) streetLayer(L, map, grid, labels, container, notice);

  return {
    kind: "leaflet",
    setHealth(id, health) {
      const m = markers.get(id);
      if (!m) return;
      const title = setMarkerState(m.node, m.cam, health);
      const icon = m.marker.getElement();
      if (icon) icon.title = title;
    },
    select(id) {
      for (const [cid, m] of markers) m.node.classList.toggle("selected", cid === id);
      const m = markers.get(id);
      if (m) map.panTo(m.marker.getLatLng(), { animate: true });
    },
    flash(id) {
      const m = markers.get(id);
      if (m) flashNode(m.node);
    },
  };
}

/* ---------------------------------------------------------------- fallback */

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function plainMap(container, cameras, onSelect) {
  const onMap = placed(cameras);
  const markers = new Map();
  const svg = svgEl("svg", { class: "plain-map", role: "img", "aria-label": "Camera positions on a coordinate grid" });
  container.classList.add("plain");
  container.append(svg);
  const states = new Map();

  function draw() {
    const w = container.clientWidth || 300;
    const h = container.clientHeight || 200;
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.replaceChildren();
    markers.clear();
    if (!onMap.length) return;
    const lats = onMap.map((c) => c.lat);
    const lons = onMap.map((c) => c.lon);
    const lat0 = (Math.min(...lats) + Math.max(...lats)) / 2;
    const lon0 = (Math.min(...lons) + Math.max(...lons)) / 2;
    const cos = Math.cos((lat0 * Math.PI) / 180) || 1;
    const spanX = Math.max((Math.max(...lons) - Math.min(...lons)) * cos, 0.0004);
    const spanY = Math.max(Math.max(...lats) - Math.min(...lats), 0.0004);
    const scale = Math.min((w * 0.7) / spanX, (h * 0.7) / spanY); // pixels per degree (of latitude)
    const x = (lon) => w / 2 + (lon - lon0) * cos * scale;
    const y = (lat) => h / 2 - (lat - lat0) * scale;
    const lonAt = (px) => lon0 + (px - w / 2) / (cos * scale);
    const latAt = (py) => lat0 - (py - h / 2) / scale;
    const step = niceStep(120 / scale);
    const d = decimals(step);
    const grid = svgEl("g", { class: "plain-grid" });
    for (let k = Math.ceil(lonAt(0) / step); k * step <= lonAt(w); k++) {
      const px = x(k * step);
      grid.append(svgEl("line", { x1: px, y1: 0, x2: px, y2: h }));
      const t = svgEl("text", { x: px + 3, y: 12 });
      t.textContent = fmtLon(k * step, d);
      grid.append(t);
    }
    for (let k = Math.ceil(latAt(h) / step); k * step <= latAt(0); k++) {
      const py = y(k * step);
      grid.append(svgEl("line", { x1: 0, y1: py, x2: w, y2: py }));
      const t = svgEl("text", { x: 3, y: py - 3 });
      t.textContent = fmtLat(k * step, d);
      grid.append(t);
    }
    svg.append(grid);
    for (const cam of onMap) {
      const g = svgEl("g", {
        class: "plain-marker unknown",
        transform: `translate(${x(cam.lon)},${y(cam.lat)})`,
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
      svg.append(g);
      markers.set(cam.id, { cam, node: g, title });
      apply(cam.id);
    }
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
  };
}

/**
 * The map in `container`; `notice` says when Leaflet is missing or map tiles cannot be
 * loaded. Returns
 * {kind, setHealth(cameraId, health), select(cameraId), flash(cameraId)}.
 */
export function createMap(container, notice, cameras, onSelect) {
  const L = window.L;
  if (L && typeof L.map === "function") {
    return leafletMap(L, container, notice, cameras, onSelect);
  }
  notice.textContent =
    "Map library (Leaflet) is not installed on this server: a plain grid is shown. Run `make setup` (npm ci) to install it.";
  notice.hidden = false;
  return plainMap(container, cameras, onSelect);
}
