// Drives `netfox daemon` with the npm aria2 client (4.1.2) over HTTP and
// WebSocket, under node's own test runner. NETFOX_BIN names the netfox
// binary; the test starts a rate-capped `netfox serve` and the daemon on
// loopback, in temporary directories. Run by TestDaemonNodeClient.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Aria2 from "aria2";

const bin = process.env.NETFOX_BIN;
if (!bin) throw new Error("NETFOX_BIN must name the netfox binary");

const SECRET = "node-secret";
const root = mkdtempSync(join(tmpdir(), "netfox-node-"));
const srcDir = join(root, "src");
const dlDir = join(root, "dl");
const state = join(root, "queue.db");
const content = randomBytes(4 << 20);
const sha = (b) => createHash("sha256").update(b).digest("hex");
const procs = new Set();

// start runs netfox with args and resolves with the first match of re in
// its stderr.
function start(args, re) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    procs.add(p);
    let log = "";
    p.stderr.on("data", (d) => {
      log += d;
      const m = log.match(re);
      if (m) resolve({ proc: p, match: m[1], log: () => log });
    });
    p.on("exit", (code) => {
      procs.delete(p);
      reject(new Error(`netfox ${args[0]} exited with ${code}: ${log}`));
    });
  });
}

const startDaemon = () =>
  start(
    ["daemon", "--rpc-listen-port", "0", "--rpc-secret", SECRET, "--dir", dlDir, "--state", state, "-n", "2"],
    /daemon listening on http:\/\/127\.0\.0\.1:(\d+)\/jsonrpc/
  );

let serveURL;
let daemon;
let http; // calls over HTTP POST
let ws; // calls over the WebSocket, with notifications

const NOTIFICATIONS = ["onDownloadStart", "onDownloadPause", "onDownloadStop", "onDownloadComplete", "onDownloadError"];
// Every notification received, as "name gid", with the waiters for those
// not received yet: a test may add a download over HTTP and ask for its
// notification after the WebSocket has already delivered it.
const received = new Set();
const waiters = new Map();

function clients(port) {
  http = new Aria2({ host: "127.0.0.1", port, secret: SECRET });
  ws = new Aria2({ host: "127.0.0.1", port, secret: SECRET });
  for (const name of NOTIFICATIONS) {
    ws.on(name, ([e]) => {
      const key = `${name} ${e.gid}`;
      received.add(key);
      for (const resolve of waiters.get(key) ?? []) resolve(e.gid);
      waiters.delete(key);
    });
  }
  return ws.open();
}

// event resolves with gid once the notification name about gid has come
// (before the call or after it).
function event(name, gid) {
  const key = `${name} ${gid}`;
  if (received.has(key)) return Promise.resolve(gid);
  return new Promise((resolve) => {
    waiters.set(key, [...(waiters.get(key) ?? []), resolve]);
  });
}

