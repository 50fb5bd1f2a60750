// The audit page: the hash chain's status, the audit log (filters in the URL, paged with the
// API's next_cursor) and the transparency report of a chosen period. No pictures, no cameras.
import { ApiError, get, query } from "./api.js";
import { startTopbar } from "./common.js";
import { el, fill, filtersFromForm, formFromUrl, stamp, toDate, toLocalInput } from "./util.js";

const FIELDS = ["actor", "action", "since", "until", "limit"];
const DAY_MS = 86_400_000;

const form = document.getElementById("filters");
const tbody = document.querySelector("#log tbody");
const info = document.getElementById("log-info");
const errorBox = document.getElementById("log-error");
const pageNo = document.getElementById("page-no");
const newer = document.getElementById("newer");
const older = document.getElementById("older");
const chain = document.getElementById("chain");
const chainState = document.getElementById("chain-state");
const chainRows = document.getElementById("chain-rows");
const reportForm = document.getElementById("report-form");
const reportBox = document.getElementById("report");
const reportError = document.getElementById("report-error");

let cursors = [null];
let page = 0;
let nextCursor = null;

function show(box, message) {
  box.textContent = message;
  box.hidden = !message;
}

function objectOf(row) {
  if (!row.object_type && !row.object_id) return "–";
  return [row.object_type, row.object_id].filter(Boolean).join(" ");
}

function outcomeTone(outcome) {
  if (!outcome) return "none";
  if (outcome === "ok" || outcome === "started") return "ok";
  return "bad";
}

function row(item, extra = {}) {
  return el(
    "tr",
    { dataset: { audit: String(item.id) }, title: `hash ${item.hash}`, ...extra },
    el("td", { class: "num" }, item.id),
    el("td", { class: "mono" }, stamp(item.at)),
    el("td", {}, item.actor),
    el("td", { class: "mono" }, item.action),
    el("td", {}, objectOf(item)),
    el("td", { class: "purpose-cell" }, item.purpose || "–"),
    el("td", { class: "mono" }, item.client || "–"),
    el("td", {}, el("span", { class: `outcome outcome-${outcomeTone(item.outcome)}` }, item.outcome || "–")),
  );
}

// A search's pictures (rows whose details.in_search is the search's reference) are listed
// under the search, folded: the auditor sees the search first, then what was looked at.
function rows(items) {
  const bySearch = new Map();
  for (const item of items) {
    const ref = item.details?.search;
    if (ref) bySearch.set(ref, []);
  }
  for (const item of items) {
    const ref = item.details?.in_search;
    if (ref && bySearch.has(ref)) bySearch.get(ref).push(item);
  }
  const out = [];
  for (const item of items) {
    const ref = item.details?.in_search;
    if (ref && bySearch.has(ref)) continue; // shown under its search
    const followed = item.details?.search ? bySearch.get(item.details.search) : null;
    if (!followed || !followed.length) {
      out.push(row(item));
      continue;
    }
    const group = followed.map((f) => row(f, { class: "in-search", hidden: true, dataset: { audit: String(f.id), search: item.details.search } }));
    const toggle = el(
      "button",
      {
        type: "button",
        class: "btn btn-ghost search-fold",
        "aria-expanded": "false",
        title: "The pictures viewed from this search's results: show or hide them",
      },
      `${followed.length} picture${followed.length === 1 ? "" : "s"}`,
    );
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      for (const tr of group) tr.hidden = !open;
    });
    const head = row(item, { class: "search-row", dataset: { audit: String(item.id), search: item.details.search } });
    head.children[4].append(" ", toggle); // the Object cell
    out.push(head, ...group);
  }
  return out;
}

async function load() {
  const filters = filtersFromForm(form, FIELDS);
  show(errorBox, "");
  info.textContent = "loading…";
  older.disabled = true;
  newer.disabled = true;
  try {
    const result = await get(`/api/audit${query({ ...filters, cursor: cursors[page] })}`);
    nextCursor = result.next_cursor;
    tbody.replaceChildren(...rows(result.items));
    if (!result.items.length) {
      tbody.append(el("tr", {}, el("td", { colspan: "8", class: "muted empty" }, "No audit rows match these filters.")));
    }
    const first = page * Number(filters.limit || 50);
    info.textContent = result.items.length
      ? `${first + 1}–${first + result.items.length}${nextCursor ? " (more older)" : ""}`
      : "0 rows";
    pageNo.textContent = `page ${page + 1}`;
    older.disabled = !nextCursor;
    newer.disabled = page === 0;
  } catch (err) {
    info.textContent = "";
    show(errorBox, err instanceof ApiError ? err.message : `Loading failed: ${err.message}`);
  }
}

function search() {
  cursors = [null];
  page = 0;
  history.replaceState(null, "", `/audit${query(filtersFromForm(form, FIELDS))}`);
  return load();
}

