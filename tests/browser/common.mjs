// What the browser tests share: headless Chromium as the tests run it, and signing a demo role in
// as a person does (the login form), at a given screen size.
import { chromium } from "playwright-core";

/** Debian's Chromium, headless, with software rendering and nothing talking to the internet. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A sign-in for the web map at `base`: `signIn(role, viewport)` opens a page in a fresh context (the
 * city's time zone), signs `role` in with its demo login and waits until the first view is drawn.
 * Page errors are pushed onto `errors`; `watch(page, role)` may add listeners first.
 */
export function signInWith(browser, { base, logins, errors, watch }) {
  return async (role, viewport) => {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1, timezoneId: "Asia/Shanghai" });
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(`${role}: ${e.message}`));
    watch?.(page, role);
    await page.goto(`${base}/map/`);
    await page.locator("#login").waitFor();
    const [user, password] = logins[role];
    await page.fill("#username", user);
    await page.fill("#password", password);
    await page.click('#login button[type="submit"]');
    await page.waitForFunction(() => document.body.dataset.ready && !document.body.dataset.ready.startsWith("error"), null, { timeout: 60_000 });
    return page;
  };
}
