// The camera map. With Leaflet (served from node_modules): a dark coordinate grid drawn on
// canvas tiles, so it works with no network at all, and the configured tile server
// (`map.tiles` in vigil.yml, none by default: no third party learns anything) as the street
// map. A tile server other than this one is named on the map (it learns the operator's
// address and where the map looks); when its tiles cannot be loaded the map says so and
// shows the grid. Without Leaflet: a plain SVG grid with the same markers (plainmap.js).
// Both give an overlay on which units and incidents are drawn (units.js, incidents.js).
import { decimals, flashNode, fmtLat, fmtLon, markerTitle, niceStep, placed, pointNode, setPoint } from "./maputil.js";
import { plainMap } from "./plainmap.js";
import { el } from "./util.js";

// No tile at all within this long: the tile server is taken as unreachable (a firewall that
// drops packets gives no error for minutes).
const TILE_WAIT_MS = 8000;

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

/** Labelled points, lines and rings drawn over the map by key (units, incidents); each call
 * with a known key changes that shape in place (a moving unit keeps its marker). */
function leafletOverlay(L, map) {
  const shapes = new Map(); // key -> {kind, layer, node?}
  const pane = map.createPane("vigil-points"); // above the cameras, below the controls
  pane.style.zIndex = 640;
  const set = (key, kind, make, update) => {
    const known = shapes.get(key);
    if (known && known.kind === kind) return update(known);
    if (known) known.layer.remove();
    shapes.set(key, { kind, ...make() });
  };
  const pathClass = (shape, className) => shape.layer.getElement()?.setAttribute("class", `vigil-path ${className}`);
  return {
    point(key, spec) {
      set(key, "point", () => {
        const node = pointNode(spec);
        const icon = L.divIcon({ html: node, className: "point-icon", iconSize: [12, 12], iconAnchor: [6, 6] });
        return { node, layer: L.marker([spec.lat, spec.lon], { icon, pane: "vigil-points", keyboard: false }).addTo(map) };
      }, (shape) => {
        setPoint(shape.node, spec);
        shape.layer.setLatLng([spec.lat, spec.lon]);
      });
    },
    line(key, spec) {
      set(key, "line", () => ({ layer: L.polyline(spec.points, { className: `vigil-path ${spec.className}`, interactive: false }).addTo(map) }), (shape) => {
        shape.layer.setLatLngs(spec.points);
        pathClass(shape, spec.className);
      });
    },
    ring(key, spec) {
      const make = () => L.circle([spec.lat, spec.lon], { radius: spec.radiusM, className: `vigil-path ${spec.className}`, interactive: false });
      set(key, "ring", () => ({ layer: make().addTo(map) }), (shape) => {
        shape.layer.setLatLng([spec.lat, spec.lon]).setRadius(spec.radiusM);
        pathClass(shape, spec.className);
      });
    },
    remove(key) {
      shapes.get(key)?.layer.remove();
      shapes.delete(key);
    },
    show(lat, lon) {
      map.panTo([lat, lon], { animate: true });
    },
    fit(points) {
      if (points.length) map.fitBounds(L.latLngBounds(points), { padding: [44, 44], maxZoom: 18 });
    },
  };
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
    overlay: leafletOverlay(L, map),
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

/**
 * The map in `container`; `notice` says when Leaflet is missing or map tiles cannot be
 * loaded. Returns {kind, setHealth(cameraId, health), select(cameraId), flash(cameraId),
 * overlay: {point(key, {lat, lon, className, label, title, dataset, onClick}),
 * line(key, {points: [[lat, lon]], className}), ring(key, {lat, lon, radiusM, className}),
 * remove(key), show(lat, lon), fit([[lat, lon]])}}.
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
