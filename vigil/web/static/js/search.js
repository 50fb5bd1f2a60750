// Event search: filters (time range, camera, type, label, zone, line), a table paged with the
// API's next_cursor, and the chosen event's snapshot shown large. Filters live in the URL.
import { ApiError, get, query } from "./api.js";
import { startTopbar } from "./common.js";
import { addOptions, labelTimes, loadCameras, messageLine, purposeStated, watchPurpose } from "./searchform.js";
import { el, filtersFromForm, formFromUrl, plateOf, showLightbox, stamp, typeName, where } from "./util.js";

const FIELDS = ["purpose", "since", "until", "camera", "type", "label", "zone", "line", "plate", "limit"];

const form = document.getElementById("filters");
const tbody = document.querySelector("#results tbody");
const info = document.getElementById("results-info");
const errorBox = document.getElementById("search-error");
const pageNo = document.getElementById("page-no");
const newer = document.getElementById("newer");
const older = document.getElementById("older");
const detail = document.getElementById("detail-body");

let cameras = new Map();
let cursors = [null]; // cursor of each page shown so far (page 1 has none)
let page = 0;
let nextCursor = null;
let selected = null;

const showError = messageLine(errorBox);

/** A plate read's plate, large enough to read at a glance, after the event's label. */
function labelCell(ev) {
  const plate = plateOf(ev);
  return el("td", {}, ev.label || "–", plate && [" ", el("span", { class: "plate plate-sm" }, plate)]);
}

/** A link to the event's moment in playback (from a few seconds before it), with this
 * search's purpose: the playback is audited for the same reason. */
function playLink(ev) {
  const href = `/playback${query({ camera: ev.camera, t: ev.time, purpose: form.elements.purpose.value.trim() })}`;
  return el("a", { class: "play", href, title: "Play the recording from just before it" }, "Play");
}

function row(ev) {
  const thumb = ev.snapshot_url
    ? el("img", { src: ev.snapshot_url, alt: "", loading: "lazy", decoding: "async" })
    : el("span", { class: "thumb none" });
  const tr = el(
    "tr",
    { tabindex: "0", dataset: { id: String(ev.id) }, "aria-selected": "false" },
    el("td", { class: "c-thumb" }, thumb),
    el("td", { class: "mono" }, stamp(ev.time)),
    el("td", {}, cameras.get(ev.camera)?.name || ev.camera),
    el("td", {}, el("span", { class: `type type-${ev.type}` }, typeName(ev.type))),
    labelCell(ev),
    el("td", {}, [ev.zone && `zone ${ev.zone}`, ev.line && `line ${ev.line}`].filter(Boolean).join(" ") || "–"),
    el("td", {}, ev.direction || "–"),
    el("td", { class: "num" }, ev.track_id ?? "–"),
    el("td", { class: "num" }, typeof ev.score === "number" ? ev.score.toFixed(2) : "–"),
    el("td", { class: "c-play" }, playLink(ev)),
  );
  tr.addEventListener("click", () => choose(tr, ev));
  tr.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      choose(tr, ev);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const to = e.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
      if (to) {
        to.focus();
        to.click();
      }
    }
  });
  return tr;
}

function choose(tr, ev) {
  if (selected) selected.setAttribute("aria-selected", "false");
  selected = tr;
  tr.setAttribute("aria-selected", "true");
  const caption = `${typeName(ev.type)} · ${ev.label || ""} · ${cameras.get(ev.camera)?.name || ev.camera} · ${stamp(ev.time)}`;
  const facts = [
    ["Time", stamp(ev.time)],
    ["Camera", `${cameras.get(ev.camera)?.name || ev.camera} (${ev.camera})`],
    ["Type", typeName(ev.type)],
    ["Label", ev.label || "–"],
    ["Where", where(ev) || "–"],
    ["Track", ev.track_id ?? "–"],
    ["Score", typeof ev.score === "number" ? ev.score.toFixed(2) : "–"],
    ["Seen", typeof ev.start === "number" && typeof ev.end === "number" ? `${ev.start.toFixed(1)}–${ev.end.toFixed(1)} s (media time)` : "–"],
    ["Event id", ev.id],
  ];
  detail.replaceChildren(
    ev.snapshot_url
      ? el(
          "button",
          { type: "button", class: "detail-shot", title: "Show full size", onclick: () => showLightbox(ev.snapshot_url, caption) },
          el("img", { src: ev.snapshot_url, alt: `Snapshot: ${caption}` }),
        )
      : el("p", { class: "muted detail-shot none" }, "No snapshot for this event."),
    el("dl", { class: "facts" }, facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])),
  );
}

async function load() {
  const filters = filtersFromForm(form, FIELDS);
  if (!purposeStated(form, showError)) return;
  const cursor = cursors[page];
  showError("");
  info.textContent = "searching…";
  older.disabled = true;
  newer.disabled = true;
  try {
    const result = await get(`/api/events${query({ ...filters, cursor })}`);
    nextCursor = result.next_cursor;
    tbody.replaceChildren(...result.items.map(row));
    if (!result.items.length) {
      tbody.append(el("tr", {}, el("td", { colspan: "10", class: "muted empty" }, "No events match these filters.")));
    }
    const first = page * Number(filters.limit || 50);
    info.textContent = result.items.length
      ? `${first + 1}–${first + result.items.length}${nextCursor ? " (more older)" : ""}`
      : "0 results";
    pageNo.textContent = `page ${page + 1}`;
    older.disabled = !nextCursor;
    newer.disabled = page === 0;
    selected = null;
    const firstRow = tbody.querySelector("tr[data-id]");
    if (firstRow) firstRow.click();
    else detail.replaceChildren(el("p", { class: "muted" }, "No event chosen."));
  } catch (err) {
    info.textContent = "";
    showError(err instanceof ApiError ? err.message : `Search failed: ${err.message}`);
  }
}

function search() {
  cursors = [null];
  page = 0;
  const filters = filtersFromForm(form, FIELDS);
  history.replaceState(null, "", `/search${query(filters)}`);
  return load();
}

async function main() {
  startTopbar();
  const list = await loadCameras(form);
  cameras = new Map(list.map((c) => [c.id, c]));
  const zones = [...new Set(list.flatMap((c) => c.zones.map((z) => z.name)))].sort();
  const lines = [...new Set(list.flatMap((c) => c.lines.map((l) => l.name)))].sort();
  addOptions(form.elements.zone, zones.map((z) => [z, z]));
  addOptions(form.elements.line, lines.map((l) => [l, l]));
  formFromUrl(form, FIELDS);
  labelTimes(form);
  watchPurpose(form, showError);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  document.getElementById("reset").addEventListener("click", () => {
    const purpose = form.elements.purpose.value;
    form.reset();
    form.elements.purpose.value = purpose; // the reason for searching stays
    search();
  });
  older.addEventListener("click", () => {
    if (!nextCursor) return;
    cursors = cursors.slice(0, page + 1);
    cursors.push(nextCursor);
    page += 1;
    load();
  });
  newer.addEventListener("click", () => {
    if (page === 0) return;
    page -= 1;
    load();
  });
  if (form.elements.purpose.value) await load();
  else {
    info.textContent = "";
    tbody.replaceChildren(
      el("tr", {}, el("td", { colspan: "10", class: "muted empty" }, "State the purpose of your search, choose filters, then Search.")),
    );
    form.elements.purpose.focus();
  }
  document.body.dataset.ready = "1";
}

main().catch((err) => {
  console.error("the search page could not start:", err);
  showError(`Could not load: ${err.message}`);
});
