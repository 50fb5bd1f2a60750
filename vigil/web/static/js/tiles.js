// Camera tiles: the live picture (MJPEG with the tracked boxes drawn by the server), name,
// health badge and frame rate; an offline camera says since when and why, and its tile
// recovers by itself when the camera comes back.
import { sessionIsEnding } from "./api.js";
import { clock, el, fill, fmtFps } from "./util.js";

const STREAM_FPS = 5;
// A browser opens at most 6 HTTP/1.1 connections to one server, and every MJPEG stream holds
// one: past this many tiles, the others show a picture refreshed every few seconds instead.
const MAX_STREAMS = 4;
const SNAPSHOT_MS = 2500;
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 30000;

// What the dot before a camera's name says (its title), and the map's legend (index.html,
// one item per state; the map's markers take the same colours).
export const DOT_STATES = {
  unknown: "no status yet: waiting for the camera's first report",
  online: "online: pictures are arriving and being analysed",
  offline: "offline: no pictures are arriving",
};
// The same number in the tiles and the health table, under one name.
export const SKIPPED_TITLE =
  "skipped: frames decoded but not analysed because the analysis was behind (the newest frame is " +
  "analysed instead; a count that keeps growing means this machine is too slow for the camera's frame rate)";

function pictureUrl(id, streaming) {
  const base = `/api/cameras/${encodeURIComponent(id)}`;
  return streaming
    ? `${base}/mjpeg?boxes=1&fps=${STREAM_FPS}&t=${Date.now()}`
    : `${base}/live.jpg?boxes=1&t=${Date.now()}`;
}

