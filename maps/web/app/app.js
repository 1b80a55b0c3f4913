// gridwatch's web map: three views over the same API the CLI and GIS clients use.
//   #officer    我的网格 — my grids, this week's points (patrolled or not), open problems, my route
//   #dispatcher 派遣台   — new and unassigned problems, live; candidates; accept … dispatch; re-route
//   #office     创建办   — coverage per grid for a week, tiling gaps and overlaps, ranking, trends
//   #rounds     督查     — supervision rounds: their ledger (台账) on the map; the office opens rounds, records findings, publishes
//   #letters    督办函   — the letter ledger: the unit signs for and answers its letters, the office issues and prints them
//   #evaluation 考核     — streets, units and officers scored, graded and ranked for a month, quarter or year
// Data comes with the caller's API token (kept in this browser only); the server decides what
// each token may see.
import { STRINGS } from "./i18n.js";
import * as outbox from "./outbox.js";

const maplibregl = window.maplibregl;
const TOKEN_KEY = "gridwatch.token";
const OFFSET_KEY = "gridwatch.utc_offset_minutes";
const AREA_CACHE = "gridwatch-area";
const LANG_KEY = "gridwatch.lang";
const COLOURS = { red: "#d7263d", yellow: "#e6a700", blue: "#1e6fd9", none: "#6b5fa8" };
// Confirming cases (待核实) stay on the board: the officer confirms them, the desk may still void.
const QUEUE_STATUSES = ["reported", "confirming", "accepted", "registered", "returned"];
const NEXT_STEPS = { reported: ["accept", "void"], confirming: ["void"], accepted: ["register", "void"], registered: ["dispatch", "void"], returned: ["dispatch", "void"] };

const state = { offsetMinutes: Number(localStorage.getItem(OFFSET_KEY) ?? 480), skewMs: 0, token: localStorage.getItem(TOKEN_KEY), lang: localStorage.getItem(LANG_KEY) || "zh", me: null, map: null, view: null, stop: [], offline: false };
const t = (key) => STRINGS[state.lang][key] ?? STRINGS.zh[key] ?? key;
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// Tests and scripts reach the live map and view here.
window.gridwatch = state;

class ApiError extends Error {}

async function api(path, options = {}) {
  const { keep, ...request } = options;
  const headers = { Authorization: `Bearer ${state.token}`, ...(request.body ? { "Content-Type": "application/json" } : {}) };
  let response;
  try {
    response = await fetch(path, { ...request, headers });
  } catch (e) {
    // No signal: what this phone last read of the officer's area stands in (kept below).
    const kept = keep && (await cachedAnswer(path));
    if (!kept) throw e;
    state.offline = true;
    return kept;
  }
  if (response.status === 401) { signOut(); throw new ApiError(t("session_over")); }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(body?.error?.message || `${response.status}`);
  if (keep && body && window.caches) {
    const cache = await caches.open(AREA_CACHE);
    await cache.put(path, new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } }));
  }
  return body;
}

/** A read the officer's phone keeps for when there is no signal (the officer's own area). */
const kept = (path) => api(path, { keep: true });

async function cachedAnswer(path) {
  if (!window.caches) return null;
  const kept = await (await caches.open(AREA_CACHE)).match(path);
  return kept ? kept.json() : null;
}

// ---- dates: ISO weeks in the browser's time zone (the city's, on the officer's phone) ----
/** Now (or `ms`) as the city's wall clock: a Date whose UTC fields are the city's date and time.
 * The city's offset comes with the map's configuration (the server's --time-zone), not from the
 * browser, whose zone may be anything (a UTC laptop showed 08:39 as 00:39). */
