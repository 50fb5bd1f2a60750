// Fire watch on the live map, as a fire lookout reads it: each camera that sees flame or smoke
// gives a bearing (its azimuth to the fire) drawn as a wedge of ± its uncertainty from the
// camera, and where two cameras' bearings cross the server's locator gives a fix, drawn as a
// labelled marker with its uncertainty circle. Loaded from GET /api/fire on start (and after
// a lost connection), kept current by the WebSocket: fire and smoke events carry their
// bearing, fire alerts and "fire_fix" messages their fix. The newest bearing of each camera
// is a wedge, the earlier ones of the window thin lines; everything fades with age and goes
// once older than the window. The alert queue shows a fire alert's bearing and fix
// (fireLines) and puts it on the map (Show on map).
import { get } from "./api.js";
import { destination, distanceM, fmtLat, fmtLon } from "./maputil.js";
import { clock, el, toDate, typeName } from "./util.js";

export const WINDOW_S = 600; // how long a bearing or fix stays on the map
const PRUNE_MS = 10_000;
const RANGE_M = 4000; // how far a bearing is drawn when nothing says how far the fire is
const ARC_STEPS = 8; // points along a wedge's far edge

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const timeMs = (v) => toDate(v)?.getTime() ?? 0;

/** A bearing record ({event_id, camera, label, time, from_lat, from_lon, bearing_deg,
 * bearing_sigma_deg, ground_lat?, ground_lon?}) from a stored fire or smoke event; null for
 * an event without a bearing. */
export function bearingOfEvent(ev) {
  const a = ev.attributes || {};
  if (num(a.bearing_deg) === null || num(a.from_lat) === null || num(a.from_lon) === null) return null;
  return {
    event_id: ev.id,
    camera: ev.camera,
    label: ev.type,
    time: ev.time,
    from_lat: a.from_lat,
    from_lon: a.from_lon,
    bearing_deg: a.bearing_deg,
    bearing_sigma_deg: num(a.bearing_sigma_deg) ?? 0,
    ground_lat: num(a.ground_lat),
    ground_lon: num(a.ground_lon),
  };
}

/** Whether a fix record has a place. */
const isFix = (f) => !!f && num(f.lat) !== null && num(f.lon) !== null;

