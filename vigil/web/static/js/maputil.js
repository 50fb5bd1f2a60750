// What both maps share (Leaflet's and the plain SVG grid): grid steps and labels, camera
// marker titles and their flash, and the labelled points units and incidents are drawn as.
import { clock, el, fmtFps } from "./util.js";

/** A "nice" step (1, 2 or 5 times a power of ten) near `raw`. */
export function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * power;
}

export const decimals = (step) => Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
export const fmtLat = (v, d) => `${Math.abs(v).toFixed(d)}°${v >= 0 ? "N" : "S"}`;
export const fmtLon = (v, d) => `${Math.abs(v).toFixed(d)}°${v >= 0 ? "E" : "W"}`;

export function placed(cameras) {
  return cameras.filter((c) => typeof c.lat === "number" && typeof c.lon === "number");
}

export function markerTitle(cam, health) {
  if (!health) return cam.name;
  if (health.online) return `${cam.name}: online, ${fmtFps(health.fps)} fps`;
  const since = health.offline_since ? ` since ${clock(health.offline_since)}` : "";
  return `${cam.name}: OFFLINE${since}${health.error ? ` (${health.error})` : ""}`;
}

export function flashNode(node) {
  node.classList.remove("flash");
  void node.offsetWidth; // restart the animation
  node.classList.add("flash");
}

/** The HTML of a labelled point on the Leaflet map (a unit, an incident); `spec` is
 * {className, label, title, dataset, onClick}. setPoint() changes it in place. */
export function pointNode(spec) {
  const node = el(
    "div",
    { class: "map-point", role: spec.onClick ? "button" : null, tabindex: spec.onClick ? "0" : null },
    el("span", { class: "point-pin" }),
    el("span", { class: "point-label" }),
  );
  if (spec.onClick) {
    node.addEventListener("click", (e) => {
      e.stopPropagation();
      spec.onClick();
    });
    node.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        spec.onClick();
      }
    });
  }
  return setPoint(node, spec);
}

export function setPoint(node, { className, label, title, dataset = {} }) {
  node.setAttribute("class", `map-point ${className}`);
  for (const [k, v] of Object.entries(dataset)) node.dataset[k] = String(v);
  node.querySelector(".point-label").textContent = label;
  node.title = title || label;
  node.setAttribute("aria-label", title || label);
  return node;
}

const EARTH_R = 6_371_008.8; // mean Earth radius, metres (the server's vigil/geo/earth.py)
const RAD = Math.PI / 180;

/** The point `metres` from (lat, lon) along the compass bearing `bearingDeg` (a great
 * circle): where a lookout's sighting line reaches. */
export function destination(lat, lon, bearingDeg, metres) {
  const d = metres / EARTH_R;
  const t = bearingDeg * RAD;
  const p1 = lat * RAD;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(t));
  const l2 = lon * RAD + Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [p2 / RAD, (((l2 / RAD + 540) % 360) - 180)];
}

/** Metres between two [lat, lon] points (haversine). */
export function distanceM([lat1, lon1], [lat2, lon2]) {
  const a = Math.sin(((lat2 - lat1) * RAD) / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(((lon2 - lon1) * RAD) / 2) ** 2;
  return 2 * EARTH_R * Math.asin(Math.min(1, Math.sqrt(a)));
}
