// The live feed: events and alerts, newest first, with snapshot thumbnails. Alerts stand out
// and, for users allowed to review, carry Acknowledge / Dismiss (a dismissal needs a reason).
// A face match needs two different people to confirm it, each with a reason: it shows the
// face seen beside the enrolled picture and who confirmed it so far, and stays a candidate
// until the second confirmation (the server refuses the same person twice).
import { ApiError, errorText, get, post } from "./api.js";
import { faceMatch, faceSummary, isFaceMatch } from "./faces.js";
import { fireLines, isFireAlert } from "./fire.js";
import { hitSummary, hotlistHit, isHotlistHit } from "./hits.js";
import { confirmationText, decidedBy, needed, ReviewDialog } from "./review.js";
import { picture } from "./socket.js";
import { el, plateOf, shortTime, showLightbox, stamp, typeName, where } from "./util.js";

const MAX_ITEMS = 300;
const PAGE = 40;
// Event searches are audited with a stated purpose; this is the command centre's.
const PURPOSE = "live feed (command centre)";

function timeOf(item) {
  return new Date(item.time).getTime() || 0;
}

export class Feed {
  /**
   * list: the <ol>; cameras: Map id -> camera; canReview: from /api/me permissions; me: the
   * user's name (whose confirmations are theirs); onFocus(cameraId) when an item is chosen;
   * onCounts({open}) when open alerts change; onIncident(alert), for operators: open the
   * alert's incident (a promise; its refusal is shown on the alert); fire: the map's
   * FireWatch (a fire alert's bearing and fix).
   */
  constructor(list, { cameras, canReview, me, onFocus, onCounts, onIncident = null, fire = null }) {
    this.list = list;
    this.cameras = cameras;
    this.canReview = canReview;
    this.me = me;
    this.onFocus = onFocus;
    this.onCounts = onCounts;
    this.onIncident = onIncident;
    this.fire = fire;
    this.items = new Map(); // "event:12" / "alert:3" -> {data, node}
    this.open = new Set(); // ids of candidate alerts
    this.filter = "all";
    this.dialog = new ReviewDialog(document.getElementById("dismiss-dialog"), (alert, action, reason) => this.decide(alert, action, reason));
  }

  setFilter(filter) {
    this.filter = filter;
    this.list.dataset.filter = filter;
  }

  /** Replace everything with the newest events and alerts from the REST API. */
  async reload() {
    const [events, alerts, open] = await Promise.all([
      get(`/api/events?limit=${PAGE}&purpose=${encodeURIComponent(PURPOSE)}`),
      get(`/api/alerts?limit=${PAGE}`),
      get("/api/alerts?status=candidate&limit=500"),
    ]);
    this.open = new Set(open.items.map((a) => a.id));
    this.emitCounts(open.next_cursor !== null);
    const merged = [
      ...events.items.map((data) => ({ kind: "event", data })),
      ...alerts.items.map((data) => ({ kind: "alert", data })),
    ].sort((a, b) => timeOf(b.data) - timeOf(a.data));
    this.items.clear();
    this.list.replaceChildren();
    for (const { kind, data } of merged) this.put(kind, data, false);
    if (!merged.length) this.list.append(el("li", { class: "feed-empty" }, "Nothing yet: events appear here as they happen."));
  }

  emitCounts(more = false) {
    this.onCounts({ open: this.open.size, more });
  }

  /** A pushed event or alert (live=true marks it as one that arrived over the WebSocket). */
  put(kind, data, live = true) {
    const key = `${kind}:${data.id}`;
    if (kind === "alert") {
      if (data.status === "candidate") this.open.add(data.id);
      else this.open.delete(data.id);
      if (live) this.emitCounts();
    }
    const existing = this.items.get(key);
    const node = kind === "alert" ? this.alertNode(data) : this.eventNode(data);
    node.dataset.t = String(timeOf(data));
    if (live) node.dataset.live = "1";
    if (existing) {
      if (existing.node.dataset.live) node.dataset.live = "1";
      existing.node.replaceWith(node);
      existing.data = data;
      existing.node = node;
      return;
    }
    this.list.querySelector(".feed-empty")?.remove();
    this.items.set(key, { data, node });
    if (live) {
      node.classList.add("fresh");
      this.insertByTime(node, timeOf(data));
    } else this.list.append(node);
    while (this.list.children.length > MAX_ITEMS) {
      const last = this.list.lastElementChild;
      this.items.delete(`${last.dataset.kind}:${last.dataset.id}`);
      last.remove();
    }
  }

