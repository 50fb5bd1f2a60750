// The watchlists page (supervisors and admins): every face watchlist with its purpose, legal
// basis, who authorised it, when it is valid (local time), where it applies (cameras or a
// geofence) and its daily window; a new list; enrolling a person from photos (the server
// refuses a photo without a usable face, in its words); who is on a list, shown only once a
// purpose is stated; taking a person off a list; deleting a list. The server decides who may
// change what (a supervisor limited to some cameras may not): this page shows what it says.
import { del, errorText, get, post, query } from "./api.js";
import { startTopbar } from "./common.js";
import { counted, expiryFlag, fact } from "./lists.js";
import { messageLine, purposeStated, watchPurpose } from "./searchform.js";
import { el, fill, stamp, toDate } from "./util.js";
import { cameraChoices, createBody, enrolBody, FormProblem, resetCreate } from "./watchforms.js";

const PURPOSE_MISSING =
  "State a purpose (a case number or reason, at least 3 characters) to see who is on this list: it is recorded in the audit log.";

const root = document.getElementById("watchlists");
const tbody = document.querySelector("#watchlist-table tbody");
const createForm = document.getElementById("watchlist-create");
const enrolForm = document.getElementById("enrol-form");
const peopleForm = document.getElementById("people-form");
const peopleTable = document.getElementById("watchlist-people");
const limits = { images: Number(root.dataset.maxImages) || 5, imageChars: Number(root.dataset.maxImageChars) || Infinity };

const say = {
  list: messageLine(document.getElementById("watchlists-error")),
  create: messageLine(document.getElementById("create-error")),
  enrolled: messageLine(document.getElementById("enrol-result")),
  enrol: messageLine(document.getElementById("enrol-error")),
  people: messageLine(document.getElementById("people-error")),
  deleted: messageLine(document.getElementById("delete-error")),
};

let cameras = new Map(); // id -> camera, those this user sees
let lists = []; // as the server last listed them
let chosen = null; // the id of the list shown on the right
let shownFor = null; // {id, purpose}: whose people are listed, and why they were asked for
let asked = 0; // the latest people request: an answer to an older one is dropped

const peopleText = (n) => counted(n, "person", "people");

// -- what a list says ------------------------------------------------------------------------

/** Where a list applies: its cameras, and/or the cameras inside its geofence. */
function whereText(w) {
  const parts = [];
  if (w.cameras?.length) parts.push(w.cameras.map((id) => cameras.get(id)?.name || id).join(", "));
  const g = w.geofence;
  if (g?.centre) parts.push(`within ${g.radius_m} m of ${g.centre[0]}, ${g.centre[1]}`);
  else if (g?.polygon) parts.push(`inside a polygon of ${g.polygon.length} points`);
  return parts.join("; ") || "–";
}

function whenText(w) {
  return w.window ? `${w.window[0]}–${w.window[1]} ${w.timezone}` : "all day";
}

/** Flags for a list that is not in force now: not yet valid, expired, or soon to be. */
function validFlag(w) {
  if ((toDate(w.valid_from)?.getTime() ?? 0) > Date.now()) {
    return el("span", { class: "flag flag-warn", title: "it matches nothing before then" }, "not yet valid");
  }
  return expiryFlag(w.valid_until);
}

/** From when until when, in local time (one line each). */
function validCell(w) {
  return [
    el("span", { class: "valid-from" }, "from ", el("span", { class: "mono" }, stamp(w.valid_from))),
    el("span", { class: "valid-until" }, "until ", el("span", { class: "mono" }, stamp(w.valid_until)), " ", validFlag(w)),
  ];
}

function listRow(w) {
  return el(
    "tr",
    { dataset: { id: w.id, name: w.name }, "aria-selected": String(w.id === chosen) },
    el("td", {}, el("button", { type: "button", class: "link-btn", title: "Show this watchlist", onclick: () => choose(w.id) }, w.name)),
    el("td", { class: "purpose", title: w.purpose }, w.purpose),
    el("td", { class: "basis", title: w.legal_basis }, w.legal_basis),
    el("td", {}, w.authorised_by),
    el("td", { class: "valid" }, validCell(w)),
    el("td", { class: "where" }, whereText(w)),
    el("td", { class: "when" }, whenText(w)),
    el("td", { class: "num people" }, String(w.entries)),
  );
}

/** The lists from the server, the chosen one's facts brought up to date. */
async function refresh() {
  try {
    lists = await get("/api/watchlists");
  } catch (err) {
    say.list(errorText(err, "Could not load the watchlists"));
    return;
  }
  say.list("");
  const empty = el("tr", {}, el("td", { colspan: "8", class: "empty muted" }, "No watchlists: face matching is off. Create one below."));
  fill(tbody, lists.length ? lists.map(listRow) : empty);
  document.getElementById("watchlists-info").textContent = counted(lists.length, "list", "lists");
  if (!lists.some((w) => w.id === chosen)) chosen = null;
  showChosen();
  root.dataset.loaded = "1";
}

function chosenList() {
  return lists.find((w) => w.id === chosen) || null;
}

