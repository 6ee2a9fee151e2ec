/**
 * Metering bench (writes bench/results/metering.json, never asserts):
 *
 * - runtime overhead: a CPU-bound loop (FNV-1a over 64 KiB of memory) and a
 *   call-heavy recursion (fib 27), metered vs plain, same run, interleaved,
 *   medians of CPU time (targets 1.10 and 1.15);
 * - instrumentation of a ~300 KB generated module and of a host-sized module
 *   (the host bench's tool-basic padded with 2600 functions, ~337 KB), not
 *   cached, warm (target 60 ms), with the previous binaryen engine measured in
 *   the same run as the baseline; a MeteringCache hit (target < 5 ms); CPU
 *   time per operation is reported next to wall time, because the bench
 *   machine is shared;
 * - peak RSS of a child process (plain node, built dist/) that instruments a
 *   ~12 MB module. Run after `build` (turbo's bench task depends on it).
 *
 * The big modules are generated here (bench/generate.ts), never committed.
 */
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTempDir, writeBenchResults, type BenchRow } from "@clawft/test-utils";
import binaryen from "binaryen";
import { Bench } from "tinybench";
import { FuelMeter, MeteringCache, meterModule } from "../src/index.js";
import { meterWithBinaryen } from "../test/reference/binaryen-meter.js";
import { generateModule } from "./generate.js";

function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals);
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

const RUNTIME = wat(`(module
  (memory (export "memory") 1)
  (func (export "fnv") (param $rounds i32) (result i32) (local $h i32) (local $i i32)
    (local.set $h (i32.const 0x811c9dc5))
    (loop $round
      (local.set $i (i32.const 0))
      (loop $byte
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $i))) (i32.const 0x01000193)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $byte (i32.lt_u (local.get $i) (i32.const 65536))))
      (br_if $round (local.tee $rounds (i32.sub (local.get $rounds) (i32.const 1)))))
    (local.get $h))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))`);

type Fn = (n: number) => number;
const plain = new WebAssembly.Instance(new WebAssembly.Module(RUNTIME as Uint8Array<ArrayBuffer>)).exports;
const metered = meterModule(RUNTIME);
const meter = new FuelMeter({ budget: 10_000_000_000 });
const instrumented = new WebAssembly.Instance(new WebAssembly.Module(metered.bytes as Uint8Array<ArrayBuffer>), meter.importsFor(metered.meta)).exports;
for (const e of [plain, instrumented]) new Uint8Array((e.memory as WebAssembly.Memory).buffer).forEach((_, i, a) => (a[i] = (i * 7) & 0xff));

/** CPU time of one call, in ms (CPU time, not wall time: the bench machine is shared). */
function cpuMs(f: () => void): number {
  const c = process.cpuUsage();
  f();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

/**
 * Plain and metered calls interleaved (alternating which goes first), so that
 * load from other processes hits both sides alike; medians of CPU time.
 * A tinybench warm-up lets V8 tier both up to optimised code first.
 */
async function ratio(plainFn: () => void, meteredFn: () => void): Promise<[number, number]> {
  const warm = new Bench({ time: 1_000, warmupTime: 200 });
  warm.add("plain", plainFn).add("metered", meteredFn);
  await warm.run();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 60; i++) {
    if (i % 2 === 0) {
      a.push(cpuMs(plainFn));
      b.push(cpuMs(meteredFn));
    } else {
      b.push(cpuMs(meteredFn));
      a.push(cpuMs(plainFn));
    }
  }
  return [median(a), median(b)];
}

const rows: BenchRow[] = [];
{
  const [base, value] = await ratio(
    () => void (plain.fnv as Fn)(32),
    () => {
      meter.reset();
      (instrumented.fnv as Fn)(32);
    },
  );
  rows.push({ id: "cpu-loop-fnv-2MiB-plain", value: base, unit: "ms (cpu)" });
  rows.push({ id: "cpu-loop-fnv-2MiB-metered", value, unit: "ms (cpu)", baseline: base, target: 1.1 });
}
{
  const [base, value] = await ratio(
    () => void (plain.fib as Fn)(27),
    () => {
      meter.reset();
      (instrumented.fib as Fn)(27);
    },
  );
  rows.push({ id: "recursion-fib27-plain", value: base, unit: "ms (cpu)" });
  rows.push({ id: "recursion-fib27-metered", value, unit: "ms (cpu)", baseline: base, target: 1.15 });
}
{
  // The same module metered by the previous binaryen engine (its output is byte-identical for this module), same run.
  const old = meterWithBinaryen(RUNTIME);
  const oldMeter = new FuelMeter({ budget: 10_000_000_000 });
  const oldInstance = new WebAssembly.Instance(new WebAssembly.Module(old.bytes as Uint8Array<ArrayBuffer>), oldMeter.importsFor(old.meta)).exports;
  const [base, value] = await ratio(
    () => void (plain.fib as Fn)(27),
    () => {
      oldMeter.reset();
      (oldInstance.fib as Fn)(27);
    },
  );
  rows.push({ id: "recursion-fib27-metered-by-binaryen", value, unit: "ms (cpu)", baseline: base, target: 1.15 });
}