class Tile {
  constructor(cam, onFocus, streaming) {
    this.cam = cam;
    this.streaming = streaming;
    this.health = null;
    this.retryDelay = RETRY_MIN_MS;
    this.retryTimer = null;
    this.broken = false;
    this.badge = el("span", { class: "badge unknown" }, "…");
    this.fps = el("span", { class: "tile-fps", title: "frames analysed per second" }, "– fps");
    this.img = el("img", { alt: `Live picture of ${cam.name}`, decoding: "async" });
    this.offline = el("div", { class: "tile-offline", role: "status" });
    this.dot = el("span", { class: "dot unknown", title: DOT_STATES.unknown });
    this.info = el("span", { class: "tile-info" }, "no picture yet");
    this.counts = el("span", { class: "tile-counts", title: SKIPPED_TITLE }, "");
    this.expand = el(
      "button",
      { type: "button", class: "icon-btn", title: "Enlarge this camera", "aria-pressed": "false" },
      "⤢",
    );
    this.node = el(
      "article",
      {
        class: "tile unknown",
        tabindex: "0",
        "aria-label": `Camera ${cam.name}`,
        dataset: { camera: cam.id, picture: streaming ? "stream" : "snapshots" },
      },
      el(
        "header",
        { class: "tile-head" },
        this.dot,
        el("h3", {}, cam.name),
        el("span", { class: "tile-id" }, cam.id),
        this.badge,
        this.fps,
        this.expand,
      ),
      el("div", { class: "tile-picture" }, this.img, this.offline),
      el("footer", { class: "tile-foot" }, this.info, this.counts),
    );
    this.node.addEventListener("click", (e) => {
      if (!e.target.closest("button")) onFocus(cam.id);
    });
    this.node.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target === this.node) onFocus(cam.id);
    });
    this.img.addEventListener("error", () => this.streamLost());
    this.img.addEventListener("load", () => {
      this.retryDelay = RETRY_MIN_MS;
      this.broken = false;
      if (!this.streaming) this.retryTimer = setTimeout(() => this.start(), SNAPSHOT_MS);
    });
    this.start();
  }

  start() {
    clearTimeout(this.retryTimer);
    if (sessionIsEnding()) {
      // No picture is asked for while the session ends; it may not have (a wrong password).
      this.retryTimer = setTimeout(() => this.start(), this.retryDelay);
      return;
    }
    this.broken = false;
    this.img.src = pictureUrl(this.cam.id, this.streaming);
  }

  streamLost() {
    // The stream ended (server restart, network) or there is no picture yet: try again later.
    this.broken = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.start(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  setHealth(health) {
    const was = this.health;
    this.health = health;
    const online = !!health.online;
    this.node.classList.toggle("online", online);
    this.node.classList.toggle("offline", !online);
    this.node.classList.remove("unknown");
    this.badge.className = `badge ${online ? "online" : "offline"}`;
    this.badge.textContent = online ? "ONLINE" : "OFFLINE";
    this.dot.className = `dot ${online ? "online" : "offline"}`;
    this.fps.textContent = `${fmtFps(online ? health.fps : null)} fps`;
    const since = !online && health.offline_since ? ` since ${clock(health.offline_since)}` : "";
    this.dot.title = online ? DOT_STATES.online : `${DOT_STATES.offline}${since}`;
    const last = health.last_frame_time ? `last picture ${clock(health.last_frame_time)}` : "no picture yet";
    if (online) {
      fill(this.offline);
      if (was && !was.online && this.broken) this.start(); // back: reconnect at once
    } else {
      fill(
        this.offline,
        el("strong", {}, `OFFLINE${since}`),
        health.error ? el("span", { class: "tile-error" }, health.error) : null,
        el("span", { class: "tile-last" }, last),
      );
    }
    this.info.textContent = last;
    const restarts = health.restarts ? ` · ${health.restarts} restarts` : "";
    this.counts.textContent = `${health.frames ?? 0} frames · ${health.dropped ?? 0} skipped${restarts}`;
  }
}

/** Lays the tiles out in the grid that gives each 16:9 picture the most room. */
function layout(container, count) {
  if (!count) return;
  // A phone stacks the tiles, each as wide as the screen (vigil.css sets --tiles-flow).
  if (getComputedStyle(container).getPropertyValue("--tiles-flow").trim() === "stack") {
    container.style.gridTemplateColumns = container.style.gridTemplateRows = "";
    return;
  }
  const w = container.clientWidth;
  const h = container.clientHeight;
  const chrome = 44; // header and footer of a tile, in pixels
  let best = { cols: 1, size: 0 };
  for (let cols = 1; cols <= count; cols++) {
    const rows = Math.ceil(count / cols);
    const cw = w / cols;
    const ch = h / rows - chrome;
    const size = Math.min(cw / 16, ch / 9);
    if (size > best.size) best = { cols, size };
  }
  container.style.gridTemplateColumns = `repeat(${best.cols}, minmax(0, 1fr))`;
  container.style.gridTemplateRows = `repeat(${Math.ceil(count / best.cols)}, minmax(0, 1fr))`;
}

/** Tiles for `cameras` in `container`; the first `maxStreams` get a live stream.
 * Returns {setHealth, focus, restartStreams}. */
export function createTiles(container, cameras, onFocus, maxStreams = MAX_STREAMS) {
  const tiles = new Map();
  for (const cam of cameras) {
    const tile = new Tile(cam, onFocus, tiles.size < maxStreams);
    tiles.set(cam.id, tile);
    container.append(tile.node);
    tile.expand.addEventListener("click", () => {
      const solo = container.dataset.solo === cam.id ? "" : cam.id;
      container.dataset.solo = solo;
      for (const t of tiles.values()) {
        const on = t.cam.id === solo;
        t.node.classList.toggle("solo", on);
        t.expand.setAttribute("aria-pressed", String(on));
        t.expand.title = on ? "Show all cameras" : "Enlarge this camera";
      }
      relayout();
    });
  }
  const relayout = () => layout(container, container.dataset.solo ? 1 : tiles.size);
  new ResizeObserver(relayout).observe(container);
  relayout();

  return {
    setHealth(id, health) {
      const tile = tiles.get(id);
      if (tile) tile.setHealth(health);
    },
    focus(id) {
      const tile = tiles.get(id);
      if (!tile) return;
      for (const t of tiles.values()) t.node.classList.toggle("selected", t === tile);
      if (container.dataset.solo && container.dataset.solo !== id) tiles.get(container.dataset.solo).expand.click();
      tile.node.scrollIntoView({ block: "nearest", behavior: "smooth" });
      if (document.activeElement !== tile.node) tile.node.focus({ preventScroll: true });
    },
    restartStreams() {
      for (const tile of tiles.values()) tile.start();
    },
  };
}
