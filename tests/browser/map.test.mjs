// Opens each view of the web map in headless Chromium against a running demo server, asserts
// that features are drawn (map.queryRenderedFeatures), runs one dispatcher action end to end and
// saves a screenshot of each view.
//   GRIDWATCH_URL, GRIDWATCH_TOKENS (JSON {role: token}), GRIDWATCH_LOGINS (JSON {role: [user, password]}),
//   GRIDWATCH_SCREENSHOTS (a directory)
import { launchChromium } from "./common.mjs";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const base = process.env.GRIDWATCH_URL;
const tokens = JSON.parse(process.env.GRIDWATCH_TOKENS);
const logins = JSON.parse(process.env.GRIDWATCH_LOGINS);
const shots = process.env.GRIDWATCH_SCREENSHOTS;
mkdirSync(shots, { recursive: true });

const browser = await launchChromium();
const results = [];
const step = async (name, fn) => {
  const started = Date.now();
  await fn();
  results.push(`${name}: ok (${Date.now() - started} ms)`);
  console.log(results.at(-1));
};

async function open(role, view, viewport = { width: 1280, height: 800 }) {
  // The browser's zone is not the city's: the map must not use it.
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, timezoneId: "UTC" });
  await context.addInitScript(([token]) => localStorage.setItem("gridwatch.token", token), [tokens[role]]);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The page's Content-Security-Policy must allow everything the map does.
  page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  await page.goto(`${base}/map/#${view}`);
  const name = view.split("?")[0];
  await page.waitForFunction((v) => document.body.dataset.ready === v || document.body.dataset.ready?.startsWith("error"), name, { timeout: 60_000 });
  const ready = await page.evaluate(() => document.body.dataset.ready);
  assert.equal(ready, name, `view ${view} failed: ${await page.textContent("#panel")}`);
  assert.deepEqual(errors, [], "no script errors");
  return { page, context };
}