const cityDate = (ms = serverNow()) => new Date(ms + state.offsetMinutes * 60000);
/** The server's now (a demo's clock may be set to another day than the browser's). */
const serverNow = () => Date.now() + state.skewMs;
/** The ISO week of a Date's UTC fields (use `cityDate` for the city's). */
function isoWeek(date) {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const year = d.getUTCFullYear();
  const week = Math.ceil(((d - Date.UTC(year, 0, 1)) / 86400000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, "0")}`;
}
function weekMonday(label) {
  const [y, w] = label.split("-W").map(Number);
  const jan4 = new Date(Date.UTC(y, 0, 4));
  const monday = new Date(jan4);
  monday.setUTCDate(jan4.getUTCDate() - ((jan4.getUTCDay() || 7) - 1) + (w - 1) * 7);
  return monday;
}
const ymd = (d) => d.toISOString().slice(0, 10);
const shortTime = (iso) => (iso ? cityDate(Date.parse(iso)).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "UTC" }) : "");

// ---- the map ----
async function newMap() {
  // The basemap's URL may carry a key: only signed-in users are given it.
  const config = await api("config.json").catch(() => ({}));
  if (Number.isFinite(config.utc_offset_minutes)) {
    state.offsetMinutes = config.utc_offset_minutes;
    localStorage.setItem(OFFSET_KEY, String(config.utc_offset_minutes));
  }
  if (config.now && Number.isFinite(Date.parse(config.now))) state.skewMs = Date.parse(config.now) - Date.now();
  const sources = {};
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#eef1f5" } }];
  if (config.basemap?.url) {
    sources.basemap = { type: "raster", tiles: [config.basemap.url], tileSize: 256, attribution: config.basemap.attribution || "" };
    layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  const map = new maplibregl.Map({
    container: "map",
    style: { version: 8, sources, layers },
    center: [116.41, 39.92],
    zoom: 12,
    attributionControl: { compact: true },
    // Our own tiles need the caller's token.
    transformRequest: (url) => ([ "/tiles/", "/api/v1/hotspots/tiles/"].some((p) => url.startsWith(location.origin + p)) ? { url, headers: { Authorization: `Bearer ${state.token}` } } : { url }),
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  await new Promise((resolve) => map.on("load", resolve));
  return map;
}

// Each tile layer's TileJSON (/tiles/{layer}.json) gives MapLibre the tile URL, zooms and bounds.
const tiles = (layer) => ({ type: "vector", url: `${location.origin}/tiles/${layer}.json`, promoteId: { [layer]: layer === "problems" ? "id" : "code" } });
const problemColour = ["match", ["get", "colour"], "red", COLOURS.red, "yellow", COLOURS.yellow, "blue", COLOURS.blue, COLOURS.none];
const featureCollection = (features) => ({ type: "FeatureCollection", features });

function fitTo(map, features) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
  features.forEach((f) => f.geometry && walk(f.geometry.coordinates));
  if (!b.isEmpty()) map.fitBounds(b, { padding: 40, duration: 0, maxZoom: 17 });
}

function addGridLayers(map, source, sourceLayer) {
  const on = sourceLayer ? { "source-layer": sourceLayer } : {};
  map.addLayer({ id: "grids-fill", type: "fill", source, ...on, paint: { "fill-color": "#4a7bd0", "fill-opacity": 0.06 } });
  map.addLayer({ id: "grids-line", type: "line", source, ...on, paint: { "line-color": "#4a6fa5", "line-width": 0.8 } });
}

function problemBadge(p) {
  const colour = p.colour || "none";
  return `<span class="badge ${colour}">${esc(STRINGS[state.lang].colours[colour] || colour)}</span>`;
}
function deadlineText(p) {
  if (!p.deadline) return `<span class="muted">${t("no_deadline")}</span>`;
  const late = Date.parse(p.deadline) < serverNow();
  return `${t("deadline")} ${shortTime(p.deadline)}${late ? ` <b class="error">${t("overdue")}</b>` : ""}`;
}
const statusText = (s) => STRINGS[state.lang].statuses[s] || s;

// ---- 我的网格: the officer's own area ----
async function officerView(map, panel) {
  const week = isoWeek(cityDate());
  const [grids, points, coverage, problems, routes, planned] = await Promise.all([
    kept("/api/v1/layers/grids?level=grid"),
    kept("/api/v1/points?limit=10000"),
    kept(`/api/v1/coverage?week=${week}`),
    kept("/api/v1/layers/problems"),
    kept("/api/v1/routes"),
    nextPlannedDay(week),
  ]);
  const byCode = new Map(coverage.points.map((p) => [p.code, p]));
  for (const f of points.features) {
    const c = byCode.get(f.properties.code);
    f.properties.covered = Boolean(c?.covered);
    f.properties.visits = c?.visits ?? 0;
  }
  const open = problems.features.filter((f) => !["closed", "void"].includes(f.properties.status));
  const weekday = cityDate().getUTCDay() || 7;
  const mine = routes.features.filter((f) => f.properties.officer === state.me.name);
  const today = mine.filter((f) => f.properties.weekday === weekday);

  map.addSource("grids", { type: "geojson", data: grids });
  addGridLayers(map, "grids");
  map.addSource("route", { type: "geojson", data: featureCollection(today.length ? today : mine) });
  map.addLayer({ id: "route", type: "line", source: "route", layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": "#0f8b8d", "line-width": 4, "line-opacity": 0.8, ...(today.length ? {} : { "line-dasharray": [2, 2] }) } });
  map.addSource("plan", { type: "geojson", data: featureCollection(planned ? [planned.line, ...planned.stops] : []) });
  map.addLayer({ id: "plan", type: "line", source: "plan", filter: ["==", ["geometry-type"], "LineString"], layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": "#e07a1f", "line-width": 3, "line-dasharray": [1, 1.5] } });
  map.addLayer({ id: "plan-stops", type: "circle", source: "plan", filter: ["==", ["geometry-type"], "Point"], paint: { "circle-color": "#e07a1f", "circle-radius": 4 } });
  map.addSource("points", { type: "geojson", data: points });
  const coveredColour = ["case", ["get", "covered"], "#2a9d5b", "#b23a48"];
  map.addLayer({ id: "points-area", type: "fill", source: "points", filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": coveredColour, "fill-opacity": 0.35 } });
  map.addLayer({ id: "points-line", type: "line", source: "points", filter: ["==", ["geometry-type"], "LineString"], paint: { "line-color": coveredColour, "line-width": 5, "line-opacity": 0.75 } });
  map.addLayer({ id: "points", type: "circle", source: "points", filter: ["==", ["geometry-type"], "Point"], paint: { "circle-color": coveredColour, "circle-radius": 6, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
  map.addSource("problems", { type: "geojson", data: featureCollection(open) });
  map.addLayer({ id: "problems", type: "circle", source: "problems", paint: { "circle-color": problemColour, "circle-radius": 7, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
  fitTo(map, grids.features);

  const covered = points.features.filter((f) => f.properties.covered).length;
  const uncovered = points.features.filter((f) => !f.properties.covered);
  open.sort((a, b) => (a.properties.deadline || "9").localeCompare(b.properties.deadline || "9"));
  panel.innerHTML = `
    <h2>${t("my_area")} · ${esc(state.me.scope.map((s) => s.name || s.code).join("、"))}</h2>
    ${state.offline ? `<p id="offline-note" class="error">${t("offline_copy")}</p>` : ""}
    <section id="field-work"></section>
    <div class="muted" data-week="${week}">${t("week")} ${week}</div>
    <h2>${t("points_covered")}</h2>
    <div class="summary" data-covered="${covered}" data-points="${points.features.length}">${covered} / ${points.features.length}</div>
    <div class="legend"><span><i style="background:#2a9d5b"></i>${t("covered")}</span><span><i style="background:#b23a48"></i>${t("not_covered")}</span></div>
    <h2>${t("open_problems")} (${open.length})</h2>
    <ul id="open-problems">${open.map((f) => `<li data-id="${f.properties.id}">${problemBadge(f.properties)} ${esc(f.properties.category_name || f.properties.category)} · ${esc(statusText(f.properties.status))}<br><span class="muted">${deadlineText(f.properties)}</span></li>`).join("")}</ul>
    <h2>${t("plan_for")} ${planned ? esc(planned.date) : ""}</h2>
    ${planned ? `<ol id="plan" data-week="${esc(planned.week)}" data-date="${esc(planned.date)}">${planned.stops.map((f) => `<li data-code="${esc(f.properties.code)}">${clock(f.properties.eta)} ${esc(f.properties.name)} <span class="muted">${t(`task_${f.properties.task}`)}</span></li>`).join("")}</ol>` : `<div class="muted">${t("no_plan")}</div>`}
    <h2>${t("route_today")}</h2>
    <div>${today.length ? today.map((f) => esc(f.properties.name)).join("、") : `<span class="muted">${t("no_route_today")}</span>`}</div>
    <h2>${t("uncovered_points")} (${uncovered.length})</h2>
    <ul>${uncovered.slice(0, 100).map((f) => `<li data-code="${esc(f.properties.code)}">${esc(f.properties.name)} <span class="muted">${esc(f.properties.type_zh || "")}</span></li>`).join("")}</ul>
    <h2>${t("covered_points")} (${covered})</h2>
    <ul id="covered-points">${points.features.filter((f) => f.properties.covered).slice(0, 100).map((f) => `<li data-code="${esc(f.properties.code)}">${esc(f.properties.name)} <span class="muted">${t("times_visited")} ${f.properties.visits}</span></li>`).join("")}</ul>`;
  panel.querySelectorAll("li[data-id]").forEach((li) => li.addEventListener("click", () => {
    const f = open.find((p) => String(p.properties.id) === li.dataset.id);
    if (f) map.flyTo({ center: f.geometry.coordinates, zoom: 17 });
  }));
  await fieldWork(map, panel);
  // A point in the lists (or its popup's button) opens its inspection form (点位检查).
  const openInspection = (code) => {
    const f = points.features.find((p) => p.properties.code === code);
    if (f) inspectForm(f);
  };
  panel.querySelectorAll("li[data-code]").forEach((li) => li.addEventListener("click", () => openInspection(li.dataset.code)));
  const onInspect = (e) => e.target.dataset?.inspect && openInspection(e.target.dataset.inspect);
  document.addEventListener("click", onInspect);
  state.stop.push(() => document.removeEventListener("click", onInspect));
  popupOn(map, ["problems"], (p) => `${problemBadge(p)} <b>${esc(p.category_name || p.category)}</b><br>${esc(statusText(p.status))}<br>${deadlineText(p)}`);
  popupOn(map, ["points", "points-line", "points-area"], (p) => `<b>${esc(p.name)}</b><br>${esc(p.type_zh || p.type)}<br>${p.covered ? t("covered") : t("not_covered")} (${p.visits})<br><button type="button" data-inspect="${esc(p.code)}">${t("inspect")}</button>`);
}

// ---- field work: report with photos, GPS on patrol, and the outbox (待发送) ----
const TRACK_BATCH = 20;

/** The report form, the patrol switch and the list of what waits to be sent, in the officer's panel. */
async function fieldWork(map, panel) {
  const categories = await kept("/api/v1/categories").then((c) => c.categories).catch(() => []);
  const box = panel.querySelector("#field-work");
  box.innerHTML = `
    <section id="inspect" hidden></section>
    <h2>${t("report_problem")}</h2>
    <form id="report">
      <select name="category" required aria-label="${t("category")}">${categories.map((c) => `<option value="${esc(c.code)}">${esc(state.lang === "zh" ? c.name_zh : c.name_en)}</option>`).join("")}</select>
      <textarea name="description" required rows="2" placeholder="${t("description")}"></textarea>
      <input name="photo" type="file" accept="image/jpeg,image/png,image/heic,application/pdf" capture="environment" multiple aria-label="${t("photo")}">
      <label><input type="checkbox" name="fixed"> ${t("fixed_on_spot")}</label>
      <label class="after" hidden>${t("after_photo_self")} <input name="after" type="file" accept="image/jpeg,image/png,image/heic" capture="environment" multiple></label>
      <div class="muted" id="report-where">${t("position_hint")}</div>
      <button type="submit">${t("file_report")}</button>
    </form>
    <div class="actions"><button type="button" id="patrol" class="secondary">${t("start_patrol")}</button></div>
    <h2>${t("outbox")} <span id="outbox-count" data-count="0">(0)</span></h2>
    <ul id="outbox"></ul>`;

  // Where: a tap on the map, else the phone's GPS, else the middle of the map.
  let tapped = null;
  const marker = new maplibregl.Marker({ color: "#e07a1f" });
  const onTap = (e) => {
    tapped = [e.lngLat.lng, e.lngLat.lat];
    marker.setLngLat(e.lngLat).addTo(map);
    $("#report-where").textContent = `${t("position")}: ${tapped[1].toFixed(5)}, ${tapped[0].toFixed(5)}`;
  };
  map.on("click", onTap);
  state.stop.push(() => map.off("click", onTap));
  box.querySelector("input[name=fixed]").addEventListener("change", (e) => { box.querySelector(".after").hidden = !e.target.checked; });

  box.querySelector("#report").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const [lon, lat] = tapped || (await gpsFix()) || map.getCenter().toArray();
    // 自行处置: fixed on the spot — before photos, after photos (整改后), then the step itself.
    const fixed = e.target.fixed.checked;
    const photos = [...e.target.photo.files].map((file) => ({ blob: file, name: file.name, stage: "report" }));
    if (fixed) photos.push(...[...e.target.after.files].map((file) => ({ blob: file, name: file.name, stage: "verification" })));
    const body = { lon, lat, category: form.get("category"), description: form.get("description").trim(), source: "officer" };
    const then = fixed ? { action: "self_handle", note: body.description } : undefined;
    await outbox.enqueue({ kind: "report", user: state.me.name, body, photos, then });
    e.target.reset();
    e.target.querySelector(".after").hidden = true;
    tapped = null;
    marker.remove();
    $("#report-where").textContent = t("position_hint");
    await sendNow();
  });

  // On patrol: GPS fixes gather on the phone and leave in batches, through the outbox.
  let watch = null;
  let fixes = [];
  const flushFixes = async () => {
    if (!fixes.length) return;
    const batch = fixes.splice(0);
    await outbox.enqueue({ kind: "track", user: state.me.name, body: { fixes: batch } });
    await sendNow();
  };
  const stopPatrol = async () => {
    if (watch != null) navigator.geolocation.clearWatch(watch);
    watch = null;
    await flushFixes();
  };
  box.querySelector("#patrol").addEventListener("click", async (e) => {
    if (watch != null) {
      await stopPatrol();
      e.target.textContent = t("start_patrol");
      return;
    }
    if (!navigator.geolocation) return;
    e.target.textContent = t("stop_patrol");
    watch = navigator.geolocation.watchPosition((p) => {
      fixes.push({ time: new Date(p.timestamp).toISOString(), lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy });
      if (fixes.length >= TRACK_BATCH) flushFixes();
    }, () => {}, { enableHighAccuracy: true });
  });
  state.stop.push(() => { stopPatrol(); });
  await renderOutbox();
  sendNow();
}

/** The inspection form of a point: each criterion of its checklist passes or fails, with a note
 * and on-site photos (实景图片); filed into the outbox like a report. */
function inspectForm(point) {
  const box = $("#inspect");
  const p = point.properties;
  const criteria = Array.isArray(p.criteria) ? p.criteria : JSON.parse(p.criteria || "[]");
  box.hidden = false;
  box.innerHTML = `
    <h2>${t("inspect")} · ${esc(p.name)} <span class="muted">${esc(p.code)}</span></h2>
    <form id="inspection" data-point="${esc(p.code)}">
      ${criteria.map((c) => `<fieldset data-criterion="${esc(c.id)}">
        <label><input type="checkbox" name="pass" checked> ${esc(c.text)}</label>
        <input name="note" placeholder="${t("note")}">
        <input name="photo" type="file" accept="image/jpeg,image/png,image/heic" capture="environment" multiple aria-label="${t("photo")}">
      </fieldset>`).join("")}
      <button type="submit">${t("file_inspection")}</button>
      <button type="button" class="secondary" data-close>${t("cancel")}</button>
    </form>`;
  box.scrollIntoView({ block: "nearest" });
  box.querySelector("[data-close]").addEventListener("click", () => { box.hidden = true; box.innerHTML = ""; });
  box.querySelector("form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const results = [];
    const photos = [];
    for (const set of e.target.querySelectorAll("fieldset")) {
      const criterion = set.dataset.criterion;
      results.push({ criterion, pass: set.querySelector("[name=pass]").checked, note: set.querySelector("[name=note]").value.trim() });
      for (const file of set.querySelector("[name=photo]").files) photos.push({ blob: file, name: file.name, criterion });
    }
    const body = { point: p.code, time: new Date().toISOString(), results };
    await outbox.enqueue({ kind: "inspection", user: state.me.name, body, photos });
    box.hidden = true;
    box.innerHTML = "";
    await sendNow();
  });
}

function gpsFix() {
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => navigator.geolocation.getCurrentPosition(
    (p) => resolve([p.coords.longitude, p.coords.latitude]), () => resolve(null), { timeout: 5000, maximumAge: 60_000 }));
}

/** Sends what waits (this user's only), then redraws the list. A connection that dropped while
 * the phone says it is online is tried again soon: 2 s, then twice as long each time nothing gets
 * through, up to half a minute. */
let retryIn = 2000;
let retryTimer = null;
async function sendNow() {
  if (!state.token || !state.me) return;
  const { stalled, progressed } = await outbox.flush(state.token, state.me.name, renderOutbox);
  // Back-off grows only while nothing gets through; any progress starts it afresh.
  if (progressed || !stalled) retryIn = 2000;
  if (stalled && navigator.onLine && !retryTimer) {
    retryTimer = setTimeout(() => { retryTimer = null; sendNow(); }, retryIn);
    retryIn = Math.min(retryIn * 2, 30_000);
  }
}

async function renderOutbox() {
  if (!$("#outbox")) return;
  const items = (await outbox.waiting()).filter((i) => i.user === state.me?.name);
  // The view may have been drawn again (or left) while the outbox was read: look again.
  const [list, count] = [$("#outbox"), $("#outbox-count")];
  if (!list || !count) return;
  count.dataset.count = String(items.length);
  count.textContent = `(${items.length})`;
  list.innerHTML = items.length ? items.map((i) => {
    const step = (body) => STRINGS[state.lang].transitions[body.action] || body.action;
    const what = i.kind === "report" ? `${t("outbox_report")} ${esc(i.body.description.slice(0, 30))}${i.then ? ` · ${esc(step(i.then.body))}` : ""}`
      : i.kind === "track" ? `${t("outbox_track")} (${i.body.fixes.length})`
      : i.kind === "step" ? `${t("outbox_step")} #${i.problem_id} ${esc(step(i.body))}`
      : `${t("outbox_inspection")} ${esc(i.body.point)}`;
    const photos = i.photos?.length ? ` · ${i.photos.filter((p) => !p.sent).length}/${i.photos.length} ${t("photo")}` : "";
    const status = i.error ? `<span class="error">${esc(i.error)}</span> <button type="button" data-retry="${i.seq}">${t("retry")}</button> <button type="button" class="secondary" data-discard="${i.seq}">${t("discard")}</button>` : `<span class="muted">${t("waiting")}</span>`;
    return `<li data-seq="${i.seq}" data-kind="${i.kind}">${what}${photos}<br><span class="muted">${shortTime(i.filed_at)}</span> ${status}</li>`;
  }).join("") : `<li class="muted">${t("outbox_empty")}</li>`;
  list.querySelectorAll("[data-retry]").forEach((b) => b.addEventListener("click", async () => { await outbox.retry(Number(b.dataset.retry)); sendNow(); }));
  list.querySelectorAll("[data-discard]").forEach((b) => b.addEventListener("click", async () => { await outbox.discard(Number(b.dataset.discard)); renderOutbox(); }));
}

/** The next working day with a planned route (巡查计划): today's, else a later day this week,
 * else next week's first. Its line and its stops in visiting order, or null. */
async function nextPlannedDay(week) {
  const nextWeek = isoWeek(cityDate(serverNow() + 7 * 86400000));
  for (const w of [week, nextWeek]) {
    const plan = await kept(`/api/v1/plans?week=${w}`).catch(() => null);
    const line = plan?.features.find((f) => f.properties.kind === "route");
    if (line) {
      const date = line.properties.date;
      const stops = plan.features.filter((f) => f.properties.kind === "stop" && f.properties.date === date).sort((a, b) => a.properties.order - b.properties.order);
      return { week: w, date, line, stops };
    }
  }
  return null;
}
const clock = (iso) => cityDate(Date.parse(iso)).toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });

