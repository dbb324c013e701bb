// Starts the real camera-service binary for the tests: 127.0.0.1, an ephemeral port, two
// simulated cameras, direct media, state in a temp dir. `restart()` starts it again on the same
// port with the same state (keys, secret), as a service restart would.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const TEST_SECRET = "test-secret-test-secret-test-secret-0123456789";

/** The binary under test: $CAMERA_SERVICE_BIN or target/debug/camera-service. */
export function binary() {
  if (process.env.CAMERA_SERVICE_BIN) return process.env.CAMERA_SERVICE_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(repo, "target");
  return join(target, "debug", "camera-service");
}

/** Why the tests cannot run here, or null. */
export function cannotRun() {
  if (!existsSync(binary())) return `${binary()} is missing: build it (cargo build -p cs-app)`;
  if (typeof globalThis.WebSocket !== "function") return "no global WebSocket (Node >= 22, or --experimental-websocket on Node 20)";
  return null;
}

export class TestService {
  constructor(dir, port) {
    this.dir = dir;
    this.port = port;
    this.child = null;
    this.logs = [];
  }

  static async start() {
    const dir = mkdtempSync(join(tmpdir(), "cs-client-ts-"));
    mkdirSync(join(dir, "sim"));
    const service = new TestService(dir, 0);
    await service.#spawn();
    return service;
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get configPath() {
    return join(this.dir, "config.yaml");
  }

  #writeConfig() {
    const d = this.dir;
    writeFileSync(
      this.configPath,
      `server: {host: 127.0.0.1, port: ${this.port}, public_host: camera.test}
auth:
  jwt_secret: ${TEST_SECRET}
  jwt_secret_file: ${d}/jwt-secret
  keys_file: ${d}/api-keys.json
camera:
  simulated_dir: ${d}/sim
storage:
  recordings_dir: ${d}/recordings
  snapshots_dir: ${d}/snapshots
  state_dir: ${d}/state
  min_free_bytes: 1048576
media: {mode: direct}
logging: {level: info, format: json, audit_file: ${d}/audit.log}
`,
    );
  }

  async #spawn() {
    this.#writeConfig();
    const env = { ...process.env };
    delete env.CAMERA_SERVICE_BIN; // the tests' own variable, kept from the service
    const child = spawn(binary(), ["--config", this.configPath, "serve"], { stdio: ["ignore", "pipe", "pipe"], env });
    this.child = child;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    this.exited = exited;
    createInterface({ input: child.stderr }).on("line", (l) => this.logs.push(`stderr: ${l}`));
    const lines = createInterface({ input: child.stdout });
    const addr = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the service did not start:\n${this.logs.join("\n")}`)), 20000);
      lines.on("line", (line) => {
        this.logs.push(line);
        try {
          const v = JSON.parse(line);
          if (v.msg === "listening") {
            clearTimeout(timer);
            resolve(v.addr);
          }
        } catch {
          // not a JSON log line
        }
      });
      exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the service exited (${code}):\n${this.logs.join("\n")}`));
      });
    });
    this.port = Number(addr.split(":").pop());
  }

  /** Stops the process (SIGTERM, then SIGKILL after 5 s). */
  async stop() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const child = this.child;
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.kill("SIGTERM");
    await this.exited;
    clearTimeout(timer);
  }

  /** Stops it and starts it again on the same port with the same state. */
  async restart() {
    await this.stop();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#spawn();
        return;
      } catch (error) {
        if (attempt >= 20) throw error; // the port may linger for a moment
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Stops it and removes its state. */
  async dispose() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  #cli(args) {
    return execFileSync(binary(), ["--config", this.configPath, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  }

  /** A JWT from `camera-service token`. */
  token(role, lifetime = "1h") {
    return this.#cli(["token", "--role", role, "--lifetime", lifetime, "--user", "client-test"]);
  }

  /** A new API key from `camera-service keys add`. */
  apiKey(role) {
    return this.#cli(["keys", "add", "--role", role, "--label", "client-test"]);
  }

  /** Revokes an API key (`csk_<id>_<secret>`) with `camera-service keys revoke`. */
  revokeKey(key) {
    this.#cli(["keys", "revoke", key.split("_")[1]]);
  }

  /** Plugs a simulated camera by writing its descriptor file. */
  plugSim(index, name = `Plugged ${index}`) {
    const tmp = join(this.dir, "sim", `.camera${index}.tmp`);
    writeFileSync(tmp, `index: ${index}\nname: ${name}\n`);
    renameSync(tmp, join(this.dir, "sim", `camera${index}.yaml`));
  }

  unplugSim(index) {
    rmSync(join(this.dir, "sim", `camera${index}.yaml`));
  }
}

/** Resolves with the first value `f` gives that is not undefined, or rejects after `ms`. */
export async function eventually(f, ms = 10000, what = "a condition") {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The next value of an async iterator, or a rejection after `ms`. */
export async function nextWithin(iterator, ms, what) {
  let timer;
  try {
    return await Promise.race([
      iterator.next(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
