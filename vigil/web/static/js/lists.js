// What the pages that manage lists share (hotlists on the plates page, watchlists): a list's
// facts as a definition list, flags for a list that has lapsed or soon will, and counts in
// words.
import { el, toDate } from "./util.js";

const SOON_DAYS = 7; // a list ending within this many days is flagged
const DAY_MS = 86_400_000;

/** "expired" or "expires soon" for a list that ends at `ends`, or null for one well within
 * its time. */
export function expiryFlag(ends) {
  const left = (toDate(ends)?.getTime() ?? 0) - Date.now();
  if (left <= 0) return el("span", { class: "flag flag-bad", title: "it no longer matches; the retention job deletes it" }, "expired");
  if (left < SOON_DAYS * DAY_MS) {
    return el("span", { class: "flag flag-warn", title: `within ${SOON_DAYS} days: renew it or let it lapse` }, "expires soon");
  }
  return null;
}

/** One fact of a list for a <dl>: its name and value(s). */
export function fact(name, ...value) {
  return [el("dt", {}, name), el("dd", {}, ...value)];
}

/** "1 entry", "3 entries"; "1 person", "2 people": `n` and the word that fits it. */
export function counted(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