function popupOn(map, layers, html) {
  for (const layer of layers) {
    map.on("click", layer, (e) => {
      const f = e.features?.[0];
      if (f) new maplibregl.Popup().setLngLat(e.lngLat).setHTML(html(f.properties)).addTo(map);
    });
    pointer(map, layer);
  }
}

/** A hand cursor over a clickable layer. */
function pointer(map, layer) {
  map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
}

// ---- 派遣台: the dispatcher board ----
async function dispatcherView(map, panel) {
  const queue = new Map();
  const toFeature = (p) => ({ type: "Feature", id: p.id, geometry: { type: "Point", coordinates: [p.lon, p.lat] }, properties: p });
  const first = await api(`/api/v1/problems?status=${QUEUE_STATUSES.join(",")}&sort=-created_at&limit=1000`);
  first.problems.forEach((p) => queue.set(p.id, toFeature(p)));

  map.addSource("grids", tiles("grids"));
  addGridLayers(map, "grids", "grids");
  map.addLayer({ id: "candidates", type: "fill", source: "grids", "source-layer": "grids", filter: ["in", ["get", "code"], ["literal", []]], paint: { "fill-color": "#f08c00", "fill-opacity": 0.35 } });
  map.addLayer({ id: "candidates-line", type: "line", source: "grids", "source-layer": "grids", filter: ["in", ["get", "code"], ["literal", []]], paint: { "line-color": "#f08c00", "line-width": 2.5 } });
  map.addSource("all-problems", tiles("problems"));
  map.addLayer({ id: "all-problems", type: "circle", source: "all-problems", "source-layer": "problems", paint: { "circle-color": problemColour, "circle-opacity": 0.45,
    // Below zoom 14 the tiles carry clusters with a count.
    "circle-radius": ["case", ["has", "count"], ["interpolate", ["linear"], ["get", "count"], 1, 3, 50, 9, 500, 16], 3] } });
  map.addSource("queue", { type: "geojson", data: featureCollection([]) });
  map.addLayer({ id: "queue", type: "circle", source: "queue", paint: { "circle-color": ["match", ["get", "status"], "reported", "#d7263d", "returned", "#7b2cbf", "#1e6fd9"], "circle-radius": 7, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
  map.addLayer({ id: "queue-selected", type: "circle", source: "queue", filter: ["==", ["get", "id"], -1], paint: { "circle-color": "rgba(0,0,0,0)", "circle-radius": 13, "circle-stroke-color": "#f08c00", "circle-stroke-width": 3 } });
  fitTo(map, [...queue.values()]);

  panel.innerHTML = `<div class="actions"><button type="button" id="new-call">${t("new_call")}</button></div><div id="call"></div>
    <h2>${t("queue")} <span id="live" class="muted"></span></h2><ul id="queue"></ul><div id="detail" class="muted">${t("choose_problem")}</div>`;
  let selected = null;
  $("#new-call").addEventListener("click", () => callForm(map, async (created) => {
    upsert(created, true);
    await select(created.id);
    $("#call").innerHTML = `<p id="call-registered">${t("call_registered")} #${created.id} · ${t("grid")} ${esc(created.grid_code || "—")} · ${esc(created.responsible_unit || "—")}</p>`;
    $("#detail").scrollIntoView({ block: "start" });
  }));
  const render = () => {
    map.getSource("queue").setData(featureCollection([...queue.values()]));
    const items = [...queue.values()].sort((a, b) => b.properties.created_at.localeCompare(a.properties.created_at));
    $("#queue").innerHTML = items.map((f) => {
      const p = f.properties;
      return `<li data-id="${p.id}" class="${p.id === selected ? "selected" : ""} ${p._fresh ? "fresh" : ""}">#${p.id} ${esc(p.category_name || p.category)} · ${esc(statusText(p.status))}<br><span class="muted">${shortTime(p.created_at)} · ${esc(p.grid_code || "—")}</span></li>`;
    }).join("");
    $("#queue").querySelectorAll("li").forEach((li) => li.addEventListener("click", () => select(Number(li.dataset.id))));
    document.body.dataset.queue = String(queue.size);
  };

  async function select(id) {
    selected = id;
    render();
    const p = await api(`/api/v1/problems/${id}`);
    const codes = [...new Set([...(p.candidates || []), ...(p.nearby || []).map((n) => n.code)])];
    for (const layer of ["candidates", "candidates-line"]) map.setFilter(layer, ["in", ["get", "code"], ["literal", codes]]);
    map.setFilter("queue-selected", ["==", ["get", "id"], id]);
    map.flyTo({ center: [p.lon, p.lat], zoom: Math.max(map.getZoom(), 16), duration: 0 });
    const steps = NEXT_STEPS[p.status] || [];
    const names = STRINGS[state.lang].transitions;
    $("#detail").className = "";
    $("#detail").innerHTML = `
      <h2>#${p.id} ${esc(p.category_name || p.category)}</h2>
      <div>${esc(p.description)}</div>
      <div class="muted">${t("status")}: <b data-status>${esc(statusText(p.status))}</b> · ${t("reported_at")} ${shortTime(p.created_at)}</div>
      <div class="muted">${t("grid")}: ${esc(p.grid_code || "—")} · ${t("unit")}: ${esc(p.responsible_unit || "—")}</div>
      ${p.address ? `<div class="muted" id="case-address">${t("address")}: ${esc(p.address)}</div>` : ""}
      ${p.caller ? `<div class="muted" id="case-caller">${t("caller")}: ${esc(p.caller.name || "—")} · ${esc(p.caller.phone)}</div>` : ""}
      ${p.recurrence ? `<div class="flag" id="case-recurrence">${t("recurrence_of").replace("{id}", p.recurrence.of).replace("{m}", Math.round(p.recurrence.distance_m))} · ${esc(p.recurrence.unit || "—")}</div>` : ""}
      ${(p.campaigns || []).length ? `<div id="case-campaigns">${p.campaigns.map((c) => `<span class="badge yellow">${t("campaigns")}: ${esc(c.name)}</span>`).join(" ")}</div>` : ""}
      <h2>${t("candidates")}</h2>
      <ul>${(p.nearby || []).map((n) => `<li>${esc(n.code)} <span class="muted">${n.distance_m.toFixed(0)} m</span></li>`).join("") || `<li class="muted">—</li>`}</ul>
      ${(p.likely_duplicates || []).length ? `<h2>${t("likely_duplicates")}</h2><ul id="duplicates">${p.likely_duplicates.map((d) => `<li>#${d.id} <span class="muted">${d.distance_m.toFixed(0)} m</span> <button type="button" class="secondary" data-merge="${d.id}">${t("merge_into")} #${d.id}</button></li>`).join("")}</ul>` : ""}
      <div class="actions">${steps.map((s) => `<button type="button" data-action="${s}" class="${s === "void" ? "secondary" : ""}">${esc(names[s] || s)}</button>`).join("")}</div>
      <h2>${t("reroute")}</h2>
      <form id="reroute" class="actions">
        <select name="grid" aria-label="${t("reroute_to")}">${codes.filter((c) => c !== p.grid_code).map((c) => `<option>${esc(c)}</option>`).join("")}</select>
        <input name="reason" placeholder="${t("reroute_reason")}" required>
        <button type="submit">${t("reroute")}</button>
      </form>
      <p id="action-result" role="status"></p>
      <h2>${t("flags")}</h2>
      <div id="photos" class="photos muted">${t("loading")}</div>`;
    showPhotos(p.id);
    $("#detail").querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", () => act(p.id, { action: b.dataset.action, note: b.dataset.action === "void" ? "dispatcher board" : undefined })));
    // A likely duplicate: this report joins the earlier case and closes pointing at it.
    $("#detail").querySelectorAll("button[data-merge]").forEach((b) => b.addEventListener("click", () => act(p.id, { action: "merge", into: Number(b.dataset.merge), note: t("merged_note") })));
    $("#reroute").addEventListener("submit", (e) => {
      e.preventDefault();
      const form = new FormData(e.target);
      act(p.id, { grid: form.get("grid"), reason: form.get("reason") }, "reroute");
    });
  }

  async function act(id, body, kind = "transitions") {
    try {
      const updated = await api(`/api/v1/problems/${id}/${kind}`, { method: "POST", body: JSON.stringify(body) });
      upsert(updated);
      // The case shown again first: drawing it empties the result line, which is said after.
      if (queue.has(id)) await select(id);
      $("#action-result").textContent = `${t("done")}: ${statusText(updated.status)}`;
      document.body.dataset.acted = `${id}:${updated.status}`;
    } catch (e) {
      $("#action-result").innerHTML = `<span class="error">${esc(e.message)}</span>`;
    }
  }

  function upsert(p, fresh = false) {
    if (QUEUE_STATUSES.includes(p.status)) queue.set(p.id, toFeature({ ...(queue.get(p.id)?.properties || {}), ...p, _fresh: fresh }));
    else queue.delete(p.id);
    render();
  }

  render();
  // Live: new and changed cases arrive as server-sent events (read with fetch so the token travels in a header).
  const controller = new AbortController();
  state.stop.push(() => controller.abort());
  (async function listen() {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch("/api/v1/problems/stream", { headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" }, signal: controller.signal });
        if (!response.ok) throw new Error(String(response.status));
        $("#live").textContent = `● ${t("live")}`;
        document.body.dataset.live = "1";
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
            if (block.includes("event: problem") && data) {
              const f = JSON.parse(data);
              upsert({ ...f.properties, id: f.id, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] }, true);
            }
          }
        }
      } catch (e) {
        if (controller.signal.aborted) return;
      }
      $("#live").textContent = t("offline");
      document.body.dataset.live = "0";
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  map.on("click", "queue", (e) => e.features?.[0] && select(e.features[0].properties.id));
  pointer(map, "queue");
}

/** 来电登记: a hotline call entered at the desk. The place comes from the address book (地址库)
 * or a click on the map; the caller's contact goes with the case but only dispatchers and the
 * office ever see it. `done` gets the stored case. */
async function callForm(map, done) {
  const box = $("#call");
  const categories = await api("/api/v1/categories").then((c) => c.categories).catch(() => []);
  box.innerHTML = `<form id="call-form" class="task-form">
      <h2>${t("new_call")}</h2>
      <label>${t("address")} <input name="q" id="address-q" autocomplete="off" placeholder="${t("address_hint")}"></label>
      <ul id="address-hits"></ul>
      <p id="call-place" class="muted">${t("place_hint")}</p>
      <label>${t("category")} <select name="category" required>${categories.map((c) => `<option value="${esc(c.code)}">${esc(state.lang === "zh" ? c.name_zh : c.name_en)}</option>`).join("")}</select></label>
      <label>${t("description")} <textarea name="description" rows="3" required></textarea></label>
      <label>${t("caller_name")} <input name="caller_name" autocomplete="off"></label>
      <label>${t("caller_phone")} <input name="caller_phone" type="tel" autocomplete="off" required></label>
      <p class="muted">${t("caller_private")}</p>
      <div class="actions"><button type="submit">${t("register_call")}</button></div>
      <p id="call-result" role="status"></p>
    </form>`;
  $("#address-q").focus();
  let place = null;
  if (!map.getSource("call-place")) {
    map.addSource("call-place", { type: "geojson", data: featureCollection([]) });
    map.addLayer({ id: "call-place", type: "circle", source: "call-place", paint: { "circle-color": "#f08c00", "circle-radius": 9, "circle-stroke-color": "#fff", "circle-stroke-width": 3 } });
  }
  const put = async (chosen) => {
    place = chosen;
    map.getSource("call-place").setData(featureCollection([{ type: "Feature", geometry: { type: "Point", coordinates: [chosen.lon, chosen.lat] }, properties: {} }]));
    map.flyTo({ center: [chosen.lon, chosen.lat], zoom: Math.max(map.getZoom(), 16), duration: 0 });
    const grid = chosen.grid !== undefined ? chosen.grid : (await api(`/api/v1/locate?lon=${chosen.lon}&lat=${chosen.lat}`).catch(() => null))?.grid;
    $("#call-place").className = grid ? "" : "error";
    $("#call-place").innerHTML = `${esc(chosen.name || `${chosen.lon.toFixed(6)}, ${chosen.lat.toFixed(6)}`)}<br><span class="muted">${t("grid")}: ${esc(grid?.code || t("outside_grids"))}${grid?.name ? ` ${esc(grid.name)}` : ""} · ${t("unit")}: ${esc(grid?.responsible_unit || "—")}</span>`;
    document.body.dataset.place = grid?.code || "none";
  };
  let asked = 0;
  $("#address-q").addEventListener("input", (e) => {
    const q = e.target.value.trim();
    const mine = ++asked;
    setTimeout(async () => {
      if (mine !== asked) return; // typed on: only the last search is shown
      const found = q ? await api(`/api/v1/addresses?q=${encodeURIComponent(q)}&limit=8`).catch(() => ({ addresses: [] })) : { addresses: [] };
      if (mine !== asked) return;
      $("#address-hits").innerHTML = found.addresses.map((a, i) => `<li data-index="${i}" data-id="${a.id}">${esc(a.name)}<br><span class="muted">${esc(a.grid?.code || t("outside_grids"))} · ${esc(a.grid?.responsible_unit || "—")}</span></li>`).join("") || (q ? `<li class="muted">${t("no_address")}</li>` : "");
      $("#address-hits").querySelectorAll("li[data-id]").forEach((li) => li.addEventListener("click", () => {
        const a = found.addresses[Number(li.dataset.index)];
        $("#address-hits").innerHTML = "";
        put({ lon: a.lon, lat: a.lat, address_id: a.id, name: a.name, grid: a.grid });
      }));
      document.body.dataset.addressHits = String(found.addresses.length);
    }, 200);
  });
  // Or a click where the caller says it is, named by what was typed.
  const onClick = (e) => {
    if (!$("#call-form")) { map.off("click", onClick); return; }
    put({ lon: e.lngLat.lng, lat: e.lngLat.lat, address_id: null, name: $("#address-q").value.trim() || null });
  };
  map.on("click", onClick);
  $("#call-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    if (!place) { $("#call-result").innerHTML = `<span class="error">${t("place_first")}</span>`; return; }
    const name = String(form.get("caller_name") || "").trim();
    const body = {
      lon: place.lon, lat: place.lat, category: form.get("category"), description: String(form.get("description")).trim(), source: "hotline",
      address: place.name || undefined, address_id: place.address_id || undefined,
      caller: { name: name || null, phone: String(form.get("caller_phone")).trim() },
    };
    try {
      const created = await api("/api/v1/problems", { method: "POST", body: JSON.stringify(body) });
      map.off("click", onClick);
      map.getSource("call-place").setData(featureCollection([]));
      document.body.dataset.called = String(created.id);
      done(created);
    } catch (error) {
      $("#call-result").innerHTML = `<span class="error">${esc(error.message)}</span>`;
    }
  });
}

/** A case's photos as thumbnails, each with its tamper-check flags (far away, too early, no EXIF,
 * reused), so a dispatcher sees doubtful evidence before acting on it. */
async function showPhotos(id) {
  const box = $("#photos");
  const list = await api(`/api/v1/problems/${id}/photos`).catch(() => null);
  if (!box || !list) return;
  if (!list.photos.length) { box.textContent = "—"; return; }
  await photoFigures(box, list.photos, (p) => esc(STRINGS[state.lang].stages?.[p.stage] || p.stage));
}

/** Opens a printable page or PDF (a letter, a bulletin) in a new tab: it needs the token, so it
 * is fetched here and opened from memory, as the type the server sent. */
async function openPage(path) {
  const page = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
  window.open(URL.createObjectURL(await page.blob()), "_blank");
}

/** Thumbnails with their flags in words into `box`; `caption` says what each photo is of. */
async function photoFigures(box, photos, caption) {
  box.className = "photos";
  box.innerHTML = photos.map((p) => `<figure data-sha="${esc(p.sha256)}" data-flags="${esc(p.flags.map((f) => f.flag).join(","))}">
    <img alt="${esc(p.filename || "")}"><figcaption>${caption(p)}
    ${p.flags.length ? p.flags.map((f) => `<span class="flag">⚠ ${esc(STRINGS[state.lang].flag_names?.[f.flag] || f.flag)}</span>`).join(" ") : `<span class="muted">✓</span>`}</figcaption></figure>`).join("");
  // Thumbnails need the token, so they come through fetch rather than a plain <img src>.
  for (const figure of box.querySelectorAll("figure")) {
    const response = await fetch(`/api/v1/photos/${figure.dataset.sha}?size=thumb`, { headers: { Authorization: `Bearer ${state.token}` } }).catch(() => null);
    if (response?.ok) figure.querySelector("img").src = URL.createObjectURL(await response.blob());
  }
}

// ---- 创建办: the office ----
async function officeView(map, panel) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const week = params.get("week") || isoWeek(cityDate());
  panel.innerHTML = `
    <h2>${t("coverage_choropleth")}</h2>
    <label>${t("week")} <input id="week" type="week" value="${esc(week)}"></label>
    <div class="legend"><span><i style="background:#b23a48"></i>0 %</span><span><i style="background:#f2c14e"></i>50 %</span><span><i style="background:#2a9d5b"></i>100 %</span><span><i style="background:#c9ced8"></i>—</span></div>
    <div id="coverage-summary" class="summary"></div>
    <h2>${t("tiling")}</h2><div id="tiling" class="muted">${t("loading")}</div>
    <h2>${t("ranking")}</h2><div id="ranking" class="muted">${t("loading")}</div>
    <h2>${t("flagged_photos")}</h2><div id="flagged" class="muted">${t("loading")}</div>
    <h2>${t("trends")}</h2><div id="chart" class="muted">${t("loading")}</div>`;
  $("#week").addEventListener("change", (e) => { location.hash = `office?week=${e.target.value}`; });

  map.addSource("grids", tiles("grids"));
  const percent = ["feature-state", "percent"];
  map.addLayer({ id: "coverage", type: "fill", source: "grids", "source-layer": "grids", paint: {
    "fill-color": ["case", ["==", ["typeof", percent], "number"], ["interpolate", ["linear"], percent, 0, "#b23a48", 50, "#f2c14e", 100, "#2a9d5b"], "#c9ced8"],
    "fill-opacity": 0.65 } });
  map.addLayer({ id: "grids-line", type: "line", source: "grids", "source-layer": "grids", paint: { "line-color": "#ffffff", "line-width": 0.6 } });

  const [coverage, tiling] = await Promise.all([
    api(`/api/v1/coverage?week=${week}`),
    api("/api/v1/tiling?format=geojson&level=grid").catch((e) => ({ error: e.message })),
  ]);
  const percents = new Map();
  for (const g of coverage.grids) if (g.points > 0) percents.set(g.code, g.percent);
  const paint = () => percents.forEach((value, code) => map.setFeatureState({ source: "grids", sourceLayer: "grids", id: code }, { percent: value }));
  paint();
  map.on("sourcedata", (e) => e.sourceId === "grids" && e.isSourceLoaded && paint());
  $("#coverage-summary").textContent = `${coverage.summary.covered} / ${coverage.summary.points} (${coverage.summary.percent} %)`;
  popupOn(map, ["coverage"], (p) => `<b>${esc(p.name || p.code)}</b><br>${esc(p.code)}<br>${percents.has(p.code) ? `${percents.get(p.code)} %` : "—"}`);

  if (tiling.error) {
    $("#tiling").innerHTML = `<span class="error">${esc(tiling.error)}</span>`;
  } else {
    map.addSource("tiling", { type: "geojson", data: tiling });
    map.addLayer({ id: "tiling", type: "fill", source: "tiling", paint: { "fill-color": ["match", ["get", "issue"], "gap", "#e63946", "overlap", "#7b2cbf", "#f08c00"], "fill-opacity": 0.7 } });
    map.addLayer({ id: "tiling-line", type: "line", source: "tiling", paint: { "line-color": "#222", "line-width": 1 } });
    const count = (kind) => tiling.features.filter((f) => f.properties.issue === kind).length;
    $("#tiling").innerHTML = `<span data-gaps="${count("gap")}">${t("gaps")}: ${count("gap")}</span> · <span data-overlaps="${count("overlap")}">${t("overlaps")}: ${count("overlap")}</span>`;
  }
  const district = await api("/api/v1/layers/grids?level=district").catch(() => null);
  if (district?.features?.length) fitTo(map, district.features);

  const report = await api(`/api/v1/reports/weekly?week=${week}&by=street`);
  const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(1)} %`);
  $("#ranking").className = "";
  $("#ranking").innerHTML = report.rows.length
    ? `<table id="ranking-table"><thead><tr><th>${t("rank")}</th><th>${t("name")}</th><th class="num">${t("score")}</th><th class="num">${t("handled_rate")}</th><th class="num">${t("on_time_rate")}</th></tr></thead><tbody>${report.rows.map((r) => `<tr><td>${r.rank ?? ""}</td><td>${esc(r.name || r.group)}</td><td class="num">${r.rates ? r.rates.score.toFixed(1) : "—"}</td><td class="num">${pct(r.rates?.handling)}</td><td class="num">${pct(r.rates?.on_time_closing)}</td></tr>`).join("")}</tbody></table>`
    : `<span class="muted">${t("no_rows")}</span>`;

  // 照片核验: the week's photos that failed a tamper check, of cases and of points.
  const monday = weekMonday(week);
  const sunday = new Date(monday); sunday.setUTCDate(monday.getUTCDate() + 6);
  const flagged = await api(`/api/v1/evidence/flagged?from=${ymd(monday)}&to=${ymd(sunday)}`).catch(() => null);
  const doubtful = flagged ? [...flagged.photos, ...flagged.point_photos] : [];
  Object.assign($("#flagged").dataset, { count: String(doubtful.length), from: ymd(monday), to: ymd(sunday) });
  if (doubtful.length) {
    await photoFigures($("#flagged"), doubtful, (p) => (p.case ? `#${p.case.id} ${esc(p.case.category_name || "")}` : `${esc(p.point.name)} ${esc(p.criterion)}`));
  } else {
    $("#flagged").textContent = flagged ? t("no_flagged") : "—";
  }

  // Trends: eight weeks ending with the chosen one.
  const weeks = [...Array(8).keys()].reverse().map((i) => { const d = new Date(monday); d.setUTCDate(d.getUTCDate() - 7 * i); return d; });
  const rows = await Promise.all(weeks.map(async (d) => {
    const label = isoWeek(d);
    const sunday = new Date(d); sunday.setUTCDate(d.getUTCDate() + 6);
    const [opened, bulletin] = await Promise.all([
      api(`/api/v1/problems?from=${ymd(d)}&to=${ymd(sunday)}&limit=1`),
      api(`/api/v1/reports/weekly?week=${label}`),
    ]);
    const counts = bulletin.total.counts;
    return { label, opened: opened.total, closed: counts.closed, onTime: counts.should_handle ? counts.on_time_closed / counts.should_handle : null };
  }));
  $("#chart").className = "";
  $("#chart").innerHTML = trendChart(rows);
}

