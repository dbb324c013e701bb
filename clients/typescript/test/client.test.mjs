// The TypeScript client against the real camera-service binary (test/service.mjs).
// Node >= 22 has a global WebSocket; on Node 20 run with --experimental-websocket.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  API_VERSION,
  AuthenticationRequiredError,
  CameraServiceClient,
  ConnectionError,
  ERROR_CLASSES,
  ErrorCode,
  InsufficientPermissionsError,
  RpcError,
  connect,
} from "../dist/index.js";
import { TestService, cannotRun, eventually, nextWithin } from "./service.mjs";

const skip = cannotRun();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe("camera-service TypeScript client", { skip: skip ?? false }, () => {
  let service;
  const clients = [];
  const open = async (options) => {
    const client = await connect(service.url, options);
    clients.push(client);
    return client;
  };

  before(async () => {
    service = await TestService.start();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await service?.dispose();
  });

  test("connects with a JWT and lists the simulated cameras", async () => {
    const client = await open({ token: service.token("admin") });
    assert.equal(client.state, "open");
    assert.equal(client.session.authenticated, true);
    assert.equal(client.session.role, "admin");
    const list = await client.getCameraList();
    assert.deepEqual(
      list.cameras.map((c) => [c.device, c.status]),
      [
        ["camera0", "CONNECTED"],
        ["camera1", "CONNECTED"],
      ],
    );
    assert.equal(list.total, 2);
  });

  test("connects with an API key and gets the key's role", async () => {
    const client = await open({ apiKey: service.apiKey("viewer") });
    assert.equal(client.session.role, "viewer");
    assert.equal(client.session.expires_at, null, "a key without expiry has expires_at null");
    const status = await client.getCameraStatus({ device: "camera1" });
    assert.equal(status.device, "camera1");
  });

  test("a refused credential rejects connect with a typed -32001 error", async () => {
    await assert.rejects(connect(service.url, { token: "not-a-jwt", reconnect: false }), (error) => {
      assert.ok(error instanceof RpcError);
      assert.ok(error instanceof AuthenticationRequiredError);
      assert.equal(error.code, -32001);
      assert.equal(error.code, ErrorCode.AuthenticationRequired);
      assert.equal(error.method, "authenticate");
      assert.equal(typeof error.reason, "string");
      return true;
    });
  });

  test("the served document is the one the client was generated from", async () => {
    const committed = JSON.parse(readFileSync(new URL("../../openrpc.json", import.meta.url), "utf8"));
    const client = await open({ token: service.token("viewer") });
    const served = await client.rpcDiscover();
    assert.equal(served.servers[0].url, service.url, "servers names the URL the client used");
    delete served.servers;
    delete committed.servers;
    assert.deepEqual(served, committed, "regenerate the clients: clients/generate.py");
    assert.equal(served.info.version, API_VERSION);
  });

  test("takes a snapshot and the file is there", async () => {
    const client = await open({ token: service.token("operator") });
    const shot = await client.takeSnapshot({ device: "camera0", format: "png" });
    assert.equal(shot.device, "camera0");
    assert.match(shot.filename, /^camera0_.*\.png$/);
    assert.ok(shot.file_size > 0);
    assert.ok(existsSync(join(service.dir, "snapshots", shot.filename)), "the snapshot file exists");
  });

  test("subscribes and receives an event through a callback and an async iterator", async () => {
    const client = await open({ token: service.token("operator") });
    const seen = [];
    const sub = await client.subscribe(["snapshot.taken"], { onEvent: (e, meta) => seen.push([e, meta]) });
    assert.equal(typeof sub.id, "number");
    const events = sub[Symbol.asyncIterator]();
    const shot = await client.takeSnapshot({ device: "camera1" });
    const { value: event } = await nextWithin(events, 10000, "snapshot.taken event");
    assert.equal(event.topic, "snapshot.taken");
    assert.equal(event.filename, shot.filename);
    await eventually(() => seen.length > 0, 5000, "the callback");
    assert.equal(seen[0][0].filename, shot.filename);
    assert.equal(seen[0][1].method, "snapshot_update");
    assert.equal(seen[0][1].subscription, sub.id);
    await sub.unsubscribe();
    assert.equal(sub.endReason.reason, "unsubscribed");
    assert.deepEqual(await events.next(), { value: undefined, done: true }, "the iterator finishes");
  });

  test("a camera plugged in arrives as camera.connected", async () => {
    const client = await open({ token: service.token("viewer") });
    const sub = await client.subscribe(["camera.*"], { filters: { device: "camera5" } });
    const events = sub[Symbol.asyncIterator]();
    service.plugSim(5, "Plugged Five");
    const { value: event } = await nextWithin(events, 10000, "camera.connected event");
    assert.equal(event.topic, "camera.connected");
    assert.equal(event.device, "camera5");
    service.unplugSim(5);
    const { value: gone } = await nextWithin(events, 10000, "camera.disconnected event");
    assert.equal(gone.topic, "camera.disconnected");
    await sub.unsubscribe();
  });

  test("a bad param is a typed -32602 error naming the param", async () => {
    const client = await open({ token: service.token("viewer") });
    await assert.rejects(client.getCameraStatus({ device: "not-a-camera" }), (error) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, -32602);
      if (ERROR_CLASSES[-32602]) assert.ok(error instanceof ERROR_CLASSES[-32602]);
      assert.match(JSON.stringify(error.data), /device/);
      return true;
    });
  });

  test("an unknown camera is -32000 with the available ones", async () => {
    const client = await open({ token: service.token("viewer") });
    await assert.rejects(client.getCameraStatus({ device: "camera9" }), (error) => {
      assert.equal(error.code, -32000);
      assert.ok(error instanceof ERROR_CLASSES[-32000]);
      assert.ok(error.data.available.includes("camera0") && error.data.available.includes("camera1"));
      assert.ok(!error.data.available.includes("camera9"));
      return true;
    });
  });

  test("a method above the role is a typed -32002 error", async () => {
    const client = await open({ token: service.token("viewer") });
    await assert.rejects(client.takeSnapshot({ device: "camera0" }), (error) => {
      assert.ok(error instanceof InsufficientPermissionsError);
      assert.equal(error.code, ErrorCode.InsufficientPermissions);
      assert.equal(error.data.required_role, "operator");
      assert.equal(error.data.role, "viewer");
      return true;
    });
  });

  test("close ends subscriptions and later calls fail", async () => {
    const client = await connect(service.url, { token: service.token("viewer") });
    const sub = await client.subscribe(["camera.*"]);
    const events = sub[Symbol.asyncIterator]();
    await client.close();
    assert.equal(client.state, "closed");
    assert.equal((await sub.ended).reason, "client_closed");
    assert.deepEqual(await events.next(), { value: undefined, done: true });
    await assert.rejects(client.getCameraList(), ConnectionError);
  });

  test("an expired token ends its subscriptions with token_expired", async () => {
    const client = await open({ token: service.token("viewer", "2s") });
    const sub = await client.subscribe(["camera.*"]);
    const events = sub[Symbol.asyncIterator]();
    const end = await Promise.race([sub.ended, sleep(8000).then(() => null)]);
    assert.ok(end, "the subscription ended");
    assert.equal(end.reason, "token_expired");
    assert.deepEqual(await events.next(), { value: undefined, done: true });
    await assert.rejects(client.getCameraList(), (error) => error.code === -32001 && error.reason === "token_expired");
  });

  test("a revoked API key ends its subscriptions with key_revoked", async () => {
    const key = service.apiKey("viewer");
    const client = await open({ apiKey: () => key });
    const sub = await client.subscribe(["camera.*"]);
    service.revokeKey(key);
    service.plugSim(8); // the service checks the key before it delivers the next event
    const end = await Promise.race([sub.ended, sleep(8000).then(() => null)]);
    assert.equal(end?.reason, "key_revoked", "a revoked key is not renewed");
    await assert.rejects(client.getCameraList(), (error) => error.code === -32001 && error.reason === "key_revoked");
  });

  test("with a credential function an expired token is renewed: subscriptions and calls go on", async () => {
    const client = await open({ token: () => service.token("viewer", "2s") });
    const first = client.session;
    const sub = await client.subscribe(["camera.*"], { filters: { device: "camera6" } });
    const events = sub[Symbol.asyncIterator]();
    await eventually(() => client.session !== first && sub.id !== null, 8000, "authenticated again and subscribed again");
    assert.equal(sub.endReason, null);
    service.plugSim(6);
    const { value: event } = await nextWithin(events, 10000, "an event after the renewal");
    assert.equal(event.device, "camera6");
    await sleep(2500); // expired again: the call renews it
    service.unplugSim(6);
    const list = await client.getCameraList();
    assert.ok(list.cameras.some((c) => c.device === "camera6"), "camera6 is listed");
  });

  test("the README example runs", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(code, "the README has a js example");
    const [first, ...rest] = code.replace("ws://127.0.0.1:8002/ws", service.url).split("\n");
    const program = [first, `const jwt = ${JSON.stringify(service.token("operator"))};`, ...rest].join("\n");
    const child = spawn(process.execPath, [...process.execArgv.filter((a) => a.startsWith("--experimental")), "--input-type=module", "-e", program], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    try {
      // Camera 9 comes and goes until the example, subscribed after its snapshot, prints it.
      let plugged = false;
      await eventually(
        async () => {
          assert.equal(child.exitCode, null, `the example ended:\n${out}`);
          if (/camera\.connected camera9/.test(out)) return true;
          plugged ? service.unplugSim(9) : service.plugSim(9);
          plugged = !plugged;
          await sleep(300);
          return undefined;
        },
        30000,
        "the example's camera9 event",
      );
      assert.ok(out.indexOf("camera0") < out.indexOf("camera.connected camera9"), "it printed the cameras first");
    } finally {
      child.kill();
      try {
        service.unplugSim(9);
      } catch {
        // already unplugged
      }
    }
  });

  // Last: it restarts the service.
  test("after the server restarts it reconnects, authenticates again and re-subscribes", async () => {
    const byToken = await open({ token: () => service.token("admin"), reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
    const byKey = await open({ apiKey: service.apiKey("viewer"), reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
    const states = [];
    byToken.onStateChange((s) => states.push(s));
    const sub = await byToken.subscribe(["camera.*"]);
    const keySub = await byKey.subscribe(["camera.connected"]);
    const events = sub[Symbol.asyncIterator]();
    const keyEvents = keySub[Symbol.asyncIterator]();

    await service.restart();
    await eventually(() => byToken.state === "open" && byToken.reconnects === 1, 15000, "the token client back");
    await eventually(() => byKey.state === "open" && byKey.reconnects === 1, 15000, "the key client back");
    assert.deepEqual(states, ["reconnecting", "open"]);
    assert.equal(byToken.session.role, "admin");
    assert.equal(byKey.session.role, "viewer");
    assert.equal(typeof sub.id, "number", "subscribed again");
    assert.equal(sub.endReason, null);

    // A call works on the new connection, and an event published after the restart arrives.
    assert.ok((await byKey.getCameraList()).cameras.some((c) => c.device === "camera1"));
    service.plugSim(7);
    const { value: event } = await nextWithin(events, 10000, "an event after the restart");
    assert.equal(event.device, "camera7");
    const { value: keyEvent } = await nextWithin(keyEvents, 10000, "an event for the key client after the restart");
    assert.equal(keyEvent.topic, "camera.connected");
    assert.equal(keyEvent.device, "camera7");
  });

  test("a call made while the server is down is answered after the reconnect", async () => {
    const client = await open({ token: service.token("viewer"), reconnect: { initialDelayMs: 50, maxDelayMs: 300 } });
    await service.stop();
    await eventually(() => client.state === "reconnecting", 5000, "the client to notice");
    const pending = client.getServerInfo();
    await service.restart();
    const info = await pending;
    assert.equal(typeof info.version, "string");
    assert.equal(client.reconnects, 1);
  });

  // Last: it stops the service for good.
  test("with the server gone it gives up after maxAttempts; close() ends a reconnect at once", async () => {
    const giving = await open({ token: service.token("viewer"), reconnect: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 3 } });
    const forever = await open({ token: service.token("viewer"), reconnect: { initialDelayMs: 20, maxDelayMs: 40 } });
    const sub = await giving.subscribe(["camera.*"]);
    await service.stop();
    assert.equal((await Promise.race([sub.ended, sleep(10000).then(() => null)]))?.reason, "connection_closed");
    assert.equal(giving.state, "closed");
    await assert.rejects(giving.getCameraList(), ConnectionError);
    await eventually(() => forever.state === "reconnecting", 5000, "reconnecting");
    const started = Date.now();
    await forever.close();
    assert.equal(forever.state, "closed");
    assert.ok(Date.now() - started < 2000, "close does not wait for the reconnects");
  });
});

test("the client refuses to start without a credential", { skip: skip ?? false }, async () => {
  await assert.rejects(CameraServiceClient.connect("ws://127.0.0.1:1/ws", {}), TypeError);
});
