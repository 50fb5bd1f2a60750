// Reviewing an alert: who has confirmed it so far (a face match needs two different people,
// `reviewers_needed`, each with a reason), and the dialog that asks for the reason of a
// dismissal or of such a confirmation. The server enforces the rule (the same person twice is
// a 409): this shows where an alert stands and asks before a request goes out.
import { errorText } from "./api.js";

const MODES = {
  dismiss: {
    title: "Dismiss alert",
    label: "Reason (recorded with your name)",
    submit: "Dismiss alert",
    submitClass: "btn btn-danger",
    missing: "Say why the alert is dismissed.",
  },
  acknowledge: {
    title: "Confirm the match",
    label: "What you compared, and why it is the person listed (recorded with your name)",
    submit: "Confirm",
    submitClass: "btn btn-primary",
    missing: "Say why you confirm it: what you compared.",
  },
};

/** The confirmations recorded on an alert, oldest first. */
export function confirmations(alert) {
  return (alert.reviews || []).filter((r) => r.action === "acknowledged");
}

/** How many different people must confirm an alert. */
export function needed(alert) {
  return Number(alert.reviewers_needed) || 1;
}

/** Whether `username` has decided on this alert already (the server takes one decision per
 * person). */
export function decidedBy(alert, username) {
  return Boolean(username) && (alert.reviews || []).some((r) => r.reviewer === username);
}

/** "Confirmations: 1 of 2 (by ann: same scar)". */
export function confirmationText(alert) {
  const done = confirmations(alert);
  const by = done.map((r) => (r.reason ? `${r.reviewer}: ${r.reason}` : r.reviewer)).join("; ");
  return `Confirmations: ${done.length} of ${needed(alert)}${by ? ` (by ${by})` : ""}`;
}

/** What the dialog says about the decision being made. */
function noteFor(alert, action) {
  if (action !== "acknowledge" || needed(alert) < 2) return "";
  const n = confirmations(alert).length + 1;
  return n < needed(alert)
    ? `Confirmation ${n} of ${needed(alert)}: it stays a candidate until another person confirms it too.`
    : `Confirmation ${n} of ${needed(alert)}: with yours it is confirmed and may be acted on.`;
}

/**
 * The page's review dialog (#dismiss-dialog): asks for the reason of a decision, then calls
 * decide(alert, action, reason); what it throws is shown in the dialog in the server's words.
 */
export class ReviewDialog {
  constructor(dialog, decide) {
    this.dialog = dialog;
    this.decide = decide;
    this.pending = null; // {alert, action}
    if (!dialog) return;
    const q = (id) => dialog.querySelector(`#${id}`);
    this.parts = {
      title: q("dismiss-title"),
      what: q("dismiss-what"),
      note: q("dismiss-note"),
      label: dialog.querySelector("label[for=dismiss-reason]"),
      reason: q("dismiss-reason"),
      error: q("dismiss-error"),
      submit: dialog.querySelector("button[type=submit]"),
    };
    q("dismiss-cancel").addEventListener("click", () => dialog.close());
    dialog.querySelector("form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
  }

  say(message) {
    this.parts.error.textContent = message;
    this.parts.error.hidden = !message;
  }

  /** Ask for the reason to `action` ("dismiss" or "acknowledge") `alert`; `what` names it. */
  ask(alert, action, what) {
    if (!this.dialog) return;
    const mode = MODES[action];
    const p = this.parts;
    this.pending = { alert, action };
    p.title.textContent = mode.title;
    p.what.textContent = what;
    const note = noteFor(alert, action);
    if (p.note) {
      p.note.textContent = note;
      p.note.hidden = !note;
    }
    p.label.textContent = mode.label;
    p.submit.textContent = mode.submit;
    p.submit.className = mode.submitClass;
    p.reason.value = "";
    this.say("");
    this.dialog.showModal();
  }

  async submit() {
    const { alert, action } = this.pending;
    const text = this.parts.reason.value.trim();
    if (!text) {
      this.say(MODES[action].missing);
      this.parts.reason.focus();
      return;
    }
    this.parts.submit.disabled = true;
    try {
      await this.decide(alert, action, text);
      this.dialog.close();
    } catch (err) {
      this.say(errorText(err, "Not saved"));
    } finally {
      this.parts.submit.disabled = false;
    }
  }
}