/** Bars for opened and closed cases per week, a line for the on-time closing rate. */
function trendChart(rows) {
  const W = 340, H = 180, left = 30, bottom = 30, top = 10;
  const max = Math.max(1, ...rows.flatMap((r) => [r.opened, r.closed]));
  const step = (W - left - 10) / rows.length;
  const y = (v) => H - bottom - (v / max) * (H - bottom - top);
  const bars = rows.map((r, i) => {
    const x = left + i * step;
    return `<rect class="opened" x="${x + 2}" y="${y(r.opened)}" width="${step / 2 - 3}" height="${H - bottom - y(r.opened)}" fill="#4a7bd0"><title>${t("opened")} ${r.opened}</title></rect>` +
      `<rect class="closed" x="${x + step / 2}" y="${y(r.closed)}" width="${step / 2 - 3}" height="${H - bottom - y(r.closed)}" fill="#2a9d5b"><title>${t("closed")} ${r.closed}</title></rect>` +
      `<text x="${x + step / 2}" y="${H - bottom + 14}" font-size="9" text-anchor="middle">${r.label.slice(5)}</text>`;
  }).join("");
  const line = rows.map((r, i) => (r.onTime == null ? null : `${left + i * step + step / 2},${H - bottom - r.onTime * (H - bottom - top)}`)).filter(Boolean).join(" ");
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${t("trends")}">
    <line x1="${left}" y1="${H - bottom}" x2="${W - 10}" y2="${H - bottom}" stroke="#99a"/>
    <text x="2" y="${top + 8}" font-size="9">${max}</text>${bars}
    ${line ? `<polyline points="${line}" fill="none" stroke="#e6a700" stroke-width="2"/>` : ""}
  </svg>
  <div class="legend"><span><i style="background:#4a7bd0"></i>${t("opened")}</span><span><i style="background:#2a9d5b"></i>${t("closed")}</span><span><i style="background:#e6a700"></i>${t("on_time")}</span></div>
  <table id="trend-table"><thead><tr><th>${t("week")}</th><th class="num">${t("opened")}</th><th class="num">${t("closed")}</th><th class="num">${t("on_time")}</th></tr></thead>
  <tbody>${rows.map((r) => `<tr><td>${r.label}</td><td class="num">${r.opened}</td><td class="num">${r.closed}</td><td class="num">${r.onTime == null ? "—" : `${(r.onTime * 100).toFixed(0)} %`}</td></tr>`).join("")}</tbody></table>`;
}

// ---- 督查: supervision rounds and their ledger (台账) ----
/** The colour of a finding on the map, by its standing in the ledger. */
const STANDING_COLOUR = { withheld: "#8a93a6", not_rectified: "#f08c00", rectified: "#2a9d5b", voided: "#c9ced8" };

async function roundsView(map, panel) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const office = ["office", "admin"].includes(state.me.role);
  const { rounds } = await api("/api/v1/rounds");
  const chosen = rounds.find((r) => String(r.id) === params.get("id")) || rounds[0];
  const label = (r) => `${r.year}-${String(r.number).padStart(2, "0")} ${t(`round_${r.kind}`)}`;
  panel.innerHTML = `
    <h2>${t("rounds")}</h2>
    ${rounds.length ? `<select id="round" aria-label="${t("rounds")}">${rounds.map((r) => `<option value="${r.id}" ${r === chosen ? "selected" : ""}>${esc(label(r))} · ${esc(r.name)}</option>`).join("")}</select>` : `<p class="muted">${t("no_rounds")}</p>`}
    <div id="ledger"></div>
    ${office ? `<h2>${t("open_round")}</h2>
    <form id="new-round">
      <input name="name" required maxlength="200" placeholder="${t("round_name")}">
      <select name="kind">${["open", "undercover", "special"].map((k) => `<option value="${k}">${t(`round_${k}`)}</option>`).join("")}</select>
      <label>${t("starts_on")} <input name="starts_on" type="date" required value="${ymd(cityDate())}"></label>
      <label>${t("ends_on")} <input name="ends_on" type="date" required value="${ymd(cityDate())}"></label>
      <input name="inspectors" placeholder="${t("inspectors")}">
      <button type="submit">${t("open_round")}</button>
      <p class="error" id="round-error" role="alert"></p>
    </form>` : ""}`;
  $("#round")?.addEventListener("change", (e) => { location.hash = `rounds?id=${e.target.value}`; });
  $("#new-round")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = Object.fromEntries(new FormData(e.target));
    form.inspectors = String(form.inspectors || "").split(/[\s,，、]+/).filter(Boolean);
    try {
      const round = await api("/api/v1/rounds", { method: "POST", body: JSON.stringify(form) });
      location.hash = `rounds?id=${round.id}`;
    } catch (error) {
      $("#round-error").textContent = error.message;
    }
  });
  map.addSource("grids", tiles("grids"));
  addGridLayers(map, "grids", "grids");
  if (!chosen) return;

  const ledger = await api(`/api/v1/rounds/${chosen.id}/ledger`);
  const total = ledger.total;
  const runs = office; // the server refuses (403) a round outside the office's area
  // The office and the inspectors the round names record its findings.
  const records = office || (state.me.role === "inspector" && (chosen.inspectors || []).includes(state.me.name));
  const withheld = chosen.kind === "undercover" && !chosen.published_at;
  const counts = ["found", "rectified", "not_rectified", "overdue", "reopened", "voided"];
  const row = (key, tally) => `<tr><td>${esc(key)}</td>${counts.map((c) => `<td class="num">${tally[c]}</td>`).join("")}</tr>`;
  $("#ledger").innerHTML = `
    <p class="muted">${esc(chosen.name)} · ${chosen.starts_on} – ${chosen.ends_on} · ${t("rectify_by")} ${chosen.rectify_by}
      ${withheld ? ` · <b>${t("not_published")}</b>` : ""}</p>
    <div id="ledger-total" class="summary" ${counts.map((c) => `data-${c.replace("_", "-")}="${total[c]}"`).join(" ")}>
      ${t("found")} ${total.found} · ${t("rectified")} ${total.rectified} · ${t("not_rectified")} ${total.not_rectified} · ${t("overdue")} ${total.overdue}</div>
    <table id="ledger-units"><thead><tr><th>${t("unit")}</th>${counts.map((c) => `<th class="num">${t(c)}</th>`).join("")}</tr></thead>
      <tbody>${ledger.by_unit.map((r) => row(r.key, r)).join("")}</tbody></table>
    <ul id="ledger-items">${ledger.items.map((i) => `<li data-standing="${i.standing}"><span class="dot" style="background:${STANDING_COLOUR[i.standing]}"></span>
      ${i.finding.problem_id ? `#${i.finding.problem_id} ` : ""}${esc(i.finding.description)} · ${esc(i.unit || "—")} · ${t(i.standing)}${i.overdue ? ` · <b>${t("overdue")}</b>` : ""}</li>`).join("")}</ul>
    ${runs && withheld ? `<div class="actions"><button type="button" id="publish">${t("publish_round")}</button></div>` : ""}
    <div class="actions"><button type="button" id="print-bulletin" class="secondary">${t("print_bulletin")}</button>
      <button type="button" id="pdf-bulletin" class="secondary">PDF</button>
      <button type="button" id="week-bulletin" class="secondary">${t("week_bulletin")}</button></div>
    ${runs ? `<form id="foreword">
      <textarea name="foreword" rows="2" maxlength="4000" placeholder="${t("foreword")}">${esc(chosen.foreword || "")}</textarea>
      <button type="submit">${t("save_foreword")}</button>
      <p class="error" id="foreword-error" role="alert"></p>
    </form>` : ""}
    ${records ? `<h2>${t("record_finding")}</h2>
    <form id="finding">
      <select name="category" required aria-label="${t("category")}"></select>
      <textarea name="description" required rows="2" placeholder="${t("description")}"></textarea>
      <div class="muted" id="finding-where">${t("tap_map")}</div>
      <button type="submit">${t("record_finding")}</button>
      <p class="error" id="finding-error" role="alert"></p>
    </form>` : ""}
    ${runs ? `<form id="from-assessment">
      <select name="assessment" aria-label="${t("from_assessment")}"></select>
      <button type="submit" class="secondary">${t("from_assessment")}</button>
      <p id="from-assessment-result" role="status"></p>
    </form>` : ""}`;

  const features = ledger.items.map((i) => ({ type: "Feature", geometry: { type: "Point", coordinates: [i.finding.lon, i.finding.lat] },
    properties: { standing: i.standing, description: i.finding.description, unit: i.unit || "—", id: i.finding.problem_id || "" } }));
  map.addSource("findings", { type: "geojson", data: featureCollection(features) });
  map.addLayer({ id: "findings", type: "circle", source: "findings", paint: {
    "circle-radius": 7, "circle-stroke-color": "#fff", "circle-stroke-width": 2,
    "circle-color": ["match", ["get", "standing"], ...Object.entries(STANDING_COLOUR).flat(), "#444"] } });
  popupOn(map, ["findings"], (p) => `<b>${esc(p.description)}</b><br>${esc(p.unit)} · ${t(p.standing)}${p.id ? `<br>#${p.id}` : ""}`);
  if (features.length) fitTo(map, features);
  else {
    const district = await api("/api/v1/layers/grids?level=district").catch(() => null);
    if (district?.features?.length) fitTo(map, district.features);
  }

  const fromAssessment = $("#from-assessment");
  if (fromAssessment) {
    const { assessments } = await api("/api/v1/assessments").catch(() => ({ assessments: [] }));
    fromAssessment.assessment.innerHTML = assessments.map((a) => `<option value="${a.id}">${esc(a.name)} · ${a.scored}/${a.criteria}</option>`).join("");
    fromAssessment.hidden = !assessments.length;
    fromAssessment.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const made = await api(`/api/v1/rounds/${chosen.id}/findings/from-assessment`, { method: "POST", body: JSON.stringify({ assessment: Number(fromAssessment.assessment.value) }) });
        $("#from-assessment-result").textContent = `${t("recorded")} ${made.recorded.length} · ${t("already")} ${made.already}`;
        if (made.recorded.length) show();
      } catch (error) {
        $("#from-assessment-result").innerHTML = `<span class="error">${esc(error.message)}</span>`;
      }
    });
  }
  $("#print-bulletin").addEventListener("click", () => openPage(`/api/v1/rounds/${chosen.id}/bulletin?format=html`));
  $("#pdf-bulletin").addEventListener("click", () => openPage(`/api/v1/rounds/${chosen.id}/bulletin?format=pdf`));
  // The week the round began in: its 督查通报 counts every round of that week.
  $("#week-bulletin").addEventListener("click", () => openPage(`/api/v1/rounds/bulletin?period=${isoWeek(new Date(chosen.starts_on))}&format=html`));
  $("#foreword")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { foreword: new FormData(e.target).get("foreword"), version: chosen.version };
    try {
      await api(`/api/v1/rounds/${chosen.id}/foreword`, { method: "PUT", body: JSON.stringify(body) });
      show();
    } catch (error) {
      $("#foreword-error").textContent = error.message;
    }
  });
  $("#publish")?.addEventListener("click", async () => {
    await api(`/api/v1/rounds/${chosen.id}/publish`, { method: "POST" });
    show();
  });
  const form = $("#finding");
  if (!form) return;
  const categories = await api("/api/v1/categories").then((c) => c.categories).catch(() => []);
  form.category.innerHTML = categories.map((c) => `<option value="${esc(c.code)}">${esc(state.lang === "zh" ? c.name_zh : c.name_en)}</option>`).join("");
  let tapped = null;
  const marker = new maplibregl.Marker({ color: "#b23a48" });
  const onTap = (e) => {
    tapped = [e.lngLat.lng, e.lngLat.lat];
    marker.setLngLat(e.lngLat).addTo(map);
    $("#finding-where").textContent = `${t("position")}: ${tapped[1].toFixed(5)}, ${tapped[0].toFixed(5)}`;
  };
  map.on("click", onTap);
  state.stop.push(() => map.off("click", onTap));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!tapped) { $("#finding-error").textContent = t("tap_map"); return; }
    const body = { lon: tapped[0], lat: tapped[1], category: form.category.value, description: form.description.value.trim() };
    try {
      await api(`/api/v1/rounds/${chosen.id}/findings`, { method: "POST", body: JSON.stringify(body) });
      show();
    } catch (error) {
      $("#finding-error").textContent = error.message;
    }
  });
}

// ---- 督办函: the letter ledger; the unit signs for and answers its letters, the office issues and follows them ----
const LETTER_COLOUR = { reminder: COLOURS.blue, notice: COLOURS.yellow, red: COLOURS.red };

async function lettersView(map, panel) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const office = ["office", "admin"].includes(state.me.role);
  const unit = state.me.role === "unit";
  const { letters } = await api("/api/v1/letters");
  const chosen = letters.find((l) => String(l.id) === params.get("id"));
  const open = letters.filter((l) => ["issued", "signed", "overdue"].includes(l.status));
  panel.innerHTML = `
    <h2>${t("letters")} <span class="muted">${open.length}/${letters.length}</span></h2>
    ${letters.length ? "" : `<p class="muted">${t("no_letters")}</p>`}
    <div id="letter"></div>
    <ul id="letters">${letters.map((l) => `<li data-id="${l.id}" data-status="${l.status}" data-kind="${l.kind}" class="${l === chosen ? "selected" : ""}">
      <span class="dot" style="background:${LETTER_COLOUR[l.kind]}"></span><b>${esc(l.label)}</b> · ${esc(l.unit)}
      <br><span class="muted">${t(`letter_${l.status}`)} · ${t("answer_by")} ${shortTime(l.answer_by)} · ${l.cases.length} ${t("cases")}</span></li>`).join("")}</ul>
    ${office ? `<h2>${t("issue_letter")}</h2>
    <form id="new-letter">
      <select name="kind">${["reminder", "notice", "red"].map((k) => `<option value="${k}">${t(`letter_kind_${k}`)}</option>`).join("")}</select>
      <input name="unit" required maxlength="200" placeholder="${t("unit")}">
      <input name="cases" required placeholder="${t("case_numbers")}">
      <textarea name="reason" required rows="2" maxlength="2000" placeholder="${t("reason")}"></textarea>
      <button type="submit">${t("issue_letter")}</button>
      <p class="error" id="letter-error" role="alert"></p>
    </form>` : ""}`;
  document.body.dataset.letters = String(letters.length);
  $("#letters").querySelectorAll("li").forEach((li) => li.addEventListener("click", () => { location.hash = `letters?id=${li.dataset.id}`; }));
  $("#new-letter")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const cases = String(form.get("cases")).split(/[\s,，#]+/).filter(Boolean).map(Number);
    const body = { kind: form.get("kind"), unit: String(form.get("unit")).trim(), cases, reason: String(form.get("reason")).trim() };
    try {
      const letter = await api("/api/v1/letters", { method: "POST", body: JSON.stringify(body) });
      location.hash = `letters?id=${letter.id}`;
    } catch (error) {
      $("#letter-error").textContent = error.message;
    }
  });
  map.addSource("grids", tiles("grids"));
  addGridLayers(map, "grids", "grids");
  const shown = chosen ? chosen.cases : letters.flatMap((l) => l.cases);
  const features = shown.map((c) => ({ type: "Feature", geometry: { type: "Point", coordinates: [c.lon, c.lat] }, properties: { id: c.id, colour: c.colour, category: c.category_name, status: c.status } }));
  map.addSource("letter-cases", { type: "geojson", data: featureCollection(features) });
  map.addLayer({ id: "letter-cases", type: "circle", source: "letter-cases", paint: { "circle-color": problemColour, "circle-radius": 7, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
  popupOn(map, ["letter-cases"], (p) => `<b>#${p.id}</b> ${esc(p.category)}<br>${esc(statusText(p.status))}`);
  if (features.length) fitTo(map, features);
  if (!chosen) return;

  const signable = unit && chosen.status === "issued";
  const answerable = unit && !chosen.answered_at;
  $("#letter").innerHTML = `
    <h2>${esc(chosen.label)}</h2>
    <p>${esc(chosen.unit)}：${esc(chosen.reason)}</p>
    <p class="muted">${t(`letter_${chosen.status}`)} · ${t("answer_by")} ${shortTime(chosen.answer_by)}
      ${chosen.signed_at ? ` · ${t("signed")} ${esc(chosen.signed_by)} ${shortTime(chosen.signed_at)}` : ""}</p>
    <ul id="letter-cases">${chosen.cases.map((c) => `<li class="colour-${esc(c.colour)}">#${c.id} ${esc(c.category_name)} · ${esc(statusText(c.status))} · ${t("deadline")} ${c.deadline ? shortTime(c.deadline) : "—"}</li>`).join("")}</ul>
    ${chosen.answer ? `<p id="letter-answer">${t("answer")}：${esc(chosen.answer)} <span class="muted">${shortTime(chosen.answered_at)}${chosen.answered_on_time ? "" : ` · ${t("late")}`}</span></p>` : ""}
    <div class="actions">
      ${signable ? `<button type="button" id="sign-letter">${t("sign_letter")}</button>` : ""}
      <button type="button" id="print-letter" class="secondary">${t("print")}</button>
      <button type="button" id="pdf-letter" class="secondary">PDF</button>
    </div>
    ${answerable ? `<form id="answer-letter">
      <textarea name="answer" required rows="3" maxlength="4000" placeholder="${t("answer_hint")}"></textarea>
      <div id="evidence" class="photos muted">${t("loading")}</div>
      <button type="submit">${t("answer_letter")}</button>
    </form>` : ""}
    <p id="letter-result" role="status"></p>`;
  $("#sign-letter")?.addEventListener("click", async () => {
    try { await api(`/api/v1/letters/${chosen.id}/sign`, { method: "POST" }); show(); } catch (e) { $("#letter-result").innerHTML = `<span class="error">${esc(e.message)}</span>`; }
  });
  $("#print-letter").addEventListener("click", () => openPage(`/api/v1/letters/${chosen.id}?format=html`));
  $("#pdf-letter").addEventListener("click", () => openPage(`/api/v1/letters/${chosen.id}?format=pdf`));
  const form = $("#answer-letter");
  if (!form) return;
  // The fix's photos on the letter's cases, to point to as evidence.
  const photos = (await Promise.all(chosen.cases.map((c) => api(`/api/v1/problems/${c.id}/photos`).then((r) => r.photos.map((p) => ({ ...p, case: c.id }))).catch(() => [])))).flat();
  $("#evidence").innerHTML = photos.length
    ? photos.map((p) => `<label><input type="checkbox" name="evidence" value="${p.id}" ${p.stage === "handling" ? "checked" : ""}> #${p.case} ${esc(STRINGS[state.lang].stages?.[p.stage] || p.stage)} · ${esc(p.filename || p.id)}</label>`).join("")
    : t("no_photos");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body = { answer: String(data.get("answer")).trim(), evidence: data.getAll("evidence").map(Number) };
    try {
      await api(`/api/v1/letters/${chosen.id}/answer`, { method: "POST", body: JSON.stringify(body) });
      show();
    } catch (error) {
      $("#letter-result").innerHTML = `<span class="error">${esc(error.message)}</span>`;
    }
  });
}

