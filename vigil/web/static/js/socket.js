// The live push (/api/ws) with reconnection: back-off from 1 s doubling to 30 s (with jitter),
// reset once a connection has stayed up. A close with 4401 means the session ended: go log in.
// 4001: the user's role or cameras changed: reload, so the page shows what they may see now.

import { sessionEnding, sessionIsEnding } from "./api.js";
import { el } from "./util.js";

const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_ACCESS_CHANGED = 4001;
const MIN_DELAY = 1000;
const MAX_DELAY = 30000;
let feed = null; // the page's live connection, if it has one

/** This page is about to end its own session (logout, new password): the live feed stops now,
 * so nothing arrives that the ending session could no longer show (its pictures), and its
 * close does not send the browser to the login page first. `false`: it did not end after
 * all (a wrong password); the feed starts again. */
export function endingSession(on) {
  sessionEnding(on);
  if (feed) (on ? feed.pause : feed.resume)();
  holdPictures(on);
}

/** An <img> of a stored picture; made while the session ends, it waits as held ones do. */
export function picture(src) {
  const img = el("img", { alt: "", loading: "lazy", decoding: "async" });
  if (sessionIsEnding()) img.dataset.heldSrc = src;
  else img.src = src;
  return img;
}

/** Pictures (snapshots, live streams) stop loading while the session ends, so none is asked
 * for after it has ended (a refused picture is an error in the browser's console); they come
 * back if it did not end. */
function holdPictures(on) {
  for (const img of document.querySelectorAll(on ? "img[src]" : "img[data-held-src]")) {
    if (on) {
      img.dataset.heldSrc = img.getAttribute("src");
      img.removeAttribute("src");
    } else {
      img.setAttribute("src", img.dataset.heldSrc);
      delete img.dataset.heldSrc;
    }
  }
}

/**
 * handlers: onMessage(msg), onState("connecting" | "live" | "reconnecting"),
 *           onReconnect() after a connection that follows a lost one (lists may be stale).
 */
export function connectLive({ onMessage, onState, onReconnect }) {
  let delay = MIN_DELAY;
  let connectedBefore = false;
  let socket = null;
  let timer = null;
  let stopped = false;

  function open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/ws`);
    onState(connectedBefore ? "reconnecting" : "connecting");
    let upSince = 0;
    socket.addEventListener("open", () => {
      upSince = Date.now();
    });
    socket.addEventListener("message", (e) => {
      if (stopped) return;
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg.topic === "hello") {
        onState("live");
        if (connectedBefore) onReconnect();
        connectedBefore = true;
      }
      onMessage(msg);
    });
    socket.addEventListener("close", (e) => {
      if (stopped) return;
      if (e.code === CLOSE_UNAUTHORIZED) {
        location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      if (e.code === CLOSE_ACCESS_CHANGED) {
        location.reload();
        return;
      }
      if (upSince && Date.now() - upSince > 10000) delay = MIN_DELAY;
      onState("reconnecting");
      const wait = Math.min(delay, MAX_DELAY) * (0.8 + Math.random() * 0.4);
      delay = Math.min(delay * 2, MAX_DELAY);
      timer = setTimeout(open, wait);
    });
  }

  function pause(reason = "session ending") {
    stopped = true;
    clearTimeout(timer);
    if (socket) socket.close(1000, reason);
  }

  function resume() {
    if (!stopped) return;
    stopped = false;
    open();
  }

  feed = { pause, resume };
  open();
  window.addEventListener("pagehide", () => pause("page closed"));
}
