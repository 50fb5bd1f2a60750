// The users page: the users a manager may see, adding one, and changing one (role, cameras,
// password, disabled, lockout). The server decides what is allowed; this page only offers what
// it would allow and shows its answer.
import { errorText as message, get, patch, post } from "./api.js";
import { startTopbar } from "./common.js";
import { el, stamp } from "./util.js";

const main = document.getElementById("users");
const tbody = document.querySelector("#user-list tbody");
const info = document.getElementById("users-info");
const listError = document.getElementById("users-error");
const addForm = document.getElementById("add-form");
const addError = document.getElementById("add-error");
const dialog = document.getElementById("edit-dialog");
const editForm = document.getElementById("edit-form");
const editError = document.getElementById("edit-error");
const editTitle = document.getElementById("edit-title");

const grantable = new Set([...addForm.elements.role.options].map((o) => o.value));
const mine = new Set([...addForm.querySelectorAll("input[name=camera]")].map((c) => c.value));
const seesAll = main.dataset.allCameras === "yes";
let editing = null;

function show(box, message) {
  box.textContent = message;
  box.hidden = !message;
}

/** Whether the server would let this manager change `u` (see vigil/api/users.py). */
function manageable(u) {
  if (!grantable.has(u.role)) return false;
  if (seesAll) return true;
  return u.cameras !== null && u.cameras.every((c) => mine.has(c));
}

// -- camera choice: "all cameras", or some of them ---------------------------------------------

function wireCameras(form) {
  const all = form.elements.all;
  const boxes = [...form.querySelectorAll("input[name=camera]")];
  const sync = () => {
    for (const b of boxes) b.disabled = Boolean(all && all.checked);
  };
  if (all) all.addEventListener("change", sync);
  return {
    set(cameras) {
      if (all) all.checked = cameras === null;
      for (const b of boxes) b.checked = cameras !== null && cameras.includes(b.value);
      sync();
    },
    get() {
      if (all && all.checked) return null;
      return boxes.filter((b) => b.checked).map((b) => b.value);
    },
  };
}

const addCameras = wireCameras(addForm);
const editCameras = wireCameras(editForm);

// -- the list --------------------------------------------------------------------------------

function row(u) {
  const cameras = u.cameras === null ? "all" : u.cameras.join(", ") || "none";
  const change = manageable(u)
    ? el("button", { type: "button", class: "btn btn-ghost", onclick: () => openEdit(u) }, "Change…")
    : el("span", { class: "muted", title: "sees cameras you do not, or has a role you cannot give" }, "–");
  return el(
    "tr",
    { dataset: { user: u.username } },
    el("td", {}, u.username),
    el("td", {}, el("span", { class: `role role-${u.role}` }, u.role)),
    el("td", {}, cameras),
    el("td", {}, u.disabled ? el("span", { class: "outcome outcome-bad" }, "disabled") : "active"),
    el("td", { class: "mono" }, stamp(u.created_at)),
    el("td", {}, change),
  );
}

async function load() {
  show(listError, "");
  try {
    const list = await get("/api/users");
    tbody.replaceChildren(...list.map(row));
    info.textContent = `${list.length} user${list.length === 1 ? "" : "s"}`;
  } catch (err) {
    show(listError, message(err));
  }
}

// -- adding ----------------------------------------------------------------------------------

addForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = addForm.elements;
  if (!f.username.checkValidity()) return show(addError, "Username: 1 to 64 letters, digits or _ . @ -");
  if (!f.password.checkValidity()) return show(addError, `The password needs at least ${f.password.minLength} characters.`);
  const cameras = addCameras.get();
  if (cameras !== null && !cameras.length) return show(addError, "Choose the cameras the user sees.");
  show(addError, "");
  try {
    await post("/api/users", { username: f.username.value, password: f.password.value, role: f.role.value, cameras });
    addForm.reset();
    addCameras.set(seesAll ? null : []);
    await load();
  } catch (err) {
    show(addError, message(err));
  }
});

// -- changing --------------------------------------------------------------------------------

function openEdit(u) {
  editing = u;
  editForm.reset();
  show(editError, "");
  editTitle.textContent = `Change ${u.username}`;
  editForm.elements.role.value = u.role;
  editForm.elements.disabled.checked = u.disabled;
  editCameras.set(u.cameras);
  dialog.showModal();
}

document.getElementById("edit-cancel").addEventListener("click", () => dialog.close());

editForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = editForm.elements;
  const u = editing;
  const body = {};
  if (f.role.value !== u.role) body.role = f.role.value;
  const cameras = editCameras.get();
  if (cameras !== null && !cameras.length) return show(editError, "Choose the cameras the user sees.");
  if (JSON.stringify(cameras) !== JSON.stringify(u.cameras)) body.cameras = cameras;
  if (f.disabled.checked !== u.disabled) body.disabled = f.disabled.checked;
  if (f.password.value) {
    if (!f.password.checkValidity()) return show(editError, `The password needs at least ${f.password.minLength} characters.`);
    body.password = f.password.value;
  }
  if (f.unlock.checked) body.unlock = true;
  if (!Object.keys(body).length) return dialog.close();
  try {
    await patch(`/api/users/${u.id}`, body);
    dialog.close();
    await load();
  } catch (err) {
    show(editError, message(err));
  }
});

startTopbar();
load().then(() => {
  document.body.dataset.ready = "1";
});
