// Hot spots and stubborn points (热点反弹) on screen, in headless Chromium: the office signs in at
// desk size and opens 热点反弹; the stubborn points the server lists are on the panel and on the
// map, the hot-spot tiles draw (any answer but 200 fails); by cell and by period through the
// form; the same view at phone size. Screenshots of each.
//   GRIDWATCH_URL, GRIDWATCH_LOGINS (JSON {role: [user, password]}), GRIDWATCH_STUBBORN (the
//   stubborn points of the last 30 days, as the API counts them), GRIDWATCH_SCREENSHOTS
import { launchChromium, signInWith } from "./common.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.env.GRIDWATCH_URL;
const logins = JSON.parse(process.env.GRIDWATCH_LOGINS);
const shots = process.env.GRIDWATCH_SCREENSHOTS;
const expected = Number(process.env.GRIDWATCH_STUBBORN);
mkdirSync(shots, { recursive: true });

const browser = await launchChromium();
const errors = [];
const step = (name) => console.log(`${name}: ok`);

const signIn = signInWith(browser, { base, logins, errors,
  // Hot-spot tiles answered with anything but 200 are a defect too.
  watch: (page, role) => page.on("response", (r) => { if (r.url().includes("/api/v1/hotspots/") && r.status() !== 200) errors.push(`${role}: ${r.status()} ${r.url()}`); })
});

/** Opens a hash of the hot-spot view and waits until it is drawn. */
async function open(page, hash) {
  await page.evaluate((h) => { document.body.dataset.ready = ""; location.hash = h; }, hash);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
  const ready = await page.evaluate(() => document.body.dataset.ready);
  assert.equal(ready, "hotspots", `the view is drawn: ${await page.textContent("#panel")}`);
}

try {
  const desk = await signIn("office", { width: 1280, height: 800 });
  await open(desk, "hotspots");
  assert.equal(Number(await desk.evaluate(() => document.body.dataset.stubborn)), expected, "the panel lists the server's stubborn points");
  assert.equal(await desk.locator("#stubborn li").count(), expected);
  assert.ok(expected > 0, "the demo has places that keep coming back");
  const first = await desk.textContent("#stubborn li");
  assert.match(first, /反弹 \d+ 次/, first);
  assert.match(first, /#\d+ → #\d+/, first);
  step("office desk: stubborn points listed");
  await desk.screenshot({ path: `${shots}/office-hotspots-desk.png` });

  // By cell, over a quarter, through the form.
  await desk.selectOption('#hotspots-form select[name="by"]', "cell");
  await desk.fill('#hotspots-form input[name="period"]', "2026-Q4");
  await desk.evaluate(() => { document.body.dataset.ready = ""; });
  await desk.click('#hotspots-form button[type="submit"]');
  await desk.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
  assert.equal(await desk.evaluate(() => location.hash), "#hotspots?by=cell&period=2026-Q4");
  assert.match(await desk.textContent("#panel h2"), /2026-Q4/);
  await desk.screenshot({ path: `${shots}/office-hotspots-cells.png` });
  step("office desk: by cell over a quarter");

  const phone = await signIn("office", { width: 390, height: 844 });
  await open(phone, "hotspots");
  assert.equal(await phone.locator("#stubborn li").count(), expected);
  await phone.screenshot({ path: `${shots}/office-hotspots-phone.png`, fullPage: true });
  step("office phone: the same list");

  // The bar offers each role the views it has work in: not hot spots to an officer.
  assert.equal(await phone.isVisible('#views a[data-view="hotspots"]'), true);
  const officer = await signIn("officer", { width: 390, height: 844 });
  assert.equal(await officer.isVisible('#views a[data-view="hotspots"]'), false);
  assert.equal(await officer.isVisible('#views a[data-view="officer"]'), true);
  step("officer phone: no hot-spot view in the bar");

  assert.deepEqual(errors, []);
  console.log("hotspots checks passed");
} finally {
  await browser.close();
}
