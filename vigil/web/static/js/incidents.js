// The incident panel on the live page: the incidents under way (kept current by the
// WebSocket's "incident" messages), each with its state and units, and on the map where it
// has a position; choosing one opens it (incident.js) ready to dispatch. Operators open an
// incident from an alert in the feed.
import { ApiError, get, post } from "./api.js";
import { INCIDENT_STATES } from "./vocabulary.js";
import { IncidentView, stateBadge } from "./incident.js";
import { words } from "./units.js";
import { el, fill, shortTime } from "./util.js";

const UNDER_WAY = INCIDENT_STATES.filter((s) => s.under_way).map((s) => s.value);
const LIST_URL = `/api/incidents?${UNDER_WAY.map((s) => `state=${s}`).join("&")}`;

export class IncidentPanel {
  /**
   * panel: the <section>; overlay: the map's; units: the map's Units; canAct: may operate.
   */
  constructor(panel, { overlay, units, canAct }) {
    this.panel = panel;
    this.list = panel.querySelector(".incident-list");
    this.detail = panel.querySelector(".incident-detail");
    this.count = panel.querySelector(".incident-count");
    this.overlay = overlay;
    this.units = units;
    this.canAct = canAct;
    this.incidents = new Map(); // id -> incident (under way, and the one open)
    this.openId = null;
    this.refreshing = null; // the refresh on its way
    this.again = false; // another was asked for meanwhile
    this.view = new IncidentView(this.detail, {
      units,
      canAct,
      back: () => this.close(),
      act: {
        dispatch: (unitId) => this.change("dispatch", { unit_id: unitId }),
        step: (state, reason) => this.change("state", { state, reason }),
        tick: (n) => this.change(`checklist/${n}`, undefined),
        note: (text) => this.change("notes", { text }),
      },
    });
  }

  async load() {
    const list = await get(LIST_URL);
    const known = new Set(list.map((i) => i.id));
    for (const id of [...this.incidents.keys()]) if (!known.has(id) && id !== this.openId) this.forget(id);
    for (const incident of list) this.put(incident, false);
    this.drawList();
    if (this.openId !== null) await this.refresh();
  }

  /** An incident from the API or the WebSocket (without its timeline). */
  put(incident, live = true) {
    const underWay = UNDER_WAY.includes(incident.state);
    if (!underWay && incident.id !== this.openId) this.forget(incident.id);
    else {
      const known = this.incidents.get(incident.id);
      this.incidents.set(incident.id, known?.timeline && !incident.timeline ? { ...incident, timeline: known.timeline } : incident);
      this.mark(incident, underWay);
    }
    if (!live) return;
    this.drawList();
    if (incident.id === this.openId) this.refresh();
  }

  forget(id) {
    this.incidents.delete(id);
    this.overlay.remove(`incident:${id}`);
  }

  mark(incident, underWay) {
    const key = `incident:${incident.id}`;
    if (incident.lat === null || incident.lon === null || !underWay) return this.overlay.remove(key);
    this.overlay.point(key, {
      lat: incident.lat,
      lon: incident.lon,
      className: `incident-marker inc-${incident.state}${incident.id === this.openId ? " selected" : ""}`,
      label: `#${incident.id} ${incident.title}`,
      title: `Incident #${incident.id} ${incident.title}: ${words(incident.state)}`,
      dataset: { incident: incident.id, state: incident.state },
      onClick: () => this.open(incident.id),
    });
  }

  /** A unit changed: the lists name units by status, the open incident's suggestions too. */
  unitChanged(unit, previous) {
    const placed = !previous?.position && unit.position; // a first position: it may be suggested
    if (!previous || (previous.status === unit.status && !placed)) return;
    this.drawList();
    if (this.openId !== null && this.canAct) this.refresh();
  }

  drawList() {
    const under = [...this.incidents.values()].filter((i) => UNDER_WAY.includes(i.state)).sort((a, b) => b.id - a.id);
    this.count.textContent = under.length ? `${under.length} under way` : "";
    if (!under.length) return fill(this.list, el("li", { class: "incident-empty muted" }, "No incident under way."));
    fill(this.list, under.map((i) => this.item(i)));
  }

