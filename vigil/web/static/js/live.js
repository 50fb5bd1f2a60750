// The command centre page: map (cameras, units, incidents, fire bearings and fixes), camera
// tiles, the incident panel and the live feed, kept current by the WebSocket (/api/ws) and a
// slow poll of camera health for frame rates.
import { get, me } from "./api.js";
import { Clips } from "./clips.js";
import { startTopbar } from "./common.js";
import { Feed } from "./feed.js";
import { FireWatch } from "./fire.js";
import { IncidentPanel } from "./incidents.js";
import { createMap } from "./map.js";
import { connectLive } from "./socket.js";
import { DOT_STATES, SKIPPED_TITLE, createTiles } from "./tiles.js";
import { Units, unitLegend } from "./units.js";
import { clock, el, fill, fmtFps } from "./util.js";

const HEALTH_POLL_MS = 3000;
const LINKS_POLL_MS = 10000;
const COMPACT = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

/** A count for a narrow column: "9876", "12.3K", "1.1M"; the exact number as its title. */
function setCount(cell, n, title = "") {
  const value = Number.isFinite(n) ? n : 0;
  cell.textContent = value < 10000 ? String(value) : COMPACT.format(value);
  cell.title = [title, value >= 10000 ? value.toLocaleString("en") : ""].filter(Boolean).join(": ");
}

function setStat(id, value, tone) {
  const node = document.getElementById(id);
  if (!node) return;
  node.querySelector(".stat-v").textContent = value;
  node.dataset.tone = tone || "";
}

/** The integrations' links (an MQTT broker): shown only when vigil.yml turns one on. */
async function showLinks() {
  const node = document.getElementById("stat-links");
  if (!node) return;
  const links = Object.entries((await get("/api/health")).integrations || {});
  node.hidden = links.length === 0;
  const up = links.filter(([, link]) => link.online).length;
  const said = ([name, l]) => `${name} ${l.server}: ${l.status}${l.error ? ` (${l.error})` : ""}`;
  node.title = links.map(said).join("\n");
  setStat("stat-links", `${up}/${links.length}`, up === links.length ? "ok" : "bad");
}

function cameraTable(table, cameras, onFocus) {
  const tbody = table.querySelector("tbody");
  table.querySelector("#skipped-head").title = SKIPPED_TITLE;
  const rows = new Map();
  for (const cam of cameras) {
    const cells = {
      status: el("td", { class: "st" }, "…"),
      fps: el("td", { class: "num" }, "–"),
      frames: el("td", { class: "num" }, "–"),
      dropped: el("td", { class: "num", title: SKIPPED_TITLE }, "–"),
      restarts: el("td", { class: "num" }, "–"),
    };
    const name = el(
      "button",
      { type: "button", class: "link-btn", onclick: () => onFocus(cam.id), title: `Show ${cam.name}` },
      cam.name,
    );
    const position = typeof cam.lat === "number" ? null : el("span", { class: "muted" }, " (no position)");
    const row = el(
      "tr",
      { dataset: { camera: cam.id } },
      el("td", { class: "cam", title: cam.name }, name, position),
      cells.status,
      cells.fps,
      cells.frames,
      cells.dropped,
      cells.restarts,
    );
    tbody.append(row);
    rows.set(cam.id, { row, cells });
  }
  return (id, h) => {
    const r = rows.get(id);
    if (!r) return;
    r.row.className = h.online ? "online" : "offline";
    const since = !h.online && h.offline_since ? clock(h.offline_since) : null;
    fill(r.cells.status, h.online ? "online" : "offline", since && el("span", { class: "since" }, since));
    r.cells.status.title = [since && `offline since ${since}`, h.error].filter(Boolean).join(": ");
    r.cells.fps.textContent = h.online ? fmtFps(h.fps) : "–";
    setCount(r.cells.frames, h.frames);
    setCount(r.cells.dropped, h.dropped, SKIPPED_TITLE);
    setCount(r.cells.restarts, h.restarts, "decoder restarts");
  };
}

