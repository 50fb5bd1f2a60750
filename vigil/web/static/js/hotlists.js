// The plates page's Hotlists tab (supervisors and admins): the lists with their owner, legal
// basis and expiry; a new list; importing a CSV file of entries; a list's entries, shown only
// once a purpose is stated; removing an entry or a whole list. The server decides who may
// change what (a supervisor limited to some cameras may not) and checks every line of a file:
// this page shows what it says.
import { del, errorText, get, post, query } from "./api.js";
import { counted, expiryFlag, fact } from "./lists.js";
import { messageLine, purposeStated, watchPurpose } from "./searchform.js";
import { el, fill, stamp, toDate } from "./util.js";

const PURPOSE_MISSING =
  "State a purpose (a case number or reason, at least 3 characters) to see this list's plates: it is recorded in the audit log.";

const root = document.getElementById("hotlists");
const readsView = document.getElementById("reads-view");
const tabs = [...document.querySelectorAll("#plates [role=tab]")];
const tbody = document.querySelector("#hotlist-table tbody");
const info = document.getElementById("hotlists-info");
const createForm = document.getElementById("hotlist-create");
const importForm = document.getElementById("import-form");
const entriesForm = document.getElementById("entries-form");
const entriesTable = document.getElementById("hotlist-entries");
const maxCsv = Number(root.dataset.maxCsv) || Infinity;

const say = {
  list: messageLine(document.getElementById("hotlists-error")),
  create: messageLine(document.getElementById("create-error")),
  imported: messageLine(document.getElementById("import-result")),
  import: messageLine(document.getElementById("import-error")),
  entries: messageLine(document.getElementById("entries-error")),
};

let lists = []; // as the server last listed them
let chosen = null; // the id of the list shown on the right
let shownFor = null; // {id, purpose}: whose entries are listed, and why they were asked for
let asked = 0; // the latest entries request: an answer to an older one is dropped
let loaded = false;

// -- tabs ----------------------------------------------------------------------------------

function showTab(hotlists) {
  for (const tab of tabs) {
    const on = (tab.id === "tab-hotlists") === hotlists;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
  }
  readsView.hidden = hotlists;
  root.hidden = !hotlists;
  history.replaceState(null, "", location.pathname + location.search + (hotlists ? "#hotlists" : ""));
  if (hotlists && !loaded) refresh();
}

function wireTabs() {
  for (const tab of tabs) {
    tab.addEventListener("click", () => showTab(tab.id === "tab-hotlists"));
    tab.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      const other = tabs.find((t) => t !== tab);
      showTab(other.id === "tab-hotlists");
      other.focus();
    });
  }
}

// -- the lists -----------------------------------------------------------------------------

function entriesText(n) {
  return counted(n, "entry", "entries");
}

function listRow(h) {
  return el(
    "tr",
    { dataset: { id: h.id, name: h.name }, "aria-selected": String(h.id === chosen) },
    el("td", {}, el("button", { type: "button", class: "link-btn", title: "Show this list", onclick: () => choose(h.id) }, h.name)),
    el("td", {}, h.owner),
    el("td", { class: "basis", title: h.legal_basis }, h.legal_basis),
    el("td", { class: "expires" }, el("span", { class: "mono" }, stamp(h.expires_at)), " ", expiryFlag(h.expires_at)),
    el("td", { class: "num" }, String(h.tolerance)),
    el("td", { class: "num entries" }, String(h.entries)),
  );
}

/** The lists from the server, the chosen one's facts brought up to date. */
async function refresh() {
  try {
    lists = await get("/api/hotlists");
  } catch (err) {
    say.list(errorText(err, "Could not load the hotlists"));
    return;
  }
  loaded = true;
  say.list("");
  const empty = el("tr", {}, el("td", { colspan: "6", class: "empty muted" }, "No hotlists yet: create one below."));
  fill(tbody, lists.length ? lists.map(listRow) : empty);
  info.textContent = `${lists.length} list${lists.length === 1 ? "" : "s"}`;
  if (!lists.some((h) => h.id === chosen)) chosen = null;
  showChosen();
  root.dataset.loaded = "1";
}

function showChosen() {
  const h = lists.find((x) => x.id === chosen);
  document.getElementById("hotlist-none").hidden = Boolean(h);
  document.getElementById("hotlist-chosen").hidden = !h;
  document.getElementById("detail-name").textContent = h ? h.name : "";
  for (const tr of tbody.rows) tr.setAttribute("aria-selected", String(Number(tr.dataset.id) === chosen));
  if (!h) return;
  fill(
    document.getElementById("hotlist-facts"),
    fact("Owner", h.owner),
    fact("Legal basis", h.legal_basis),
    fact("Expires", stamp(h.expires_at), " ", expiryFlag(h.expires_at)),
    fact("Tolerance", String(h.tolerance)),
    fact("Entries", el("span", { id: "hotlist-count" }, String(h.entries))),
    fact("Changed", stamp(h.changed_at)),
  );
}

/** Show list `id` on the right; its entries stay hidden until asked for with a purpose. */
function choose(id) {
  chosen = id;
  shownFor = null;
  asked += 1;
  entriesTable.hidden = true;
  fill(entriesTable.tBodies[0]);
  for (const line of [say.imported, say.import, say.entries]) line("");
  document.getElementById("delete-error").hidden = true;
  importForm.reset();
  showChosen();
}