/** "±85 m". */
export const plusMinus = (m) => (num(m) === null ? "" : `±${m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`}`);

/** "52.00123°N 4.37262°E". */
export const fmtPlace = (lat, lon) => `${fmtLat(lat, 5)} ${fmtLon(lon, 5)}`;

export class FireWatch {
  /** overlay: the map's; cameras: Map id -> camera (for names); now(): ms since the epoch. */
  constructor(overlay, { cameras = new Map(), windowS = WINDOW_S, now = () => Date.now() } = {}) {
    this.overlay = overlay;
    this.cameras = cameras;
    this.windowMs = windowS * 1000;
    this.windowS = windowS;
    this.now = now;
    this.bearings = new Map(); // event id -> bearing record
    this.fixes = new Map(); // key -> fix record
    setInterval(() => this.prune(), PRUNE_MS);
  }

  cameraName(id) {
    return this.cameras.get(id)?.name || id;
  }

  /** The window's bearings and fixes from the REST API. */
  async load() {
    const { bearings, fixes } = await get(`/api/fire?since_s=${this.windowS}`);
    for (const b of bearings) this.bearing(b, false);
    for (const f of fixes) this.fix(f);
    this.drawBearings();
  }

  /** A stored event (from the WebSocket): drawn when it carries a bearing. */
  event(ev) {
    const b = bearingOfEvent(ev);
    if (b) this.bearing(b);
  }

  /** An alert (from the WebSocket or the feed): its fix, when it has one, is drawn. */
  alert(a) {
    if (isFix(a.attributes?.fix)) this.fix(a.attributes.fix);
  }

  bearing(b, draw = true) {
    if (this.age(b.time) > this.windowMs) return;
    this.bearings.set(b.event_id, b);
    if (draw) this.drawBearings();
  }

  /** The bearing of a stored event, if it is on the map. */
  bearingOf(eventId) {
    return this.bearings.get(eventId) || null;
  }

  /** A fix: the newest of each set of cameras and kind is shown (an older one is replaced). */
  fix(f) {
    if (!isFix(f) || this.age(f.time) > this.windowMs) return;
    const key = `fire-fix:${f.label}:${[...(f.cameras || [])].sort().join("+")}`;
    const known = this.fixes.get(key);
    if (known && timeMs(known.time) > timeMs(f.time)) return;
    this.fixes.set(key, f);
    this.drawFix(key, f);
    this.drawBearings(); // a bearing reaches a little past its fix
  }

  age(time) {
    return this.now() - timeMs(time);
  }

  /** "fresh", "older" or "oldest": a third of the window each. */
  ageClass(time) {
    const third = Math.min(2, Math.floor((3 * Math.max(0, this.age(time))) / this.windowMs));
    return ["fresh", "older", "oldest"][third];
  }

  /** How far to draw bearing `b`: to a little past its ground point or its fixes. */
  range(b) {
    const from = [b.from_lat, b.from_lon];
    let far = b.ground_lat !== null && b.ground_lat !== undefined ? 1.5 * distanceM(from, [b.ground_lat, b.ground_lon]) : 0;
    for (const f of this.fixes.values()) {
      if ((f.event_ids || []).includes(b.event_id)) far = Math.max(far, 1.3 * distanceM(from, [f.lat, f.lon]));
    }
    return far || RANGE_M;
  }

  drawBearings() {
    const newest = new Map(); // camera + kind -> its newest bearing's event id
    for (const b of this.bearings.values()) {
      const k = `${b.camera}:${b.label}`;
      const other = this.bearings.get(newest.get(k));
      if (!other || timeMs(b.time) >= timeMs(other.time)) newest.set(k, b.event_id);
    }
    const current = new Set(newest.values());
    for (const b of this.bearings.values()) this.drawBearing(b, current.has(b.event_id));
  }

  drawBearing(b, current) {
    const from = [b.from_lat, b.from_lon];
    const r = this.range(b);
    const kind = `fire-${b.label === "smoke" ? "smoke" : "fire"} fire-${this.ageClass(b.time)}`;
    const key = `fire-bearing:${b.event_id}`;
    this.overlay.line(`${key}:ray`, {
      points: [from, destination(b.from_lat, b.from_lon, b.bearing_deg, r)],
      className: `fire-ray ${kind}${current ? " current" : " past"}`,
    });
    const sigma = num(b.bearing_sigma_deg) ?? 0;
    if (!current || sigma <= 0) return this.overlay.remove(`${key}:wedge`);
    const arc = [];
    for (let i = 0; i <= ARC_STEPS; i++) arc.push(destination(b.from_lat, b.from_lon, b.bearing_deg - sigma + (2 * sigma * i) / ARC_STEPS, r));
    this.overlay.line(`${key}:wedge`, { points: [from, ...arc, from], className: `fire-wedge ${kind}` });
  }

  drawFix(key, f) {
    const what = typeName(f.label) || "Fire";
    const names = (f.cameras || []).map((c) => this.cameraName(c)).join(", ");
    const label = `${what} ${plusMinus(f.uncertainty_m)}`.trim();
    const kind = `fire-${f.label === "smoke" ? "smoke" : "fire"} fire-${this.ageClass(f.time)}`;
    this.overlay.ring(`${key}:ring`, { lat: f.lat, lon: f.lon, radiusM: Math.max(1, num(f.uncertainty_m) ?? 1), className: `fire-ring ${kind}` });
    this.overlay.point(key, {
      lat: f.lat,
      lon: f.lon,
      className: `fire-fix ${kind}`,
      label,
      title: `${what} at ${fmtPlace(f.lat, f.lon)} ${plusMinus(f.uncertainty_m)}: bearings from ${names || "two cameras"}, ${clock(f.time)}`,
      dataset: { fix: key, label: f.label, lat: f.lat, lon: f.lon, uncertaintyM: f.uncertainty_m, cameras: (f.cameras || []).join(",") },
      onClick: () => this.overlay.show(f.lat, f.lon),
    });
  }

  /** Fade what ages; drop what is older than the window. */
  prune() {
    for (const [id, b] of [...this.bearings]) {
      if (this.age(b.time) <= this.windowMs) continue;
      this.bearings.delete(id);
      this.overlay.remove(`fire-bearing:${id}:ray`);
      this.overlay.remove(`fire-bearing:${id}:wedge`);
    }
    for (const [key, f] of [...this.fixes]) {
      if (this.age(f.time) > this.windowMs) {
        this.fixes.delete(key);
        this.overlay.remove(key);
        this.overlay.remove(`${key}:ring`);
      } else this.drawFix(key, f);
    }
    this.drawBearings();
  }

  /** Pan the map to a fire alert's fix, or its camera when it has none. */
  showAlert(a) {
    const f = a.attributes?.fix;
    if (isFix(f)) return this.overlay.show(f.lat, f.lon);
    const b = this.alertBearing(a);
    if (b) this.overlay.show(b.from_lat, b.from_lon);
  }

  /** The bearing behind an alert: its own attributes, or its event's on the map. */
  alertBearing(a) {
    const own = bearingOfEvent({ ...a, id: a.event_id });
    return own || (a.event_id ? this.bearingOf(a.event_id) : null);
  }
}

/** Whether an alert is a fire watch's: it carries a bearing or a fix. */
export function isFireAlert(a, watch = null) {
  return isFix(a.attributes?.fix) || !!bearingOfEvent({ ...a, id: a.event_id }) || !!watch?.bearingOf(a.event_id);
}

/** What the reviewer needs to judge a fire alert: the bearing from the camera and, when two
 * cameras agree, the fix with its uncertainty and the cameras. */
export function fireLines(a, watch, cameraName) {
  const b = watch ? watch.alertBearing(a) : bearingOfEvent({ ...a, id: a.event_id });
  const f = isFix(a.attributes?.fix) ? a.attributes.fix : null;
  const bearing = b
    ? `bearing ${Math.round(b.bearing_deg)}° ±${Math.round((num(b.bearing_sigma_deg) ?? 0) * 10) / 10}° from ${cameraName(b.camera)}`
    : null;
  const fix = f
    ? `fix ${fmtPlace(f.lat, f.lon)} ${plusMinus(f.uncertainty_m)} (${(f.cameras || []).map(cameraName).join(" + ")})`
    : "no fix yet: one camera's bearing (a second camera's gives the place)";
  const show = watch
    ? el("button", { type: "button", class: "btn btn-sm btn-ghost", dataset: { action: "show-fire" }, title: "Show it on the map", onclick: () => watch.showAlert(a) }, "Show on map")
    : null;
  return el(
    "div",
    { class: "fire-alert-lines", dataset: f ? { fixLat: f.lat, fixLon: f.lon } : {} },
    bearing && el("span", { class: "fire-bearing-text" }, bearing),
    el("span", { class: f ? "fire-fix-text" : "fire-fix-text muted" }, fix),
    show,
  );
}
