// The field app's service worker (served at /field/sw.js, scope /field). It keeps the app's
// shell — the /field page, which names no one, and its scripts, styles and map library
// under /static/ — so the app opens without a connection. Network first: online, every
// request goes to the server as before (and refreshes what is kept); offline, the kept copy
// answers. API answers (personal data) are never kept: /api/ requests, and any request to
// another server (map tiles), pass by untouched.
const CACHE = "vigil-field-shell-1";

function isShell(url) {
  return url.origin === self.location.origin && (url.pathname === "/field" || url.pathname.startsWith("/static/"));
}

/** Worth keeping: a whole answer from this server, not a redirect (to the login page). */
function keepable(response) {
  return response.ok && response.type === "basic" && !response.redirected;
}

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

// The page names what it loaded (its shell): keep each, answer how many of them were kept.
self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.keep) || [];
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const shell = urls.map((path) => new URL(path, self.location.origin)).filter(isShell);
      let kept = 0;
      for (const url of shell) {
        try {
          const response = await fetch(url, { cache: "no-cache", credentials: "same-origin" });
          if (keepable(response)) {
            await cache.put(url.pathname, response);
            kept += 1;
          }
        } catch {
          // Unreachable now: the page asks again once it reaches the server.
        }
      }
      if (event.ports[0]) event.ports[0].postMessage({ kept, of: shell.length });
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || !isShell(url)) return; // the network only
  event.respondWith(
    (async () => {
      try {
        const response = await fetch(request);
        if (keepable(response)) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(url.pathname, copy)));
        }
        return response;
      } catch (err) {
        const kept = await caches.match(url.pathname);
        if (kept) return kept;
        throw err;
      }
    })(),
  );
});
