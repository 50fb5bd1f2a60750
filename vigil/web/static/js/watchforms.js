// The watchlists page's two forms as request bodies: a new watchlist (why, on what legal
// basis, who authorised it, from when until when, where: cameras or a geofence circle, and an
// optional daily window in a time zone) and a person to enrol (name, reference, the photos'
// source, 1 to N photos read as base64). What is missing or plainly wrong is said here before a
// request goes out; the server checks everything all the same and its refusals are shown as
// it words them.
import { el, readBase64, toDate, toLocalInput } from "./util.js";

/** Something the form lacks, in words for the person filling it in. */
export class FormProblem extends Error {}

const need = (ok, message) => {
  if (!ok) throw new FormProblem(message);
};

/** Checkboxes for the cameras this user sees, in `fieldset`. */
export function cameraChoices(fieldset, cameras) {
  for (const c of cameras) {
    fieldset.append(el("label", { class: "check" }, el("input", { type: "checkbox", name: "camera", value: c.id }), ` ${c.name || c.id}`));
  }
  if (!cameras.length) fieldset.append(el("span", { class: "muted" }, "no cameras you see"));
}

/** The form ready for a new list: valid from now, the browser's time zone for the window. */
export function resetCreate(form) {
  form.reset();
  form.elements.valid_from.value = toLocalInput(new Date());
  form.elements.timezone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function number(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

/** {centre: [lat, lon], radius_m} from the geofence fields, null when all are empty. */
function geofence(f) {
  const [lat, lon, radius] = [number(f.lat), number(f.lon), number(f.radius_m)];
  if (lat === null && lon === null && radius === null) return null;
  need(
    [lat, lon, radius].every(Number.isFinite),
    "A geofence needs its centre (latitude and longitude) and a radius in metres; leave all three empty for none.",
  );
  return { centre: [lat, lon], radius_m: radius };
}

function dailyWindow(f) {
  const [start, end] = [f.window_start.value, f.window_end.value];
  if (!start && !end) return null;
  need(start && end, "A daily window needs both times (e.g. 14:00 to 23:00); leave both empty for all day.");
  return [start, end];
}

/** The body of POST /api/watchlists from the create form, or a FormProblem. */
export function createBody(form) {
  const f = form.elements;
  const text = (name) => f[name].value.trim();
  need(text("name"), `Name the watchlist: ${document.getElementById("name-help").textContent}.`);
  need(text("purpose"), "State the purpose: what the list is for.");
  need(text("legal_basis"), "State the legal basis: the law, order or case that allows this list.");
  need(text("authorised_by"), "Say who authorised the list.");
  const from = toDate(f.valid_from.value);
  const until = toDate(f.valid_until.value);
  need(from && until, "Say from when until when the list is valid: it matches nothing outside that time.");
  const cameras = [...form.querySelectorAll("input[name=camera]:checked")].map((c) => c.value);
  const fence = geofence(f);
  need(cameras.length || fence, "Say where the list applies: choose cameras, or give a geofence (a watchlist never applies everywhere).");
  const body = {
    name: text("name"),
    purpose: text("purpose"),
    legal_basis: text("legal_basis"),
    authorised_by: text("authorised_by"),
    valid_from: from.toISOString(),
    valid_until: until.toISOString(),
    cameras: cameras.length ? cameras : null,
    geofence: fence,
    window: dailyWindow(f),
  };
  if (text("timezone")) body.timezone = text("timezone");
  return body;
}

/** The body of POST /api/watchlists/{id}/entries from the enrol form, or a FormProblem;
 * limits: {images, imageChars} (the server's). */
export async function enrolBody(form, limits) {
  const f = form.elements;
  const files = [...f.photos.files];
  need(f.name.value.trim(), "Give the person's name.");
  need(f.source.value.trim(), "Say where the photos come from: it is kept with the templates.");
  need(files.length, `Choose 1 to ${limits.images} photos of the person.`);
  need(files.length <= limits.images, `At most ${limits.images} photos at once; you chose ${files.length}.`);
  const images = [];
  for (const [i, file] of files.entries()) {
    const data = await readBase64(file);
    need(data.length <= limits.imageChars, `image ${i + 1} (${file.name}) is too big to send; use a photo under ${Math.floor((limits.imageChars * 3) / 4 / 1000)} kB.`);
    images.push(data);
  }
  const reference = f.reference.value.trim();
  return { name: f.name.value.trim(), reference: reference || null, source: f.source.value.trim(), images };
}
