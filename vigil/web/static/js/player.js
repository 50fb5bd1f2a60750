// The player: a camera's recorded segments played one after another. A time is played from
// the segment that holds it (or, in a gap, from the next one, saying so); at the end of a
// segment the next one follows, and a gap between them is named, not hidden. Two <video>
// elements take turns: while one plays, the other loads the next segment, so the switch at
// a segment's end does not wait for the network.
import { clock } from "./util.js";

const GAP_S = 0.5; // a pause between segments longer than this is a gap worth naming
const PRELOAD_S = 3; // this close to a segment's end, the next one is loaded

export class Player {
  /** video: the <video> shown; spare: a hidden one; onPosition(t, segment) as it plays
   * (UNIX seconds); onNote(text). The one shown always carries the id "video". */
  constructor(video, spare, { onPosition, onNote }) {
    this.video = video;
    this.spare = spare;
    this.onPosition = onPosition;
    this.onNote = onNote;
    this.segments = [];
    this.gaps = [];
    this.index = -1;
    this.token = 0;
    for (const v of [video, spare]) {
      const mine = (fn) => (e) => {
        if (e.target === this.video) fn();
      };
      v.addEventListener("timeupdate", mine(() => this.report()));
      v.addEventListener("seeked", mine(() => this.report()));
      v.addEventListener("ended", mine(() => this.next()));
      v.addEventListener("error", mine(() => this.failed()));
    }
  }

  /** The timeline's segments (oldest first) and gaps. */
  setFootage(segments, gaps) {
    this.segments = [...segments].sort((a, b) => a.start - b.start);
    this.gaps = gaps;
    this.forget(this.spare);
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
      video.currentTime = Math.max(0, offset); // not clamped to a duration still estimated
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
    if (this.spare.dataset.segment === String(following.id) && this.spare.readyState >= 2) {
      this.swap(this.index + 1);
      return;
    }
    this.load(this.index + 1, 0);
  }

  /** Show the spare (the next segment, loaded) in place of the one that ended. */
  swap(i) {
    const [shown, ended] = [this.spare, this.video];
    this.token += 1;
    this.index = i;
    [this.video, this.spare] = [shown, ended];
    shown.hidden = false;
    shown.controls = true;
    shown.play().catch(() => {});
    ended.hidden = true;
    ended.controls = false;
    [ended.id, shown.id] = ["video-next", "video"];
    this.forget(ended);
  }

  forget(v) {
    if (!v.getAttribute("src")) return;
    v.removeAttribute("src");
    delete v.dataset.segment;
    v.load();
  }

  /** Near the end of the segment shown, load the next one in the spare. */
  preload() {
    const following = this.segments[this.index + 1];
    const v = this.video;
    if (!following || this.spare.dataset.segment === String(following.id)) return;
    if (!Number.isFinite(v.duration) || v.duration - v.currentTime > PRELOAD_S) return;
    this.spare.dataset.segment = String(following.id);
    this.spare.preload = "auto";
    this.spare.src = following.url;
  }

  failed() {
    const seg = this.current();
    if (!seg || this.video.dataset.segment !== String(seg.id)) return;
    const what = this.video.error ? this.video.error.message || `code ${this.video.error.code}` : "unknown error";
    this.onNote(`The segment from ${clock(seg.start)} cannot be played (${what}).`);
  }

  report() {
    const seg = this.current();
    if (!seg) return;
    this.onPosition(seg.start + this.video.currentTime, seg);
    this.preload();
  }
}