async function main() {
  startTopbar();
  // The legend explains each state of the dots (tiles) and markers (map) in the dots' words.
  for (const item of document.querySelectorAll("#dot-legend [data-state]")) item.title = DOT_STATES[item.dataset.state] || "";
  const [who, cameraList] = await Promise.all([me(), get("/api/cameras")]);
  const cameras = new Map(cameraList.map((c) => [c.id, c]));
  const health = new Map();
  let eventsSeen = 0;

  let map = null;
  let tiles = null;
  const focus = (id) => {
    tiles?.focus(id);
    map?.select(id);
  };
  const mapNode = document.getElementById("map");
  map = createMap(mapNode, document.getElementById("map-notice"), cameraList, focus);
  // Opening incidents and dispatching are for operators and up, as reviewing alerts is.
  const canAct = !!who.permissions.review_alerts;
  let panel = null;
  const units = new Units(map.overlay, {
    trailMinutes: Number(mapNode.dataset.trailMinutes) || undefined,
    onChange: (unit, previous) => panel?.unitChanged(unit, previous),
  });
  unitLegend(document.getElementById("unit-legend"));
  const fire = new FireWatch(map.overlay, { cameras });
  const clipForm = document.getElementById("clip-form");
  clipForm.hidden = !canAct; // uploading clips is for operators and up
  const clips = new Clips(map.overlay, { form: canAct ? clipForm : null, list: document.getElementById("clip-list") });
  if (canAct) clips.load().catch((err) => console.warn("could not load the clips:", err.message));
  panel = new IncidentPanel(document.getElementById("incidents"), { overlay: map.overlay, units, canAct });
  // ?streams=N changes how many tiles get a live stream (the others refresh a picture).
  const streams = Number(new URLSearchParams(location.search).get("streams")) || undefined;
  tiles = createTiles(document.getElementById("tiles"), cameraList, focus, streams);
  const tableRow = cameraTable(document.getElementById("cam-table"), cameraList, focus);

  const applyHealth = (id, h) => {
    if (!cameras.has(id)) return;
    health.set(id, h);
    map.setHealth(id, h);
    tiles.setHealth(id, h);
    tableRow(id, h);
    const online = [...health.values()].filter((x) => x.online).length;
    setStat("stat-cameras", `${online}/${cameras.size}`, online === cameras.size ? "ok" : "bad");
  };
  for (const cam of cameraList) applyHealth(cam.id, cam.health);

  const feed = new Feed(document.getElementById("feed"), {
    cameras,
    canReview: !!who.permissions.review_alerts,
    me: who.user.username,
    onFocus: focus,
    onCounts: ({ open, more }) => setStat("stat-alerts", `${open}${more ? "+" : ""}`, open ? "warn" : "ok"),
    onIncident: canAct ? (alert) => panel.openForAlert(alert.id) : null,
    fire,
  });
  for (const btn of document.querySelectorAll(".seg-btn")) {
    btn.addEventListener("click", () => {
      for (const b of document.querySelectorAll(".seg-btn")) b.setAttribute("aria-pressed", String(b === btn));
      feed.setFilter(btn.dataset.filter);
    });
  }

  // Messages that arrive while the lists load wait, then apply in order (put() dedupes).
  let queue = [];
  let loading = false;
  const handle = (msg) => {
    switch (msg.topic) {
      case "hello":
        for (const h of msg.cameras) applyHealth(h.camera, h);
        break;
      case "camera":
        applyHealth(msg.camera, msg);
        break;
      case "event":
        fire.event(msg);
        feed.put("event", msg, true);
        map.flash(msg.camera);
        eventsSeen += 1;
        setStat("stat-events", String(eventsSeen));
        break;
      case "alert":
        fire.alert(msg);
        feed.put("alert", msg, true);
        map.flash(msg.camera);
        break;
      case "unit":
        units.put(msg);
        break;
      case "incident":
        panel.put(msg);
        break;
      case "view":
        clips.view(msg);
        break;
      case "fire_fix":
        fire.fix(msg);
        break;
      case "dropped":
        reload();
        break;
      default:
        break;
    }
  };
  async function reload() {
    if (loading) return;
    loading = true;
    try {
      // Units first: the incidents name them by status.
      // Fire bearings first: the feed's fire alerts name theirs.
      const fireLoaded = fire.load().catch((err) => console.warn("could not load the fire watch:", err.message));
      await Promise.all([fireLoaded.then(() => feed.reload()), units.load().then(() => panel.load())]);
    } catch (err) {
      console.warn("could not load the feed, units or incidents:", err.message);
    } finally {
      loading = false;
      const waiting = queue;
      queue = [];
      for (const msg of waiting) handle(msg);
    }
  }
  const linkState = document.getElementById("link-state");
  connectLive({
    onMessage: (msg) => {
      if (loading && msg.topic !== "hello" && msg.topic !== "camera") queue.push(msg);
      else handle(msg);
    },
    onState: (state) => {
      linkState.className = `link-state is-${state}`;
      linkState.textContent = state === "live" ? "LIVE" : state === "connecting" ? "CONNECTING" : "RECONNECTING";
      document.body.dataset.link = state;
    },
    onReconnect: () => {
      reload();
      tiles.restartStreams();
    },
  });
  await reload();
  // Links from elsewhere (a TAK client's CoT, a shared address): /?camera=ID shows that camera,
  // /?incident=N opens that incident (the server says when it is not there or not yours).
  const wanted = new URLSearchParams(location.search);
  if (cameras.has(wanted.get("camera"))) focus(wanted.get("camera"));
  const incidentId = Number(wanted.get("incident"));
  if (Number.isInteger(incidentId) && incidentId > 0) await panel.open(incidentId);
  await showLinks().catch((err) => console.warn("could not read the integrations' health:", err.message));
  document.body.dataset.ready = "1";
  setInterval(() => showLinks().catch(() => {}), LINKS_POLL_MS); // the next poll tries again

  // Frame rates and counters change all the time; the WebSocket only says online / offline.
  setInterval(async () => {
    try {
      for (const cam of await get("/api/cameras")) applyHealth(cam.id, cam.health);
    } catch {
      // The link indicator shows the connection state; try again next time.
    }
  }, HEALTH_POLL_MS);
}

main().catch((err) => {
  console.error("the command centre could not start:", err);
  const live = document.getElementById("live");
  if (live) live.prepend(el("p", { class: "error page-error", role: "alert" }, `Could not load: ${err.message}`));
});
