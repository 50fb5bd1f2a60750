// Plate search: licence-plate reads by an exact or partial plate (`AB?12*`), a time range and
// a camera, newest first, each with the crop it was read from; "Load more" follows the API's
// next_cursor. The filters live in the URL; the server checks the pattern and the purpose.
import { ApiError, get, query } from "./api.js";
import { startTopbar } from "./common.js";
import { labelTimes, loadCameras, messageLine, purposeStated, watchPurpose } from "./searchform.js";
import { picture } from "./socket.js";
import { el, filtersFromForm, formFromUrl, plateOf, showLightbox, stamp } from "./util.js";

const FIELDS = ["plate", "purpose", "since", "until", "camera"];
const PAGE = 50;

const form = document.getElementById("filters");
const list = document.getElementById("reads");
const empty = document.getElementById("reads-empty");
const info = document.getElementById("results-info");
const more = document.getElementById("more");
const showError = messageLine(document.getElementById("search-error"));

let cameras = new Map();
let shown = null; // the search whose results are listed: {filters, next, count}
let asked = 0; // the latest request: an answer to an older one is dropped

const cameraName = (id) => cameras.get(id)?.name || id;

function percent(value) {
  return typeof value === "number" && Number.isFinite(value) ? `${Math.round(value * 100)} %` : "–";
}

/** The read in the event search (same purpose), narrowed to its camera, plate and second. */
function eventLink(ev, purpose) {
  const t = Math.floor(new Date(ev.time).getTime() / 1000) * 1000;
  const second = { since: new Date(t).toISOString(), until: new Date(t + 1000).toISOString() };
  const filters = { purpose, camera: ev.camera, type: "plate_read", plate: plateOf(ev), ...second };
  return el("a", { href: `/search${query(filters)}`, title: "This read in the event search" }, `event ${ev.id}`);
}

function crop(ev, plate) {
  if (!ev.snapshot_url) return el("span", { class: "read-shot none", title: "no picture kept" });
  const caption = `${plate} · ${cameraName(ev.camera)} · ${stamp(ev.time)}`;
  const img = picture(ev.snapshot_url);
  img.alt = `Plate ${plate}`;
  return el(
    "button",
    { type: "button", class: "read-shot", title: "Show full size", onclick: () => showLightbox(ev.snapshot_url, caption) },
    img,
  );
}

function fact(name, value, title) {
  return el("div", { class: "read-fact", title }, el("span", { class: "read-k" }, name), el("span", { class: "read-v" }, value));
}

function readNode(ev, purpose) {
  const a = ev.attributes || {};
  const plate = plateOf(ev) || "?";
  const reads = Number.isFinite(a.reads) ? `${a.agreeing ?? "?"} of ${a.reads} agree` : null;
  return el(
    "li",
    { class: "read", dataset: { id: String(ev.id), plate, camera: ev.camera } },
    crop(ev, plate),
    el("span", { class: "plate plate-lg" }, plate),
    el(
      "div",
      { class: "read-facts" },
      fact("Confidence", percent(a.plate_confidence), "the share of the reads' vote it won, times the best read's confidence"),
      fact("Reads", reads || "–", "reads of this vehicle's plate that gave this text"),
      fact("Camera", cameraName(ev.camera), ev.camera),
      fact("Time", stamp(ev.time)),
      a.region ? fact("Format", String(a.region), "the plate format the text fits") : null,
    ),
    el("div", { class: "read-link" }, eventLink(ev, purpose)),
  );
}

async function fetchPage() {
  const request = ++asked;
  const { filters, next } = shown;
  more.disabled = true;
  info.textContent = "searching…";
  try {
    const result = await get(`/api/events${query({ ...filters, type: "plate_read", limit: PAGE, cursor: next })}`);
    if (request !== asked) return;
    list.append(...result.items.map((ev) => readNode(ev, filters.purpose)));
    shown.next = result.next_cursor;
    shown.count += result.items.length;
    info.textContent = shown.count ? `${shown.count} read${shown.count > 1 ? "s" : ""}${shown.next ? ", more older" : ""}` : "0 results";
    empty.textContent = "No plate reads match.";
    empty.hidden = shown.count > 0;
    more.hidden = !shown.next;
  } catch (err) {
    if (request !== asked) return;
    info.textContent = "";
    showError(err instanceof ApiError ? err.message : `Search failed: ${err.message}`);
  } finally {
    if (request === asked) more.disabled = false;
  }
}

/** Whether a plate pattern is given (what it may hold, the server checks and says). */
function plateGiven(say) {
  if (form.elements.plate.value.trim()) return true;
  say(`Enter a plate or part of one: ${document.getElementById("plate-help").textContent}.`);
  form.elements.plate.focus();
  return false;
}

/** A new search from the form: the list starts over (and stays empty if it is refused). */
function search() {
  asked += 1; // an answer still on its way belongs to the search before
  shown = null;
  list.replaceChildren();
  more.hidden = true;
  info.textContent = "";
  showError("");
  if (!plateGiven(showError) || !purposeStated(form, showError)) return;
  const filters = filtersFromForm(form, FIELDS);
  history.replaceState(null, "", `/plates${query(filters)}`);
  shown = { filters, next: null, count: 0 };
  empty.hidden = true;
  return fetchPage();
}

async function main() {
  startTopbar();
  cameras = new Map((await loadCameras(form)).map((c) => [c.id, c]));
  formFromUrl(form, FIELDS);
  labelTimes(form);
  watchPurpose(form, showError);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  more.addEventListener("click", () => {
    if (shown?.next) fetchPage();
  });
  if (form.elements.plate.value && form.elements.purpose.value) await search();
  else (form.elements.plate.value ? form.elements.purpose : form.elements.plate).focus();
  document.body.dataset.ready = "1";
}

main().catch((err) => {
  console.error("the plate search page could not start:", err);
  showError(`Could not load: ${err.message}`);
});
