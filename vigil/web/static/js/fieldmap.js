// The field app's map: the cameras (map.js), you (your fix, its accuracy, and the radius
// within which alerts and incidents are shown to you), your colleagues (units.js: the same
// markers as on the command centre's map), the alerts near you (one point per camera) and
// the incidents near you or yours.
import { createMap } from "./map.js";
import { Units, words } from "./units.js";
import { clock } from "./util.js";

export class FieldMap {
  constructor(container, notice, cameras, onCamera) {
    const map = createMap(container, notice, cameras, onCamera);
    this.overlay = map.overlay;
    this.colleagues = new Units(this.overlay);
    this.drawn = new Set(); // keys of the alert and incident points now on the map
    this.here = null; // [lat, lon]
    this.framed = null; // what the view was last fitted to
  }

  /** Your position: `fix` from the Geolocation API, `unit` your unit (or null), and the
   * radius (metres) of what is near. */
  showMe(fix, unit, radiusM) {
    this.here = [fix.lat, fix.lon];
    const status = unit ? `unit-${unit.status}` : "unit-off_duty";
    const who = unit ? `${unit.callsign} (you)` : "You";
    if (radiusM) this.overlay.ring("me:near", { lat: fix.lat, lon: fix.lon, radiusM, className: "field-near" });
    if (Number.isFinite(fix.accuracy_m) && fix.accuracy_m > 0) {
      this.overlay.ring("me:ring", { lat: fix.lat, lon: fix.lon, radiusM: fix.accuracy_m, className: `unit-ring ${status}` });
    }
    this.overlay.point("me", {
      lat: fix.lat,
      lon: fix.lon,
      className: `unit-marker me-marker ${status}`,
      label: who,
      title: `${who}: ${clock(fix.time)}${Number.isFinite(fix.accuracy_m) ? ` ±${Math.round(fix.accuracy_m)} m` : ""}`,
      dataset: { me: "1" },
    });
  }

  /** Your colleagues on duty (units with a position), as the field API lists them. */
  showColleagues(units) {
    const now = new Set(units.map((u) => u.id));
    for (const id of [...this.colleagues.units.keys()]) if (!now.has(id)) this.colleagues.drop(id);
    for (const u of units) this.colleagues.put(u);
  }

  /** The alerts near you (grouped by camera) and the incidents near you or yours. */
  showThings(alerts, incidents, assigned) {
    const keys = new Set();
    const byCamera = new Map();
    for (const a of alerts) {
      if (a.lat === null || a.incident !== null) continue; // an incident's alerts: its point
      byCamera.set(a.camera, [...(byCamera.get(a.camera) || []), a]);
    }
    for (const [camera, list] of byCamera) {
      const key = `alerts:${camera}`;
      keys.add(key);
      const newest = list[0];
      this.overlay.point(key, {
        lat: newest.lat,
        lon: newest.lon,
        className: "field-alert-marker",
        label: `${list.length} alert${list.length > 1 ? "s" : ""}`,
        title: `${list.length} alert${list.length > 1 ? "s" : ""} at camera ${camera}; newest: ${newest.rule} ${clock(newest.time)}`,
        dataset: { camera, alerts: list.length },
      });
    }
    for (const i of incidents) {
      if (i.lat === null || i.lon === null) continue;
      const key = `incident:${i.id}`;
      keys.add(key);
      const mine = assigned.includes(i.id);
      this.overlay.point(key, {
        lat: i.lat,
        lon: i.lon,
        className: `incident-marker inc-${i.state}${mine ? " selected" : ""}`,
        label: `#${i.id} ${i.title}`,
        title: `Incident #${i.id} ${i.title}: ${words(i.state)}${mine ? " (yours)" : ""}`,
        dataset: { incident: i.id, state: i.state },
      });
    }
    for (const key of this.drawn) if (!keys.has(key)) this.overlay.remove(key);
    this.drawn = keys;
  }

  /** Fit the view to you and your incidents, once for each new set of them (so a view the
   * officer moved stays where they put it). */
  frame(incidents, assigned) {
    if (!this.here) return;
    const mine = incidents.filter((i) => assigned.includes(i.id) && i.lat !== null && i.lon !== null);
    const key = mine.map((i) => i.id).join(",");
    if (key === this.framed) return;
    this.framed = key;
    this.overlay.fit([this.here, ...mine.map((i) => [i.lat, i.lon])]);
  }

  center() {
    if (this.here) this.overlay.show(...this.here);
  }
}
