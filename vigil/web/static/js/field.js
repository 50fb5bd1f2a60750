// The field app (/field) on an officer's phone: where I am (the Geolocation API), my
// colleagues, the cameras, the alerts and incidents near me or mine (GET /api/field, asked
// again every report_every_s seconds and after each answer), one-tap answers and notes,
// and position reports: every report_every_s seconds the newest fix joins a queue that is
// sent as one batch whenever the server can be reached (fieldqueue.js). A service worker
// keeps the app's shell (never an API answer) so it opens without a connection.
import { ApiError, get, me, post } from "./api.js";
import { startTopbar } from "./common.js";
import { FieldIncident, metres } from "./fieldincident.js";
import { FieldMap } from "./fieldmap.js";
import { PositionQueue } from "./fieldqueue.js";
import { distance } from "./incident.js";
import { words } from "./units.js";
import { clock, el, fill, shortTime } from "./util.js";

const root = document.getElementById("field");
const ACTIONS = root.dataset.actions.split(",");
const MAX_BATCH = Number(root.dataset.maxBatch);
const OWNER_KEY = "vigil.field.owner"; // who used the app last: their queue, when offline
const CAMERAS_KEY = "vigil.field.cameras"; // where the cameras are, for a map opened offline

const $ = (id) => document.getElementById(id);
const state = {
  owner: null, // {user, unit: whether they had a unit}
  queue: null,
  picture: null, // the last answer of GET /api/field
  fix: null, // the newest fix: {lat, lon, time, accuracy_m, heading, speed_mps}
  queuedAt: null, // the time of the newest fix queued
  everyS: Number(root.dataset.reportEvery),
  timer: null,
  reached: null, // whether the last request reached the server
  updated: null, // when the picture was last brought up to date
  sentAt: null, // when positions were last stored
  refused: null, // why the server refused a batch for good
  geoError: null,
  map: null,
  mapKey: null, // the cameras the map was made with
  cards: new Map(), // incident id -> FieldIncident
  answered: null, // the incident this unit last resolved or declined: {id, title, action, at}
  busy: false, // a beat (report and refresh) is on its way
  worker: null, // the active service worker
  shell: null, // keeping the shell offline: "keeping", "partly" or "kept"
  asked: 0, // GET /api/field requests made
  shown: 0, // the one whose answer is shown
};

/* ------------------------------------------------------------------ the connection line */

function online() {
  return navigator.onLine && state.reached !== false;
}

function showConnection() {
  const link = $("link-state");
  const queued = state.queue ? state.queue.size : 0;
  const up = online();
  link.textContent = up ? "ONLINE" : "OFFLINE";
  link.className = `link-state ${up ? "is-live" : "is-offline"}`;
  const parts = [];
  if (!up) parts.push(`offline — ${queued} position${queued === 1 ? "" : "s"} queued`);
  else {
    parts.push(queued ? `online — ${queued} position${queued === 1 ? "" : "s"} to send` : "online");
    if (state.updated) parts.push(`updated ${clock(state.updated)}`);
  }
  if (state.sentAt) parts.push(`position sent ${clock(state.sentAt)}`);
  if (state.geoError) parts.push(state.geoError);
  else if (!state.fix) parts.push("waiting for your position");
  if (state.queue?.dropped) parts.push(`${state.queue.dropped} oldest positions dropped (queue full)`);
  if (state.refused) parts.push(`positions refused: ${state.refused}`);
  const line = $("conn");
  line.textContent = parts.join(" · ");
  line.dataset.queued = String(queued);
  line.dataset.online = up ? "1" : "0";
}

function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

/* ------------------------------------------------------------------ who, and their queue */

function rememberedOwner() {
  return remembered(OWNER_KEY);
}

function setOwner(owner) {
  if (state.owner?.user !== owner.user || !state.queue) state.queue = new PositionQueue(owner.user, MAX_BATCH);
  state.owner = owner;
  try {
    localStorage.setItem(OWNER_KEY, JSON.stringify(owner));
  } catch {
    // Not kept: the app still works while it stays open.
  }
}

async function who() {
  try {
    const { username } = (await me()).user;
    const last = rememberedOwner();
    setOwner({ user: username, unit: last?.user === username && last.unit });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    state.reached = false; // offline: the last user's queue goes on
    const last = rememberedOwner();
    if (last) setOwner(last);
  }
}

/* ------------------------------------------------------------------ position */

