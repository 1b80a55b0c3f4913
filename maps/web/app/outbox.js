// 待发送 the outbox: what an officer files on the phone — reports with photos, inspections, GPS
// fixes, and the steps of their checks (核实, 核查, 自行处置) with their photos — is kept in
// IndexedDB first and sent in order whenever the phone is online. Every write carries an
// Idempotency-Key made when it was filed, so a retry after a lost answer is recognised by the
// server and nothing arrives twice.

const DB = "gridwatch-outbox";
const STORE = "items";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result.result ?? result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Everything still waiting, oldest first. */
export const waiting = () => run("readonly", (s) => s.getAll());
const save = (item) => run("readwrite", (s) => s.put(item));
const remove = (seq) => run("readwrite", (s) => s.delete(seq));
/** Forgets everything waiting (on sign-out: the next user must not send it). */
export const clear = () => run("readwrite", (s) => s.clear());

/** Files a write: `{kind: "report"|"inspection"|"track"|"step", user, body, photos?: [{blob,
 * name, stage (reports, steps) | criterion (inspections)}]}`. A step names its case
 * (`problem_id`); a report may name the step that follows it (`then`: a transition body, e.g.
 * `{action: "self_handle"}` for 自行处置). Photos go before the step they prove. */
export async function enqueue(item) {
  const photos = (item.photos || []).map((p) => ({ ...p, key: crypto.randomUUID(), sent: false }));
  const then = item.then ? { body: item.then, key: crypto.randomUUID(), done: false } : null;
  await save({ ...item, photos, then, key: crypto.randomUUID(), filed_at: new Date().toISOString(), error: null });
  flush.again = true; // a round already running reads the list once more before it ends
}

class Offline extends Error {}

/** Sends what `user` filed, in order; stops at the first item the network or server cannot take
 * now. Says whether something still waits for the network, and whether anything went through. */
export async function flush(token, user, onChange = () => {}) {
  if (flush.running) return flush.running;
  flush.running = (async () => {
    let stalled = false;
    let progressed = false;
    try {
      do {
        flush.again = false;
        for (const item of await waiting()) {
          if (item.user !== user) continue; // filed under another sign-in: sent only with its own token
          if (item.error) continue; // refused by the server: the officer decides (retry or discard)
          try {
            item.progressed = false; // set by each step of this attempt that goes through
            await send(token, item);
            await remove(item.seq);
            progressed = true;
          } catch (e) {
            progressed ||= item.progressed; // a report may be in while its photo is not
            if (e instanceof Offline) { stalled = true; break; }
            await save({ ...item, error: e.message });
          }
          onChange();
        }
      } while (flush.again && !stalled);
    } finally {
      flush.running = null;
      onChange();
    }
    return { stalled, progressed };
  })();
  return flush.running;
}

/** Puts a refused item back in line. */
export async function retry(seq) {
  const item = (await waiting()).find((i) => i.seq === seq);
  if (item) await save({ ...item, error: null });
}
export const discard = remove;

const ENDPOINT = { report: "/api/v1/problems", inspection: "/api/v1/inspections", track: "/api/v1/tracks" };

/** The cases with a step of `user` waiting to be sent (not to be acted on twice). */
export async function pendingSteps(user) {
  return new Set((await waiting()).filter((i) => i.user === user && i.kind === "step").map((i) => i.problem_id));
}

async function send(token, item) {
  if (item.kind === "report" && item.problem_id == null) {
    const created = await post(token, ENDPOINT.report, item.key, JSON.stringify(item.body), "application/json");
    item.problem_id = created.id;
    item.progressed = true;
    await save(item); // the case exists now; its photos follow even after a restart
  } else if (item.kind !== "report" && item.kind !== "step" && !item.done) {
    const created = await post(token, ENDPOINT[item.kind], item.key, JSON.stringify(item.body), "application/json");
    item.done = true;
    item.progressed = true;
    if (item.kind === "inspection") item.inspection_id = created?.inspection?.id;
    await save(item);
  }
  for (const photo of item.photos) {
    if (photo.sent) continue;
    // A report's photos go to its case; an inspection's to the point, per criterion (实景图片).
    const form = new FormData();
    let path;
    if (item.kind === "report" || item.kind === "step") {
      form.append("stage", photo.stage || "report");
      path = `/api/v1/problems/${item.problem_id}/photos`;
    } else {
      if (photo.criterion) form.append("criterion", photo.criterion);
      if (item.inspection_id) form.append("inspection", String(item.inspection_id));
      path = `/api/v1/points/${encodeURIComponent(item.body.point)}/photos`;
    }
    form.append("file", photo.blob, photo.name || "photo.jpg");
    await post(token, path, photo.key, form);
    photo.sent = true;
    item.progressed = true;
    await save(item);
  }
  // The step itself, after the photos that prove it (the server judges flagged photos then).
  const step = item.kind === "step" ? { body: item.body, key: item.key, done: item.done } : item.then;
  if (step && !step.done) {
    await post(token, `/api/v1/problems/${item.problem_id}/transitions`, step.key, JSON.stringify(step.body), "application/json");
    if (item.kind === "step") item.done = true;
    else item.then.done = true;
    item.progressed = true;
    await save(item);
  }
}

async function post(token, path, key, body, contentType) {
  let response;
  try {
    const headers = { Authorization: `Bearer ${token}`, "Idempotency-Key": key, ...(contentType ? { "Content-Type": contentType } : {}) };
    response = await fetch(path, { method: "POST", headers, body });
  } catch {
    throw new Offline("offline");
  }
  // Busy or briefly failing servers are retried later like a dropped connection.
  if (response.status >= 500 || response.status === 429 || response.status === 408 || response.status === 401) throw new Offline(String(response.status));
  const json = await response.json().catch(() => null);
  if (!response.ok) throw new Error(json?.error?.message || `HTTP ${response.status}`);
  return json;
}
