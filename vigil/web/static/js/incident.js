// One incident in the command centre's panel: its state and units, the steps it may take
// next (a reason asked where the server needs one: reopening, closing), the nearest
// available units to dispatch (distance and ETA), its checklist, a note, and the timeline of
// every step with who and when. The server decides; a refusal is shown in its words.
import { INCIDENT_STATES } from "./vocabulary.js";
import { words } from "./units.js";
import { el, fill, shortTime, stamp } from "./util.js";

const NEEDS_REASON = new Set(INCIDENT_STATES.filter((s) => s.needs_reason).map((s) => s.value));
// A unit is sent with Dispatch; the bare step to "dispatched" is refused by the server.
const BY_DISPATCH = "dispatched";

/** "850 m", "1.2 km". */
export function distance(m) {
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
}

/** "45 s", "3 min 05 s". */
export function eta(s) {
  const t = Math.round(s);
  return t < 60 ? `${t} s` : `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, "0")} s`;
}

export function stateBadge(state) {
  return el("span", { class: `inc-state inc-${state}`, dataset: { state } }, words(state));
}

export class IncidentView {
  /**
   * node: where the view goes; units: the map's Units (callsigns, statuses); canAct: may
   * operate (operator and up); act: {dispatch(id), step(state, reason), tick(n), note(text)},
   * each a promise; back(): back to the list.
   */
  constructor(node, { units, canAct, act, back }) {
    this.node = node;
    this.units = units;
    this.canAct = canAct;
    this.act = act;
    this.incident = null;
    this.parts = {
      title: el("h3", { class: "inc-title" }),
      state: el("span", { class: "inc-state-slot" }),
      facts: el("p", { class: "inc-facts" }),
      error: el("p", { class: "error inc-error", role: "alert", hidden: true }),
      steps: el("div", { class: "inc-steps" }),
      reason: this.reasonForm(),
      assigned: el("ul", { class: "inc-units", "aria-label": "Units sent" }),
      suggestions: el("ol", { class: "inc-suggestions", "aria-label": "Nearest available units" }),
      checklist: el("ol", { class: "inc-checklist", "aria-label": "Checklist" }),
      timeline: el("ol", { class: "inc-timeline", "aria-label": "Timeline" }),
    };
    const p = this.parts;
    const section = (name, title, ...body) => el("section", { class: `inc-sec inc-sec-${name}` }, el("h4", {}, title), ...body);
    fill(
      node,
      el("div", { class: "inc-head" },
        el("button", { type: "button", class: "btn btn-sm btn-ghost inc-back", onclick: back, title: "Back to the incidents under way" }, "← All"),
        p.title, p.state),
      p.facts,
      p.error,
      canAct ? el("div", { class: "inc-actions" }, p.steps, p.reason.form) : null,
      section("units", "Units sent", p.assigned),
      canAct ? section("suggest", "Nearest available", p.suggestions) : null,
      section("checklist", "Checklist", p.checklist),
      canAct ? section("note", "Note", this.noteForm()) : null,
      section("timeline", "Timeline", p.timeline),
    );
  }

  say(message) {
    this.parts.error.textContent = message || "";
    this.parts.error.hidden = !message;
  }

  /** Run one of `act`'s actions: buttons off meanwhile, the server's refusal shown. */
  async run(button, action) {
    this.say("");
    if (button) button.disabled = true;
    try {
      await action();
      return true;
    } catch (err) {
      this.say(err.message);
      return false;
    } finally {
      if (button) button.disabled = false;
    }
  }

