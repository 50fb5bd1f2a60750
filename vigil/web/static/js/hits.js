// A hotlist hit as the person reviewing it needs to see it: the plate as read beside the plate
// (or pattern) as listed, in monospace, characters that differ marked, with the list's name and
// the entry's reason and source, so they can judge whether the read really is the listed plate.
// The alert carries all of it (vigil/rules/hotlists.py: Hit.attributes).
import { el } from "./util.js";

const PREFIX = "hotlist:";

/** Whether an alert is a hotlist hit that says what it matched. */
export function isHotlistHit(alert) {
  const a = alert.attributes;
  return (
    typeof alert.rule === "string" &&
    alert.rule.startsWith(PREFIX) &&
    typeof a?.read === "string" &&
    typeof a.entry === "object" &&
    a.entry !== null
  );
}

/** `text`, its characters that differ from `other` (a plate of the same length) marked. */
function marked(text, other) {
  if (typeof other !== "string" || other.length !== text.length) return text;
  return [...text].map((c, i) => (c === other[i] ? c : el("mark", {}, c)));
}

function listName(alert) {
  return alert.attributes.hotlist || alert.rule.slice(PREFIX.length);
}

/** The listed plate, or the pattern of a partial-plate entry. */
function listedText(entry) {
  return entry.plate || entry.pattern || "?";
}

/** The read and the listed plate side by side, and why the plate is listed. */
export function hotlistHit(alert) {
  const a = alert.attributes;
  const entry = a.entry;
  const distance = Number.isFinite(a.distance) ? `distance ${a.distance} (0: the same characters)` : null;
  return el(
    "div",
    { class: "hit" },
    el(
      "div",
      { class: "hit-plates", title: distance },
      el(
        "span",
        { class: "hit-pair" },
        el("span", { class: "hit-k" }, "read"),
        el("span", { class: "plate plate-sm hit-read", title: "the plate as read" }, marked(a.read, entry.plate)),
      ),
      el(
        "span",
        { class: "hit-pair" },
        el("span", { class: "hit-k" }, entry.plate ? "listed" : "pattern"),
        el(
          "span",
          { class: "plate plate-sm hit-listed", title: entry.plate ? "the plate as listed" : "a partial plate: ? one character, * any" },
          entry.plate ? marked(entry.plate, a.read) : listedText(entry),
        ),
      ),
    ),
    el(
      "div",
      { class: "hit-why" },
      el("span", { class: "hit-list", title: "hotlist" }, listName(alert)),
      el("span", { class: "hit-reason", title: "why the plate is listed" }, entry.reason),
      entry.source ? el("span", { class: "hit-source", title: "where the entry comes from" }, entry.source) : null,
    ),
  );
}

/** One line for a hit, e.g. in the dismiss dialog: "read ZG1234A8, listed ZG1234AB (stolen)". */
export function hitSummary(alert) {
  const entry = alert.attributes.entry;
  return `read ${alert.attributes.read}, ${entry.plate ? "listed" : "pattern"} ${listedText(entry)} (${listName(alert)})`;
}
