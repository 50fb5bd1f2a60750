// Playback: choose a camera and a time (with the purpose, asked once: every segment fetched
// is audited with it), see the timeline of what was recorded, the gaps and what happened,
// and play from any moment or from a few seconds before an event. Operators lock footage as
// evidence; the camera, time and purpose live in the URL (a "Play" link elsewhere opens it).
import { errorText, get, post, query } from "./api.js";
import { startTopbar } from "./common.js";
import { exportDialog } from "./playexport.js";
import { Player } from "./player.js";
import { Timeline } from "./playtimeline.js";
import { labelTimes, loadCameras, messageLine, purposeStated, watchPurpose } from "./searchform.js";
import { clock, el, stamp, toDate, toLocalInput, typeName } from "./util.js";

const root = document.getElementById("playback");
const form = document.getElementById("choose");
const video = document.getElementById("video");
const note = document.getElementById("player-note");
const marks = document.getElementById("marks");
const marksInfo = document.getElementById("marks-info");
const positionEl = document.getElementById("position");
const lockOpen = document.getElementById("lock-open");
const LEAD_S = Number(root.dataset.lead || 5); // an event plays from this long before it
const PURPOSE_MISSING = "State a purpose (a case number or reason, at least 3 characters) to play footage: it is recorded in the audit log.";

const showError = messageLine(document.getElementById("playback-error"));
let data = null; // the timeline shown
let chosen = null; // the mark chosen last (an alert can be locked by its id)
let exact = null; // the moment a link asked for (to the millisecond)

const player = new Player(video, document.getElementById("video-next"), {
  onPosition: (t) => {
    positionEl.textContent = stamp(t);
    timeline.setHead(t);
  },
  onNote: (text) => {
    note.textContent = text;
  },
});
const timeline = new Timeline(
  document.getElementById("timeline"),
  document.getElementById("tl-track"),
  document.getElementById("tl-head"),
  document.getElementById("tl-scale"),
  (t, mark) => pick(t, mark),
);

/** Play from `t`; a mark (event or alert) plays from LEAD_S before it. */
function pick(t, mark) {
  chosen = mark;
  marks.querySelectorAll("[aria-current]").forEach((n) => n.removeAttribute("aria-current"));
  if (mark) marks.querySelector(`[data-kind='${mark.kind}'][data-id='${mark.id}']`)?.setAttribute("aria-current", "true");
  player.playAt(mark ? t - LEAD_S : t);
  if (lockOpen) lockOpen.disabled = false;
}

function markItem(kind, item) {
  const what = kind === "alert" ? `alert: ${item.rule}` : [typeName(item.type), item.label].filter(Boolean).join(" · ");
  return el(
    "li",
    { class: `mark mark-${kind}`, dataset: { kind, id: item.id, t: item.time } },
    el("time", { class: "mono" }, clock(item.time)),
    el("span", { class: "mark-what", title: what }, what),
    el("button", { type: "button", class: "btn btn-sm btn-ghost", title: `Play from ${LEAD_S} s before it`, onclick: () => pick(item.time, { kind, ...item }) }, "Play"),
  );
}

function showMarks(found) {
  const items = [...found.events.map((e) => ["event", e]), ...found.alerts.map((a) => ["alert", a])].sort((a, b) => a[1].time - b[1].time);
  marks.replaceChildren(...items.map(([kind, item]) => markItem(kind, item)));
  if (!items.length) marks.append(el("li", { class: "muted" }, "No events or alerts in the time shown."));
  const gaps = found.gaps.length ? ` · ${found.gaps.length} gap${found.gaps.length > 1 ? "s" : ""}` : "";
  marksInfo.textContent = `${found.segments.length} segment${found.segments.length === 1 ? "" : "s"}${gaps}${found.truncated ? " · more than shown" : ""}`;
}

function wanted() {
  const f = form.elements;
  // The time field holds whole seconds: a link's exact moment stays while the field shows it.
  const t = exact && f.t.value === toLocalInput(exact) ? exact : toDate(f.t.value) || new Date();
  return { purpose: f.purpose.value.trim(), camera: f.camera.value, t, span: Number(f.span.value) };
}

/** Load the timeline around the chosen time; with `play`, play from that time (with `lead`, a
 * link to an event's moment: from LEAD_S before it, the event chosen if it is marked). */
