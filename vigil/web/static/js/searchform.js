// What the search pages (events, plates) share: the purpose every search states, the time
// filters labelled with the browser's zone, the camera choice, and the line that says what
// went wrong.
import { get } from "./api.js";
import { el, zoneLabel } from "./util.js";

const PURPOSE_MISSING =
  "State a purpose (a case number or reason, at least 3 characters) to search: it is recorded in the audit log.";

/** Append <option>s to a <select> from [value, label] pairs. */
export function addOptions(select, values) {
  for (const [value, label] of values) select.append(el("option", { value }, label));
}

/** A function that shows a message in `box` (an element with role="alert"), or hides it
 * when the message is empty. */
export function messageLine(box) {
  return (message) => {
    box.textContent = message;
    box.hidden = !message;
  };
}

/** The cameras this user may see (GET /api/cameras), also offered in the form's camera
 * select; returns the list. */
export async function loadCameras(form) {
  const list = await get("/api/cameras");
  addOptions(form.elements.camera, list.map((c) => [c.id, c.name]));
  return list;
}

/** The time filters are the browser's local times: their labels and titles say in which zone. */
export function labelTimes(form, names = ["since", "until"]) {
  for (const name of names) {
    const input = form.elements[name];
    const text = input.closest("label").firstChild;
    if (text?.nodeType === Node.TEXT_NODE) text.textContent = `${text.textContent.trim()} (${zoneLabel()}) `;
    input.title = `a time in your browser's time zone (${zoneLabel()} now)`;
  }
}

/** Whether the form's purpose is stated; if not, `say` asks for one (`message`) and the field
 * has focus. The server refuses a search without one all the same: this only saves the round
 * trip. */
export function purposeStated(form, say, message = PURPOSE_MISSING) {
  if (form.elements.purpose.checkValidity()) return true;
  say(message);
  form.elements.purpose.focus();
  return false;
}

/** Clear the purpose message as soon as the purpose is valid. */
export function watchPurpose(form, say) {
  form.elements.purpose.addEventListener("input", () => {
    if (form.elements.purpose.checkValidity()) say("");
  });
}
