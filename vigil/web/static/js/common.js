// What every page's top bar does: the clock and logging out.
import { post } from "./api.js";
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
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      logout.disabled = true;
      try {
        await post("/api/logout");
      } catch {
        // The session may already be gone: the login page is the right place either way.
      }
      location.assign("/login");
    });
  }
}