async function checkChain() {
  try {
    const v = await get("/api/audit/verify");
    chain.dataset.tone = v.ok ? "ok" : "bad";
    chainState.textContent = v.ok ? "verified" : `BROKEN${v.broken_at ? ` at row ${v.broken_at}` : ""}`;
    chain.title = v.ok
      ? `The hash chain checks out: rows ${v.first_id}–${v.head_id}, head ${v.head_hash.slice(0, 16)}…, ${v.anchors} anchor(s)`
      : v.problem;
    chainRows.textContent = String(v.rows);
  } catch (err) {
    chain.dataset.tone = "warn";
    chainState.textContent = "unknown";
    chain.title = err.message;
  }
}

// -- the transparency report ------------------------------------------------------------------

function section(title, ...body) {
  return el("section", { class: "report-section" }, el("h3", {}, title), ...body);
}

function counts(header, data) {
  const entries = Object.entries(data || {}).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return el("p", { class: "muted" }, "none");
  return el(
    "table",
    { class: "mini" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, header), el("th", { scope: "col", class: "num" }, "count"))),
    el("tbody", {}, entries.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, v)))),
  );
}

function alertTable(alerts, cols) {
  const entries = Object.entries(alerts || {}).sort();
  if (!entries.length) return el("p", { class: "muted" }, "none");
  return el(
    "table",
    { class: "mini" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "type"), cols.map((c) => el("th", { scope: "col", class: "num" }, c)))),
    el("tbody", {}, entries.map(([t, c]) => el("tr", {}, el("td", {}, t), cols.map((k) => el("td", { class: "num" }, c[k] ?? 0))))),
  );
}

function renderReport(r) {
  const a = r.audit || {};
  fill(
    reportBox,
    el("p", { class: "muted" }, `${stamp(r.since)} to ${stamp(r.until)}`),
    section(
      "Cameras",
      el(
        "dl",
        { class: "facts" },
        el("dt", {}, "registered"),
        el("dd", {}, `${r.cameras_registered.length} (${r.cameras_registered.join(", ") || "none"})`),
        el("dt", {}, "active"),
        el("dd", {}, `${r.cameras_active.length} (${r.cameras_active.join(", ") || "none"})`),
      ),
    ),
    section("Searches by purpose", counts("purpose", r.searches_by_purpose), counts("search", r.searches_by_kind)),
    section("Reads of stored data", counts("action", r.data_reads)),
    section("Logins and service", counts("what", r.access || {})),
    section("Alerts", alertTable(r.alerts, r.alert_columns)),
    section("Sent to TAK servers (Cursor-on-Target)", counts("kind", r.tak_sent || {})),
    section(
      "Exports and retention",
      el(
        "dl",
        { class: "facts" },
        el("dt", {}, "exports"),
        el("dd", {}, String(r.exports ?? 0)),
        el("dt", {}, "purge runs"),
        el("dd", {}, String(r.purge_runs ?? 0)),
      ),
      counts("purged", r.purged),
    ),
    section(
      "Audit chain",
      el("p", { class: `chain-line ${a.ok ? "ok" : "bad"}` }, a.ok ? `verified (${a.rows} rows)` : `BROKEN: ${a.problem}`),
    ),
    (r.notes || []).length ? section("Notes", el("ul", {}, r.notes.map((n) => el("li", {}, n)))) : null,
  );
}

async function loadReport() {
  const data = new FormData(reportForm);
  const since = toDate(`${data.get("since")}T00:00:00`);
  const until = toDate(`${data.get("until")}T00:00:00`);
  if (!since || !until) {
    show(reportError, "Choose the first and the last day of the period.");
    return;
  }
  show(reportError, "");
  reportBox.replaceChildren(el("p", { class: "muted" }, "building the report…"));
  try {
    const end = new Date(until.getTime() + DAY_MS); // the last day counts whole
    const r = await get(`/api/reports/transparency${query({ since: since.toISOString(), until: end.toISOString() })}`);
    renderReport(r);
  } catch (err) {
    reportBox.replaceChildren();
    show(reportError, err instanceof ApiError ? err.message : `The report failed: ${err.message}`);
  }
}

function dateInput(d) {
  return toLocalInput(d).slice(0, 10);
}

async function main() {
  startTopbar();
  formFromUrl(form, FIELDS);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  document.getElementById("reset").addEventListener("click", () => {
    form.reset();
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
  const today = new Date();
  reportForm.elements.until.value = dateInput(today);
  reportForm.elements.since.value = dateInput(new Date(today.getTime() - 29 * DAY_MS));
  reportForm.addEventListener("submit", (e) => {
    e.preventDefault();
    loadReport();
  });
  await Promise.all([checkChain(), load(), loadReport()]);
  document.body.dataset.ready = "1";
}

main().catch((err) => {
  console.error("the audit page could not start:", err);
  show(errorBox, `Could not load: ${err.message}`);
});
