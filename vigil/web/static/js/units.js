// Units on the live map: a marker per unit with its callsign, coloured by status (the
// statuses come from vigil/domain.py through vocabulary.js; their colours from vigil.css),
// moving as positions arrive over the WebSocket (topic "unit"), with the trail of the last
// minutes (GET /api/units/trails, extended live) and a ring for the position's accuracy.
import { get } from "./api.js";
import { UNIT_STATUSES } from "./vocabulary.js";
import { clock, el, fill, toDate } from "./util.js";

const PRUNE_MS = 15_000; // how often trails drop points older than the window

/** "on scene" for "on_scene": a value of the vocabulary in words. */
export const words = (value) => String(value || "").replace(/_/g, " ");

/** The legend of the unit colours, one item per status, in `node`. */
export function unitLegend(node) {
  fill(
    node,
    el("span", { class: "legend-k" }, "Units"),
    UNIT_STATUSES.map((s) =>
      el("span", { class: `legend-item unit-${s}`, dataset: { status: s } }, el("span", { class: "unit-swatch" }), words(s)),
    ),
  );
}

function unitTitle(u) {
  const p = u.position;
  const where = p ? ` · ${clock(p.time)}${Number.isFinite(p.accuracy_m) ? ` ±${Math.round(p.accuracy_m)} m` : ""}` : " · no position yet";
  return `${u.callsign} (${words(u.kind)}): ${words(u.status)}${where}`;
}

export class Units {
  /** overlay: the map's overlay; trailMinutes: how far back trails reach (vigil.yml field). */
  constructor(overlay, { trailMinutes = 10, onChange = () => {} } = {}) {
    this.overlay = overlay;
    this.windowMs = trailMinutes * 60_000;
    this.minutes = trailMinutes;
    this.onChange = onChange; // (unit, previous) after a unit changed
    this.units = new Map(); // id -> unit record
    this.trails = new Map(); // id -> [{lat, lon, t}]
    setInterval(() => this.prune(), PRUNE_MS);
  }

  get(id) {
    return this.units.get(Number(id));
  }

  /** Every unit and its trail from the REST API (at load, and after a lost connection). */
  async load() {
    const [units, trails] = await Promise.all([get("/api/units"), get(`/api/units/trails?minutes=${this.minutes}`)]);
    const known = new Set(units.map((u) => u.id));
    for (const id of this.units.keys()) if (!known.has(id)) this.drop(id);
    this.trails = new Map(trails.map((t) => [t.unit_id, t.points.map((p) => ({ lat: p.lat, lon: p.lon, t: toDate(p.time)?.getTime() || 0 }))]));
    for (const u of units) this.put(u);
  }

  /** A unit as the API or the WebSocket gives it. */
  put(unit) {
    const previous = this.units.get(unit.id);
    this.units.set(unit.id, unit);
    const p = unit.position;
    if (p) this.extend(unit.id, p);
    this.draw(unit);
    this.onChange(unit, previous);
  }

  extend(id, p) {
    const trail = this.trails.get(id) || [];
    const t = toDate(p.time)?.getTime() || Date.now();
    if (!trail.some((q) => q.t === t)) {
      trail.push({ lat: p.lat, lon: p.lon, t });
      trail.sort((a, b) => a.t - b.t);
    }
    this.trails.set(id, trail);
  }

  draw(u) {
    const key = `unit:${u.id}`;
    const p = u.position;
    if (!p) {
      for (const part of ["", ":trail", ":ring"]) this.overlay.remove(key + part);
      return;
    }
    const colour = `unit-${u.status}`;
    const points = (this.trails.get(u.id) || []).map((q) => [q.lat, q.lon]);
    if (points.length > 1) this.overlay.line(`${key}:trail`, { points, className: `unit-trail ${colour}` });
    else this.overlay.remove(`${key}:trail`);
    if (Number.isFinite(p.accuracy_m) && p.accuracy_m > 0) {
      this.overlay.ring(`${key}:ring`, { lat: p.lat, lon: p.lon, radiusM: p.accuracy_m, className: `unit-ring ${colour}` });
    } else this.overlay.remove(`${key}:ring`);
    this.overlay.point(key, {
      lat: p.lat,
      lon: p.lon,
      className: `unit-marker ${colour} kind-${u.kind}`,
      label: u.callsign,
      title: unitTitle(u),
      dataset: { unit: u.id, status: u.status },
    });
  }

  drop(id) {
    this.units.delete(id);
    this.trails.delete(id);
    for (const part of ["", ":trail", ":ring"]) this.overlay.remove(`unit:${id}${part}`);
  }

  /** Trails keep the last minutes only. */
  prune() {
    const oldest = Date.now() - this.windowMs;
    for (const [id, trail] of this.trails) {
      const kept = trail.filter((q) => q.t >= oldest);
      if (kept.length === trail.length) continue;
      this.trails.set(id, kept);
      const u = this.units.get(id);
      if (u) this.draw(u);
    }
  }
}
