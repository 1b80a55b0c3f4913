// The whole handling loop on screen, each role signed in with its password in headless Chromium:
// the officer reports on a phone → the dispatcher accepts, registers and dispatches at a desk →
// the unit handles it on a phone with an after-photo → the officer, with no signal, confirms a
// hotline call on site (核实), checks the fix (核查) and fixes something on the spot (自行处置), all
// with photos, into the outbox; back
// online, although the server's first answers are lost on the way back, every photo and every
// step arrives exactly once → the dispatcher closes the case (结案) from their to-do list.
//   GRIDWATCH_URL, GRIDWATCH_LOGINS (JSON {role: [user, password]}), GRIDWATCH_TOKENS (JSON {role:
//   token}, for checking through the API), GRIDWATCH_AT ("lon,lat" in the officer's area, of the
//   demo unit), GRIDWATCH_CALL (a hotline call there, accepted: waiting to be confirmed),
//   GRIDWATCH_PHOTOS (JSON {report, after, seen, check, before, fixed}: camera JPEGs), GRIDWATCH_DESCRIPTION,
//   GRIDWATCH_SCREENSHOTS (a directory)
import { launchChromium } from "./common.mjs";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";

const base = process.env.GRIDWATCH_URL;
const logins = JSON.parse(process.env.GRIDWATCH_LOGINS);
const tokens = JSON.parse(process.env.GRIDWATCH_TOKENS);
const [lon, lat] = process.env.GRIDWATCH_AT.split(",").map(Number);
const call = Number(process.env.GRIDWATCH_CALL);
const photos = JSON.parse(process.env.GRIDWATCH_PHOTOS);
const description = process.env.GRIDWATCH_DESCRIPTION;
const shots = process.env.GRIDWATCH_SCREENSHOTS;
mkdirSync(shots, { recursive: true });
const sha = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const api = (path) => fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${tokens.dispatcher}` } }).then((r) => r.json());
const history = async (id) => (await api(`/api/v1/problems/${id}/events`)).events.map((e) => e.action);
const photosOf = async (id) => (await api(`/api/v1/problems/${id}/photos`)).photos.map((p) => [p.stage, p.sha256, p.flags.map((f) => f.flag)]);

const browser = await launchChromium();
const errors = [];
const step = (name) => console.log(`${name}: ok`);
const PHONE = { width: 390, height: 844 };
const DESK = { width: 1280, height: 800 };

/** A browser of its own for `role`, signed in through the form with the demo's password. */
async function signIn(role, viewport) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, timezoneId: "UTC", geolocation: { longitude: lon, latitude: lat, accuracy: 8 }, permissions: ["geolocation"] });
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(`${role}: ${e.message}`));
  await page.goto(`${base}/map/`);
  await page.locator("#login").waitFor();
  const [user, password] = logins[role];
  await page.fill("#username", user);
  await page.fill("#password", password);
  await page.click('#login button[type="submit"]');
  await page.waitForFunction(() => document.body.dataset.ready && !document.body.dataset.ready.startsWith("error"), null, { timeout: 60_000 });
  return { page, context };
}

async function view(page, name) {
  await page.evaluate((v) => { document.body.dataset.ready = ""; location.hash = v; }, name);
  await page.waitForFunction((v) => document.body.dataset.ready === v || document.body.dataset.ready?.startsWith("error"), name, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.ready), name, await page.textContent("#panel"));
}

try {
  // 1. The officer reports on the phone, with a photo, where the phone's GPS is.
  const officer = await signIn("officer", PHONE);
  await officer.page.fill("#report textarea[name=description]", description);
  await officer.page.setInputFiles("#report input[name=photo]", photos.report);
  await officer.page.click("#report button[type=submit]");
  // Filed into the outbox, then sent: the report, then its photo.
  let found = [];
  for (let tries = 0; tries < 60; tries++) {
    found = (await api("/api/v1/problems?limit=1000&sort=-created_at")).problems.filter((p) => p.description === description);
    if (found.length && (await photosOf(found[0].id)).length) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.equal(found.length, 1, "the report arrived once");
  await officer.page.waitForFunction(() => !document.querySelector("#outbox li[data-seq]"), null, { timeout: 30_000 });
  const id = found[0].id;
  step(`officer reported #${id}`);

  // 2. The dispatcher, at a desk: accept, register, dispatch from the board.
  const dispatcher = await signIn("dispatcher", DESK);
  await dispatcher.page.locator(`#queue li[data-id="${id}"]`).waitFor({ timeout: 30_000 });
  await dispatcher.page.click(`#queue li[data-id="${id}"]`);
  // Each step's answer is awaited by the state it leads to, not by a message on the screen: the
  // board draws the case again after each step, and a message seen in passing proved nothing.
  for (const [action, to] of [["accept", "accepted"], ["register", "registered"], ["dispatch", "dispatched"]]) {
    await dispatcher.page.locator(`#detail button[data-action=${action}]`).waitFor();
    await dispatcher.page.click(`#detail button[data-action=${action}]`);
    await dispatcher.page.waitForFunction((done) => document.body.dataset.acted === done, `${id}:${to}`, { timeout: 30_000 })
      .catch(async (e) => { throw new Error(`the dispatcher's ${action} did not go through: ${await dispatcher.page.textContent("#detail")}: ${e.message}`); });
    assert.ok((await dispatcher.page.textContent("#action-result")).length > 0, "the board says the step was taken");
  }
  assert.equal((await api(`/api/v1/problems/${id}`)).status, "dispatched");
  step("dispatcher accepted, registered and dispatched it");

  // 3. The unit, on a phone: its board (待整改) opens by default; handle with an after-photo.
  const unit = await signIn("unit", PHONE);
  assert.equal(await unit.page.evaluate(() => document.body.dataset.ready), "tasks");
  await unit.page.click(`#tasks li[data-id="${id}"]`);
  await unit.page.setInputFiles('#task-act input[name="photo"]', photos.after);
  await unit.page.fill('#task-act textarea[name="note"]', "已清运，现场恢复整洁");
  await unit.page.click("#task-act button[data-action=handle]");
  await unit.page.waitForFunction((id) => document.body.dataset.acted === `${id}:handled`, id, { timeout: 30_000 })
    .catch(async (e) => { throw new Error(`the unit's handling did not go through: ${await unit.page.textContent("#task-detail")}: ${e.message}`); });
  await unit.context.close();
  step("unit handled it with an after-photo");

  // 4. The officer's to-do list, read once with signal (the phone keeps it), then no signal.
  await view(officer.page, "tasks");
  const kinds = await officer.page.$$eval("#tasks li[data-id]", (lis) => Object.fromEntries(lis.map((li) => [li.dataset.id, li.dataset.kind])));
  assert.equal(kinds[call], "confirm", `the hotline call waits to be confirmed: ${JSON.stringify(kinds)}`);
  assert.equal(kinds[id], "verify", "the fix waits to be checked");
  await officer.page.screenshot({ path: `${shots}/officer-tasks.png` });
  await officer.context.setOffline(true);
  // 核实: found on site, confirmed with a photo of it.
  await officer.page.click(`#tasks li[data-id="${call}"]`);
  await officer.page.locator("#task-act button[data-action=confirm]").waitFor();
  assert.equal(await officer.page.textContent("#task-act button[data-action=void]"), "核实不属实");
  await officer.page.setInputFiles('#task-act input[name="photo"]', photos.seen);
  await officer.page.click("#task-act button[data-action=confirm]");
  await officer.page.locator(`#tasks li[data-id="${call}"][data-queued]`).waitFor({ timeout: 30_000 });
  assert.ok(await officer.page.isVisible("#offline-note"), "the officer is told the list is the phone's copy");
  // 核查: the fix is there, checked with a photo.
  await officer.page.click(`#tasks li[data-id="${id}"]`);
  await officer.page.locator("#task-act button[data-action=verify]").waitFor();
  await officer.page.setInputFiles('#task-act input[name="photo"]', photos.check);
  await officer.page.fill('#task-act textarea[name="note"]', "现场核查已整改");
  await officer.page.click("#task-act button[data-action=verify]");
  await officer.page.locator(`#tasks li[data-id="${id}"][data-queued]`).waitFor({ timeout: 30_000 });
  await officer.page.waitForFunction(() => document.querySelector("#outbox-count").dataset.count === "2");
  await officer.page.locator("#outbox").scrollIntoViewIfNeeded();
  await officer.page.screenshot({ path: `${shots}/officer-offline.png` });
  // 自行处置: something small, fixed on the spot — reported with a before and an after photo.
  await view(officer.page, "officer");
  await officer.page.fill("#report textarea[name=description]", `${description} 自行处置`);
  await officer.page.setInputFiles("#report input[name=photo]", photos.before);
  await officer.page.check("#report input[name=fixed]");
  await officer.page.setInputFiles("#report input[name=after]", photos.fixed);
  await officer.page.click("#report button[type=submit]");
  await officer.page.waitForFunction(() => document.querySelector("#outbox-count").dataset.count === "3");
  assert.match(await officer.page.textContent("#outbox"), /自行处置/, "the step waits with the report");
  assert.equal((await api(`/api/v1/problems/${call}`)).status, "confirming", "nothing reached the server while offline");
  assert.equal((await api(`/api/v1/problems/${id}`)).status, "handled");
  step("officer confirmed a call, checked the fix and fixed something on the spot with no signal: all wait in the outbox");

  // Back online, the first answer to each write is lost on its way back: the server has it, the
  // phone does not know, and must send it again with the same Idempotency-Key.
  const lost = { reports: 0, photos: 0, transitions: 0 };
  const loseFirst = (pattern, key) => officer.page.route(pattern, async (route) => {
    if (route.request().method() !== "POST" || lost[key]++ > 0) return route.continue();
    await route.fetch();
    await route.abort("connectionreset");
  });
  await loseFirst("**/api/v1/problems/*/photos", "photos");
  await loseFirst("**/api/v1/problems/*/transitions", "transitions");
  await loseFirst("**/api/v1/problems", "reports");
  await officer.context.setOffline(false);
  await officer.page.evaluate(() => window.dispatchEvent(new Event("online")));
  await officer.page.waitForFunction(() => document.querySelector("#outbox-count")?.dataset.count === "0", null, { timeout: 90_000 });
  assert.ok(Object.values(lost).every((n) => n >= 2), `each kind of write was sent again after its lost answer (${JSON.stringify(lost)})`);
  const fixed = (await api("/api/v1/problems?limit=1000&sort=-created_at")).problems.filter((p) => p.description === `${description} 自行处置`);
  assert.equal(fixed.length, 1, "the fixed-on-the-spot report arrived once");
  assert.deepEqual(await history(fixed[0].id), ["self_handle"], "self-handled exactly once");
  assert.deepEqual((await photosOf(fixed[0].id)).map((p) => p.slice(0, 2)), [["report", sha(photos.before)], ["verification", sha(photos.fixed)]], "before and after, once each");
  assert.deepEqual(await history(call), ["accept", "confirm"], "confirmed exactly once");
  assert.deepEqual((await photosOf(call)).map((p) => p.slice(0, 2)), [["report", sha(photos.seen)]], "its photo once");
  assert.equal((await api(`/api/v1/problems/${call}`)).status, "accepted", "confirmed: back with the dispatcher to register");
  assert.deepEqual(await history(id), ["accept", "register", "dispatch", "handle", "verify"], "checked exactly once");
  step(`back online: everything sent exactly once (${JSON.stringify(lost)})`);

  // 5. The dispatcher closes it from their to-do list (结案).
  await view(dispatcher.page, "tasks");
  assert.equal(await dispatcher.page.getAttribute(`#tasks li[data-id="${id}"]`, "data-kind"), "close");
  await dispatcher.page.click(`#tasks li[data-id="${id}"]`);
  await dispatcher.page.click("#task-act button[data-action=close]");
  await dispatcher.page.waitForFunction((id) => document.body.dataset.acted === `${id}:closed`, id, { timeout: 30_000 })
    .catch(async (e) => { throw new Error(`the dispatcher's close did not go through: ${await dispatcher.page.textContent("#task-detail")} (acted: ${await dispatcher.page.evaluate(() => document.body.dataset.acted)}; history: ${JSON.stringify(await history(id))}): ${e.message}`); });
  assert.deepEqual(await history(id), ["accept", "register", "dispatch", "handle", "verify", "close"]);
  const evidence = await photosOf(id);
  assert.deepEqual(evidence.map((p) => p.slice(0, 2)), [["report", sha(photos.report)], ["handling", sha(photos.after)], ["verification", sha(photos.check)]], "each photo once, at its stage");
  assert.ok(evidence.every((p) => p[2].length === 0), `camera photos taken there and then raise no flag: ${JSON.stringify(evidence)}`);
  step("dispatcher closed it");
  assert.deepEqual(errors, [], "no script errors");
  console.log(`loop checks passed: case ${id}, call ${call}`);
} finally {
  await browser.close();
}
