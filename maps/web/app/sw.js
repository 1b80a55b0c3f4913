// gridwatch's service worker: keeps the web map's own files so the officer's phone opens the map
// with no signal. The officer's area (API answers) is kept by the page itself (app.js, cachedApi)
// and the writes made offline wait in the outbox (outbox.js); neither passes through here.
const SHELL = "gridwatch-shell-v2";
const FILES = ["./", "index.html", "app.js", "i18n.js", "outbox.js", "app.css", "maplibre-gl.js", "maplibre-gl.css", "manifest.webmanifest", "icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith("gridwatch-shell-") && name !== SHELL) await caches.delete(name);
    await self.clients.claim();
  })());
});

// The map's files: from the network when it answers (so a new version arrives), else as kept.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/map/")) return;
  event.respondWith((async () => {
    const cache = await caches.open(SHELL);
    try {
      const response = await fetch(event.request);
      if (response.ok) await cache.put(event.request, response.clone());
      return response;
    } catch (e) {
      const kept = await cache.match(event.request, { ignoreSearch: true });
      if (kept) return kept;
      throw e;
    }
  })());
});
