/**
 * How much of the main thread's heap a tool result costs once `JSON.parse`d, per byte of
 * result: for hostile shapes as they are, and at the densest the worker's bounds let
 * through (result-bounds.ts: at most 1024 + one object or array per 16 bytes). A script,
 * not a test (no assertion): `npx tsx --expose-gc bench/result-heap.ts [MiB]`.
 * Each measurement runs in its own child process (a clean heap).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RESULT_BYTES_PER_CONTAINER, checkResult } from "../src/runtime/result-bounds.js";

const MiB = 1024 * 1024;
const HARD_MAX = 16 * MiB;

type Shape = (i: number) => string;
const shapes: Record<string, Shape> = {
  "[{},{},...]": () => "{}",
  "[[],[],...]": () => "[]",
  "[0,0,...]": () => "0",
  "[1.5,...]": () => "1.5",
  '["ab",...]': () => '"ab"',
  '[{"a":0},...]': () => '{"a":0}',
  '[{"k<i>":0},...] (distinct keys)': (i) => `{"k${i}":0}`,
  "records": (i) => `{"id":${i},"name":"item ${i}","ok":true,"tags":["a","b"]}`,
};

/** `[u0,u1,...]` of about `bytes`; with `dense`, each item padded with spaces to RESULT_BYTES_PER_CONTAINER. */
function build(shape: Shape, bytes: number, dense: boolean): string {
  const parts: string[] = [];
  let len = 2;
  for (let i = 0; len < bytes; i++) {
    let s = shape(i);
    if (dense && s.length < RESULT_BYTES_PER_CONTAINER - 1) s = s.padEnd(RESULT_BYTES_PER_CONTAINER - 1, " ");
    parts.push(s);
    len += s.length + 1;
  }
  return `[${parts.join(",")}]`;
}

function measureHere(name: string, bytes: number, dense: boolean): void {
  const shape = shapes[name];
  if (!shape) throw new Error(`unknown shape ${name}`);
  const text = build(shape, bytes, dense);
  const verdict = checkResult(text, HARD_MAX);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const value: unknown = JSON.parse(text);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  // Keep both alive until after the measurement.
  if (text.length === 0 || value === undefined) console.log("unreachable");
  const size = Buffer.byteLength(text);
  // The string itself also lives on the main heap (one byte per character here).
  const total = after - before + text.length;
  console.log(
    JSON.stringify({ name, dense, bytes: size, verdict: verdict.type === "refused" ? verdict.code : verdict.type, perByte: total / size }),
  );
}

const [, , mode, name, bytesArg, denseArg] = process.argv;
if (mode === "--one" && name && bytesArg) {
  measureHere(name, Number(bytesArg), denseArg === "dense");
} else {
  const size = Number(mode ?? 1) * MiB;
  const self = fileURLToPath(import.meta.url);
  console.log(`main-heap cost of JSON.parse per result byte (string included), ${size / MiB} MiB results, Node ${process.version}`);
  console.log("shape | as is: per byte (worker verdict) | densest admitted: per byte (verdict)");
  for (const shapeName of Object.keys(shapes)) {
    const cells: string[] = [];
    for (const dense of [false, true]) {
      const r = spawnSync(process.execPath, [...process.execArgv, self, "--one", shapeName, String(size), dense ? "dense" : "plain"], {
        encoding: "utf8",
      });
      const line = r.stdout.trim().split("\n").pop() ?? "";
      try {
        const m = JSON.parse(line) as { perByte: number; verdict: string };
        cells.push(`${m.perByte.toFixed(1)} (${m.verdict})`);
      } catch {
        cells.push(`failed: ${r.stderr.trim().split("\n").pop() ?? ""}`);
      }
    }
    console.log(`${shapeName} | ${cells.join(" | ")}`);
  }
}