// ---- 考核: evaluation of streets, units and officers over a month, quarter or year ----
async function evaluationView(map, panel) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const by = params.get("by") || "area";
  // Last month unless asked: the month the office evaluates.
  const query = `${params.get("period") ? `period=${encodeURIComponent(params.get("period"))}&` : ""}by=${by}`;
  const evaluation = await api(`/api/v1/evaluations?${query}`);
  const pct = (x) => (x == null ? "—" : `${(x * 100).toFixed(1)}%`);
  const share = (a, b) => (b ? `${a}/${b}` : "—");
  const figures = (r) => r.post
    ? `${t("valid_reports")} ${r.post.valid_reports} · ${t("missed")} ${r.post.missed} · ${t("confirm_on_time")} ${share(r.post.confirmed_on_time, r.post.to_confirm)} · ${t("verify_on_time")} ${share(r.post.verified_on_time, r.post.to_verify)} · ${t("points_inspected")} ${share(r.post.points_inspected, r.post.points)}`
    : `${t("handling")} ${pct(r.rates?.handling)} · ${t("on_time_handling")} ${pct(r.rates?.on_time_handling)} · ${t("closing")} ${pct(r.rates?.closing)}${r.letters ? ` · ${t("letters")} ${share(r.letters.answered_on_time, r.letters.due)}` : ""}`;
  panel.innerHTML = `
    <h2>${t("evaluation")} <span class="muted">${esc(evaluation.period.label)}</span></h2>
    <form id="evaluation-form" class="row">
      <input name="period" value="${esc(evaluation.period.label)}" pattern="[0-9]{4}(-(W[0-9]{2}|Q[1-4]|[0-9]{1,2}))?" aria-label="${t("period")}" size="9">
      <select name="by">${["area", "unit", "post"].map((b) => `<option value="${b}" ${b === by ? "selected" : ""}>${t(`by_${b}`)}</option>`).join("")}</select>
      <button type="submit">${t("show")}</button>
      <button type="button" id="evaluation-xlsx" class="secondary">XLSX</button>
    </form>
    <table id="evaluation"><thead><tr><th>${t("rank")}</th><th>${t("name")}</th><th class="num">${t("score")}</th><th>${t("grade")}</th></tr></thead>
      <tbody>${evaluation.rows.map((r) => `<tr data-key="${esc(r.key)}" data-rank="${r.rank ?? ""}"><td>${r.rank ?? "—"}</td>
        <td>${esc(r.name || r.key)}<br><span class="muted">${figures(r)}</span></td>
        <td class="num">${r.score == null ? "—" : r.score.toFixed(1)}</td>
        <td>${r.grade ? `<span class="grade" style="background:${esc(r.colour)}">${esc(r.grade)}</span>` : "—"}</td></tr>`).join("")}</tbody></table>`;
  document.body.dataset.rows = String(evaluation.rows.length);
  $("#evaluation-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    location.hash = `evaluation?period=${encodeURIComponent(String(form.get("period")).trim())}&by=${form.get("by")}`;
  });
  $("#evaluation-xlsx").addEventListener("click", async () => {
    const file = await fetch(`/api/v1/evaluations?${query}&format=xlsx`, { headers: { Authorization: `Bearer ${state.token}` } });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await file.blob());
    link.download = `gridwatch-evaluation-${evaluation.period.label}-${by}.xlsx`;
    link.click();
  });
  map.addSource("grids", tiles("grids"));
  addGridLayers(map, "grids", "grids");
  const district = await api("/api/v1/layers/grids?level=district").catch(() => null);
  if (district?.features?.length) fitTo(map, district.features);
}

