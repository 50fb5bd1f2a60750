// A face match as the people reviewing it need to see it: the face seen beside the enrolled
// picture of the listed person, who that is (name, reference), the watchlist, and how close
// the match is (the distance against the list's threshold, how many shots voted for them), so
// each reviewer can judge it before confirming. The alert carries all of it
// (vigil/analyzers/faces.py: the face_match event's attributes); the enrolled picture comes
// from /api/alerts/{id}/enrolled.jpg (audited).
import { picture } from "./socket.js";
import { el, showLightbox } from "./util.js";

const PREFIX = "watchlist:";

/** Whether an alert is a face match. */
export function isFaceMatch(alert) {
  return alert.type === "face_match";
}

function listName(alert) {
  const a = alert.attributes || {};
  if (a.watchlist) return String(a.watchlist);
  return typeof alert.rule === "string" && alert.rule.startsWith(PREFIX) ? alert.rule.slice(PREFIX.length) : "?";
}

function person(alert) {
  const a = alert.attributes || {};
  return a.name || a.entry || "?";
}

/** A picture that opens larger, labelled `what`; a placeholder saying `missing` without one
 * (or when it cannot be loaded: the person was taken off the list). */
function shot(src, what, caption, missing, cls) {
  const none = () => el("span", { class: `face-shot none ${cls}`, title: missing }, el("span", { class: "face-k" }, what), el("span", { class: "face-missing" }, missing));
  if (!src) return none();
  const img = picture(src);
  img.alt = `${what}: ${caption}`;
  const node = el(
    "figure",
    { class: `face-shot ${cls}` },
    el(
      "button",
      {
        type: "button",
        class: "face-pic",
        title: `Show the ${what} picture larger`,
        onclick: (e) => {
          e.stopPropagation();
          showLightbox(src, `${what}: ${caption}`);
        },
      },
      img,
    ),
    el("figcaption", { class: "face-k" }, what),
  );
  img.addEventListener("error", () => node.replaceWith(none()), { once: true });
  return node;
}

function measure(a) {
  const parts = [];
  if (Number.isFinite(a.distance)) {
    parts.push(`distance ${a.distance}${Number.isFinite(a.threshold) ? ` (matches below ${a.threshold})` : ""}`);
  }
  if (Number.isFinite(a.votes)) parts.push(`${a.votes}${Number.isFinite(a.shots) ? ` of ${a.shots}` : ""} shots agree`);
  return parts.join(" · ");
}

/** The face seen and the enrolled picture side by side, who it is and how close. A dismissed
 * match keeps no picture of the face seen, and shows no enrolled one either. */
export function faceMatch(alert, caption) {
  const a = alert.attributes || {};
  const dismissed = alert.status === "dismissed";
  const enrolled = dismissed ? null : `/api/alerts/${alert.id}/enrolled.jpg`;
  return el(
    "div",
    { class: "face" },
    el(
      "div",
      { class: "face-pair" },
      shot(alert.snapshot_url, "seen", caption, dismissed ? "not kept" : "no picture", "face-seen"),
      shot(enrolled, "enrolled", `${person(alert)} (${listName(alert)})`, dismissed ? "not shown" : "no longer enrolled", "face-enrolled"),
    ),
    el(
      "div",
      { class: "face-facts" },
      el("span", { class: "face-who" }, el("span", { class: "face-name", title: "the listed person" }, person(alert)), a.reference ? el("span", { class: "face-ref", title: "reference" }, a.reference) : null),
      el("span", { class: "face-list", title: "watchlist" }, listName(alert)),
      el("span", { class: "face-measure", title: "how far the face seen is from the enrolled one (0: the same); shots of the track that voted for this person" }, measure(a) || null),
    ),
  );
}

/** One line for a match, e.g. in the review dialog: "L. Miranda (case 9) on stadium, distance 0.41". */
export function faceSummary(alert) {
  const a = alert.attributes || {};
  const ref = a.reference ? ` (${a.reference})` : "";
  const distance = Number.isFinite(a.distance) ? `, distance ${a.distance}` : "";
  return `${person(alert)}${ref} on ${listName(alert)}${distance}`;
}
