// The playback timeline: a camera's recorded spans, the gaps (each with its reason on hover),
// evidence locks, and the events and alerts as marks one can click; a click anywhere plays
// from that time.
import { clock, el, typeName } from "./util.js";

const TICKS = 6;
const TICK_PX = 80; // a time label's room

export class Timeline {
  /** bar: the slider element; track: where spans and marks go; head: the playhead; scale: the
   * time labels under it; onPick(t, mark) when a time or a mark is chosen. */
  constructor(bar, track, head, scale, onPick) {
    Object.assign(this, { bar, track, head, scale, onPick });
    this.data = null;
    this.at = null;
    new ResizeObserver(() => {
      if (this.data) this.draw(this.data); // the time labels fit the new width
    }).observe(scale);
    bar.addEventListener("click", (e) => {
      if (!this.data || e.target.closest(".tl-mark")) return;
      const r = this.track.getBoundingClientRect();
      this.onPick(this.data.start + ((e.clientX - r.left) / r.width) * this.span(), null);
    });
    bar.addEventListener("keydown", (e) => {
      if (!this.data || !["ArrowLeft", "ArrowRight"].includes(e.key)) return;
      e.preventDefault();
      const step = this.span() / 100;
      const now = this.at ?? this.data.start;
      this.onPick(now + (e.key === "ArrowRight" ? step : -step), null);
    });
  }

  span() {
    return Math.max(this.data.end - this.data.start, 1);
  }

  pct(t) {
    return Math.min(Math.max(((t - this.data.start) / this.span()) * 100, 0), 100);
  }

  box(cls, start, end, title, extra = {}) {
    const left = this.pct(start);
    const width = Math.max(this.pct(end) - left, 0.15);
    return el("div", { class: cls, title, style: `left:${left}%;width:${width}%`, ...extra });
  }

  mark(kind, item, title) {
    return el(
      "button",
      {
        type: "button",
        class: `tl-mark tl-${kind}`,
        title,
        "aria-label": title,
        style: `left:${this.pct(item.time)}%`,
        dataset: { kind, id: item.id, t: item.time },
        onclick: () => this.onPick(item.time, { kind, ...item }),
      },
    );
  }

  draw(data) {
    this.data = data;
    const now = Date.now() / 1000;
    const parts = [];
    for (const s of data.segments) {
      const end = s.end ?? now;
      const title = `recorded ${clock(s.start)}–${clock(end)} (${s.state})`;
      parts.push(this.box(`tl-seg state-${s.state}`, s.start, end, title, { dataset: { id: s.id } }));
    }
    for (const g of data.gaps) {
      const end = g.end ?? now;
      parts.push(this.box("tl-gap", g.start, end, `gap ${clock(g.start)}–${clock(end)}: ${g.reason}`, { dataset: { reason: g.reason } }));
    }
    for (const x of data.locks) {
      parts.push(this.box("tl-lock", x.start, x.end, `locked as evidence by ${x.locked_by}: ${x.reason}`, { dataset: { id: x.id } }));
    }
    for (const e of data.events) parts.push(this.mark("event", e, `${typeName(e.type)}${e.label ? ` · ${e.label}` : ""} · ${clock(e.time)}`));
    for (const a of data.alerts) parts.push(this.mark("alert", a, `alert: ${a.rule} · ${clock(a.time)}`));
    this.track.replaceChildren(...parts);
    const ticks = [];
    const n = Math.max(1, Math.min(TICKS, Math.floor(this.scale.clientWidth / TICK_PX))); // room for each
    for (let i = 0; i <= n; i += 1) {
      const t = data.start + (this.span() * i) / n;
      ticks.push(el("span", { style: `left:${(i / n) * 100}%` }, clock(t).split(" ")[0]));
    }
    this.scale.replaceChildren(...ticks);
    this.setHead(this.at);
  }

  setHead(t) {
    this.at = t;
    if (t === null || !this.data) {
      this.head.hidden = true;
      return;
    }
    this.head.hidden = false;
    this.head.style.left = `${this.pct(t)}%`;
    this.bar.setAttribute("aria-valuenow", String(Math.round(this.pct(t))));
    this.bar.setAttribute("aria-valuetext", clock(t));
  }
}
