// Small helpers shared by the pages: DOM building (never innerHTML with data), time formats
// (always with their zone).

import { EVENT_TYPES } from "./vocabulary.js";

/** Make an element: el("span", {class: "x", title: "y"}, "text", childNode, ...). Attributes,
 * data- values and children that are null, undefined or false are left out: a missing value
 * never shows as "null" or "undefined". */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (missing(value)) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") {
      for (const [name, v] of Object.entries(value)) if (!missing(v)) node.dataset[name] = String(v);
    } else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Replace `node`'s children, leaving out null, undefined and false as el() does (the DOM's
 * own replaceChildren() would write them as the text "null"). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function missing(value) {
  return value === null || value === undefined || value === false;
}

function append(node, children) {
  for (const child of children) {
    if (missing(child)) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

const pad = (n) => String(n).padStart(2, "0");

// Every time the pages show goes through clock(), stamp() or shortTime(): each ends with the
// zone it is in (the browser's), so "14:03:07 UTC+1" is never mistaken for server or UTC time.
const hms = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** The browser's time zone at `d` as its offset from UTC: "UTC", "UTC+1", "UTC+5:30", "UTC-3"
 * (an offset, not a name like "CST" that means different zones in different places). */
export function zoneLabel(d = new Date()) {
  const east = -d.getTimezoneOffset(); // minutes ahead of UTC
  if (!east) return "UTC";
  const a = Math.abs(east);
  return `UTC${east > 0 ? "+" : "-"}${Math.floor(a / 60)}${a % 60 ? `:${pad(a % 60)}` : ""}`;
}

/** "14:03:07 UTC+1": the time of day in the browser's zone, from an ISO string, a Date or
 * UNIX seconds; "–" when there is none. */
export function clock(value) {
  const d = toDate(value);
  return d ? `${hms(d)} ${zoneLabel(d)}` : "–";
}

/** "2024-05-01 14:03:07 UTC+1". */
export function stamp(value) {
  const d = toDate(value);
  return d ? `${ymd(d)} ${hms(d)} ${zoneLabel(d)}` : "–";
}

/** A time shown as clock() when it is today, as stamp() otherwise. */
export function shortTime(value) {
  const d = toDate(value);
  if (!d) return "–";
  return d.toDateString() === new Date().toDateString() ? clock(d) : stamp(d);
}

export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = value instanceof Date ? value : new Date(typeof value === "number" ? value * 1000 : value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The value of an <input type="datetime-local"> for a Date (local time, seconds). */
export function toLocalInput(d) {
  return `${ymd(d)}T${hms(d)}`;
}

// Event types and their titles come from the server (vigil/domain.py), not from a copy here.
const TYPES = Object.fromEntries(EVENT_TYPES.map((t) => [t.value, t.title]));

export function typeName(type) {
  return TYPES[type] || String(type || "").replace(/_/g, " ");
}

/** A plate read's plate (normalised text), or null for any other event. */
export function plateOf(item) {
  const plate = item.attributes?.plate;
  return typeof plate === "string" && plate ? plate : null;
}

/** Where an event happened in its picture: "zone table", "line middle ↓ in", and what was
 * measured or read there (the plate unless `plate` is false: a caller that shows it apart). */
export function where(item, { plate = true } = {}) {
  const parts = [];
  if (item.zone) parts.push(`zone ${item.zone}`);
  if (item.line) parts.push(`line ${item.line}`);
  if (item.direction) parts.push(item.direction === "in" ? "→ in" : item.direction === "out" ? "← out" : item.direction);
  const speed = item.attributes?.speed_kmh;
  const limit = item.attributes?.limit_kmh;
  if (Number.isFinite(speed)) parts.push(`${speed} km/h${Number.isFinite(limit) ? ` (limit ${limit})` : ""}`);
  if (plate && plateOf(item)) parts.push(`plate ${plateOf(item)}`);
  return parts.join(" ");
}

export function fmtFps(fps) {
  return Number.isFinite(fps) ? fps.toFixed(1) : "–";
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

/** A file's bytes as base64 (read with FileReader), for a JSON body. */
export function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result); // data:<type>;base64,<data>
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(reader.error || new Error(`could not read ${file.name}`));
    reader.readAsDataURL(file);
  });
}
