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