function watchPosition() {
  if (!("geolocation" in navigator)) {
    state.geoError = "this browser gives no position";
    return;
  }
  navigator.geolocation.watchPosition(
    (p) => {
      const c = p.coords;
      state.fix = {
        lat: c.latitude,
        lon: c.longitude,
        time: new Date(p.timestamp).toISOString(),
        accuracy_m: Number.isFinite(c.accuracy) ? c.accuracy : null,
        heading: Number.isFinite(c.heading) ? c.heading : null,
        speed_mps: Number.isFinite(c.speed) ? c.speed : null,
      };
      state.geoError = null;
      $("center-me").disabled = false;
      drawMe();
      if (state.queuedAt === null) tick(); // the first fix goes at once
      else showConnection();
    },
    (err) => {
      state.geoError = err.code === err.PERMISSION_DENIED ? "location is not allowed: allow it for this site to report your position" : `no position: ${err.message}`;
      showConnection();
    },
    { enableHighAccuracy: true, maximumAge: 0 },
  );
}

/** The newest fix joins the queue (once), if this user has a unit to report for; whether
 * it did. */
function queueFix() {
  const fix = state.fix;
  if (!fix || !state.queue || !state.owner?.unit || fix.time === state.queuedAt) return false;
  state.queue.add({ ...fix });
  state.queuedAt = fix.time;
  return true;
}

async function sendQueue() {
  if (!state.queue || !navigator.onLine) return;
  const done = await state.queue.flush();
  if (!done) return;
  if (done.refused) state.refused = `${done.count} dropped: ${done.refused}`;
  else {
    state.sentAt = new Date();
    state.refused = null;
  }
}

/* ------------------------------------------------------------------ the picture */

function remembered(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

/** The map with these cameras (where they are is no secret: kept for opening offline). A
 * map made with other cameras (none: opened offline the first time) is made anew. */
function ensureMap(cameras) {
  const placed = cameras.map(({ id, name, lat, lon }) => ({ id, name, lat, lon }));
  const key = JSON.stringify(placed);
  if (state.map && state.mapKey === key) return;
  let container = $("map");
  if (state.map) {
    const fresh = container.cloneNode(false);
    container.replaceWith(fresh);
    container = fresh;
  }
  state.map = new FieldMap(container, $("map-notice"), placed, () => {});
  state.mapKey = key;
  try {
    if (placed.length) localStorage.setItem(CAMERAS_KEY, key);
  } catch {
    // Not kept: an offline start shows no cameras.
  }
  drawMe();
}

function drawMe() {
  if (!state.map || !state.fix) return;
  const pic = state.picture;
  state.map.showMe(state.fix, pic?.unit || null, pic?.settings.radius_m);
  if (pic) state.map.frame(pic.incidents, pic.assigned);
}

function here() {
  if (state.fix) return [state.fix.lat, state.fix.lon];
  const p = state.picture?.unit.position;
  return p ? [p.lat, p.lon] : null;
}

async function refresh() {
  if (!navigator.onLine) return;
  const asked = ++state.asked;
  let pic;
  try {
    pic = await get("/api/field");
    if (asked < state.shown) return; // a later answer (after a tap) is shown already
    state.shown = asked;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    notice(err.message); // in the server's words
    if (err.status !== 403) return; // the last picture stays
    if (state.owner) setOwner({ ...state.owner, unit: false }); // no unit (any more)
    state.picture = null;
    drawPicture({ unit: null, colleagues: [], cameras: [], alerts: [], incidents: [], assigned: [] });
    return;
  }
  notice("");
  if (state.owner) setOwner({ ...state.owner, unit: true });
  state.picture = pic;
  state.updated = new Date();
  if (pic.settings.report_every_s !== state.everyS) {
    state.everyS = pic.settings.report_every_s;
    schedule();
  }
  drawPicture(pic);
}

function drawPicture(pic) {
  if (pic.unit) ensureMap(pic.cameras);
  else if (!state.map) ensureMap([]);
  const u = pic.unit;
  fill($("unit"), u ? [el("strong", {}, u.callsign), " ", el("span", { class: `unit-status unit-${u.status}`, dataset: { status: u.status } }, words(u.status))] : null);
  state.map.showColleagues(pic.colleagues);
  state.map.showThings(pic.alerts, pic.incidents, pic.assigned);
  drawMe();
  drawIncidents(pic);
  drawNear(pic);
  root.dataset.polled = String(Number(root.dataset.polled || 0) + 1);
}

/** A unit by id: yours, or a colleague's. */
function unitOf(id) {
  const mine = state.picture?.unit;
  return mine && mine.id === Number(id) ? mine : state.map.colleagues.get(id);
}

function drawIncidents(pic) {
  const mine = pic.incidents.filter((i) => pic.assigned.includes(i.id));
  for (const [id, card] of state.cards) {
    if (mine.some((i) => i.id === id)) continue;
    card.remove();
    state.cards.delete(id);
  }
  for (const incident of mine) {
    let card = state.cards.get(incident.id);
    if (!card) {
      card = new FieldIncident({ actions: ACTIONS, units: { get: unitOf }, act: { answer, note } });
      state.cards.set(incident.id, card);
      $("incidents").append(card.node);
    }
    const tied = new Set([incident.camera, ...pic.alerts.filter((a) => a.incident === incident.id).map((a) => a.camera)]);
    card.show(incident, { unitId: pic.unit.id, here: here(), cameras: pic.cameras.filter((c) => c.live && tied.has(c.id)) });
  }
  const done = state.answered;
  $("done").hidden = !done;
  $("done").textContent = done ? `Incident #${done.id} ${done.title}: ${done.action === "decline" ? "you declined it" : "resolved"} ${clock(done.at)}.` : "";
  $("no-incident").hidden = mine.length > 0 || !pic.unit;
}

function nearItem(kind, id, title, facts, point) {
  const m = point[0] !== null ? metres(here(), point) : null;
  return el(
    "li",
    { class: `field-near-item near-${kind}`, dataset: { [kind]: id } },
    el("span", { class: "near-title" }, title),
    el("span", { class: "near-facts" }, [...facts, m !== null ? distance(m) : null].filter(Boolean).join(" · ")),
  );
}

function drawNear(pic) {
  const alerts = pic.alerts
    .filter((a) => !pic.assigned.includes(a.incident))
    .map((a) => nearItem("alert", a.id, a.rule, [a.title, `camera ${a.camera}`, shortTime(a.time), words(a.status)], [a.lat, a.lon]));
  const incidents = pic.incidents
    .filter((i) => !pic.assigned.includes(i.id))
    .map((i) => nearItem("incident", i.id, `#${i.id} ${i.title}`, [words(i.state), shortTime(i.opened_at)], [i.lat, i.lon]));
  const items = [...incidents, ...alerts];
  fill($("near"), items);
  $("nothing-near").hidden = items.length > 0 || !pic.unit;
}

/* ------------------------------------------------------------------ answers */

async function answer(id, action) {
  const incident = await post(`/api/field/incidents/${id}/answer`, { action });
  if (action === "resolved" || action === "decline") state.answered = { id, title: incident.title, action, at: new Date() };
  await refresh().catch(() => {}); // sent; the next beat brings the picture up to date
  return incident;
}

async function note(id, text) {
  const incident = await post(`/api/field/incidents/${id}/notes`, { text });
  await refresh().catch(() => {}); // sent; the next beat brings the picture up to date
  return incident;
}

/* ------------------------------------------------------------------ the beat */

async function tick() {
  if (state.busy) return; // the last beat is still on its way
  state.busy = true;
  try {
    if (!state.owner && navigator.onLine) await who();
    queueFix();
    await sendQueue();
    await refresh();
    if (queueFix()) await sendQueue(); // the first answer said this user has a unit
    state.reached = true;
    keepShell(); // if some of it could not be kept yet
  } catch (err) {
    if (!(err instanceof ApiError)) state.reached = false; // unreachable: try again next time
  } finally {
    state.busy = false;
  }
  showConnection();
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(tick, state.everyS * 1000);
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/field/sw.js", { scope: "/field" });
    state.worker = (await navigator.serviceWorker.ready).active;
    keepShell();
  } catch (err) {
    root.dataset.offline = `no: ${err.message}`;
  }
}

