// What every page's top bar does: the clock, changing your password and logging out.
import { ApiError, post } from "./api.js";
import { endingSession } from "./socket.js";
import { clock } from "./util.js";

export function startTopbar() {
  const clockEl = document.getElementById("clock");
  if (clockEl) {
    const tick = () => {
      const now = new Date();
      clockEl.textContent = clock(now);
      clockEl.dateTime = now.toISOString();
    };
    tick();
    setInterval(tick, 1000);
  }
  startPasswordDialog();
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      logout.disabled = true;
      endingSession(true); // the live feed closes as the session ends: this page goes on
      try {
        await post("/api/logout", undefined, { ending: true });
      } catch {
        // The session may already be gone: the login page is the right place either way.
      }
      location.assign("/login");
    });
  }
}

function startPasswordDialog() {
  const dialog = document.getElementById("password-dialog");
  const open = document.getElementById("password-open");
  if (!dialog || !open) return;
  const form = document.getElementById("password-form");
  const error = document.getElementById("password-error");
  const submit = document.getElementById("password-submit");
  const min = Number(document.getElementById("password-new").getAttribute("minlength")) || 10;
  const say = (text) => {
    error.textContent = text;
    error.hidden = !text;
  };
  open.addEventListener("click", () => {
    form.reset();
    say("");
    dialog.showModal();
    document.getElementById("password-current").focus();
  });
  document.getElementById("password-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const current = form.elements.current.value;
    const fresh = form.elements.new.value;
    if (!current) return say("Enter your current password.");
    if (fresh.length < min) return say(`The new password needs at least ${min} characters.`);
    if (fresh !== form.elements.repeat.value) return say("The two new passwords differ.");
    if (fresh === current) return say("The new password is the same as the current one.");
    submit.disabled = true;
    endingSession(true); // a new password ends every session, this one's live feed too
    try {
      await post("/api/me/password", { current, new: fresh }, { ending: true });
      location.assign("/login?changed=1");
    } catch (err) {
      endingSession(false);
      say(err instanceof ApiError && err.status === 403 ? "The current password is wrong." : `Not changed: ${err.message}`);
      submit.disabled = false;
    }
  });
}