async function create(e) {
  e.preventDefault();
  say.create("");
  const f = createForm.elements;
  const expires = toDate(f.expires_at.value);
  if (!f.name.value.trim()) return say.create(`Name the list: ${document.getElementById("name-help").textContent}.`);
  if (!f.legal_basis.checkValidity()) return say.create("State the legal basis: the law, order or case that allows this list.");
  if (!expires) return say.create("Say when the list expires: it stops matching then (renew it to extend).");
  const body = { name: f.name.value.trim(), legal_basis: f.legal_basis.value.trim(), expires_at: expires.toISOString() };
  if (f.tolerance.value !== "") body.tolerance = Number(f.tolerance.value);
  const button = createForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const made = await post("/api/hotlists", body);
    createForm.reset();
    await refresh();
    choose(made.id);
  } catch (err) {
    say.create(errorText(err, "Not created"));
  } finally {
    button.disabled = false;
  }
}

// -- the chosen list: import, entries, delete ----------------------------------------------

function chosenList() {
  return lists.find((x) => x.id === chosen) || null;
}

async function importFile(e) {
  e.preventDefault();
  say.imported("");
  say.import("");
  const h = chosenList();
  const file = importForm.elements.file.files[0];
  if (!h) return;
  if (!file) return say.import("Choose a CSV file first.");
  const replace = importForm.elements.replace.checked;
  if (replace && h.entries && !confirm(`Replace all ${entriesText(h.entries)} of “${h.name}” with the entries of ${file.name}?`)) return;
  const button = importForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const csv = await file.text();
    if (csv.length > maxCsv) return say.import(`${file.name} is too big to send from here; use \`vigil hotlist import\`.`);
    const r = await post(`/api/hotlists/${h.id}/entries`, { csv, replace });
    if (chosen !== h.id) return; // another list was chosen meanwhile: this one's answer is stale
    say.imported(`${r.added} added, ${r.updated} updated, ${r.removed} removed; ${entriesText(r.total)}`);
    importForm.elements.file.value = "";
    await refresh();
    if (shownFor?.id === h.id) await showEntries(shownFor.purpose);
  } catch (err) {
    if (chosen === h.id) say.import(errorText(err, "Not imported"));
  } finally {
    button.disabled = false;
  }
}

function entryRow(entry) {
  const listed = entry.plate
    ? el("span", { class: "plate plate-sm" }, entry.plate)
    : el("span", { class: "plate plate-sm pattern", title: "a partial plate: ? one character, * any" }, entry.pattern);
  const remove = el("button", { type: "button", class: "btn btn-sm btn-ghost", title: "Take this entry off the list" }, "Remove");
  const row = el(
    "tr",
    { dataset: { entry: entry.id, listed: entry.plate || entry.pattern } },
    el("td", {}, listed),
    el("td", {}, entry.reason),
    el("td", {}, entry.source || "–"),
    el("td", { class: "mono", title: entry.expires_at ? null : "when the list expires" }, entry.expires_at ? stamp(entry.expires_at) : "with the list"),
    el("td", {}, remove),
  );
  remove.addEventListener("click", () => removeEntry(entry, row, remove));
  return row;
}

function noEntries() {
  return el("tr", { class: "none" }, el("td", { colspan: "5", class: "muted" }, "No entries: import a CSV file."));
}

async function showEntries(purpose) {
  const id = chosen;
  const request = ++asked;
  say.entries("");
  try {
    const items = await get(`/api/hotlists/${id}/entries${query({ purpose })}`);
    if (request !== asked) return;
    shownFor = { id, purpose };
    fill(entriesTable.tBodies[0], items.length ? items.map(entryRow) : noEntries());
    entriesTable.hidden = false;
  } catch (err) {
    if (request === asked) say.entries(errorText(err, "Could not load the entries"));
  }
}

async function removeEntry(entry, row, button) {
  const id = chosen;
  button.disabled = true;
  say.entries("");
  try {
    await del(`/api/hotlists/${id}/entries/${entry.id}`);
    row.remove();
    if (!entriesTable.tBodies[0].rows.length) entriesTable.tBodies[0].append(noEntries());
    await refresh();
  } catch (err) {
    button.disabled = false;
    if (chosen === id) say.entries(errorText(err, "Not removed"));
  }
}

async function deleteList() {
  const h = chosenList();
  if (!h) return;
  const question = `Delete the hotlist “${h.name}” and its ${entriesText(h.entries)}? Alerts it raised keep what they matched.`;
  if (!confirm(question)) return;
  const box = document.getElementById("delete-error");
  box.hidden = true;
  try {
    await del(`/api/hotlists/${h.id}`);
    chosen = null;
    await refresh();
  } catch (err) {
    box.textContent = errorText(err, "Not deleted");
    box.hidden = false;
  }
}

function main() {
  wireTabs();
  createForm.addEventListener("submit", create);
  importForm.addEventListener("submit", importFile);
  watchPurpose(entriesForm, say.entries);
  entriesForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (purposeStated(entriesForm, say.entries, PURPOSE_MISSING)) showEntries(entriesForm.elements.purpose.value.trim());
  });
  document.getElementById("hotlist-delete").addEventListener("click", deleteList);
  if (location.hash === "#hotlists") showTab(true);
}

main();
