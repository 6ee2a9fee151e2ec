/**
 * The Extism peer bench (never asserts; writes bench/results/peer.json): the same guest
 * logic on clawft and on the Extism JS SDK 1.0.3 and 2.0.0-rc13 (both `runInWorker: true`),
 * in one run, every row a ratio clawft / Extism with both raw values:
 *  - no-op call p50 and p99 (`echo` of `null`);
 *  - host-call round trip (a guest loop calling a host function N times; µs per call);
 *  - load of a ~300 KB module, cached and uncached (Extism: `createPlugin` with a compiled
 *    module, and with fresh bytes; it keeps no cache of its own);
 *  - RSS per loaded idle plugin; process RSS with 100 loaded plugins (and, on clawft, with
 *    `idleTimeoutMs` hibernation, plus the first call after it);
 *  - 1,000 concurrent calls over 100 plugins (Extism caller-queued: one call at a time per plugin);
 *  - the latency rows again beside one busy-looping neighbour process.
 * Rounds are interleaved (clawft, Extism 1, Extism 2, then the next round, order rotated) and
 * each figure is the median over rounds. Every scenario runs in a fresh child process.
 *
 * Usage: `pnpm bench` (full, ≤ ~5 min) or `pnpm bench -- --quick` (one short round, for development).
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import ts from "typescript";
import { bigClawftGuest, bigExtismGuest, clawftEchoGuest, clawftEnvGuest, extismGuest } from "./guests.js";
import type { Job, JobResult } from "./side.js";
import { EXTISM_SIDES, type SideName } from "./constants.js";

const quick = process.argv.includes("--quick");
/** `--verbose`: one line per scenario run (time taken, figures). */
const verbose = process.argv.includes("--verbose");
const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, "..");

/** How much of everything: full keeps one run under ~5 minutes on the 2-core machine. */
const plan = quick
  ? { rounds: 1, noopCalls: 300, clawftReps: 5, clawftCallsPerRep: 10_000, extismReps: 2, extismCallsPerRep: 20, loads: 2, rssPlugins: 8, scalePlugins: 100, scaleRounds: 1 }
  : { rounds: 3, noopCalls: 2000, clawftReps: 20, clawftCallsPerRep: 10_000, extismReps: 3, extismCallsPerRep: 40, loads: 3, rssPlugins: 16, scalePlugins: 100, scaleRounds: 3 };
const CONCURRENT_CALLS = 1000;
const IDLE_TIMEOUT_MS = 1000;
const SIDES: readonly SideName[] = ["clawft", ...EXTISM_SIDES];