const api = (role, path) => fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${tokens[role]}` } }).then((r) => r.json());

/** Rendered features of the given layers, waiting until the map has drawn at least `min`. */
async function rendered(page, layers, min = 1) {
  await page.waitForFunction(([layers, min]) => {
    const map = window.gridwatch.map;
    return map.queryRenderedFeatures({ layers }).length >= min;
  }, [layers, min], { timeout: 30_000 });
  return page.evaluate((layers) => window.gridwatch.map.queryRenderedFeatures({ layers }).map((f) => ({ layer: f.layer.id, properties: f.properties })), layers);
}

try {
  await step("sign-in (phone): a wrong password is refused, the right one opens the officer's grids, sign-out ends the session", async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${base}/map/`);
    await page.locator("#login").waitFor();
    const [user, password] = logins.officer;
    await page.fill("#username", user);
    await page.fill("#password", "not-the-password");
    await page.click('#login button[type="submit"]');
    await page.waitForFunction(() => document.querySelector("#login-error").textContent.length > 0);
    assert.match(await page.textContent("#login-error"), /用户名或密码错误/);
    await page.fill("#password", password);
    await page.screenshot({ path: `${shots}/sign-in.png` });
    await page.click('#login button[type="submit"]');
    await page.waitForFunction(() => document.body.dataset.ready === "officer", null, { timeout: 60_000 });
    assert.equal(await page.textContent("#who"), `${user} · officer`);
    const session = await page.evaluate(() => localStorage.getItem("gridwatch.token"));
    assert.ok(session && session !== tokens.officer, "a session of its own, not the demo token");
    await page.click("#logout");
    await page.locator("#login").waitFor();
    const after = await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${session}` } });
    assert.equal(after.status, 401, "signing out ends the session on the server");
    assert.deepEqual(errors, [], "no script errors");
    await context.close();
  });

  await step("officer view (phone): my grids, this week's points, open problems, route", async () => {
    const { page, context } = await open("officer", "officer", { width: 390, height: 844 });
    const grids = await rendered(page, ["grids-fill"]);
    assert.ok(grids.every((f) => f.properties.code.startsWith("110101001001")), "only the officer's own grids");
    // Each drawn point is coloured as the coverage API judges it for this week.
    const points = await rendered(page, ["points", "points-line", "points-area"]);
    const week = await page.evaluate(() => document.querySelector("[data-week]").dataset.week);
    const coverage = await api("officer", `/api/v1/coverage?week=${week}`);
    const judged = new Map(coverage.points.map((p) => [p.code, p.covered]));
    for (const f of points) assert.equal(f.properties.covered, judged.get(f.properties.code), f.properties.code);
    assert.equal(Number(await page.getAttribute(".summary", "data-covered")), coverage.summary.covered);
    await rendered(page, ["route"]);
    // The next planned day's route (巡查计划), its stops listed in the API's visiting order.
    const planWeek = await page.getAttribute("#plan", "data-week");
    const planDate = await page.getAttribute("#plan", "data-date");
    const plan = await api("officer", `/api/v1/plans?week=${planWeek}`);
    const expected = plan.features.filter((f) => f.properties.kind === "stop" && f.properties.date === planDate)
      .sort((a, b) => a.properties.order - b.properties.order).map((f) => f.properties.code);
    assert.ok(expected.length > 0, "the demo officer has points due");
    assert.deepEqual(await page.$$eval("#plan li", (lis) => lis.map((li) => li.dataset.code)), expected);
    // Each stop's time is on the city's clock (UTC+8), whatever the browser's zone (this one's is UTC).
    const firstStop = plan.features.filter((f) => f.properties.kind === "stop" && f.properties.date === planDate)
      .sort((a, b) => a.properties.order - b.properties.order)[0];
    const cityClock = new Date(Date.parse(firstStop.properties.eta) + 8 * 3600_000).toISOString().slice(11, 16);
    assert.ok((await page.textContent("#plan li")).startsWith(cityClock), `the first stop at ${cityClock} city time`);
    await rendered(page, ["plan"]);
    const problems = await rendered(page, ["problems"]);
    assert.ok(problems.every((f) => !["closed", "void"].includes(f.properties.status)), "open problems only");
    assert.ok(problems.every((f) => typeof f.properties.colour === "string"));
    // The phone layout stacks the panel under the map.
    const panel = await page.locator("#panel").boundingBox();
    assert.ok(panel.width <= 390 && panel.y > 200, "panel below the map on a phone");
    await page.screenshot({ path: `${shots}/officer.png` });
    await context.close();
  });

  await step("unit's board (phone): its cases to fix, most urgent first, one handled with an after-photo", async () => {
    // The dispatcher sends a fresh report to the demo unit first, so its board has a case to fix.
    const send = (path, body) => fetch(`${base}${path}`, { method: "POST", headers: { Authorization: `Bearer ${tokens.dispatcher}`, "Content-Type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json());
    const report = await send("/api/v1/problems", { lon: 116.4045, lat: 39.9152, category: "E01001", description: "browser test: for the unit", source: "officer" });
    for (const action of ["accept", "register"]) await send(`/api/v1/problems/${report.id}/transitions`, { action });
    const dispatched = await send(`/api/v1/problems/${report.id}/transitions`, { action: "dispatch", unit: "东华门街道办事处" });
    assert.equal(dispatched.status, "dispatched", JSON.stringify(dispatched));
    const { page, context } = await open("unit", "tasks", { width: 390, height: 844 });
    const listed = await api("unit", "/api/v1/tasks");
    assert.ok(listed.tasks.length > 0, "the demo unit has cases to fix");
    assert.equal(Number(await page.evaluate(() => document.body.dataset.tasks)), listed.tasks.length);
    const shown = await page.$$eval("#tasks li", (lis) => lis.map((li) => Number(li.dataset.id)));
    assert.deepEqual(shown, listed.tasks.map((task) => task.problem_id), "in the API's order of urgency");
    const first = listed.tasks.find((task) => task.next_actions.includes("handle"));
    await page.click(`#tasks li[data-id="${first.problem_id}"]`);
    await page.locator("#task-act button[data-action=handle]").waitFor();
    assert.ok((await page.$$eval("ol.history li", (lis) => lis.length)) > 0, "the case's history is shown");
    await page.screenshot({ path: `${shots}/unit.png` });
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
    await page.setInputFiles('#task-act input[name="photo"]', { name: "after.png", mimeType: "image/png", buffer: png });
    await page.fill('#task-act textarea[name="note"]', "已清运，现场恢复整洁");
    await page.click("#task-act button[data-action=handle]");
    await page.waitForFunction((id) => document.body.dataset.acted === `${id}:handled`, first.problem_id, { timeout: 30_000 });
    const stored = await api("unit", `/api/v1/problems/${first.problem_id}`);
    assert.equal(stored.status, "handled");
    const photos = await api("unit", `/api/v1/problems/${first.problem_id}/photos`);
    assert.ok(photos.photos.some((p) => p.stage === "handling"), "the after-photo is on the case");
    await page.waitForFunction(() => document.body.dataset.ready === "tasks");
    assert.equal(await page.$(`#tasks li[data-id="${first.problem_id}"]`), null, "off the list once handled");
    await context.close();
  });

  await step("dispatcher view: live queue, candidates, one action end to end", async () => {
    const { page, context } = await open("dispatcher", "dispatcher");
    const queued = await rendered(page, ["queue"]);
    assert.ok(queued.length > 0);
    await rendered(page, ["grids-fill"], 10);
    await page.waitForFunction(() => document.body.dataset.live === "1");
    // A report filed now arrives on the board through the live stream.
    const before = Number(await page.evaluate(() => document.body.dataset.queue));
    const target = queued[0].properties;
    const response = await fetch(`${base}/api/v1/problems`, {
      method: "POST",
      headers: { Authorization: `Bearer ${tokens.dispatcher}`, "Content-Type": "application/json" },
      body: JSON.stringify({ lon: 116.3955, lat: 39.9622, category: "E01001", description: "browser test: live report", source: "officer" }),
    });
    assert.equal(response.status, 201);
    const created = await response.json();
    await page.waitForFunction((n) => Number(document.body.dataset.queue) === n + 1, before, { timeout: 15_000 });
    await page.locator(`#queue li[data-id="${created.id}"]`).waitFor();
    // A photo with no EXIF (a screenshot, say) comes with the report: flagged by the tamper checks.
    const form = new FormData();
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
    form.append("file", new Blob([png], { type: "image/png" }), "screenshot.png");
    const uploaded = await fetch(`${base}/api/v1/problems/${created.id}/photos`, { method: "POST", headers: { Authorization: `Bearer ${tokens.dispatcher}` }, body: form });
    assert.equal(uploaded.status, 201, await uploaded.text());
    // Select it: its candidate grids light up, its photo shows with its flag, then accept it (受理).
    await page.click(`#queue li[data-id="${created.id}"]`);
    await page.locator("#detail button[data-action=accept]").waitFor();
    const figure = page.locator("#photos figure[data-flags*=no_exif]");
    await figure.waitFor();
    assert.match(await figure.locator(".flag").first().textContent(), /无拍摄信息/, "the flag is shown in words");
    await page.waitForFunction(() => document.querySelector("#photos img")?.naturalWidth > 0);
    const candidates = await rendered(page, ["candidates"]);
    assert.ok(candidates.some((f) => f.properties.code === created.grid_code), "the covering grid is highlighted");
    await page.screenshot({ path: `${shots}/dispatcher.png` });
    await page.click("#detail button[data-action=accept]");
    await page.waitForFunction((done) => document.body.dataset.acted === done, `${created.id}:accepted`);
    assert.ok((await page.textContent("#action-result")).length > 0, "the board says the step was taken");
    const stored = await fetch(`${base}/api/v1/problems/${created.id}`, { headers: { Authorization: `Bearer ${tokens.dispatcher}` } }).then((r) => r.json());
    assert.equal(stored.status, "accepted", "the action reached the server");
    const events = await fetch(`${base}/api/v1/problems/${created.id}/events`, { headers: { Authorization: `Bearer ${tokens.dispatcher}` } }).then((r) => r.json());
    assert.ok(JSON.stringify(events).includes("accept"), "and is in the case log");
    assert.ok(target.id > 0);
    // The same thing reported again a few metres away is offered as a likely duplicate: merged
    // from the case panel, it closes pointing at the earlier case.
    const again = await fetch(`${base}/api/v1/problems`, {
      method: "POST",
      headers: { Authorization: `Bearer ${tokens.dispatcher}`, "Content-Type": "application/json" },
      body: JSON.stringify({ lon: 116.39552, lat: 39.96221, category: "E01001", description: "browser test: reported twice", source: "hotline" }),
    }).then((r) => r.json());
    assert.ok(again.likely_duplicates.some((d) => d.id === created.id), JSON.stringify(again.likely_duplicates));
    await page.locator(`#queue li[data-id="${again.id}"]`).waitFor();
    await page.click(`#queue li[data-id="${again.id}"]`);
    await page.click(`#duplicates button[data-merge="${created.id}"]`);
    await page.waitForFunction((done) => document.body.dataset.acted === done, `${again.id}:closed`);
    const merged = await fetch(`${base}/api/v1/problems/${again.id}`, { headers: { Authorization: `Bearer ${tokens.dispatcher}` } }).then((r) => r.json());
    assert.deepEqual([merged.status, merged.merged_into], ["closed", created.id], "merged into the earlier case");
    await context.close();
  });

  await step("office view: coverage choropleth, tiling, ranking, trends", async () => {
    // The demo lives in the week its server's clock is in (2026-W49): the office opens on it.
    const { page, context } = await open("office", "office");
    assert.equal(await page.evaluate(() => location.hash), "#office");
    const grids = await rendered(page, ["coverage"], 50);
    const coloured = await page.evaluate(() => {
      const map = window.gridwatch.map;
      return map.queryRenderedFeatures({ layers: ["coverage"] }).filter((f) => typeof map.getFeatureState({ source: "grids", sourceLayer: "grids", id: f.properties.code }).percent === "number").length;
    });
    assert.ok(coloured > 0, `some of ${grids.length} drawn grids carry a coverage percentage`);
    const week = await api("office", "/api/v1/coverage?week=2026-W49");
    assert.ok(week.summary.covered > 0, "this week's coverage is above 0 % on a fresh demo");
    await page.locator("#tiling [data-gaps]").waitFor();
    await page.locator("#trend-table tbody tr").first().waitFor();
    assert.equal(await page.locator("#trend-table tbody tr").count(), 8);
    // The ranking lists the streets the API ranks for that week, in its order.
    const bulletin = await api("office", "/api/v1/reports/weekly?week=2026-W49&by=street");
    assert.ok(bulletin.rows.length > 0, "the demo week has dispatched cases");
    const names = await page.locator("#ranking-table tbody tr td:nth-child(2)").allTextContents();
    assert.deepEqual(names, bulletin.rows.map((r) => r.name || r.group));
    const closed = await page.locator("#trend-table tbody tr:last-child td:nth-child(3)").textContent();
    assert.equal(Number(closed), bulletin.total.counts.closed);
    await page.screenshot({ path: `${shots}/office.png` });
    // English is one click away.
    await page.click("#language");
    await page.waitForFunction(() => document.body.dataset.ready === "office");
    assert.equal(await page.textContent('#views a[data-view="office"]'), "Office");
    await context.close();
  });

  await step("office view, this week: the photos that failed a tamper check (照片核验)", async () => {
    const { page, context } = await open("office", "office");
    await page.waitForFunction(() => document.querySelector("#flagged")?.dataset.count !== undefined);
    const { count, from, to } = await page.evaluate(() => ({ ...document.querySelector("#flagged").dataset }));
    const listed = await api("office", `/api/v1/evidence/flagged?from=${from}&to=${to}`);
    assert.equal(Number(count), listed.photos.length + listed.point_photos.length, "as the API lists them");
    // The dispatcher step's screenshot-like photo (no EXIF) is among them, with its flag in words.
    const figure = page.locator("#flagged figure[data-flags*=no_exif]").first();
    await figure.waitFor();
    assert.match(await figure.textContent(), /#\d+/, "the case it belongs to");
    await context.close();
  });
} finally {
  await browser.close();
}
console.log(`all ${results.length} browser checks passed`);
