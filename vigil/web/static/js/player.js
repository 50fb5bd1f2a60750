// The player: a camera's recorded segments played one after another in one <video>. A time
// is played from the segment that holds it (or, in a gap, from the next one, saying so); at
// the end of a segment the next one follows, and a gap between them is named, not hidden.
import { clock } from "./util.js";

const GAP_S = 0.5; // a pause between segments longer than this is a gap worth naming

export class Player {
  /** video: the <video>; onPosition(t, segment) as it plays (UNIX seconds); onNote(text). */
  constructor(video, { onPosition, onNote }) {
    this.video = video;
    this.onPosition = onPosition;
    this.onNote = onNote;
    this.segments = [];
    this.gaps = [];
    this.index = -1;
    this.token = 0;
    video.addEventListener("timeupdate", () => this.report());
    video.addEventListener("seeked", () => this.report());
    video.addEventListener("ended", () => this.next());
    video.addEventListener("error", () => this.failed());
  }

  /** The timeline's segments (oldest first) and gaps. */
  setFootage(segments, gaps) {
    this.segments = [...segments].sort((a, b) => a.start - b.start);
    this.gaps = gaps;
  }

  endOf(seg) {
    return seg.end ?? Date.now() / 1000; // still written: up to now
  }

  current() {
    return this.segments[this.index] || null;
  }

  /** The UNIX time of the picture shown, or null. */
  position() {
    const seg = this.current();
    return seg ? seg.start + this.video.currentTime : null;
  }

  gapAt(t) {
    return this.gaps.find((g) => g.start <= t && (g.end === null || t < g.end)) || null;
  }

  /** Play from UNIX time t. */
  playAt(t) {
    const i = this.segments.findIndex((s) => s.start <= t && t < this.endOf(s));
    if (i >= 0) {
      this.onNote("");
      this.load(i, t - this.segments[i].start);
      return;
    }
    const later = this.segments.findIndex((s) => s.start > t);
    const gap = this.gapAt(t);
    const why = gap ? ` (gap: ${gap.reason})` : "";
    if (later < 0) {
      this.onNote(`No footage at or after ${clock(t)}${why} in the time shown.`);
      return;
    }
    this.onNote(`No footage at ${clock(t)}${why}; playing from ${clock(this.segments[later].start)}.`);
    this.load(later, 0);
  }

  load(i, offset) {
    const seg = this.segments[i];
    const video = this.video;
    const token = ++this.token;
    this.index = i;
    const start = () => {
      if (token !== this.token) return;
      const end = Number.isFinite(video.duration) ? Math.max(video.duration - 0.05, 0) : offset;
      video.currentTime = Math.max(0, Math.min(offset, end));
      video.play().catch(() => {}); // a paused video stays paused: the user's choice
    };
    if (video.dataset.segment === String(seg.id) && video.readyState >= 1) {
      start();
      return;
    }
    video.dataset.segment = String(seg.id);
    video.addEventListener("loadedmetadata", start, { once: true });
    video.src = seg.url;
  }

  /** The next segment, naming the gap before it if there is one. */
  next() {
    const seg = this.current();
    if (!seg) return;
    const following = this.segments[this.index + 1];
    if (!following) {
      this.onNote(`End of the footage in the time shown (${clock(this.endOf(seg))}).`);
      return;
    }
    const pause = following.start - this.endOf(seg);
    if (pause > GAP_S) {
      const gap = this.gapAt(this.endOf(seg) + 0.01);
      const why = gap ? `: ${gap.reason}` : "";
      this.onNote(`Gap of ${pause.toFixed(1)} s skipped (${clock(this.endOf(seg))}–${clock(following.start)}${why}).`);
    } else this.onNote("");
    this.load(this.index + 1, 0);
  }

  failed() {
    const seg = this.current();
    if (!seg || this.video.dataset.segment !== String(seg.id)) return;
    const what = this.video.error ? this.video.error.message || `code ${this.video.error.code}` : "unknown error";
    this.onNote(`The segment from ${clock(seg.start)} cannot be played (${what}).`);
  }

  report() {
    const seg = this.current();
    if (seg) this.onPosition(seg.start + this.video.currentTime, seg);
  }
}