// ---- the child runner: side.ts and what it imports, type-stripped, run with plain node ----
const jsDir = join(packageDir, ".cache", "js");
mkdirSync(jsDir, { recursive: true });
for (const file of ["constants.ts", "sides.ts", "side.ts"]) {
  const out = ts.transpileModule(readFileSync(join(here, file), "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  writeFileSync(join(jsDir, file.replace(/\.ts$/, ".js")), out.outputText);
}
const sideScript = join(jsDir, "side.js");

let failures = 0;
/** Runs one job in a fresh `node --expose-gc` (no tsx) and returns its result, or undefined if it failed. */
function runJob(job: Job): Promise<JobResult | undefined> {
  const t = performance.now();
  return new Promise((resolve) => {
    const child = fork(sideScript, [JSON.stringify(job)], { execArgv: ["--expose-gc", "--no-warnings"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let result: JobResult | undefined;
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("message", (m: { ok: boolean; result?: JobResult; error?: string }) => {
      if (m.ok) result = m.result;
      else console.error(`peer bench: ${job.scenario} on ${job.side} failed: ${m.error}`);
    });
    child.on("exit", () => {
      clearTimeout(timer);
      if (result === undefined) failures++;
      if (verbose) console.log(`  ${job.scenario} ${job.side}: ${((performance.now() - t) / 1000).toFixed(1)} s ${JSON.stringify(result, (_k, v: unknown) => (Array.isArray(v) ? undefined : v))}`);
      resolve(result);
    });
  });
}

/**
 * One busy-looping neighbour process (a second runnable thread on the 2-core machine). It
 * checks every ~10 ms that this process is still its parent and exits once it is not, so an
 * interrupted bench never leaves a spinning process behind on a shared machine.
 */
function startNeighbour(): ChildProcess {
  const loop = `const parent = ${process.pid}; for (;;) { for (let i = 0; i < 1e7; i++); if (process.ppid !== parent) process.exit(0); }`;
  const child = spawn(process.execPath, ["-e", loop], { stdio: "ignore" });
  neighbours.add(child);
  child.once("exit", () => neighbours.delete(child));
  return child;
}
const neighbours = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of neighbours) child.kill("SIGKILL");
});

function stopNeighbour(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

// ---- guests, written once to a temp dir for the children ----
const tmp = mkdtempSync(join(tmpdir(), "clawft-bench-peer-"));
const write = (name: string, bytes: Uint8Array): string => {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
};
let salt = 1;
/** A ~300 KB guest for each side no cache has seen: a fresh salt per load. */
async function freshBig(side: SideName): Promise<string> {
  const s = salt++;
  return write(`big-${side}-${s}.wasm`, side === "clawft" ? await bigClawftGuest(s) : await bigExtismGuest(s));
}

const figures = new Map<string, number[]>();
const record = (key: string, value: number | undefined): void => {
  if (value === undefined || !Number.isFinite(value)) return;
  figures.set(key, [...(figures.get(key) ?? []), value]);
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const figure = (key: string): number | undefined => {
  const xs = figures.get(key);
  return xs?.length ? median(xs) : undefined;
};
const num = (r: JobResult | undefined, name: string): number | undefined => {
  const v = r?.[name];
  return typeof v === "number" ? v : undefined;
};

const started = performance.now();
try {
  const wasm = {
    clawftEcho: write("clawft-echo.wasm", await clawftEchoGuest()),
    clawftEnv: write("clawft-env.wasm", await clawftEnvGuest()),
    extism: write("extism.wasm", await extismGuest()),
    bigCached: {} as Record<string, string>,
  };
  for (const side of SIDES) wasm.bigCached[side] = await freshBig(side);
  const echoOf = (side: SideName) => (side === "clawft" ? wasm.clawftEcho : wasm.extism);

  for (const condition of ["quiet", "busy"] as const) {
    for (let round = 0; round < plan.rounds; round++) {
      // Fresh ~300 KB guests for this round's uncached loads, built before any neighbour runs.
      const uncached = new Map<SideName, string[]>();
      for (const side of SIDES) uncached.set(side, await Promise.all(Array.from({ length: plan.loads }, () => freshBig(side))));
      const neighbour = condition === "busy" ? startNeighbour() : undefined;
      const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length]!);
      for (const side of order) {
        const key = (name: string) => `${condition}/${side}/${name}`;
        const noop = await runJob({ scenario: "noop", side, wasm: echoOf(side), calls: plan.noopCalls });
        record(key("noop-p50"), num(noop, "p50"));
        record(key("noop-p99"), num(noop, "p99"));
        const clawft = side === "clawft";
        const hostcall = await runJob({
          scenario: "hostcall",
          side,
          wasm: clawft ? wasm.clawftEnv : wasm.extism,
          reps: clawft ? plan.clawftReps : plan.extismReps,
          callsPerRep: clawft ? plan.clawftCallsPerRep : plan.extismCallsPerRep,
        });
        record(key("hostcall-p50"), num(hostcall, "p50"));
        record(key("hostcall-within10us"), num(hostcall, "within10us"));
        const load = await runJob({ scenario: "load", side, cached: wasm.bigCached[side]!, uncached: uncached.get(side)!, cachedLoads: plan.loads, gapMs: 150 });
        record(key("load-cached"), num(load, "cached"));
        record(key("load-uncached"), num(load, "uncached"));
        record("bytes", num(load, "bytes"));
      }
      if (neighbour) await stopNeighbour(neighbour);
    }
    // 100 plugins: concurrent calls (and, quiet, the process RSS), once per side.
    const neighbour = condition === "busy" ? startNeighbour() : undefined;
    for (const side of SIDES) {
      const scale = await runJob({ scenario: "scale", side, wasm: echoOf(side), plugins: plan.scalePlugins, calls: CONCURRENT_CALLS, rounds: plan.scaleRounds });
      record(`${condition}/${side}/concurrent`, num(scale, "concurrent"));
      if (condition === "quiet") record(`quiet/${side}/rss-100`, num(scale, "rss"));
    }
    if (neighbour) await stopNeighbour(neighbour);
  }

  for (const side of SIDES) {
    const rss = await runJob({ scenario: "rss", side, wasm: echoOf(side), plugins: plan.rssPlugins });
    record(`quiet/${side}/rss-per-plugin`, num(rss, "perPlugin"));
  }
  // clawft's hibernation (createHost({ idleTimeoutMs })): 100 plugins, all idle past it.
  const hibernated = await runJob({ scenario: "scale", side: "clawft", wasm: wasm.clawftEcho, plugins: plan.scalePlugins, calls: 0, rounds: 0, idleTimeoutMs: IDLE_TIMEOUT_MS });
  record("quiet/clawft/rss-100-hibernated", num(hibernated, "rss"));
  record("quiet/clawft/first-call-after-hibernation", num(hibernated, "firstCallAfterHibernation"));

  // ---- rows: clawft / Extism, each Extism release, both raw values ----
  const kb = Math.round((figure("bytes") ?? 0) / 1024);
  const compared: Array<{ id: string; figure: string; unit: string; target?: number; busyTarget?: number; quietOnly?: boolean }> = [
    { id: "noop-call-p50", figure: "noop-p50", unit: "µs" },
    { id: "noop-call-p99", figure: "noop-p99", unit: "µs", busyTarget: 1 },
    { id: "host-call-round-trip-p50", figure: "hostcall-p50", unit: "µs/call" },
    { id: `load-cached-${kb}KB`, figure: "load-cached", unit: "ms" },
    { id: `load-uncached-${kb}KB`, figure: "load-uncached", unit: "ms", target: 1 },
    { id: "rss-per-idle-plugin", figure: "rss-per-plugin", unit: "MiB", quietOnly: true },
    { id: "rss-process-100-plugins", figure: "rss-100", unit: "MiB", quietOnly: true },
    { id: "1000-concurrent-calls-100-plugins", figure: "concurrent", unit: "ms", target: 1 },
  ];
  const rows: BenchRow[] = [];
  for (const c of compared) {
    for (const condition of c.quietOnly ? (["quiet"] as const) : (["quiet", "busy"] as const)) {
      for (const extism of EXTISM_SIDES) {
        const value = figure(`${condition}/clawft/${c.figure}`);
        const baseline = figure(`${condition}/${extism}/${c.figure}`);
        if (value === undefined || baseline === undefined) continue;
        const target = condition === "busy" ? (c.busyTarget ?? c.target) : c.target;
        rows.push({ id: `peer-${c.id}${condition === "busy" ? "-busy" : ""}-vs-${extism}`, value, unit: c.unit, baseline, ...(target === undefined ? {} : { target }) });
      }
    }
  }
  // 100 idle plugins: clawft hibernated (its workers stopped) against Extism's 100 workers.
  for (const extism of EXTISM_SIDES) {
    const value = figure("quiet/clawft/rss-100-hibernated");
    const baseline = figure(`quiet/${extism}/rss-100`);
    if (value !== undefined && baseline !== undefined) rows.push({ id: `peer-rss-process-100-plugins-hibernated-vs-${extism}`, value, unit: "MiB", baseline });
  }
  // clawft's own figures with the absolute goals of issue #17.
  const own: Array<[string, string, string, number]> = [
    ["peer-clawft-host-call-p50-quiet", "quiet/clawft/hostcall-p50", "µs/call", 3],
    ["peer-clawft-host-call-reps-within-10us-busy", "busy/clawft/hostcall-within10us", "fraction", 0.95],
    ["peer-clawft-rss-per-idle-plugin", "quiet/clawft/rss-per-plugin", "MiB", 6],
    ["peer-clawft-rss-process-100-plugins-hibernated", "quiet/clawft/rss-100-hibernated", "MiB", 250],
    ["peer-clawft-first-call-after-hibernation", "quiet/clawft/first-call-after-hibernation", "ms", 25],
  ];
  for (const [id, key, unit, target] of own) {
    const value = figure(key);
    if (value !== undefined) rows.push({ id, value, unit, target });
  }
  // How many interleaved rounds the medians are over (1: a --quick run, not a reference).
  rows.push({ id: "peer-run-rounds", value: plan.rounds, unit: "rounds" });
  writeBenchResults("peer", rows);
  console.log(`peer bench: ${quick ? "quick" : "full"} run in ${((performance.now() - started) / 1000).toFixed(0)} s`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`peer bench: ${failures} scenario(s) failed`);
  process.exitCode = 1;
}