function showChosen() {
  const w = chosenList();
  document.getElementById("watchlist-none").hidden = Boolean(w);
  document.getElementById("watchlist-chosen").hidden = !w;
  document.getElementById("detail-name").textContent = w ? w.name : "";
  for (const tr of tbody.rows) tr.setAttribute("aria-selected", String(Number(tr.dataset.id) === chosen));
  if (!w) return;
  fill(
    document.getElementById("watchlist-facts"),
    fact("Purpose", w.purpose),
    fact("Legal basis", w.legal_basis),
    fact("Authorised by", w.authorised_by),
    fact("Created by", w.created_by),
    fact("Valid", validCell(w)),
    fact("Where", whereText(w)),
    fact("When", whenText(w)),
    fact("Threshold", String(w.threshold)),
    fact("People", el("span", { id: "watchlist-count" }, String(w.entries))),
  );
}

/** Show list `id` on the right; who is on it stays hidden until asked for with a purpose. */
function choose(id) {
  chosen = id;
  shownFor = null;
  asked += 1;
  peopleTable.hidden = true;
  fill(peopleTable.tBodies[0]);
  for (const line of Object.values(say)) if (line !== say.list && line !== say.create) line("");
  enrolForm.reset();
  showChosen();
}

// -- creating a list, enrolling a person ------------------------------------------------------

async function create(e) {
  e.preventDefault();
  say.create("");
  const button = createForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const made = await post("/api/watchlists", createBody(createForm));
    resetCreate(createForm);
    await refresh();
    choose(made.id);
  } catch (err) {
    say.create(err instanceof FormProblem ? err.message : errorText(err, "Not created"));
  } finally {
    button.disabled = false;
  }
}

async function enrol(e) {
  e.preventDefault();
  say.enrolled("");
  say.enrol("");
  const w = chosenList();
  if (!w) return;
  const button = enrolForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const body = await enrolBody(enrolForm, limits);
    const entry = await post(`/api/watchlists/${w.id}/entries`, body);
    if (chosen !== w.id) return; // another list was chosen meanwhile
    say.enrolled(`Enrolled ${entry.name} with ${counted(entry.photos, "photo", "photos")}.`);
    enrolForm.reset();
    await refresh();
    if (shownFor?.id === w.id) await showPeople(shownFor.purpose);
  } catch (err) {
    if (chosen === w.id) say.enrol(err instanceof FormProblem ? err.message : errorText(err, "Not enrolled"));
  } finally {
    button.disabled = false;
  }
}

// -- who is on the chosen list; taking a person off; deleting the list ------------------------

function personRow(entry) {
  const remove = el("button", { type: "button", class: "btn btn-sm btn-ghost", title: "Take this person off the list (their templates are deleted)" }, "Remove");
  const row = el(
    "tr",
    { dataset: { entry: entry.id, name: entry.name } },
    el("td", {}, entry.name),
    el("td", {}, entry.reference || "–"),
    el("td", { class: "num" }, String(entry.photos)),
    el("td", {}, remove),
  );
  remove.addEventListener("click", () => removePerson(entry, row, remove));
  return row;
}

function nobody() {
  return el("tr", { class: "none" }, el("td", { colspan: "4", class: "muted" }, "Nobody is on this list: enrol a person."));
}

async function showPeople(purpose) {
  const id = chosen;
  const request = ++asked;
  say.people("");
  try {
    const people = await get(`/api/watchlists/${id}/entries${query({ purpose })}`);
    if (request !== asked) return;
    shownFor = { id, purpose };
    fill(peopleTable.tBodies[0], people.length ? people.map(personRow) : nobody());
    peopleTable.hidden = false;
  } catch (err) {
    if (request === asked) say.people(errorText(err, "Could not load who is on the list"));
  }
}

async function removePerson(entry, row, button) {
  const id = chosen;
  if (!confirm(`Take ${entry.name} off the list? Their face templates are deleted.`)) return;
  button.disabled = true;
  say.people("");
  try {
    await del(`/api/watchlists/${id}/entries/${entry.id}`);
    row.remove();
    if (!peopleTable.tBodies[0].rows.length) peopleTable.tBodies[0].append(nobody());
    await refresh();
  } catch (err) {
    button.disabled = false;
    if (chosen === id) say.people(errorText(err, "Not removed"));
  }
}

async function deleteList() {
  const w = chosenList();
  if (!w) return;
  const question = `Delete the watchlist “${w.name}” with its ${peopleText(w.entries)} and their face templates? Alerts it raised keep their decisions.`;
  if (!confirm(question)) return;
  say.deleted("");
  try {
    await del(`/api/watchlists/${w.id}`);
    chosen = null;
    await refresh();
  } catch (err) {
    say.deleted(errorText(err, "Not deleted"));
  }
}

async function main() {
  startTopbar();
  const visible = await get("/api/cameras");
  cameras = new Map(visible.map((c) => [c.id, c]));
  cameraChoices(document.getElementById("create-cameras"), visible);
  resetCreate(createForm);
  createForm.addEventListener("submit", create);
  enrolForm.addEventListener("submit", enrol);
  watchPurpose(peopleForm, say.people);
  peopleForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (purposeStated(peopleForm, say.people, PURPOSE_MISSING)) showPeople(peopleForm.elements.purpose.value.trim());
  });
  document.getElementById("watchlist-delete").addEventListener("click", deleteList);
  await refresh();
  document.body.dataset.ready = "1";
}

main().catch((err) => {
  console.error("the watchlists page could not start:", err);
  say.list(`Could not load: ${err.message}`);
});