async function show({ play = true, lead = false } = {}) {
  if (!purposeStated(form, showError, PURPOSE_MISSING)) return;
  const { purpose, camera, t, span } = wanted();
  const at = t.getTime() / 1000;
  history.replaceState(null, "", `/playback${query({ camera, t: t.toISOString(), span, purpose })}`);
  showError("");
  try {
    const q = { from: at - span / 2, to: at + span / 2, purpose };
    data = await get(`/api/cameras/${encodeURIComponent(camera)}/recordings${query(q)}`);
  } catch (err) {
    showError(errorText(err, "Could not load the timeline"));
    return;
  }
  player.setFootage(data.segments, data.gaps);
  timeline.draw(data);
  showMarks(data);
  document.getElementById("export-open")?.removeAttribute("disabled");
  if (!data.segments.length) {
    note.textContent = "Nothing of this camera was recorded in the time shown.";
    return;
  }
  if (!play) return;
  if (!lead) {
    pick(at, null);
    return;
  }
  const near = [...data.events.map((e) => ({ kind: "event", ...e })), ...data.alerts.map((a) => ({ kind: "alert", ...a }))]
    .filter((m) => Math.abs(m.time - at) < 0.5)
    .sort((a, b) => Math.abs(a.time - at) - Math.abs(b.time - at)); // the one linked to
  if (near.length) pick(near[0].time, near[0]);
  else pick(at - LEAD_S, null);
}

function lockDialog() {
  const dialog = document.getElementById("lock-dialog");
  const lockForm = document.getElementById("lock-form");
  const reason = document.getElementById("lock-reason");
  const say = messageLine(document.getElementById("lock-error"));
  let body = null;
  lockOpen.addEventListener("click", () => {
    const t = player.position() ?? (data ? (data.start + data.end) / 2 : null);
    if (!data || t === null) return;
    if (chosen?.kind === "alert") {
      body = { alert_id: chosen.id };
      document.getElementById("lock-what").textContent = `The footage around alert ${chosen.id} (${chosen.rule}, ${clock(chosen.time)}) of this camera.`;
    } else {
      body = { camera: data.camera, start: t - 30, end: t + 60 };
      document.getElementById("lock-what").textContent = `This camera from ${clock(t - 30)} to ${clock(t + 60)} (a lock tied to no alert is a supervisor's).`;
    }
    say("");
    dialog.showModal();
    reason.focus();
  });
  document.getElementById("lock-cancel").addEventListener("click", () => dialog.close());
  lockForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!reason.checkValidity()) {
      say("Give a reason of at least 3 characters: it is kept with the lock.");
      return;
    }
    try {
      const lock = await post("/api/recordings/locks", { ...body, reason: reason.value.trim() });
      dialog.close();
      reason.value = "";
      note.textContent = `Locked as evidence (lock ${lock.id}) until a supervisor unlocks it.`;
      await show({ play: false });
    } catch (err) {
      say(errorText(err, "Not locked"));
    }
  });
}

async function main() {
  startTopbar();
  await loadCameras(form);
  const params = new URLSearchParams(location.search);
  for (const key of ["purpose", "camera", "span"]) {
    const v = params.get(key);
    if (v !== null && form.elements[key]) form.elements[key].value = v;
  }
  if (!form.elements.camera.value && form.elements.camera.options.length) form.elements.camera.selectedIndex = 0;
  const t = toDate(params.get("t"));
  exact = t;
  form.elements.t.value = toLocalInput(t || new Date(Date.now() - 15 * 60 * 1000));
  labelTimes(form, ["t"]);
  watchPurpose(form, showError);
  if (lockOpen) lockDialog();
  const exportOpen = document.getElementById("export-open");
  if (exportOpen) {
    exportDialog(exportOpen, () => ({
      camera: data.camera,
      purpose: form.elements.purpose.value.trim(),
      t: player.position() ?? (data.start + data.end) / 2,
    }));
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    show();
  });
  if (form.elements.purpose.value && form.elements.camera.value) await show({ lead: t !== null });
  else form.elements.purpose.focus();
  document.body.dataset.ready = "1";
}

main().catch((err) => {
  console.error("the playback page could not start:", err);
  showError(`Could not load: ${err.message}`);
});
