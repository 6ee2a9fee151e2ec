/**
 * Wait-strategy probe (never asserts; writes bench/results/host-wait.json).
 *
 * Reps of 10,000 host calls (guest → get-env → guest, one executeTool each), quiet
 * and with one busy-looping neighbour process, for the current wait strategy and
 * for the one it replaced (`CLAWFT_WAIT_STRATEGY=spin-2020`: worker spins 20,000
 * iterations then sleeps, the main thread spins 2,000 then waits on its event loop),
 * interleaved rep by rep so that both see the same machine. Reports the
 * distribution of per-rep means (p50, p95, worst, share of reps ≤ 10 µs), the
 * executeTool p50/p99 of an empty tool with the neighbour, and the CPU time the
 * process burns per host call.
 *
 * Usage: tsx bench/wait.ts [reps]   (default 12 reps per strategy and condition)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHost, type Host, type Plugin } from "@clawft/host";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import { fixtureWithTools } from "../test/helpers.js";

const REPS = Number(process.argv[2] ?? 12);
const CALLS = 10_000;
const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
const STRATEGIES = ["adaptive", "spin-2020"] as const;
type Strategy = (typeof STRATEGIES)[number];

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

interface Subject {
  host: Host;
  hostCall: Plugin;
  empty: Plugin;
}

async function subject(strategy: Strategy): Promise<Subject> {
  // Read by each plugin runtime when it starts (main side) and sent to its worker.
  process.env.CLAWFT_WAIT_STRATEGY = strategy;
  const host = createHost({ logger: quiet });
  const manifest = (id: string) => ({ id, name: id, version: "1.0.0", capabilities: ["tool"] });
  const hostCall = await host.load({ manifest: manifest(`bench.wait.${strategy}`), wasm: await fixtureWithTools("slow-host-call", ["env"]) });
  const empty = await host.load({ manifest: manifest(`bench.wait.empty.${strategy}`), wasm: await buildFixture("empty-tool") });
  delete process.env.CLAWFT_WAIT_STRATEGY;
  return { host, hostCall, empty };
}

/** One rep: mean µs per host call over CALLS calls, and the process CPU µs per call. */
async function rep(p: Plugin): Promise<{ mean: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  await p.executeTool("env", [CALLS, "BENCH_VAR"]);
  const wall = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  return { mean: (wall / CALLS) * 1000, cpu: (cpu.user + cpu.system) / CALLS };
}

async function executeToolLatencies(p: Plugin, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await p.executeTool("run", null);
    out.push((performance.now() - t) * 1000);
  }
  return out;
}

function neighbour(): ChildProcess {
  // One busy-looping process at normal priority, as another program on the machine.
  return spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" });
}

const subjects = new Map<Strategy, Subject>();
for (const s of STRATEGIES) subjects.set(s, await subject(s));
// Warm up: JIT on both sides.
for (const s of STRATEGIES) {
  const { hostCall, empty } = subjects.get(s) as Subject;
  await rep(hostCall);
  await executeToolLatencies(empty, 500);
}

const rows: BenchRow[] = [];
for (const condition of ["quiet", "busy-neighbour"] as const) {
  const child = condition === "busy-neighbour" ? neighbour() : undefined;
  if (child) await new Promise((r) => setTimeout(r, 300));
  const means = new Map<Strategy, number[]>(STRATEGIES.map((s) => [s, []]));
  const cpus = new Map<Strategy, number[]>(STRATEGIES.map((s) => [s, []]));
  const tools = new Map<Strategy, number[]>(STRATEGIES.map((s) => [s, []]));
  for (let r = 0; r < REPS; r++) {
    for (const s of r % 2 === 0 ? STRATEGIES : [...STRATEGIES].reverse()) {
      const { hostCall, empty } = subjects.get(s) as Subject;
      const { mean, cpu } = await rep(hostCall);
      means.get(s)?.push(mean);
      cpus.get(s)?.push(cpu);
      tools.get(s)?.push(...(await executeToolLatencies(empty, 200)));
    }
  }
  child?.kill("SIGKILL");
  for (const s of STRATEGIES) {
    const m = means.get(s) as number[];
    const tl = tools.get(s) as number[];
    const tag = `${condition}-${s}`;
    const within = m.filter((x) => x <= 10).length / m.length;
    console.log(
      `${tag.padEnd(28)} host call per-rep mean µs: p50 ${quantile(m, 0.5).toFixed(2)} p95 ${quantile(m, 0.95).toFixed(2)} max ${Math.max(...m).toFixed(2)}; ` +
        `≤10µs ${(within * 100).toFixed(0)}% of ${m.length}; cpu/call ${quantile(cpus.get(s) as number[], 0.5).toFixed(2)} µs; ` +
        `executeTool p50 ${quantile(tl, 0.5).toFixed(0)} p99 ${quantile(tl, 0.99).toFixed(0)} µs`,
    );
    rows.push({ id: `host-call-rep-mean-p50-${tag}`, value: quantile(m, 0.5), unit: "µs/call", ...(condition === "quiet" && s === "adaptive" ? { target: 3 } : {}) });
    rows.push({ id: `host-call-rep-mean-p95-${tag}`, value: quantile(m, 0.95), unit: "µs/call" });
    rows.push({ id: `host-call-reps-within-10us-${tag}`, value: within * 100, unit: "%", ...(condition === "busy-neighbour" && s === "adaptive" ? { target: 95 } : {}) });
    rows.push({ id: `host-call-cpu-per-call-${tag}`, value: quantile(cpus.get(s) as number[], 0.5), unit: "µs CPU/call" });
    rows.push({ id: `executeTool-empty-p50-${tag}`, value: quantile(tl, 0.5), unit: "µs" });
    rows.push({ id: `executeTool-empty-p99-${tag}`, value: quantile(tl, 0.99), unit: "µs" });
  }
}
for (const { host } of subjects.values()) await host.close();
writeBenchResults("host-wait", rows);