// ---- 热点与反弹: where cases gather, and the places the same problem keeps coming back to ----
async function hotspotsView(map, panel) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const by = params.get("by") === "cell" ? "cell" : "grid";
  const period = params.get("period") || "";
  // The last 30 days unless a period is asked for.
  const when = period ? `period=${encodeURIComponent(period)}` : "days=30";
  const stubborn = await api(`/api/v1/hotspots/stubborn?${when}`);
  const label = period || t("last_30_days");
  panel.innerHTML = `
    <h2>${t("hotspots")} <span class="muted">${esc(label)}</span></h2>
    <form id="hotspots-form" class="row">
      <input name="period" value="${esc(period)}" placeholder="${t("last_30_days")}" pattern="[0-9]{4}(-(W[0-9]{2}|Q[1-4]|[0-9]{1,2}))?" aria-label="${t("period")}" size="9">
      <select name="by">${["grid", "cell"].map((b) => `<option value="${b}" ${b === by ? "selected" : ""}>${t(`hotspots_by_${b}`)}</option>`).join("")}</select>
      <button type="submit">${t("show")}</button>
    </form>
    <div class="legend"><span><i style="background:#fde0c5"></i>1</span><span><i style="background:#f59e4c"></i>5</span><span><i style="background:#c2410c"></i>10+</span><span><i style="border:2px solid #7b2cbf;background:none"></i>${t("recurrences")}</span></div>
    <h2>${t("stubborn_points")} <span class="muted">${stubborn.points.length}</span></h2>
    ${stubborn.points.length
      ? `<ul id="stubborn">${stubborn.points.map((p, i) => `<li data-root="${p.root}" data-i="${i}">
          <span class="badge ${p.open ? "red" : "covered"}">${p.open ? t("still_open") : t("closed")}</span>
          <b>${esc(p.category_name || p.category)}</b> · ${t("recurred_times").replace("{n}", p.recurrences)}<br>
          <span class="muted">${esc(p.grid_code || "")} · ${esc(p.responsible_unit || "—")} · ${esc(shortTime(p.last_at))}</span><br>
          <span class="muted">${[p.root, ...p.cases].map((id) => `#${id}`).join(" → ")}</span></li>`).join("")}</ul>`
      : `<p class="muted" id="stubborn">${t("no_stubborn_points")}</p>`}`;
  document.body.dataset.stubborn = String(stubborn.points.length);
  $("#hotspots-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const chosen = String(form.get("period")).trim();
    location.hash = `hotspots?by=${form.get("by")}${chosen ? `&period=${encodeURIComponent(chosen)}` : ""}`;
  });

  const query = `${when}&by=${by}`;
  map.addSource("grids", tiles("grids"));
  map.addLayer({ id: "grids-line", type: "line", source: "grids", "source-layer": "grids", paint: { "line-color": "#9aa4b5", "line-width": 0.5 } });
  map.addSource("hotspots", { type: "vector", tiles: [`${location.origin}/api/v1/hotspots/tiles/{z}/{x}/{y}.mvt?${query}`], minzoom: 10, maxzoom: 18 });
  map.addLayer({ id: "hotspots", type: "fill", source: "hotspots", "source-layer": "hotspots", paint: {
    "fill-color": ["interpolate", ["linear"], ["get", "cases"], 1, "#fde0c5", 5, "#f59e4c", 10, "#c2410c"], "fill-opacity": 0.75 } });
  map.addLayer({ id: "hotspots-recurred", type: "line", source: "hotspots", "source-layer": "hotspots", filter: [">", ["get", "recurrences"], 0],
    paint: { "line-color": "#7b2cbf", "line-width": 2 } });
  const points = featureCollection(stubborn.points.map((p) => ({ type: "Feature", geometry: { type: "Point", coordinates: [p.lon, p.lat] }, properties: { root: p.root, recurrences: p.recurrences } })));
  map.addSource("stubborn", { type: "geojson", data: points });
  map.addLayer({ id: "stubborn", type: "circle", source: "stubborn", paint: { "circle-radius": 9, "circle-color": "#7b2cbf", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
  map.addLayer({ id: "stubborn-count", type: "symbol", source: "stubborn", layout: { "text-field": ["to-string", ["get", "recurrences"]], "text-size": 11 }, paint: { "text-color": "#fff" } });
  popupOn(map, ["hotspots"], (p) => `<b>${esc(p.name || p.key)}</b>${p.responsible_unit ? `<br>${esc(p.responsible_unit)}` : ""}<br>${t("hotspot_cases")} ${p.cases} · ${t("open_cases")} ${p.open} · ${t("recurrences")} ${p.recurrences}`);
  document.querySelectorAll("#stubborn li").forEach((li) => li.addEventListener("click", () => {
    const p = stubborn.points[Number(li.dataset.i)];
    map.flyTo({ center: [p.lon, p.lat], zoom: 17 });
  }));
  const district = await api("/api/v1/layers/grids?level=district").catch(() => null);
  if (district?.features?.length) fitTo(map, district.features);
}

// ---- 专项整治: special campaigns — the office sets them up; everyone follows their report ----
async function campaignsView(map, panel) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const office = ["office", "admin"].includes(state.me.role);
  const { campaigns } = await api("/api/v1/campaigns");
  const chosen = campaigns.find((c) => String(c.id) === params.get("id")) || campaigns.find((c) => c.active) || campaigns[0];
  const today = ymd(cityDate());
  const [streets, categories] = office
    ? await Promise.all([api("/api/v1/layers/grids?level=street").catch(() => ({ features: [] })), api("/api/v1/categories").then((c) => c.categories).catch(() => [])])
    : [{ features: [] }, []];
  const name = (c) => esc(state.lang === "zh" ? c.name_zh : c.name_en);
  panel.innerHTML = `
    <h2>${t("campaigns")}</h2>
    ${campaigns.length ? `<ul id="campaign-list">${campaigns.map((c) => `<li data-id="${c.id}" class="${c.id === chosen?.id ? "selected" : ""}">
        <b>${esc(c.name)}</b> ${c.active ? `<span class="badge covered">${t("running")}</span>` : ""}<br>
        <span class="muted">${esc(c.start)} — ${esc(c.end)} · ${t("lead_unit")} ${esc(c.lead_unit)}${c.joint_units.length ? ` · ${t("joint_units")} ${esc(c.joint_units.join("、"))}` : ""}</span></li>`).join("")}</ul>`
      : `<p class="muted">${t("no_campaigns")}</p>`}
    <div id="campaign-report"></div>
    ${office ? `<h2>${t("new_campaign")}</h2>
    <form id="campaign-form" class="stack">
      <label>${t("name")} <input name="name" required maxlength="100" placeholder="背街小巷环境整治"></label>
      <div class="row"><label>${t("from")} <input name="start" type="date" required value="${today}"></label>
        <label>${t("to")} <input name="end" type="date" required></label></div>
      <label>${t("campaign_area")} <select name="area" multiple required size="4">${streets.features.map((f) => `<option value="${esc(f.properties.code)}">${esc(f.properties.name || f.properties.code)}</option>`).join("")}</select></label>
      <label>${t("campaign_categories")} <select name="categories" multiple size="4">${categories.map((c) => `<option value="${esc(c.code)}">${name(c)}</option>`).join("")}</select></label>
      <label>${t("lead_unit")} <input name="lead_unit" required maxlength="100"></label>
      <label>${t("joint_units")} <input name="joint_units" placeholder="城管执法队、市场监管所"></label>
      <label>${t("cycle_days")} <input name="cycle_days" type="number" min="1" max="90" value="14" required></label>
      <button type="submit">${t("set_up")}</button>
      <p id="campaign-error" class="error"></p>
    </form>` : ""}`;
  document.body.dataset.campaigns = String(campaigns.length);
  document.querySelectorAll("#campaign-list li").forEach((li) => li.addEventListener("click", () => { location.hash = `campaigns?id=${li.dataset.id}`; }));

  map.addSource("grids", tiles("grids"));
  map.addLayer({ id: "campaign-area", type: "fill", source: "grids", "source-layer": "grids",
    paint: { "fill-color": "#f08c00", "fill-opacity": ["case", ["boolean", ["feature-state", "campaign"], false], 0.35, 0] } });
  addGridLayers(map, "grids", "grids");
  if (chosen) {
    const report = await api(`/api/v1/campaigns/${chosen.id}/report`);
    const tally = (x) => `<td class="num">${x.found}</td><td class="num">${x.closed}</td><td class="num">${x.open}</td><td class="num">${x.overdue}</td><td class="num">${x.recurrences}</td>`;
    const head = `<th class="num">${t("found")}</th><th class="num">${t("closed")}</th><th class="num">${t("open_cases")}</th><th class="num">${t("overdue")}</th><th class="num">${t("recurrences")}</th>`;
    const role = { lead: t("lead_unit"), joint: t("joint_units"), other: "" };
    $("#campaign-report").innerHTML = `
      <h2>${esc(chosen.name)} <span class="muted">${t("cycle_every").replace("{n}", chosen.cycle_days)}</span></h2>
      <table id="campaign-units"><thead><tr><th>${t("unit")}</th>${head}</tr></thead><tbody>
        <tr data-total><td><b>${t("total")}</b></td>${tally(report.total)}</tr>
        ${report.units.map((u) => `<tr data-unit="${esc(u.unit)}"><td>${esc(u.unit)} <span class="muted">${role[u.role]}</span></td>${tally(u)}</tr>`).join("")}</tbody></table>
      <h2>${t("joint_days")}</h2>
      <table id="campaign-rounds"><thead><tr><th>${t("date")}</th>${head}</tr></thead><tbody>
        ${report.rounds.map((r) => `<tr class="${r.day <= today ? "" : "muted"}"><td>${esc(r.day)}</td>${tally(r)}</tr>`).join("")}</tbody></table>
      <div class="actions"><button type="button" id="campaign-xlsx" class="secondary">XLSX</button></div>`;
    document.body.dataset.found = String(report.total.found);
    $("#campaign-xlsx").addEventListener("click", async () => {
      const file = await fetch(`/api/v1/campaigns/${chosen.id}/report?format=xlsx`, { headers: { Authorization: `Bearer ${state.token}` } });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await file.blob());
      link.download = `gridwatch-campaign-${chosen.id}.xlsx`;
      link.click();
    });
    // The campaign's area on the map: its grids, whatever their level.
    const area = new Set(chosen.area);
    const paint = () => map.querySourceFeatures("grids", { sourceLayer: "grids" })
      .filter((f) => area.has(f.properties.code) || [...area].some((code) => String(f.properties.code).startsWith(code)))
      .forEach((f) => map.setFeatureState({ source: "grids", sourceLayer: "grids", id: f.properties.code }, { campaign: true }));
    map.on("sourcedata", (e) => e.sourceId === "grids" && e.isSourceLoaded && paint());
    const outline = await api(`/api/v1/layers/grids?level=street`).catch(() => null);
    const mine = outline?.features?.filter((f) => area.has(f.properties.code) || chosen.area.some((c) => f.properties.code.startsWith(c) || c.startsWith(f.properties.code)));
    if (mine?.length) fitTo(map, mine);
  }
  const form = $("#campaign-form");
  form?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body = {
      name: data.get("name").trim(), start: data.get("start"), end: data.get("end"),
      area: data.getAll("area"), categories: data.getAll("categories"),
      lead_unit: data.get("lead_unit").trim(),
      joint_units: String(data.get("joint_units")).split(/[,，、\s]+/).map((u) => u.trim()).filter(Boolean),
      cycle_days: Number(data.get("cycle_days")),
    };
    try {
      const made = await api("/api/v1/campaigns", { method: "POST", body: JSON.stringify(body) });
      document.body.dataset.created = String(made.id);
      location.hash = `campaigns?id=${made.id}`;
    } catch (err) {
      $("#campaign-error").textContent = err.message;
    }
  });
}

// ---- 待办: the caller's to-do list (the unit's board 待整改, the officer's checks, the desk's follow-up) ----
/** The photo that goes with a step, by the step: of what was found (核实), after the fix (处置),
 * of the check on site (核查). */
const STEP_PHOTO = { confirm: ["report", "confirm_photo"], handle: ["handling", "after_photo"], verify: ["verification", "check_photo"], reject: ["verification", "check_photo"] };

async function tasksView(map, panel) {
  // The officer's list works with no signal: it is kept on the phone, and their checks (核实,
  // 核查) go through the outbox like reports, each step exactly once.
  const field = state.me.role === "officer";
  const [list, grids] = await Promise.all([
    field ? kept("/api/v1/tasks") : api("/api/v1/tasks"),
    field ? kept("/api/v1/layers/grids?level=grid") : null,
  ]);
  const queued = await outbox.pendingSteps(state.me.name);
  // A unit's letters (督办函) waiting for its signature or answer head its list.
  const letters = state.me.role === "unit" ? (await api("/api/v1/letters").catch(() => ({ letters: [] }))).letters : [];
  const unanswered = letters.filter((l) => !l.answered_at);
  const cases = list.tasks.filter((task) => task.problem_id);
  const toFeature = (task) => ({ type: "Feature", id: task.problem_id ?? 0, geometry: { type: "Point", coordinates: [task.lon, task.lat] }, properties: task });
  map.addSource("grids", grids ? { type: "geojson", data: grids } : tiles("grids"));
  addGridLayers(map, "grids", grids ? undefined : "grids");
  map.addSource("tasks", { type: "geojson", data: featureCollection(list.tasks.map(toFeature)) });
  map.addLayer({ id: "tasks", type: "circle", source: "tasks", paint: { "circle-color": problemColour, "circle-radius": 8, "circle-stroke-color": "#12355b", "circle-stroke-width": 2 } });
  // Nothing to do: the caller's own grids, rather than the whole world.
  fitTo(map, list.tasks.length ? list.tasks.map(toFeature) : grids?.features || []);
  const badges = Object.entries(list.counts).map(([kind, n]) => `<span class="count" data-kind="${esc(kind)}">${esc(kindText(kind))} <b>${n}</b></span>`).join("");
  panel.innerHTML = `<h2>${t("tasks")} <span class="muted">${list.tasks.length}</span></h2>
    ${state.offline ? `<p id="offline-note" class="error">${t("offline_copy")}</p>` : ""}
    ${unanswered.length ? `<p id="letters-waiting"><a href="#letters">${t("letters")}: ${t("letter_issued")} <b>${unanswered.filter((l) => l.status === "issued").length}</b> · ${t("letters_to_answer")} <b>${unanswered.length}</b></a></p>` : ""}
    <div class="badges">${badges || `<span class="muted">${t("no_tasks")}</span>`}</div>
    <ul id="tasks">${list.tasks.map((task, i) => `<li data-index="${i}" data-kind="${esc(task.kind)}" ${task.problem_id ? `data-id="${task.problem_id}"` : ""} ${queued.has(task.problem_id) ? "data-queued" : ""} class="colour-${esc(task.colour)}">
      <b>${esc(kindText(task.kind))}</b> ${task.problem_id ? `#${task.problem_id} ` : ""}${esc(task.title)}
      <br><span class="muted">${task.deadline ? `${t("deadline")} ${shortTime(task.deadline)}` : ""}${task.visits ? ` · ${task.visits[0]}/${task.visits[1]}` : ""} · ${esc(task.grid_code || "—")}${queued.has(task.problem_id) ? ` · ${t("outbox")}` : ""}</span></li>`).join("")}</ul>
    <div id="task-detail" class="muted">${cases.length ? t("choose_task") : ""}</div>
    ${field ? `<h2>${t("outbox")} <span id="outbox-count" data-count="0">(0)</span></h2><ul id="outbox"></ul>` : ""}`;
  document.body.dataset.tasks = String(list.tasks.length);
  $("#tasks").querySelectorAll("li").forEach((li) => li.addEventListener("click", () => open(list.tasks[Number(li.dataset.index)])));
  if (field) { await renderOutbox(); sendNow(); }

  async function open(task) {
    $("#tasks").querySelectorAll("li").forEach((li) => li.classList.toggle("selected", li.dataset.index === String(list.tasks.indexOf(task))));
    map.flyTo({ center: [task.lon, task.lat], zoom: Math.max(map.getZoom(), 16), duration: 0 });
    if (!task.problem_id) { $("#task-detail").innerHTML = `<h2>${esc(task.title)}</h2><p class="muted">${t("inspect_hint")}</p>`; return; }
    // With no signal the task itself says enough to act on it; the history waits for the network.
    const offline = { id: task.problem_id, category_name: task.title, status: task.status, deadline: task.deadline, responsible_unit: task.responsible_unit, description: "" };
    const [p, history] = await Promise.all([
      api(`/api/v1/problems/${task.problem_id}`).catch((e) => (field ? offline : Promise.reject(e))),
      api(`/api/v1/problems/${task.problem_id}/events`).catch((e) => (field ? { events: [] } : Promise.reject(e))),
    ]);
    const names = STRINGS[state.lang].transitions;
    const label = (a) => (task.kind === "confirm" && a === "void" ? t("not_real") : names[a] || a);
    const photo = task.next_actions.map((a) => STEP_PHOTO[a]).find(Boolean);
    const waiting = queued.has(task.problem_id);
    $("#task-detail").className = "";
    // The photos arrive after the form is drawn: below it, so its buttons do not move under a finger.
    $("#task-detail").innerHTML = `
      <h2>#${p.id} ${esc(p.category_name || p.category)}</h2>
      <div>${esc(p.description)}</div>
      <div class="muted">${t("status")}: <b data-status>${esc(statusText(p.status))}</b> · ${t("deadline")} ${p.deadline ? shortTime(p.deadline) : "—"} · ${t("unit")}: ${esc(p.responsible_unit || "—")}</div>
      ${waiting ? `<p class="muted" id="task-queued">${t("queued")}</p>` : `<form id="task-act" class="task-form">
        <textarea name="note" rows="2" placeholder="${t(task.kind === "confirm" ? "void_note" : "note")}"></textarea>
        ${photo ? `<label>${t(photo[1])} <input type="file" name="photo" accept="image/*" capture="environment" data-stage="${photo[0]}"></label>` : ""}
        ${task.next_actions.includes("request_extension") ? `<label>${t("extension")} <input type="number" name="amount" min="1" max="1000" value="2"> <select name="unit"><option value="working_days">${t("working_days")}</option><option value="working_hours">${t("working_hours")}</option></select></label>` : ""}
        ${task.next_actions.includes("refuse") ? `<input name="forward_to" placeholder="${t("forward_to")}">` : ""}
        ${task.next_actions.includes("callback") ? `${p.caller ? `<p id="task-caller">${t("caller")}: ${esc(p.caller.name || "—")} · <a href="tel:${esc(p.caller.phone)}">${esc(p.caller.phone)}</a></p>` : ""}
          <label>${t("satisfaction")} <select name="satisfaction">${Object.entries(t("satisfaction_choices")).map(([k, v]) => `<option value="${k}">${esc(v)}</option>`).join("")}</select></label>` : ""}
        <div class="actions">${task.next_actions.map((a) => `<button type="button" data-action="${esc(a)}" class="${["refuse", "reject", "void"].includes(a) ? "secondary" : ""}">${esc(label(a))}</button>`).join("")}</div>
      </form>`}
      <p id="task-result" role="status"></p>
      <div id="photos" class="photos muted">${t("loading")}</div>
      <h2>${t("history")}</h2>
      <ol class="history">${history.events.map((e) => `<li>${shortTime(e.at)} ${esc(names[e.action] || e.action)} <span class="muted">${esc(e.actor)}${e.note ? ` · ${esc(e.note)}` : ""}</span></li>`).join("")}</ol>`;
    showPhotos(p.id);
    $("#task-act")?.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", () => act(p, b.dataset.action)));
  }

  async function act(p, action) {
    const form = new FormData($("#task-act"));
    const note = String(form.get("note") || "").trim() || undefined;
    const body = { action, note };
    if (action === "refuse") body.forward_to = String(form.get("forward_to") || "").trim() || undefined;
    if (action === "request_extension") body.extension = { amount: Number(form.get("amount")), unit: form.get("unit") };
    if (action === "callback") body.satisfaction = form.get("satisfaction");
    const file = form.get("photo");
    const stage = STEP_PHOTO[action]?.[0];
    const photos = stage && file && file.size ? [{ blob: file, name: file.name || "photo.jpg", stage }] : [];
    if (field) {
      // Filed first, sent when it can be: the photos, then the step, each once.
      await outbox.enqueue({ kind: "step", user: state.me.name, problem_id: p.id, body, photos });
      document.body.dataset.acted = `${p.id}:${action}:queued`;
      await sendNow();
      await show();
      return;
    }
    try {
      for (const photo of photos) {
        const upload = new FormData();
        upload.append("stage", photo.stage);
        upload.append("file", photo.blob);
        const sent = await fetch(`/api/v1/problems/${p.id}/photos`, { method: "POST", headers: { Authorization: `Bearer ${state.token}` }, body: upload });
        if (!sent.ok) throw new ApiError((await sent.json().catch(() => null))?.error?.message || `${sent.status}`);
      }
      const updated = await api(`/api/v1/problems/${p.id}/transitions`, { method: "POST", body: JSON.stringify(body) });
      $("#task-result").textContent = `${t("done")}: ${statusText(updated.status)}`;
      document.body.dataset.acted = `${p.id}:${updated.status}`;
      await show();
    } catch (e) {
      $("#task-result").innerHTML = `<span class="error">${esc(e.message)}</span>`;
    }
  }
}
const kindText = (kind) => STRINGS[state.lang].task_kinds[kind] || kind;

// ---- shell: sign-in, language, view switching ----
const VIEWS = { tasks: tasksView, officer: officerView, dispatcher: dispatcherView, office: officeView, hotspots: hotspotsView, campaigns: campaignsView, rounds: roundsView, letters: lettersView, evaluation: evaluationView };
const DEFAULT_VIEW = { officer: "officer", dispatcher: "dispatcher", office: "office", inspector: "rounds", admin: "office", unit: "tasks", app: "officer" };
// The views each role has work in (the server decides what each may read; a link to a view that
// would only say 403 is left out of the bar).
const ROLE_VIEWS = {
  officer: ["tasks", "officer", "rounds"],
  inspector: ["tasks", "rounds"],
  unit: ["tasks", "hotspots", "campaigns", "rounds", "letters", "evaluation"],
  dispatcher: ["tasks", "dispatcher", "office", "hotspots", "campaigns", "rounds", "letters", "evaluation"],
  app: ["officer"],
};

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  document.querySelectorAll("[data-text]").forEach((el) => (el.textContent = t(el.dataset.text)));
  document.querySelectorAll("#views a").forEach((a) => (a.textContent = t(a.dataset.view)));
  $("#language").textContent = t("language");
  $("#logout").textContent = t("logout");
  $("#token").placeholder = t("token");
}

async function signOut() {
  const token = state.token;
  localStorage.removeItem(TOKEN_KEY);
  // The next user of this phone must not see this one's area offline.
  window.caches?.delete(AREA_CACHE);
  state.token = null;
  // A sign-in session ends on the server too (an API token pasted here stays valid); the form
  // shows once it has.
  if (token && navigator.onLine) {
    await fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
  }
  $("#login").hidden = false;
  $("#logout").hidden = true;
}

async function show() {
  state.stop.splice(0).forEach((stop) => stop());
  state.offline = false;
  document.body.dataset.ready = "";
  const view = location.hash.replace(/^#/, "").split("?")[0] || DEFAULT_VIEW[state.me.role] || "officer";
  document.querySelectorAll("#views a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  state.map?.remove();
  state.map = await newMap();
  state.view = view;
  const panel = $("#panel");
  panel.innerHTML = `<p class="muted">${t("loading")}</p>`;
  try {
    await (VIEWS[view] || officerView)(state.map, panel);
    await new Promise((resolve) => (state.map.loaded() ? resolve() : state.map.once("idle", resolve)));
    document.body.dataset.ready = view;
  } catch (e) {
    panel.innerHTML = `<p class="error">${t("error")}: ${esc(e.message)}</p>`;
    document.body.dataset.ready = `error:${view}`;
  }
}

async function start() {
  applyLanguage();
  if (!state.token) { $("#login").hidden = false; $("#logout").hidden = true; return; }
  try {
    state.me = await kept("/api/v1/me");
  } catch (e) {
    $("#login-error").textContent = e.message;
    return;
  }
  $("#login").hidden = true;
  $("#logout").hidden = false;
  $("#who").textContent = `${state.me.name} · ${state.me.role}`;
  const mine = ROLE_VIEWS[state.me.role];
  document.querySelectorAll("#views a").forEach((a) => { a.hidden = Boolean(mine) && !mine.includes(a.dataset.view); });
  // A password an admin set is changed before anything else.
  if (state.me.must_change_password) { $("#change-password").hidden = false; return; }
  $("#change-password").hidden = true;
  await show();
}

function useToken(token) {
  state.token = token;
  localStorage.setItem(TOKEN_KEY, token);
  $("#password").value = "";
  start();
}

$("#login").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("#login-error").textContent = "";
  const body = JSON.stringify({ username: $("#username").value.trim(), password: $("#password").value });
  try {
    const response = await fetch("/api/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body });
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      $("#login-error").textContent = response.status === 401 ? t("wrong_credentials") : (answer?.error?.message || `${response.status}`);
      return;
    }
    useToken(answer.token);
  } catch {
    $("#login-error").textContent = t("no_signal");
  }
});
$("#token-login").addEventListener("click", () => useToken($("#token").value.trim()));
$("#change-password").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("#change-error").textContent = "";
  const body = JSON.stringify({ current_password: $("#current-password").value, new_password: $("#new-password").value });
  try {
    await api("/api/v1/auth/password", { method: "POST", body });
    $("#current-password").value = $("#new-password").value = "";
    start();
  } catch (error) {
    $("#change-error").textContent = error.message;
  }
});
$("#language").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem(LANG_KEY, state.lang);
  applyLanguage();
  if (state.me) show();
});
$("#logout").addEventListener("click", () => { signOut(); state.map?.remove(); state.map = null; });
window.addEventListener("hashchange", () => state.me && show());
// Back online: send what waited. Also every half minute, for connections that come back quietly.
window.addEventListener("online", () => sendNow());
setInterval(() => sendNow(), 30_000);
// An installable app that opens with no signal (sw.js keeps the map's own files).
navigator.serviceWorker?.register("sw.js").catch(() => {});
start();
