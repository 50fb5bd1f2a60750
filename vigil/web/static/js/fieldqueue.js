// The field app's positions on their way to the server: each new fix joins a queue kept in
// localStorage (per user, so a shared phone never sends one officer's positions as
// another's), which goes as one batch (POST /api/field/positions) whenever the server can
// be reached. Bounded: the server takes at most `max` positions in one report, and the
// oldest are dropped first when the phone stays offline that long. A batch the server
// refuses with a 4xx (a 422: a position it will never take) is dropped with its reason;
// one that could not be sent waits for the next try.
import { ApiError, post } from "./api.js";

const PREFIX = "vigil.field.queue:";

export class PositionQueue {
  /** owner: the username the positions belong to; max: the server's batch limit. */
  constructor(owner, max) {
    this.key = PREFIX + owner;
    this.max = max;
    this.items = load(this.key);
    this.dropped = 0; // dropped as the queue overflowed, since the page opened
    this.sending = null; // the batch on its way
  }

  get size() {
    return this.items.length;
  }

  /** A fix from the Geolocation API: {lat, lon, time, accuracy_m, heading, speed_mps}. */
  add(fix) {
    this.items.push(fix);
    if (this.items.length > this.max) {
      this.dropped += this.items.length - this.max;
      this.items.splice(0, this.items.length - this.max);
    }
    this.save();
  }

  save() {
    try {
      if (this.items.length) localStorage.setItem(this.key, JSON.stringify(this.items));
      else localStorage.removeItem(this.key);
    } catch {
      // Storage full or refused: the queue still lives in this page.
    }
  }

  /**
   * Send what is queued as one batch. Returns {sent, unit} when the server stored it,
   * {refused: reason, count} when it refused it for good (the batch is dropped), and
   * null when there was nothing to send; throws when the server could not be reached.
   */
  async flush() {
    if (this.sending) return this.sending;
    if (!this.items.length) return null;
    const batch = this.items.slice(0, this.max);
    this.sending = (async () => {
      try {
        const answer = await post("/api/field/positions", { positions: batch });
        this.forget(batch);
        return { sent: answer.stored, unit: answer.unit };
      } catch (err) {
        if (!(err instanceof ApiError) || err.status < 400 || err.status >= 500 || err.status === 401) throw err;
        this.forget(batch);
        return { refused: err.message, count: batch.length };
      } finally {
        this.sending = null;
      }
    })();
    return this.sending;
  }

  /** Take `batch` off the front (fixes queued while it was on its way stay). */
  forget(batch) {
    const sent = new Set(batch);
    this.items = this.items.filter((p) => !sent.has(p));
    this.save();
  }
}

function load(key) {
  try {
    const items = JSON.parse(localStorage.getItem(key) || "[]");
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}
