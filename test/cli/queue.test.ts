// `peftlab run --queue` and `peftlab worker` end to end on a real Redis (Debian's redis-server,
// started here on a free port of 127.0.0.1 with a password and a temporary folder) and the built CLI:
// a plan split over two worker processes gives the summary, logs and adapter bytes of a local run; a
// worker SIGKILLed mid-job is replaced by another, which continues from the checkpoint with the same
// results; a job that always fails is retried, then reported failed while the others finish; a run
// folder a worker cannot see fails its job with a message saying so; a wrong password and an
// unreachable Redis are clear errors within seconds; rediss:// checks the server's certificate; the
// password is in no file of the run folder.
// Skipped when redis-server is missing, unless CI=true or PEFTLAB_REQUIRE_REDIS=1 (then it fails).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bin/peftlab.js");
const PASSWORD = "pl-test-Secret-7781";
const redisServer = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => fs.existsSync(p)) ?? null;
const required = process.env.CI === "true" || process.env.PEFTLAB_REQUIRE_REDIS === "1";
if (!redisServer && !required) console.warn("queue tests skipped: redis-server not found (apt-get install redis-server, or set PEFTLAB_REQUIRE_REDIS=1 to fail instead)");

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peftlab-queue-"));
let redis: ChildProcess | null = null;
let port = 0;
const url = () => `redis://:${PASSWORD}@127.0.0.1:${port}`;
const workers: ChildProcess[] = [];

const EXPERIMENT = `backend wasm
model base = decoder { layers 1, width 16, heads 2, context 16 }
data sums = addition { digits 1, train 32, validation 8, test 8 }
adapter a = lora { rank 2, alpha 4, target "q_proj", "v_proj" }
train { steps STEPS, batch 4, lr 3e-3, seeds 1 2, eval every 8 steps on 8 examples, log every 1 steps, checkpoint every 4 steps }
run one = base + a on sums
run two = base + a on sums
`;

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A free TCP port on 127.0.0.1 (or one nothing listens on, for the unreachable case). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

/** Runs the CLI to its end; resolves to its status and output. */
function cli(args: string[], timeoutMs = 90_000): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env: process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Starts `peftlab worker` and resolves once it takes jobs; its log collects in `log()`. */
async function startWorker(extra: string[] = []): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(process.execPath, [BIN, "worker", "--queue", url(), "--stall-timeout", "2", ...extra], { cwd: tmp, env: process.env });
  workers.push(child);
  let log = "";
  child.stderr!.on("data", (d) => (log += d));
  child.stdout!.on("data", (d) => (log += d));
  await waitFor(() => /takes jobs/.test(log) || child.exitCode !== null, 30_000);
  if (!/takes jobs/.test(log)) throw new Error(`the worker did not start:\n${log}`);
  return { child, log: () => log };
}

async function waitFor(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops a worker the way a user does (SIGTERM) and waits for it to exit. */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));

/** A value without what depends on the clock or the process (its resident memory). */
function timeless(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(timeless);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !/time|ms$|per_?s$|tokens_?per|wall|rss/i.test(k)).map(([k, x]) => [k, timeless(x)]));
  }
  return v;
}

/** What a job computed: its result's metrics, its logs without times, its adapter's bytes. */
function jobRecord(dir: string, job: string): unknown {
  const lines = (f: string) => fs.readFileSync(path.join(dir, job, f), "utf8").split("\n").filter(Boolean).map((l) => timeless(JSON.parse(l)));
  const adapter = path.join(dir, job, "adapter");
  return {
    result: timeless(readJson(path.join(dir, job, "result.json"))),
    metrics: lines("metrics.jsonl"),
    events: lines("events.jsonl").filter((e) => (e as { type: string }).type !== "checkpoint"),
    adapter: fs.readdirSync(adapter).sort().map((f) => [f, fs.readFileSync(path.join(adapter, f)).toString("base64")]),
  };
}

/** Every file under `dir`, as text. */
function allFiles(dir: string): { file: string; text: string }[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile())
    .map((f) => ({ file: path.join(f.parentPath, f.name), text: fs.readFileSync(path.join(f.parentPath, f.name)).toString("latin1") }));
}

const JOBS = ["one/1", "one/2", "two/1", "two/2"];

