// How the web map draws at city scale, in headless Chromium (software WebGL, so a floor, not a
// phone's GPU): for each view, the time until the map is idle after opening, then after each zoom
// step from 12 to 17 over the district, and the frames drawn during a two-second fly-over.
//   node bench/map-draw.mjs URL TOKEN   (playwright-core comes from tests/browser/node_modules)
import { createRequire } from "node:module";

const { chromium } = createRequire(new URL("../tests/browser/package.json", import.meta.url))("playwright-core");

const [base, token] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking", "--no-first-run"],
});
for (const view of ["dispatcher", "office"]) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript((t) => localStorage.setItem("gridwatch.token", t), token);
  const page = await context.newPage();
  const opened = Date.now();
  await page.goto(`${base}/map/#${view}`);
  await page.waitForFunction((v) => document.body.dataset.ready === v, view, { timeout: 120_000 });
  const ready = Date.now() - opened;
  const steps = await page.evaluate(async () => {
    const map = window.gridwatch.map;
    const out = [];
    for (const zoom of [12, 13, 14, 15, 16, 17]) {
      const start = performance.now();
      map.jumpTo({ center: [116.405, 39.915], zoom });
      await new Promise((r) => map.once("idle", r));
      const drawn = map.queryRenderedFeatures().length;
      out.push(`z${zoom} ${Math.round(performance.now() - start)} ms (${drawn} features drawn)`);
    }
    let frames = 0;
    const count = () => { frames++; if (map.isMoving()) requestAnimationFrame(count); };
    map.jumpTo({ center: [116.39, 39.90], zoom: 13 });
    await new Promise((r) => map.once("idle", r));
    const start = performance.now();
    map.flyTo({ center: [116.42, 39.94], zoom: 15.5, duration: 2000 });
    requestAnimationFrame(count);
    await new Promise((r) => map.once("moveend", r));
    out.push(`fly-over: ${Math.round((frames * 1000) / (performance.now() - start))} frames/s`);
    return out;
  });
  console.log(`${view}: ready in ${ready} ms; ${steps.join("; ")}`);
  await context.close();
}
await browser.close();