async function waitStatus(client, gid, cond) {
  const deadline = Date.now() + 60000;
  for (;;) {
    const st = await client.call("tellStatus", gid);
    if (cond(st)) return st;
    if (Date.now() > deadline) throw new Error(`gid ${gid}: last status ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  const { mkdirSync } = await import("node:fs");
  mkdirSync(srcDir);
  writeFileSync(join(srcDir, "f.bin"), content);
  const serve = await start(["serve", "--addr", "127.0.0.1:0", "--rate-per-conn", "512KiB", srcDir], /serving .* at (http:\/\/\S+?)\/?\n/);
  serveURL = serve.match;
  daemon = await startDaemon();
  await clients(Number(daemon.match));
});

after(async () => {
  if (ws) await ws.close();
  for (const p of procs) p.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function allStrings(obj, where) {
  for (const [k, v] of Object.entries(obj)) {
    if (k === "files" || k === "uris" || k === "servers") continue;
    assert.equal(typeof v, "string", `${where}.${k} is ${typeof v}`);
  }
}

test("getVersion, listNotifications and getGlobalStat over HTTP", async () => {
  const v = await http.call("getVersion");
  assert.equal(typeof v.version, "string");
  assert.ok(Array.isArray(v.enabledFeatures));
  const events = await http.listNotifications();
  for (const e of NOTIFICATIONS) {
    assert.ok(events.includes(e), e);
  }
  allStrings(await http.call("getGlobalStat"), "getGlobalStat");
});

test("a wrong token is refused", async () => {
  const bad = new Aria2({ host: "127.0.0.1", port: Number(daemon.match), secret: "wrong" });
  await assert.rejects(bad.call("getVersion"), (err) => err.code === 1 && err.message === "Unauthorized");
  // system.* calls need no token, as in aria2.
  assert.ok((await bad.listMethods()).includes("addUri"));
});

test("add, status while active, pause and resume over WebSocket", async () => {
  const gid = await ws.call("addUri", [serveURL + "/f.bin"], { out: "a.bin" });
  assert.match(gid, /^[0-9a-f]{16}$/);
  const st = await waitStatus(ws, gid, (s) => s.status === "active" && s.completedLength !== "0");
  allStrings(st, "tellStatus");
  assert.equal(st.totalLength, String(content.length));
  assert.equal(st.files[0].uris[0].uri, serveURL + "/f.bin");
  const paused = event("onDownloadPause", gid);
  assert.equal(await ws.call("pause", gid), gid);
  await paused;
  assert.equal((await http.call("tellStatus", gid, ["status"])).status, "paused");
  const complete = event("onDownloadComplete", gid);
  await ws.call("unpause", gid);
  await complete;
  const done = await http.call("tellStatus", gid);
  assert.equal(done.status, "complete");
  assert.equal(done.errorCode, "0");
  assert.equal(sha(readFileSync(join(dlDir, "a.bin"))), sha(content));
});

test("a 404 has errorCode 3 and onDownloadError", async () => {
  const gid = await http.call("addUri", [serveURL + "/missing.bin"]);
  await event("onDownloadError", gid);
  const st = await http.call("tellStatus", gid, ["status", "errorCode", "errorMessage"]);
  assert.equal(st.status, "error");
  assert.equal(st.errorCode, "3");
  assert.equal(typeof st.errorMessage, "string");
});

test("multicall", async () => {
  const res = await http.multicall([["getVersion"], ["tellStatus", "0000000000000001"], ["getGlobalStat"]]);
  assert.equal(res.length, 3);
  assert.equal(typeof res[0][0].version, "string");
  assert.equal(res[1].code, 1);
  allStrings(res[2][0], "getGlobalStat");
});

test("remove", async () => {
  const gid = await ws.call("addUri", [serveURL + "/f.bin"], { out: "r.bin" });
  await waitStatus(ws, gid, (s) => s.status === "active");
  const stopped = event("onDownloadStop", gid);
  await ws.call("remove", gid);
  await stopped;
  const st = await http.call("tellStatus", gid, ["status"]);
  assert.equal(st.status, "removed");
  const list = await http.call("tellStopped", -1, 10, ["gid"]);
  assert.equal(list[0].gid, gid, "tellStopped(-1, ...) lists the last stopped first");
});

test("changeOption max-download-limit while running, changeUri adds a mirror", async () => {
  const gid = await ws.call("addUri", [serveURL + "/f.bin"], { out: "u.bin", "max-download-limit": "256K", header: ["X-A: 1", "X-B: 2"] });
  await waitStatus(ws, gid, (s) => s.status === "active" && s.completedLength !== "0");
  assert.equal(await ws.call("changeOption", gid, { "max-download-limit": "0" }), "OK");
  assert.equal((await http.call("getOption", gid))["max-download-limit"], "0");
  // As aria2c: [deleted, added], numbers.
  assert.deepEqual(await ws.call("changeUri", gid, 1, [], [serveURL + "/f.bin?mirror"]), [0, 1]);
  const uris = await http.call("getUris", gid);
  assert.deepEqual(uris.map((u) => u.uri), [serveURL + "/f.bin", serveURL + "/f.bin?mirror"]);
  await assert.rejects(http.call("changeUri", gid, 2, [], [serveURL + "/f.bin"]), (err) => err.code === 1);
  const st = await waitStatus(http, gid, (s) => s.status === "complete" || s.status === "error");
  assert.equal(st.status, "complete");
  assert.equal(sha(readFileSync(join(dlDir, "u.bin"))), sha(content));
});

test("global options", async () => {
  assert.equal(await http.call("changeGlobalOption", { "max-concurrent-downloads": "2", "max-overall-download-limit": "4M" }), "OK");
  const opts = await http.call("getGlobalOption");
  assert.equal(opts["max-concurrent-downloads"], "2");
  assert.equal(opts["max-overall-download-limit"], String(4 << 20));
  await assert.rejects(http.call("addUri", [serveURL + "/f.bin"], { out: "../escape.bin" }), (err) => err.code === 1);
});

test("kill -9 in the middle of a download, then restart: the same gid completes", async () => {
  const gid = await ws.call("addUri", [serveURL + "/f.bin"], { out: "k.bin" });
  await waitStatus(ws, gid, (s) => s.status === "active" && Number(s.completedLength) >= content.length / 4);
  await ws.close();
  const exited = new Promise((r) => daemon.proc.once("exit", r));
  daemon.proc.kill("SIGKILL");
  await exited;
  daemon = await startDaemon();
  await clients(Number(daemon.match));
  const st = await waitStatus(http, gid, (s) => s.status === "complete" || s.status === "error");
  assert.equal(st.status, "complete");
  assert.equal(sha(readFileSync(join(dlDir, "k.bin"))), sha(content));
});