  item(incident) {
    const units = incident.units.map((a) => {
      const status = this.units.get(a.unit_id)?.status;
      return el("span", { class: `inc-unit unit-${status || "off_duty"}`, dataset: { unit: a.unit_id } }, el("span", { class: "unit-swatch" }), `${a.callsign} ${words(a.status)}`);
    });
    const open = () => this.open(incident.id);
    return el(
      "li",
      { class: `incident-item inc-${incident.state}`, tabindex: "0", role: "button", "aria-current": incident.id === this.openId ? "true" : null, dataset: { incident: incident.id, state: incident.state }, onclick: open, onkeydown: (e) => e.key === "Enter" && open() },
      el("div", { class: "inc-row1" }, stateBadge(incident.state), el("span", { class: "inc-name", title: incident.title }, `#${incident.id} ${incident.title}`), el("time", { datetime: incident.opened_at }, shortTime(incident.opened_at))),
      el("div", { class: "inc-row2" }, units.length ? units : el("span", { class: "muted" }, "no unit sent")),
    );
  }

  /** Show incident `id` in the panel with its timeline and the units to send. */
  async open(id) {
    this.openId = id;
    this.panel.dataset.open = String(id);
    this.list.hidden = true;
    this.detail.hidden = false;
    this.view.say("");
    const known = this.incidents.get(id);
    if (known?.timeline) this.view.show(known);
    await this.refresh();
    const incident = this.incidents.get(id);
    if (incident && incident.lat !== null) this.overlay.show(incident.lat, incident.lon);
    for (const i of this.incidents.values()) this.mark(i, UNDER_WAY.includes(i.state));
  }

  close() {
    const id = this.openId;
    this.openId = null;
    delete this.panel.dataset.open;
    this.detail.hidden = true;
    this.list.hidden = false;
    const incident = this.incidents.get(id);
    if (incident) this.put(incident, false);
    this.drawList();
  }

  /** The open incident again (with its timeline) and its suggestions; calls that come while
   * one is on its way wait for it and run once after. */
  async refresh() {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.fetchOpen();
      } while (this.again);
    })();
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  async fetchOpen() {
    const id = this.openId;
    if (id === null) return;
    try {
      const incident = await get(`/api/incidents/${id}`);
      if (id !== this.openId) return;
      this.incidents.set(id, incident);
      this.mark(incident, UNDER_WAY.includes(incident.state));
      this.view.show(incident);
      if (this.canAct) await this.fetchSuggestions(incident);
      this.drawList();
    } catch (err) {
      this.view.say(err.message);
    }
  }

  async fetchSuggestions(incident) {
    if (!UNDER_WAY.includes(incident.state)) return this.view.suggestions([], `it is ${words(incident.state)}: no unit is sent`);
    try {
      this.view.suggestions(await get(`/api/incidents/${incident.id}/suggestions`));
    } catch (err) {
      this.view.suggestions([], err.message);
    }
  }

  /** POST /api/incidents/{open}/{what}: the answer is the incident as it stands now. */
  async change(what, body) {
    const incident = await post(`/api/incidents/${this.openId}/${what}`, body);
    this.put(incident, false);
    this.view.show(incident);
    this.drawList();
    if (this.canAct) await this.fetchSuggestions(incident);
  }

  /** The operator's "Open incident" on an alert: the incident it is in (when it is one under
   * way here), or a new one opened from it; shown ready to dispatch. Throws the server's
   * refusal (ApiError) for the feed to show. */
  async openForAlert(alertId) {
    this.panel.scrollIntoView({ block: "start" }); // a phone: the panel is above the feed
    const known = [...this.incidents.values()].find((i) => i.alerts.includes(alertId));
    if (known) return this.open(known.id);
    let incident;
    try {
      incident = await post("/api/incidents", { alert_id: alertId });
    } catch (err) {
      throw err instanceof ApiError ? err : new ApiError(0, `Not opened: ${err.message}`);
    }
    this.put(incident, false);
    this.drawList();
    await this.open(incident.id);
  }
}
