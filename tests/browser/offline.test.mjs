// The officer's phone with no signal, in headless Chromium: the app is installed (service worker,
// manifest), the network is cut (Playwright's offline emulation), the map reopens from what the
// phone kept, a report with a photo and an inspection with an on-site photo are filed and wait in
// the outbox; back online they are sent, and although the server's first answers are lost on the
// way back (the request lands, the answer never arrives), each arrives exactly once.
//   GRIDWATCH_URL, GRIDWATCH_TOKEN (an officer's), GRIDWATCH_PHOTO (a JPEG), GRIDWATCH_AT ("lon,lat"
//   inside the officer's grid), GRIDWATCH_DESCRIPTION (unique text for the report)
import { launchChromium } from "./common.mjs";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const base = process.env.GRIDWATCH_URL;
const token = process.env.GRIDWATCH_TOKEN;
const photo = process.env.GRIDWATCH_PHOTO;
const [lon, lat] = process.env.GRIDWATCH_AT.split(",").map(Number);
const description = process.env.GRIDWATCH_DESCRIPTION;
const api = (path) => fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());

const browser = await launchChromium();
const step = (name) => console.log(`${name}: ok`);
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, geolocation: { longitude: lon, latitude: lat, accuracy: 8 }, permissions: ["geolocation"] });
  await context.addInitScript(([t]) => localStorage.setItem("gridwatch.token", t), [token]);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const ready = () => page.waitForFunction(() => document.body.dataset.ready === "officer" || document.body.dataset.ready?.startsWith("error"), null, { timeout: 60_000 });

  await page.goto(`${base}/map/#officer`);
  await ready();
  // Installable: a manifest the browser reads, and a service worker in charge of /map/.
  const manifest = await page.evaluate(async () => (await fetch(document.querySelector("link[rel=manifest]").href)).json());
  assert.equal(manifest.start_url, "/map/#officer");
  assert.equal(manifest.display, "standalone");
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload(); // now under the service worker, which keeps the map's files
  await ready();
  assert.ok(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)), "the service worker controls the page");
  step("installed: manifest and service worker");

  await context.setOffline(true);
  await page.reload();
  await ready();
  assert.equal(await page.evaluate(() => document.body.dataset.ready), "officer", await page.textContent("#panel"));
  assert.ok(await page.isVisible("#offline-note"), "the officer is told the data is what the phone kept");
  const grids = await page.evaluate(() => window.gridwatch.map.getStyle().sources.grids.data.features.length);
  assert.ok(grids > 0, "the officer's own grids draw offline");
  step("reopened offline from the phone's copy");

  await page.fill("#report textarea[name=description]", description);
  await page.setInputFiles("#report input[name=photo]", photo);
  await page.click("#report button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#outbox-count").dataset.count === "1");
  assert.match(await page.textContent("#outbox"), /1\/1/, "the photo waits with the report");
  // An inspection of a point of the officer's checklist, with an on-site photo for its first criterion.
  const code = await page.evaluate(() => {
    const listed = new Set([...document.querySelectorAll("#panel li[data-code]")].map((li) => li.dataset.code));
    const f = window.gridwatch.map.getStyle().sources.points.data.features.find((p) => listed.has(p.properties.code) && p.properties.criteria?.length);
    return f?.properties.code;
  });
  assert.ok(code, "a listed point with a checklist");
  const inspectionsBefore = (await api(`/api/v1/inspections?point=${encodeURIComponent(code)}`)).inspections.length;
  await page.click(`#panel li[data-code="${code}"]`);
  await page.locator("#inspection fieldset").first().waitFor();
  const criterion = await page.getAttribute("#inspection fieldset", "data-criterion");
  await page.uncheck("#inspection fieldset:first-of-type input[name=pass]");
  await page.fill("#inspection fieldset:first-of-type input[name=note]", "垃圾未清");
  await page.setInputFiles("#inspection fieldset:first-of-type input[name=photo]", photo);
  await page.click("#inspection button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#outbox-count").dataset.count === "2");
  // A short patrol with the phone's GPS: three fixes, sent as one track when it ends.
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); // the demo city keeps China time
  const fixesBefore = (await api(`/api/v1/tracks?date=${today}`)).features.reduce((n, f) => n + f.properties.fixes, 0);
  await page.click("#patrol");
  for (const step of [1, 2, 3]) {
    await context.setGeolocation({ longitude: lon + step * 0.0001, latitude: lat, accuracy: 5 });
    await page.waitForTimeout(1100);
  }
  await page.click("#patrol");
  await page.waitForFunction(() => document.querySelector("#outbox-count").dataset.count === "3");
  const before = await api("/api/v1/problems?limit=1000&sort=-created_at");
  assert.equal(before.problems.filter((p) => p.description === description).length, 0, "nothing reached the server while offline");
  step("filed offline: a report, an inspection and a patrol track waiting in the outbox");

  // The first answer to each write is lost on its way back: the server has the write, the phone
  // does not know it, and must retry with the same Idempotency-Key.
  const lost = { report: 0, photo: 0, inspection: 0, pointPhoto: 0 };
  const loseFirst = (pattern, key) => page.route(pattern, async (route) => {
    if (route.request().method() !== "POST" || lost[key]++ > 0) return route.continue();
    await route.fetch();
    await route.abort("connectionreset");
  });
  await loseFirst("**/api/v1/inspections", "inspection");
  await loseFirst("**/api/v1/points/*/photos", "pointPhoto");
  await page.route("**/api/v1/problems", async (route) => {
    if (route.request().method() !== "POST" || lost.report++ > 0) return route.continue();
    await route.fetch();
    await route.abort("connectionreset");
  });
  await page.route("**/api/v1/problems/*/photos", async (route) => {
    if (route.request().method() !== "POST" || lost.photo++ > 0) return route.continue();
    await route.fetch();
    await route.abort("connectionreset");
  });
  await context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  // The lost answers leave the item waiting; the next round (online event or timer) finishes it.
  await page.waitForFunction(() => document.querySelector("#outbox-count").dataset.count === "0", null, { timeout: 90_000 });
  assert.ok(Object.values(lost).every((n) => n >= 2), `each write was retried after its lost answer (${JSON.stringify(lost)})`);

  const after = await api("/api/v1/problems?limit=1000&sort=-created_at");
  const mine = after.problems.filter((p) => p.description === description);
  assert.equal(mine.length, 1, "the report arrived exactly once");
  const photos = await api(`/api/v1/problems/${mine[0].id}/photos`);
  const sha = createHash("sha256").update(readFileSync(photo)).digest("hex");
  assert.deepEqual(photos.photos.map((p) => p.sha256), [sha], "the photo arrived exactly once, unchanged");
  assert.ok(Math.abs(mine[0].lon - lon) < 1e-6 && Math.abs(mine[0].lat - lat) < 1e-6, "reported where the phone's GPS was");
  const inspections = (await api(`/api/v1/inspections?point=${encodeURIComponent(code)}`)).inspections;
  assert.equal(inspections.length, inspectionsBefore + 1, "the inspection arrived exactly once");
  const filed = inspections.find((i) => i.results.some((r) => r.criterion === criterion && !r.pass && r.note === "垃圾未清"));
  assert.ok(filed, `the failed criterion with its note: ${JSON.stringify(inspections)}`);
  const pointPhotos = (await api(`/api/v1/points/${encodeURIComponent(code)}/photos`)).photos;
  assert.deepEqual(pointPhotos.map((p) => [p.sha256, p.criterion, p.inspection]), [[sha, criterion, filed.id]], "the on-site photo arrived exactly once, for its criterion and inspection");
  assert.deepEqual(filed.photos, [`/api/v1/photos/${sha}`], "the inspection lists its photo");
  const fixesAfter = (await api(`/api/v1/tracks?date=${today}`)).features.reduce((n, f) => n + f.properties.fixes, 0);
  assert.ok(fixesAfter - fixesBefore >= 3, `the patrol's fixes arrived (${fixesBefore} → ${fixesAfter})`);
  assert.deepEqual(errors, [], "no script errors");
  step("back online: sent in order, exactly once");
  console.log(`offline checks passed: problem ${mine[0].id}`);
} finally {
  await browser.close();
}
