// Supervision on screen (督查, issue 23), in headless Chromium: the office, at a desk, opens an
// undercover round and records a finding by tapping the map; the unit, on a phone, sees nothing of
// it; the office publishes it, and the unit then finds the round with the finding handed to it in
// its ledger (台账). Then the letters (督办函) the demo's yellow and red cases brought: the unit, on
// its phone, is told of them on its to-do list, signs for one and answers it; the office, at its
// desk, finds it answered in the letter ledger. Screenshots of each, at their sizes.
//   GRIDWATCH_URL, GRIDWATCH_LOGINS (JSON {role: [user, password]}), GRIDWATCH_AT ("lon,lat" in a
//   grid of the demo unit), GRIDWATCH_SCREENSHOTS (a directory)
import { launchChromium, signInWith } from "./common.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.env.GRIDWATCH_URL;
const logins = JSON.parse(process.env.GRIDWATCH_LOGINS);
const [lon, lat] = process.env.GRIDWATCH_AT.split(",").map(Number);
const shots = process.env.GRIDWATCH_SCREENSHOTS;
mkdirSync(shots, { recursive: true });

const browser = await launchChromium();
const errors = [];
const step = (name) => console.log(`${name}: ok`);
const PHONE = { width: 390, height: 844 };
const DESK = { width: 1280, height: 800 };

const signIn = signInWith(browser, { base, logins, errors });

/** Opens `hash` and waits until its view (`rounds` unless named) has drawn. */
async function rounds(page, hash = "rounds", view = "rounds") {
  await page.evaluate((h) => { document.body.dataset.ready = ""; location.hash = h; }, hash);
  await page.waitForFunction(() => document.body.dataset.ready && document.body.dataset.ready !== "", null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.ready), view, await page.textContent("#panel"));
}

/** Waits for the view to draw again after an action (the view redraws itself). */
async function redrawn(page, view = "rounds") {
  await page.waitForFunction((v) => document.body.dataset.ready === v, view, { timeout: 60_000 });
}

const total = (page, count) => page.getAttribute("#ledger-total", `data-${count}`).then(Number);