// Instrumentation time. CPU time is what the target is about; wall time depends on the machine's load.
/** Median CPU and wall time of `runs` calls of `f` after `warmups` calls (the first one timed on its own). */
function timed(f: () => void, runs = 9, warmups = 4): { cpu: number; wall: number; first: number } {
  const t0 = performance.now();
  f();
  const first = performance.now() - t0;
  // "Warm" as in the host: V8 has tiered the rewriter up (the first calls in a process are slower, reported apart).
  for (let i = 1; i < warmups; i++) f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    f();
    wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  return { cpu: median(cpu), wall: median(wall), first };
}

/** The host bench's big plugin core module: tool-basic's kind of code padded with 2600 small functions (same WAT recipe). */
function hostSizedModule(salt: number): Uint8Array {
  const funcs: string[] = [];
  for (let i = 0; i < 2600; i++) {
    const body = Array.from({ length: 12 }, (_, k) => `(local.set $x (i32.add (local.get $x) (i32.const ${(i * 31 + k * 7 + salt) % 100000})))`).join(" ");
    funcs.push(`(func $pad${i} (param $x i32) (result i32) ${body} (local.get $x))`);
  }
  return wat(`(module (memory (export "memory") 1)
    ${funcs.join("\n")}
    (func $keep (export "pad-keep") (result i32) (call $pad0 (i32.const ${salt})))
    (func (export "echo") (param $p i32) (param $n i32) (result i32) (local $i i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.load8_u (i32.add (local.get $p) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (local.get $p)))`);
}

const medium = generateModule(300 * 1024);
for (const [name, input] of [
  [`instrument-${Math.round(medium.length / 1024)}KB`, medium],
  ["instrument-host-sized", hostSizedModule(1)],
] as const) {
  const id = name === "instrument-host-sized" ? `instrument-host-sized-${Math.round(input.length / 1024)}KB` : name;
  const fresh = timed(() => meterModule(input));
  const reference = timed(() => meterWithBinaryen(input), 3, 1);
  rows.push({ id: `${id}-first-call-in-process`, value: fresh.first, unit: "ms" });
  rows.push({ id: `${id}-binaryen-cpu`, value: reference.cpu, unit: "ms (cpu)" });
  rows.push({ id: `${id}-cpu`, value: fresh.cpu, unit: "ms (cpu)", baseline: reference.cpu, target: 60 });
  rows.push({ id: `${id}-binaryen-wall`, value: reference.wall, unit: "ms" });
  rows.push({ id: `${id}-wall`, value: fresh.wall, unit: "ms", baseline: reference.wall, target: 60 });
}
{
  const cache = new MeteringCache();
  await cache.meter(medium);
  const bench = new Bench({ time: 2_000, warmupTime: 200 });
  bench.add("cache hit", async () => {
    await cache.meter(medium);
  });
  await bench.run();
  const r = bench.tasks[0]?.result;
  if (r?.state !== "completed") throw new Error("cache bench failed");
  rows.push({ id: "instrument-300KB-cache-hit", value: r.latency.mean, unit: "ms", target: 5 });
}

// Peak RSS of instrumenting a ~12 MB module, in a fresh child process.
{
  const dir = await createTempDir("clawft-metering-bench-");
  try {
    const big = generateModule(12 * 1024 * 1024);
    const file = join(dir.path, "big.wasm");
    await writeFile(file, big);
    const child = fileURLToPath(new URL("./rss-child.mjs", import.meta.url));
    const res = spawnSync(process.execPath, [child, file], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (res.status !== 0) throw new Error(`rss child failed: ${res.stderr}`);
    const out = JSON.parse(res.stdout) as { before: number; after: number; ms: number; cpuMs: number; inputBytes: number };
    const MB = 1024 * 1024;
    rows.push({ id: `instrument-${(out.inputBytes / MB).toFixed(1)}MB-peak-rss`, value: out.after / MB, unit: "MB" });
    rows.push({ id: `instrument-${(out.inputBytes / MB).toFixed(1)}MB-rss-growth`, value: (out.after - out.before) / MB, unit: "MB" });
    rows.push({ id: `instrument-${(out.inputBytes / MB).toFixed(1)}MB-cpu`, value: out.cpuMs, unit: "ms (cpu)" });
    rows.push({ id: `instrument-${(out.inputBytes / MB).toFixed(1)}MB-wall`, value: out.ms, unit: "ms" });
  } finally {
    await dir.cleanup();
  }
}

writeBenchResults("metering", rows);