  reasonForm() {
    const text = el("textarea", { rows: "2", maxlength: "2000", "aria-label": "Reason" });
    const label = el("label", { class: "inc-reason-label" });
    const ok = el("button", { type: "submit", class: "btn btn-sm btn-primary" }, "Confirm");
    const cancel = el("button", { type: "button", class: "btn btn-sm btn-ghost" }, "Cancel");
    const form = el("form", { class: "inc-reason", hidden: true }, label, text, el("div", { class: "inc-row" }, ok, cancel));
    let state = null;
    cancel.addEventListener("click", () => (form.hidden = true));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const reason = text.value.trim();
      if (!reason) return this.say(`Say why it becomes ${words(state)}.`);
      if (await this.run(ok, () => this.act.step(state, reason))) form.hidden = true;
    });
    return {
      form,
      ask: (next) => {
        state = next;
        label.textContent = `Why does it become ${words(next)}? (recorded with your name)`;
        text.value = "";
        form.hidden = false;
        text.focus();
      },
    };
  }

  noteForm() {
    const text = el("textarea", { rows: "2", maxlength: "2000", "aria-label": "Note", placeholder: "What you know, what was said" });
    const add = el("button", { type: "submit", class: "btn btn-sm" }, "Add note");
    const form = el("form", { class: "inc-note" }, text, add);
    this.parts.noteText = text;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!text.value.trim()) return this.say("Write the note first.");
      if (await this.run(add, () => this.act.note(text.value.trim()))) text.value = "";
    });
    return form;
  }

  callsign(id) {
    return this.units.get(id)?.callsign || this.incident?.units.find((u) => u.unit_id === id)?.callsign || `unit ${id}`;
  }

  /** The incident as the API gives it (with its timeline). */
  show(incident) {
    const p = this.parts;
    const other = this.incident?.id !== incident.id;
    const moved = other || this.incident.state !== incident.state;
    this.incident = incident;
    this.node.dataset.incident = String(incident.id);
    p.title.textContent = `#${incident.id} ${incident.title}`;
    fill(p.state, stateBadge(incident.state));
    const where = incident.camera ? `camera ${incident.camera}` : incident.lat !== null ? "" : "no position";
    p.facts.textContent = [words(incident.type), where, `opened by ${incident.opened_by} ${shortTime(incident.opened_at)}`].filter(Boolean).join(" · ");
    if (moved) p.reason.form.hidden = true; // a reason asked for a step it can no longer take
    if (other && p.noteText) p.noteText.value = "";
    this.stepButtons(incident);
    this.assigned(incident);
    this.checklist(incident);
    fill(p.timeline, (incident.timeline || []).map((s) => this.step(s)));
  }

  stepButtons(incident) {
    const next = incident.next.filter((s) => s !== BY_DISPATCH);
    fill(
      this.parts.steps,
      next.map((state) => {
        const button = el("button", { type: "button", class: "btn btn-sm", dataset: { state }, title: `Change the state to ${words(state)}` }, `→ ${words(state)}`);
        button.addEventListener("click", () =>
          NEEDS_REASON.has(state) ? this.parts.reason.ask(state) : this.run(button, () => this.act.step(state, null)),
        );
        return button;
      }),
    );
  }

  assigned(incident) {
    const rows = incident.units.map((a) => {
      const unit = this.units.get(a.unit_id);
      return el(
        "li",
        { dataset: { unit: a.unit_id, status: a.status } },
        el("span", { class: `unit-dot unit-${unit?.status || "off_duty"}`, title: unit ? `unit ${words(unit.status)}` : null }),
        el("strong", {}, a.callsign),
        ` ${words(a.kind)} · `,
        el("span", { class: "inc-assignment" }, words(a.status)),
        el("span", { class: "muted" }, ` · sent by ${a.dispatched_by} ${shortTime(a.dispatched_at)}`),
      );
    });
    fill(this.parts.assigned, rows.length ? rows : el("li", { class: "muted" }, "none yet"));
  }

  /** The nearest available units (GET …/suggestions), or why there are none. */
  suggestions(list, error) {
    if (!this.canAct) return;
    if (error) return fill(this.parts.suggestions, el("li", { class: "muted" }, error));
    if (!list.length) return fill(this.parts.suggestions, el("li", { class: "muted" }, "no unit is available with a known position"));
    fill(
      this.parts.suggestions,
      list.map(({ unit, distance_m: m, eta_s: s }) => {
        const send = el("button", { type: "button", class: "btn btn-sm btn-primary", dataset: { action: "dispatch" } }, "Dispatch");
        send.addEventListener("click", () => this.run(send, () => this.act.dispatch(unit.id)));
        return el(
          "li",
          { dataset: { unit: unit.id } },
          el("strong", { class: "sugg-callsign" }, unit.callsign),
          el("span", { class: "sugg-what" }, `${words(unit.kind)} · ${distance(m)} · ETA ${eta(s)}`),
          send,
        );
      }),
    );
  }

  checklist(incident) {
    const steps = incident.checklist || [];
    this.parts.checklist.closest("section").hidden = !steps.length;
    fill(
      this.parts.checklist,
      steps.map((c, i) => {
        const done = Boolean(c.done_by);
        const tick = this.canAct && !done ? el("button", { type: "button", class: "btn btn-sm", dataset: { step: i + 1 } }, "Tick") : null;
        tick?.addEventListener("click", () => this.run(tick, () => this.act.tick(i + 1)));
        return el(
          "li",
          { class: done ? "done" : null },
          el("span", { class: "check-mark", "aria-hidden": "true" }, done ? "✓" : "○"),
          el("span", { class: "check-step" }, c.step),
          done ? el("span", { class: "muted" }, ` ${c.done_by} ${shortTime(c.done_at)}`) : tick,
        );
      }),
    );
  }

  step(s) {
    const what = [words(s.action), s.unit_id !== null ? this.callsign(s.unit_id) : null, s.alert_id !== null ? `alert ${s.alert_id}` : null];
    return el(
      "li",
      { dataset: { action: s.action } },
      el("time", { datetime: s.at, title: stamp(s.at) }, shortTime(s.at)),
      el("span", { class: "tl-actor" }, s.actor),
      el("span", { class: "tl-what" }, what.filter(Boolean).join(" "), s.state ? " → " : null, s.state ? stateBadge(s.state) : null),
      s.text ? el("span", { class: "tl-text" }, s.text) : null,
    );
  }
}