try {
  // 1. The office opens an undercover round (暗访) at the desk.
  const office = await signIn("office", DESK);
  await rounds(office);
  const name = `暗访 ${Date.now()}`;
  await office.fill("#new-round input[name=name]", name);
  await office.selectOption("#new-round select[name=kind]", "undercover");
  await office.evaluate(() => { document.body.dataset.ready = ""; });
  await office.click("#new-round button[type=submit]");
  await redrawn(office);
  assert.match(await office.textContent("#round option:checked"), new RegExp(name));
  assert.equal(await total(office, "found"), 0);
  step("the office opened an undercover round");

  // 2. It records a finding where it tapped the map.
  await office.evaluate(([lon, lat]) => window.gridwatch.map.jumpTo({ center: [lon, lat], zoom: 17 }), [lon, lat]);
  await office.waitForFunction(() => window.gridwatch.map.loaded());
  const box = await office.locator("#map").boundingBox();
  await office.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await office.waitForFunction(() => !document.querySelector("#finding-where").textContent.includes("地图"));
  await office.fill("#finding textarea[name=description]", "胡同口垃圾堆放（暗访）");
  await office.evaluate(() => { document.body.dataset.ready = ""; });
  await office.click("#finding button[type=submit]");
  await redrawn(office);
  assert.equal(await total(office, "found"), 1);
  assert.equal(await total(office, "not-rectified"), 1);
  assert.equal(await office.getAttribute("#ledger-items li", "data-standing"), "withheld");
  await office.screenshot({ path: `${shots}/rounds-office-desk.png` });
  step("the office recorded a finding: withheld");
  await office.fill("#foreword textarea[name=foreword]", "现将本期暗访情况通报如下。");
  await office.evaluate(() => { document.body.dataset.ready = ""; });
  await office.click("#foreword button[type=submit]");
  await redrawn(office);
  assert.equal(await office.inputValue("#foreword textarea[name=foreword]"), "现将本期暗访情况通报如下。");
  step("the office wrote the bulletin's foreword");

  // 3. The unit, on a phone, sees nothing of it.
  const unit = await signIn("unit", PHONE);
  await rounds(unit);
  assert.equal(await unit.locator("#round option", { hasText: name }).count(), 0, "an unpublished undercover round is hidden");
  step("the unit does not see the round");

  // 4. The office publishes it: the finding becomes a case of the demo unit.
  await office.evaluate(() => { document.body.dataset.ready = ""; });
  await office.click("#publish");
  await redrawn(office);
  assert.equal(await office.getAttribute("#ledger-items li", "data-standing"), "not_rectified");
  assert.match(await office.textContent("#ledger-units"), /东华门街道办事处/);
  step("the office published it");

  // The week's 督查通报 (the week the round began in) counts it with the week's other rounds.
  const [week] = await Promise.all([office.context().waitForEvent("page"), office.click("#week-bulletin")]);
  await week.waitForLoadState();
  assert.match(await week.textContent("h1"), /^督查通报（\d{4}年第\d{1,2}周）$/);
  assert.match(await week.textContent("#summary"), /暗访\d+次/);
  assert.match(await week.textContent("#units"), /东华门街道办事处/);
  await week.setViewportSize(DESK);
  await week.screenshot({ path: `${shots}/week-bulletin.png`, fullPage: true });
  await week.close();
  step("the office opened the week's bulletin");

  // 5. The unit now finds the round and what was handed to it.
  await unit.reload();
  await redrawn(unit);
  assert.match(await unit.textContent("#round option:checked"), new RegExp(name));
  assert.equal(await total(unit, "found"), 1);
  assert.match(await unit.textContent("#ledger-items"), /胡同口垃圾堆放/);
  await unit.screenshot({ path: `${shots}/rounds-unit-phone.png` });
  step("the unit sees the finding handed to it");

  // 6. The unit's to-do list tells it of its letters; it signs for one and answers it.
  await rounds(unit, "tasks", "tasks");
  assert.match(await unit.textContent("#letters-waiting"), /督办函/);
  await unit.click("#letters-waiting a");
  await redrawn(unit, "letters");
  const first = unit.locator('#letters li[data-status="issued"]').first();
  const id = await first.getAttribute("data-id");
  const label = (await first.locator("b").textContent()).trim();
  await rounds(unit, `letters?id=${id}`, "letters");
  assert.match(await unit.textContent("#letter h2"), new RegExp(label.replace(/[〔〕]/g, ".")));
  await unit.evaluate(() => { document.body.dataset.ready = ""; });
  await unit.click("#sign-letter");
  await redrawn(unit, "letters");
  assert.equal(await unit.getAttribute(`#letters li[data-id="${id}"]`, "data-status"), "signed");
  await unit.fill("#answer-letter textarea[name=answer]", "已组织清运，整改到位");
  await unit.screenshot({ path: `${shots}/letters-unit-phone.png` });
  await unit.evaluate(() => { document.body.dataset.ready = ""; });
  await unit.click("#answer-letter button[type=submit]");
  await redrawn(unit, "letters");
  assert.equal(await unit.getAttribute(`#letters li[data-id="${id}"]`, "data-status"), "answered");
  assert.match(await unit.textContent("#letter-answer"), /已组织清运/);
  step(`the unit signed for ${label} and answered it`);

  // 7. The office finds it answered in its letter ledger.
  await rounds(office, `letters?id=${id}`, "letters");
  assert.equal(await office.getAttribute(`#letters li[data-id="${id}"]`, "data-status"), "answered");
  assert.ok(Number(await office.evaluate(() => document.body.dataset.letters)) > 1, "the office sees every unit's letters");
  await office.screenshot({ path: `${shots}/letters-office-desk.png` });
  step("the office sees the letter answered");

  // 8. The office's evaluation (考核): this month's streets, then its units with their letters.
  await rounds(office, "evaluation", "evaluation");
  const ranked = await office.locator("#evaluation tbody tr[data-rank]:not([data-rank=''])").count();
  assert.ok(ranked > 0, "streets are ranked");
  assert.equal(await office.getAttribute("#evaluation tbody tr >> nth=0", "data-rank"), "1");
  await office.selectOption("#evaluation-form select[name=by]", "unit");
  await office.evaluate(() => { document.body.dataset.ready = ""; });
  await office.click("#evaluation-form button[type=submit]");
  await redrawn(office, "evaluation");
  assert.match(await office.textContent("#evaluation"), /东华门街道办事处/);
  assert.match(await office.textContent("#evaluation"), /督办函/);
  await office.screenshot({ path: `${shots}/evaluation-office-desk.png` });
  step("the office ranks streets and units");
  assert.deepEqual(errors, [], "no script errors");
  console.log("rounds checks passed");
} finally {
  await browser.close();
}
