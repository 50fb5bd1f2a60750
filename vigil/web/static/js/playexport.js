// The playback page's Export: a signed evidence export of the camera shown (POST /api/exports,
// with the purpose stated for playback), from a minute around the picture shown unless the
// times are changed; faces blurred unless a supervisor says why they must be seen.
import { errorText, post, query } from "./api.js";
import { messageLine } from "./searchform.js";
import { el, toDate, toLocalInput } from "./util.js";

/** open: the Export button; context() -> {camera, purpose, t} of what is shown. */
export function exportDialog(open, context) {
  const dialog = document.getElementById("export-dialog");
  const form = document.getElementById("export-form");
  const result = document.getElementById("export-result");
  const submit = document.getElementById("export-submit");
  const say = messageLine(document.getElementById("export-error"));
  const unblurred = document.getElementById("export-unblurred");
  const reason = document.getElementById("export-reason");
  open.addEventListener("click", () => {
    const { t } = context();
    form.elements.from.value = toLocalInput(new Date((t - 30) * 1000));
    form.elements.to.value = toLocalInput(new Date((t + 60) * 1000));
    say("");
    result.replaceChildren();
    dialog.showModal();
  });
  document.getElementById("export-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const { camera, purpose } = context();
    const start = toDate(form.elements.from.value);
    const end = toDate(form.elements.to.value);
    if (!start || !end || end <= start) {
      say("Give a start and an end after it.");
      return;
    }
    const body = { cameras: [camera], start: start.toISOString(), end: end.toISOString() };
    if (unblurred?.checked) Object.assign(body, { unblurred: true, reason: reason.value.trim() || null });
    say("");
    submit.disabled = true;
    result.textContent = "Exporting… (blurring faces takes a while)";
    try {
      const made = await post(`/api/exports${query({ purpose })}`, body);
      const gaps = made.gaps.length ? `, ${made.gaps.length} gap${made.gaps.length > 1 ? "s" : ""} reported` : "";
      result.replaceChildren(
        `Export ${made.id}: ${made.files} files, ${(made.size / 1e6).toFixed(1)} MB${gaps}, signed by key ${made.fingerprint}. `,
        el("a", { href: `${made.download_url}${query({ purpose })}`, download: `${made.id}.zip` }, "Download the zip"),
      );
    } catch (err) {
      result.textContent = "";
      say(errorText(err, "Not exported"));
    } finally {
      submit.disabled = false;
    }
  });
}