/** Hand the service worker what this page loaded from here (the shell: never an API
 * answer) to keep for opening offline. What it could not fetch (the connection went
 * meanwhile) is asked for again after the next beat that reaches the server. */
function keepShell() {
  if (!state.worker || state.shell === "kept" || state.shell === "keeping") return;
  state.shell = "keeping";
  const shell = performance
    .getEntriesByType("resource")
    .map((e) => new URL(e.name))
    .filter((u) => u.origin === location.origin && u.pathname.startsWith("/static/"))
    .map((u) => u.pathname);
  const channel = new MessageChannel();
  channel.port1.onmessage = ({ data }) => {
    root.dataset.offline = `kept ${data.kept} of ${data.of}`;
    state.shell = data.kept === data.of ? "kept" : "partly";
  };
  state.worker.postMessage({ keep: [location.pathname, ...new Set(shell)] }, [channel.port2]);
}

async function start() {
  startTopbar();
  watchPosition();
  for (const event of ["online", "offline"]) window.addEventListener(event, () => (navigator.onLine ? tick() : showConnection()));
  try {
    await who();
    await tick();
  } catch (err) {
    notice(err.message);
  }
  if (!state.map) ensureMap(remembered(CAMERAS_KEY) || []); // opened offline
  $("center-me").addEventListener("click", () => state.map.center());
  showConnection();
  schedule();
  registerWorker();
  document.body.dataset.ready = "1";
}

start();
