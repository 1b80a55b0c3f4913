// Special campaigns (专项整治) on screen, in headless Chromium: the office signs in at desk size,
// opens 专项整治, sets one up through the form (a street, a category, the lead and joint units,
// a cycle) and sees its report (per unit, per joint enforcement day); the unit reads it at phone
// size. Screenshots of each.
//   GRIDWATCH_URL, GRIDWATCH_LOGINS (JSON {role: [user, password]}), GRIDWATCH_STREET (a street
//   code of the office's area), GRIDWATCH_CATEGORY, GRIDWATCH_FOUND (the cases the campaign will
//   count), GRIDWATCH_SCREENSHOTS
import { launchChromium, signInWith } from "./common.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.env.GRIDWATCH_URL;
const logins = JSON.parse(process.env.GRIDWATCH_LOGINS);
const shots = process.env.GRIDWATCH_SCREENSHOTS;
mkdirSync(shots, { recursive: true });

const browser = await launchChromium();
const errors = [];
const step = (name) => console.log(`${name}: ok`);

const signIn = signInWith(browser, { base, logins, errors });

async function open(page, hash) {
  await page.evaluate((h) => { document.body.dataset.ready = ""; location.hash = h; }, hash);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.ready), "campaigns", await page.textContent("#panel"));
}

try {
  const desk = await signIn("office", { width: 1280, height: 800 });
  await open(desk, "campaigns");
  // The demo runs one campaign already.
  const before = Number(await desk.evaluate(() => document.body.dataset.campaigns));
  await desk.fill('#campaign-form input[name="name"]', "道路遗撒专项整治");
  await desk.fill('#campaign-form input[name="end"]', "2026-12-31");
  await desk.selectOption('#campaign-form select[name="area"]', [process.env.GRIDWATCH_STREET]);
  await desk.selectOption('#campaign-form select[name="categories"]', [process.env.GRIDWATCH_CATEGORY]);
  await desk.fill('#campaign-form input[name="lead_unit"]', "东华门街道办事处");
  await desk.fill('#campaign-form input[name="joint_units"]', "城管执法队、市场监管所");
  await desk.fill('#campaign-form input[name="cycle_days"]', "7");
  await desk.evaluate(() => { document.body.dataset.ready = ""; });
  await desk.click('#campaign-form button[type="submit"]');
  await desk.waitForFunction(() => document.body.dataset.ready === "campaigns" && document.body.dataset.found, null, { timeout: 60_000 })
    .catch(async (e) => { throw new Error(`not set up: ${await desk.textContent("#panel")}: ${e.message}`); });
  assert.equal(Number(await desk.evaluate(() => document.body.dataset.campaigns)), before + 1);
  assert.equal(await desk.evaluate(() => document.body.dataset.found), process.env.GRIDWATCH_FOUND, "the report counts the campaign's cases");
  const units = await desk.locator("#campaign-units tbody tr").allTextContents();
  assert.ok(units.some((u) => u.includes("城管执法队") && u.includes("配合")), units.join(" | "));
  assert.ok(await desk.locator("#campaign-rounds tbody tr").count() >= 1);
  await desk.screenshot({ path: `${shots}/office-campaign-desk.png` });
  step("office desk: a campaign set up and its report shown");

  const phone = await signIn("unit", { width: 390, height: 844 });
  await open(phone, "campaigns");
  assert.equal(await phone.locator("#campaign-list li").count(), before + 1);
  assert.equal(await phone.locator("#campaign-form").count(), 0, "units do not set campaigns up");
  await phone.screenshot({ path: `${shots}/unit-campaign-phone.png`, fullPage: true });
  step("unit phone: the campaign and its report");

  assert.deepEqual(errors, []);
  console.log("campaigns checks passed");
} finally {
  await browser.close();
}
