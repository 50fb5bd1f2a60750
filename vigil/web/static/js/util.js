// Small helpers shared by the pages: DOM building (never innerHTML with data), time formats.

import { EVENT_TYPES } from "./vocabulary.js";

/** Make an element: el("span", {class: "x", title: "y"}, "text", childNode, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

const pad = (n) => String(n).padStart(2, "0");

/** "14:03:07" in local time, from an ISO string, a Date or UNIX seconds. */
export function clock(value) {
  const d = toDate(value);
  if (!d) return "–";
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "2024-05-01 14:03:07" in local time. */
export function stamp(value) {
  const d = toDate(value);
  if (!d) return "–";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(d)}`;
}

/** A time shown as hh:mm:ss when it is today, with the date otherwise. */
export function shortTime(value) {
  const d = toDate(value);
  if (!d) return "–";
  const today = new Date();
  return d.toDateString() === today.toDateString() ? clock(d) : stamp(d);
}

export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = value instanceof Date ? value : new Date(typeof value === "number" ? value * 1000 : value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The value of an <input type="datetime-local"> for a Date (local time, seconds). */
export function toLocalInput(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${clock(d)}`;
}

// Event types and their titles come from the server (vigil/domain.py), not from a copy here.
const TYPES = Object.fromEntries(EVENT_TYPES.map((t) => [t.value, t.title]));

export function typeName(type) {
  return TYPES[type] || String(type || "").replace(/_/g, " ");
}

/** Where an event happened in its picture: "zone table", "line middle ↓ in". */
export function where(item) {
  const parts = [];
  if (item.zone) parts.push(`zone ${item.zone}`);
  if (item.line) parts.push(`line ${item.line}`);
  if (item.direction) parts.push(item.direction === "in" ? "→ in" : item.direction === "out" ? "← out" : item.direction);
  const speed = item.attributes?.speed_kmh;
  if (speed !== undefined) parts.push(`${speed} km/h (limit ${item.attributes.limit_kmh})`);
  return parts.join(" ");
}

export function fmtFps(fps) {
  return typeof fps === "number" ? fps.toFixed(1) : "–";
}

/** Show a picture large in the page's lightbox dialog. */
export function showLightbox(src, caption) {
  const dialog = document.getElementById("lightbox");
  const img = document.getElementById("lightbox-img");
  if (!dialog || !img) return;
  img.src = src;
  img.alt = caption;
  document.getElementById("lightbox-caption").textContent = caption;
  if (!dialog.open) dialog.showModal();
}

// A filter form <-> its query: times travel as ISO 8601 (UTC), shown as local date-times.
export function filtersFromForm(form, fields) {
  const data = new FormData(form);
  const out = {};
  for (const key of fields) {
    const v = String(data.get(key) ?? "").trim();
    if (!v) continue;
    if (key === "since" || key === "until") {
      const d = toDate(v);
      if (d) out[key] = d.toISOString();
    } else out[key] = v;
  }
  return out;
}

export function formFromUrl(form, fields) {
  const params = new URLSearchParams(location.search);
  for (const key of fields) {
    const v = params.get(key);
    if (v === null || !form.elements[key]) continue;
    if (key === "since" || key === "until") {
      const d = toDate(v);
      if (d) form.elements[key].value = toLocalInput(d);
    } else form.elements[key].value = v;
  }
}
