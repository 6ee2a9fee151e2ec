/**
 * `readFile` of a 4 KiB file through SandboxedFileSystem (lexical check, O_PATH
 * open, /proc/self/fd real-path check, fstat, reopen, capped read, strict
 * UTF-8 decode, audit event) against plain `fs.promises.readFile(path, "utf8")`
 * on the same file in the same run. Never asserts; writes
 * bench/results/sandbox-fs.json.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createTempDir, writeBenchResults } from "@clawft/test-utils";
import { Bench } from "tinybench";
import { SandboxedFileSystem } from "../src/index.js";

const dir = await createTempDir("clawft-fs-bench-");
try {
  const file = join(dir.path, "four-k.txt");
  await writeFile(file, "abcdefgh".repeat(512));
  const sandbox = await SandboxedFileSystem.create({ allowedPaths: [dir.path], audit: () => undefined });

  const tasks: Array<[string, () => Promise<void>]> = [
    [
      "fs.promises.readFile 4 KiB (baseline)",
      async () => {
        await readFile(file, "utf8");
      },
    ],
    [
      "SandboxedFileSystem.readFile 4 KiB",
      async () => {
        await sandbox.readFile("four-k.txt");
      },
    ],
  ];

  // Two rounds in opposite orders, so that neither side profits from running second on a shared CPU.
  const means = new Map<string, number[]>();
  for (const order of [tasks, [...tasks].reverse()]) {
    const bench = new Bench({ time: 3_000, warmupTime: 500 });
    for (const [name, fn] of order) bench.add(name, fn);
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`);
      means.set(task.name, [...(means.get(task.name) ?? []), r.latency.mean * 1000]);
    }
  }
  const avg = (xs: number[] | undefined) => (xs ?? [0]).reduce((a, b) => a + b, 0) / (xs ?? [0]).length;
  const baseline = avg(means.get("fs.promises.readFile 4 KiB (baseline)"));
  const value = avg(means.get("SandboxedFileSystem.readFile 4 KiB"));
  writeBenchResults("sandbox-fs", [
    { id: "fs.promises.readFile-4KiB", value: baseline, unit: "µs/op" },
    { id: "sandboxed-readFile-4KiB", value, unit: "µs/op", baseline, target: 2.0 },
  ]);
} finally {
  await dir.cleanup();
}