  /** Newest first by the time things happened (an object's event comes when it leaves). */
  insertByTime(node, t) {
    node.dataset.t = String(t);
    for (const child of this.list.children) {
      if (Number(child.dataset.t) <= t) {
        child.before(node);
        return;
      }
    }
    this.list.append(node);
  }

  cameraName(id) {
    return this.cameras.get(id)?.name || id;
  }

  thumb(data, what) {
    if (!data.snapshot_url) return el("span", { class: "thumb none", "aria-hidden": "true" });
    const caption = `${what} · ${this.cameraName(data.camera)} · ${stamp(data.time)}`;
    return el(
      "button",
      {
        type: "button",
        class: "thumb",
        title: "Show the snapshot larger",
        "aria-label": `Snapshot: ${caption}`,
        onclick: (e) => {
          e.stopPropagation();
          showLightbox(data.snapshot_url, caption);
        },
      },
      picture(data.snapshot_url),
    );
  }

  /** thumb: the picture in the first column (the snapshot's thumbnail unless given; null for
   * none). */
  base(kind, data, extraClass, tag, title, details, actions, thumb = this.thumb(data, title)) {
    const node = el(
      "li",
      {
        class: `feed-item ${kind} ${extraClass}`,
        tabindex: "0",
        dataset: { kind, id: String(data.id), camera: data.camera, type: data.type },
      },
      thumb,
      el(
        "div",
        { class: "feed-body" },
        el("div", { class: "feed-row1" }, tag, el("span", { class: "feed-title", title }, title)),
        el(
          "div",
          { class: "feed-row2" },
          el("span", { class: "feed-details", title: details || null }, details),
          this.playLink(data),
          el("time", { datetime: data.time, title: stamp(data.time) }, shortTime(data.time)),
        ),
        actions,
      ),
    );
    const focus = () => this.onFocus(data.camera);
    node.addEventListener("click", (e) => {
      if (!e.target.closest("button, a")) focus();
    });
    node.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target === node) focus();
    });
    return node;
  }

  /** A link to the moment in playback (which asks for the purpose of watching). */
  playLink(data) {
    const href = `/playback?${new URLSearchParams({ camera: data.camera, t: data.time })}`;
    return el("a", { class: "feed-play", href, title: "Play the recording from just before it" }, "Play");
  }

  eventNode(ev) {
    const title = [typeName(ev.type), ev.label].filter(Boolean).join(" · ");
    const details = [this.cameraName(ev.camera), where(ev, { plate: false })].filter(Boolean).join(" · ");
    // A plate read leads with its plate: the text an operator looks for.
    const plate = plateOf(ev);
    const tag = [
      el("span", { class: "tag tag-event" }, "EVENT"),
      plate && el("span", { class: "plate plate-sm", title: "licence plate" }, plate),
    ];
    return this.base("event", ev, `type-${ev.type}`, tag, title, details, null);
  }

  alertNode(a) {
    const status = a.status;
    const details = [this.cameraName(a.camera), typeName(a.type), a.label].filter(Boolean).join(" · ");
    let actions = null;
    if (status === "candidate" && this.canReview) actions = this.reviewButtons(a);
    else if (status !== "candidate") {
      const incident = this.incidentButton(a);
      actions = [this.reviewedLine(a), incident && el("div", { class: "feed-actions" }, incident)];
    }
    // A hotlist hit shows what it matched, a face match whom, so the reviewer can judge it.
    const face = isFaceMatch(a);
    const hit = isHotlistHit(a) ? hotlistHit(a) : null;
    // A fire alert says where: the bearing from its camera and the fix two cameras give.
    const fire = !face && !hit && isFireAlert(a, this.fire);
    const shown = face ? faceMatch(a, `${this.cameraName(a.camera)} · ${stamp(a.time)}`) : hit || (fire && fireLines(a, this.fire, (id) => this.cameraName(id)));
    const count = needed(a) > 1 ? el("p", { class: "feed-confirmations" }, confirmationText(a)) : null;
    const classes = `status-${status}${hit ? " hotlist-hit" : ""}${face ? " face-match" : ""}${fire ? " fire-alert" : ""}`;
    const tag = el("span", { class: `tag tag-alert ${status}` }, "ALERT");
    const thumb = face ? null : undefined; // a face match shows its pictures side by side
    const title = fire ? typeName(a.type) : a.rule;
    const said = fire ? `${this.cameraName(a.camera)} · ${a.rule}` : details;
    return this.base("alert", a, classes, tag, title, said, [shown, count, actions], thumb);
  }

  /** Acknowledge (or Confirm, for an alert that needs two people) and Dismiss; disabled, and
   * saying why, for someone who has decided on it already. */
  reviewButtons(a) {
    const twoPeople = needed(a) > 1;
    const mine = twoPeople && decidedBy(a, this.me);
    const why = mine ? "You have confirmed it already: another person must confirm it" : null;
    const button = (action, cls, label, onclick) =>
      el("button", { type: "button", class: `btn btn-sm ${cls} review`, dataset: { action }, disabled: mine, title: why, onclick }, label);
    return el(
      "div",
      { class: "feed-actions" },
      button("acknowledge", "btn-primary", twoPeople ? "Confirm" : "Acknowledge", () =>
        twoPeople ? this.dialog.ask(a, "acknowledge", this.describe(a)) : this.acknowledge(a),
      ),
      button("dismiss", "btn-ghost", "Dismiss", () => this.dialog.ask(a, "dismiss", this.describe(a))),
      this.incidentButton(a),
      mine ? el("span", { class: "feed-note", role: "note" }, "You confirmed it; a second person must confirm it.") : null,
    );
  }

  /** "Open incident" (operators), on an alert not dismissed: the panel shows the incident
   * opened from it (or the one it is in), ready to dispatch. */
  incidentButton(a) {
    if (!this.onIncident || a.status === "dismissed") return null;
    const button = el("button", { type: "button", class: "btn btn-sm btn-ghost", dataset: { action: "incident" }, title: "Open an incident from this alert, to send a unit" }, "Open incident");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await this.onIncident(a);
      } catch (err) {
        this.flashError(this.items.get(`alert:${a.id}`)?.node, errorText(err, "Not opened"));
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  reviewedLine(a) {
    const by = a.reviewed_by ? ` by ${a.reviewed_by}` : "";
    const at = a.reviewed_at ? ` ${shortTime(a.reviewed_at)}` : "";
    return el(
      "div",
      { class: "feed-review" },
      el("span", { class: `review-status ${a.status}` }, a.status.toUpperCase()),
      `${by}${at}`,
      a.reason ? el("span", { class: "review-reason", title: a.reason }, `: ${a.reason}`) : null,
    );
  }

  /** One line naming an alert, for the review dialog. */
  describe(a) {
    const matched = isHotlistHit(a) ? hitSummary(a) : isFaceMatch(a) ? faceSummary(a) : null;
    return [a.rule, matched, this.cameraName(a.camera), stamp(a.time)].filter(Boolean).join(" · ");
  }

  async review(alert, action, reason) {
    const updated = await post(`/api/alerts/${alert.id}/review`, { action, reason: reason || null });
    this.put("alert", updated, false);
    this.emitCounts();
    return updated;
  }

  /** A decision from the review dialog. A conflict (decided meanwhile, or by you already)
   * shows the alert as it stands now with the server's words; other refusals are thrown for
   * the dialog to show. */
  async decide(alert, action, reason) {
    try {
      await this.review(alert, action, reason);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) throw err;
      await this.showConflict(alert.id, err.message);
    }
  }

  async showConflict(id, message) {
    try {
      this.put("alert", await get(`/api/alerts/${id}`), false);
    } catch (err) {
      console.warn("could not reload alert", id, err.message);
    }
    this.flashError(this.items.get(`alert:${id}`)?.node, message);
  }

  async acknowledge(alert) {
    const node = this.items.get(`alert:${alert.id}`)?.node;
    node?.querySelectorAll("button.review").forEach((b) => (b.disabled = true));
    try {
      await this.review(alert, "acknowledge", null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        await this.showConflict(alert.id, err.message);
        return;
      }
      node?.querySelectorAll("button.review").forEach((b) => (b.disabled = false));
      this.flashError(node, err.message);
    }
  }

  flashError(node, message) {
    if (!node) return;
    node.querySelector(".feed-error")?.remove();
    node.querySelector(".feed-body").append(el("p", { class: "feed-error", role: "alert" }, message));
  }
}