describe.skipIf(!redisServer && !required)("peftlab run --queue and peftlab worker", () => {
  beforeAll(async () => {
    if (!redisServer) throw new Error("redis-server is missing (apt-get install redis-server; .ci/run installs it)");
    if (!fs.existsSync(path.join(ROOT, "dist/runtime/run/queue-worker.js"))) throw new Error("dist/ lacks the queue worker: npm run build first");
    port = await freePort();
    const dir = path.join(tmp, "redis");
    fs.mkdirSync(dir);
    redis = spawn(redisServer, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--requirepass", PASSWORD], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    redis.stdout!.on("data", (d) => (out += d));
    await waitFor(() => /Ready to accept connections/.test(out), 10_000);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    redis?.kill("SIGTERM");
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("splits a plan over two worker processes with the summary, logs and adapters of a local run", async () => {
    const file = write("exp.peft", EXPERIMENT.replace("STEPS", "32"));
    const local = await cli(["run", file, "--out", path.join(tmp, "local"), "--jobs", "1", "--quiet"]);
    expect(local.status, local.stderr).toBe(0);
    const [a, b] = await Promise.all([startWorker(), startWorker()]);
    const queued = await cli(["run", file, "--out", path.join(tmp, "queued"), "--queue", url()]);
    expect(queued.status, queued.stderr).toBe(0);
    // The same display as a local run: each job starts, logs its evaluations and finishes.
    for (const job of JOBS) expect(queued.stderr).toMatch(new RegExp(`${job}: finished`));
    expect(queued.stdout).toMatch(/results \(4\/4 jobs finished\)/);
    // Both workers trained some of the jobs.
    expect(a.log()).toMatch(/: finished/);
    expect(b.log()).toMatch(/: finished/);
    expect(timeless(readJson(path.join(tmp, "queued", "summary.json")))).toEqual(timeless(readJson(path.join(tmp, "local", "summary.json"))));
    for (const job of JOBS) expect(jobRecord(path.join(tmp, "queued"), job), job).toEqual(jobRecord(path.join(tmp, "local"), job));
    expect(fs.existsSync(path.join(tmp, "queued", "report.html"))).toBe(true);

    // The password is in no message and no file of the run folder.
    for (const text of [queued.stdout, queued.stderr, a.log(), b.log()]) expect(text).not.toContain(PASSWORD);
    expect(queued.stderr).toContain(`redis://:***@127.0.0.1:${port}`);
    for (const { file: f, text } of allFiles(path.join(tmp, "queued"))) expect(text.includes(PASSWORD), f).toBe(false);

    // queue status lists them as finished (completed), without the password.
    const status = await cli(["queue", "status", "--queue", url()]);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/4 finished/);
    expect(status.stdout).toMatch(/completed\s+one\/1/);
    expect(status.stdout).not.toContain(PASSWORD);
  }, 120_000);

  it("hands a job whose worker was SIGKILLed to another worker, which continues from the checkpoint with the same results", async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
    const file = write("long.peft", EXPERIMENT.replace("STEPS", "160").replace("run two = base + a on sums\n", ""));
    const local = await cli(["run", file, "--out", path.join(tmp, "long-local"), "--jobs", "1", "--quiet", "--only", "one"]);
    expect(local.status, local.stderr).toBe(0);
    const victim = await startWorker();
    const out = path.join(tmp, "long-queued");
    const running = cli(["run", file, "--out", out, "--queue", url(), "--only", "one"]);
    // Kill the worker once its first job has written a checkpoint, mid-job.
    await waitFor(() => fs.existsSync(path.join(out, "one", "1", "checkpoint")), 60_000);
    victim.child.kill("SIGKILL");
    const heir = await startWorker();
    const queued = await running;
    expect(queued.status, queued.stderr).toBe(0);
    expect(heir.log()).toMatch(/one\/1 \(.*\): continuing from its checkpoint/);
    expect(queued.stderr).toMatch(/one\/1: resuming from the checkpoint at step \d+/);
    for (const job of ["one/1", "one/2"]) expect(jobRecord(out, job), job).toEqual(jobRecord(path.join(tmp, "long-local"), job));
    expect(timeless(readJson(path.join(out, "summary.json")))).toEqual(timeless(readJson(path.join(tmp, "long-local", "summary.json"))));
  }, 120_000);

  it("leaves the jobs on the queue when the coordinator is stopped (Ctrl-C), and --resume follows them to the end", async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
    const file = path.join(tmp, "exp.peft");
    const out = path.join(tmp, "detached");
    const args = ["run", file, "--out", out, "--queue", url(), "--only", "one"];
    const coordinator = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env: process.env });
    let stderr = "";
    coordinator.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => coordinator.once("exit", r));
    await waitFor(() => /queued or running; no worker is connected/.test(stderr), 60_000);
    coordinator.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/stopped following the queue; .*--queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ --resume/);
    expect(stderr).not.toContain(PASSWORD);
    const status = await cli(["queue", "status", "--queue", url(), "--format", "json"]);
    const jobs = JSON.parse(status.stdout).jobs as { state: string; job: string; out: string }[];
    expect(jobs.filter((j) => j.out === out).map((j) => [j.job, j.state]).sort()).toEqual([["one/1", "waiting"], ["one/2", "waiting"]]);
    await startWorker();
    const resumed = await cli([...args, "--resume"]);
    expect(resumed.status, resumed.stderr).toBe(0);
    for (const job of ["one/1", "one/2"]) expect(jobRecord(out, job), job).toEqual(jobRecord(path.join(tmp, "local"), job));
  }, 120_000);

  it("retries a job that always fails, then reports it failed while the others finish", async () => {
    // A model folder with a config but no weights passes the checks and fails when loaded.
    const folder = path.join(tmp, "no-weights");
    fs.mkdirSync(folder, { recursive: true });
    fs.copyFileSync(path.join(ROOT, "test/fixtures/models/config-only/config.json"), path.join(folder, "config.json"));
    const file = write("fail.peft", `${EXPERIMENT.replace("STEPS", "8")}model mine = hf "no-weights"\nrun bad = mine + a on sums\n`);
    const live = workers.some((w) => w.exitCode === null && w.signalCode === null);
    const worker = live ? null : await startWorker();
    const out = path.join(tmp, "failing");
    const r = await cli(["run", file, "--out", out, "--queue", url(), "--retries", "1", "--only", "one,bad"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAILED bad seed 1 .*no-weights/);
    expect(readJson(path.join(out, "one", "2", "result.json")).status).toBe("finished");
    const bad = readJson(path.join(out, "bad", "1", "result.json"));
    expect(bad.status).toBe("failed");
    expect(bad.error).toMatch(/no-weights/);
    expect(readJson(path.join(out, "summary.json")).runs.map((s: { run: string }) => s.run)).toContain("bad");
    const status = await cli(["queue", "status", "--queue", url(), "--format", "json"]);
    const jobs = JSON.parse(status.stdout).jobs as { state: string; job: string; out: string; attempts: string }[];
    expect(jobs.filter((j) => j.out === out && j.state === "failed").map((j) => [j.job, j.attempts]).sort()).toEqual([["bad/1", "2/2"], ["bad/2", "2/2"]]);
    if (worker) await stopWorker(worker.child);
  }, 120_000);

  it("fails a job at once when the worker cannot see its run folder", async () => {
    const queue = new Queue("peftlab", { connection: { host: "127.0.0.1", port, password: PASSWORD, maxRetriesPerRequest: null } });
    try {
      const planFile = write("lost.peft", EXPERIMENT.replace("STEPS", "4"));
      const plan = spawnSync(process.execPath, [BIN, "plan", planFile], { encoding: "utf8" });
      expect(plan.status, plan.stderr).toBe(0);
      const spec = JSON.parse(plan.stdout);
      const missing = path.join(tmp, "not-mounted-here");
      const job = { spec: { plan: spec, run: spec.runs[0], seed: 1, lr: 3e-3 }, index: 0, folder: "one/1" };
      const added = await queue.add("one/1", { format: 1, key: "0123456789abcdef", out: missing, baseDir: tmp, backend: null, job }, { jobId: "0123456789abcdef.one/1", attempts: 3 });
      let state = "";
      for (let i = 0; i < 200 && state !== "failed"; i++) {
        state = await added.getState();
        await new Promise((r) => setTimeout(r, 100));
      }
      const failed = await queue.getJob(added.id!);
      expect(state).toBe("failed");
      expect(failed!.attemptsMade).toBe(1); // not retried: no attempt can succeed
      expect(failed!.failedReason).toMatch(/cannot see the run folder .*not-mounted-here.*shared file system/);
      expect(fs.existsSync(missing)).toBe(false);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it("connects with TLS (rediss://), checking the server's certificate", async () => {
    const dir = path.join(tmp, "tls");
    fs.mkdirSync(dir);
    const cert = path.join(dir, "cert.pem");
    const key = path.join(dir, "key.pem");
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { encoding: "utf8" });
    expect(made.status, `openssl: ${made.stderr}`).toBe(0);
    const tlsPort = await freePort();
    const server = spawn(redisServer!, ["--port", "0", "--tls-port", String(tlsPort), "--bind", "127.0.0.1", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-auth-clients", "no", "--dir", dir, "--save", "", "--appendonly", "no", "--requirepass", PASSWORD], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    server.stdout!.on("data", (d) => (out += d));
    try {
      await waitFor(() => /Ready to accept connections/.test(out), 10_000);
      const address = `rediss://:${PASSWORD}@localhost:${tlsPort}`;
      const trusted = spawnSync(process.execPath, [BIN, "queue", "status", "--queue", address], { cwd: tmp, encoding: "utf8", env: { ...process.env, NODE_EXTRA_CA_CERTS: cert } });
      expect(trusted.status, trusted.stderr).toBe(0);
      expect(trusted.stdout).toMatch(new RegExp(`^rediss://:\\*\\*\\*@localhost:${tlsPort}: 0 active`));
      const untrusted = spawnSync(process.execPath, [BIN, "queue", "status", "--queue", address], { cwd: tmp, encoding: "utf8" });
      expect(untrusted.status).toBe(1);
      expect(untrusted.stderr).toMatch(/self-signed certificate .*NODE_EXTRA_CA_CERTS/);
      const plain = spawnSync(process.execPath, [BIN, "queue", "status", "--queue", `redis://:${PASSWORD}@localhost:${tlsPort}`], { cwd: tmp, encoding: "utf8" });
      expect(plain.status).toBe(1);
      expect(`${trusted.stdout}${trusted.stderr}${untrusted.stderr}${plain.stderr}`).not.toContain(PASSWORD);
    } finally {
      server.kill("SIGTERM");
    }
  }, 60_000);

  it("answers a wrong password and an unreachable Redis with a clear error within seconds", async () => {
    // The connection check alone, timed in this process (a CLI's start-up time depends on the machine's load).
    const { checkRedis, parseQueueUrl } = await import(path.join(ROOT, "dist/runtime/run/queue-url.js"));
    const nobody = await freePort();
    for (const [address, cause] of [
      [`redis://:not-the-${PASSWORD}@127.0.0.1:${port}`, /Redis refused the user name or password/],
      [`redis://127.0.0.1:${port}`, /Redis requires a password/],
      [`redis://:${PASSWORD}@127.0.0.1:${nobody}`, /connection refused/],
    ] as const) {
      const t0 = Date.now();
      const error = await checkRedis(parseQueueUrl(address)).then(() => null, (e: Error) => e.message);
      expect(error, address).toMatch(cause);
      expect(error).not.toContain(PASSWORD);
      expect(Date.now() - t0, address).toBeLessThan(5_000);
    }
    const file = write("quick.peft", EXPERIMENT.replace("STEPS", "4"));
    const wrong = await cli(["run", file, "--out", path.join(tmp, "wrong"), "--queue", `redis://:not-the-${PASSWORD}@127.0.0.1:${port}`]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/cannot use the Redis queue at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: Redis refused the user name or password/);
    expect(wrong.stderr).not.toContain(PASSWORD);
    const away = await cli(["run", file, "--out", path.join(tmp, "away"), "--queue", `redis://:${PASSWORD}@127.0.0.1:${nobody}`]);
    expect(away.status).toBe(1);
    expect(away.stderr).toMatch(/cannot use the Redis queue at .*: connection refused/);
    expect(away.stderr).not.toContain(PASSWORD);
    const worker = await cli(["worker", "--queue", `redis://:wrong@127.0.0.1:${port}`]);
    expect(worker.status).toBe(1);
    expect(worker.stderr).toMatch(/refused the user name or password/);
    const bad = await cli(["run", file, "--queue", "http://127.0.0.1:1"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/expected a redis:\/\/ or rediss:\/\/ \(TLS\) URL/);
  }, 60_000);
});
