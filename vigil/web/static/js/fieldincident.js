// An incident the officer's unit is sent to, on the phone: the command centre's incident
// view (incident.js: title, state, units, checklist, timeline; no desk controls), and above
// its units the distance from here, the answers that fit now as big one-tap buttons, the
// live picture of the cameras tied to it, and a note box.
import { errorText, sessionIsEnding } from "./api.js";
import { IncidentView, distance } from "./incident.js";
import { words } from "./units.js";
import { clock, el, fill } from "./util.js";

const LIVE_MS = 3000; // how often a live picture is fetched again

// The answers that fit the unit's part in the incident now (Incidents.respond refuses the
// others): sent, it accepts or declines; on its way, it arrives (or declines); on scene, it
// resolves the incident once the incident may become resolved.
const ENDS = new Set(["decline", "resolved"]); // answers after which the unit is no longer sent
const ANSWERS = { dispatched: ["accept", "decline"], accepted: ["on_scene", "decline"], on_scene: ["resolved"] };
const PRIMARY = new Set(["accept", "on_scene", "resolved"]);

/** "On scene" for "on_scene". */
const label = (action) => words(action).replace(/^./, (c) => c.toUpperCase());

/** Metres between two [lat, lon] points (Leaflet's great circle), or null without Leaflet. */
export function metres(a, b) {
  return window.L && a && b ? window.L.latLng(a).distanceTo(b) : null;
}

/** The live picture of one camera, fetched again every few seconds while it is shown. A
 * fetch (not an <img> load) so that stop() can call back one on its way: the picture is no
 * longer ours the moment the unit declines or resolves, and its answer would be a refusal. */
class LivePicture {
  constructor(camera) {
    this.camera = camera;
    this.img = el("img", { alt: `Live picture of ${camera.name}`, decoding: "async" });
    this.state = el("figcaption", {}, `${camera.name} · live · waiting for a picture`);
    this.node = el("figure", { class: "field-live", dataset: { camera: camera.id } }, this.img, this.state);
    this.timer = null;
    this.pending = null; // the AbortController of the fetch on its way
    this.url = null; // the object URL shown
  }

  start() {
    if (this.timer === null) this.timer = setInterval(() => this.load(), LIVE_MS);
    this.load();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.pending?.abort();
    this.pending = null;
  }

  async load() {
    if (this.pending || !navigator.onLine || sessionIsEnding()) return;
    const pending = new AbortController();
    this.pending = pending;
    try {
      const r = await fetch(`/api/field/cameras/${encodeURIComponent(this.camera.id)}/live.jpg?at=${Date.now()}`, {
        signal: pending.signal,
        credentials: "same-origin",
      });
      if (!r.ok) throw new Error(String(r.status));
      const url = URL.createObjectURL(await r.blob());
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = url;
      this.img.src = url;
      this.state.textContent = `${this.camera.name} · live · ${clock(new Date())}`;
      this.node.dataset.loaded = "1";
    } catch {
      if (!pending.signal.aborted) this.state.textContent = `${this.camera.name} · no picture right now`;
    } finally {
      if (this.pending === pending) this.pending = null;
    }
  }

  remove() {
    this.stop();
    if (this.url) URL.revokeObjectURL(this.url);
    this.node.remove();
  }
}

export class FieldIncident {
  /**
   * actions: the answers the server knows (FIELD_ACTIONS); units: {get(id)} of a unit;
   * act: {answer(id, action), note(id, text)}, promises of the incident after the change.
   */
  constructor({ actions, units, act }) {
    this.actions = new Set(actions);
    this.act = act;
    this.node = el("article", { class: "field-incident" });
    this.view = new IncidentView(this.node, { units, canAct: false, act: {}, back: () => {} });
    this.where = el("p", { class: "field-where" });
    this.answers = el("div", { class: "field-answers", role: "group", "aria-label": "Your answer" });
    this.live = el("div", { class: "field-lives" });
    this.pictures = new Map(); // camera id -> LivePicture
    this.view.parts.facts.after(this.where, this.answers, this.live, this.noteForm());
    this.incident = null;
  }

  noteForm() {
    const text = el("textarea", { rows: "2", maxlength: "2000", "aria-label": "Note", placeholder: "What you see, what was said" });
    const add = el("button", { type: "submit", class: "btn field-note-add" }, "Add note");
    const form = el("form", { class: "field-note" }, text, add);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!text.value.trim()) return this.view.say("Write the note first.");
      if (await this.run([add], () => this.act.note(this.incident.id, text.value.trim()))) text.value = "";
    });
    return form;
  }

  /** Run an action with its buttons off; the server's refusal is shown in its words. */
  async run(buttons, action) {
    this.view.say("");
    for (const b of buttons) b.disabled = true;
    try {
      await action();
      return true;
    } catch (err) {
      this.view.say(errorText(err, "not sent (no connection?)"));
      return false;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  /** The incident (with its timeline) for unit `unitId`; `here`: [lat, lon] or null;
   * `cameras`: the cameras tied to it whose live picture is ours. */
  show(incident, { unitId, here, cameras }) {
    this.incident = incident;
    this.node.dataset.incident = String(incident.id);
    this.view.show(incident);
    const mine = incident.units.find((a) => a.unit_id === unitId);
    this.node.dataset.assignment = mine?.status || "";
    const m = incident.lat !== null ? metres(here, [incident.lat, incident.lon]) : null;
    this.where.textContent = [m !== null ? `${distance(m)} from you` : null, mine ? `your unit: ${words(mine.status)}` : null].filter(Boolean).join(" · ");
    this.drawAnswers(incident, mine);
    this.showLive(cameras);
  }

  drawAnswers(incident, mine) {
    const valid = (ANSWERS[mine?.status] || []).filter(
      (a) => this.actions.has(a) && (a !== "resolved" || incident.next.includes("resolved")),
    );
    const buttons = valid.map((action) =>
      el("button", { type: "button", class: `btn field-answer${PRIMARY.has(action) ? " btn-primary" : ""}`, dataset: { action } }, label(action)),
    );
    for (const b of buttons) {
      b.addEventListener("click", async () => {
        const ends = ENDS.has(b.dataset.action); // the live pictures stop being ours
        if (ends) for (const picture of this.pictures.values()) picture.stop();
        const sent = await this.run(buttons, () => this.act.answer(this.incident.id, b.dataset.action));
        if (ends && !sent) for (const picture of this.pictures.values()) picture.start();
      });
    }
    fill(this.answers, buttons);
  }

  showLive(cameras) {
    const ids = new Set(cameras.map((c) => c.id));
    for (const [id, picture] of this.pictures) {
      if (ids.has(id)) continue;
      picture.remove();
      this.pictures.delete(id);
    }
    for (const camera of cameras) {
      if (this.pictures.has(camera.id)) continue;
      const picture = new LivePicture(camera);
      this.pictures.set(camera.id, picture);
      this.live.append(picture.node);
      picture.start();
    }
  }

  remove() {
    for (const picture of this.pictures.values()) picture.remove();
    this.node.remove();
  }
}
