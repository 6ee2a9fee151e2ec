/**
 * Races against a real concurrent process. A child process (true parallelism,
 * not the same event loop) mutates the sandbox in a tight loop while this
 * process calls the sandbox many times.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SandboxError } from "@clawft/sandbox-policy";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SandboxedFileSystem } from "./index.js";

const CANARY = "CANARY-OUTSIDE-DATA";

let dir: TempDir;
let inside: string;
let outside: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dir = await createTempDir("clawft-fs-race-");
  inside = join(dir.path, "app");
  outside = join(dir.path, "outside");
  mkdirSync(inside);
  mkdirSync(outside);
  writeFileSync(join(outside, "f.txt"), CANARY);
});

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const done = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGKILL");
    await done;
  }
  child = undefined;
  await dir.cleanup();
});

/** Starts a child running `script` (CommonJS) with `args`; resolves once it prints "ready". */
async function startChild(script: string, args: string[]): Promise<ChildProcess> {
  const c = spawn(process.execPath, ["-e", script, "--", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  child = c;
  await new Promise<void>((resolve, reject) => {
    c.once("error", reject);
    c.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
    c.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve();
    });
  });
  return c;
}

/**
 * `base/d` is, in turn: missing, a real directory with f.txt, missing, a symlink to the outside directory.
 * When `d` exists while both `real-d` and `link-d` are in place, the code under test created it in the
 * "missing" gap (createDirAll does that, inside the sandbox): the swapper removes that stray directory,
 * or every later rename onto `d` would fail and the swap would stop for good.
 */
const SWAPPER = `
const fs = require("node:fs");
const [base, outsideDir] = process.argv.slice(-2);
const real = base + "/real-d", link = base + "/link-d", d = base + "/d";
fs.mkdirSync(real);
fs.writeFileSync(real + "/f.txt", "INSIDE");
fs.symlinkSync(outsideDir, link);
const exists = (p) => { try { fs.lstatSync(p); return true; } catch { return false; } };
process.stdout.write("ready\\n");
for (let turn = 0; ; turn++) {
  if ((turn & 63) === 0 && exists(d) && exists(real) && exists(link)) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch {}
  }
  try { fs.renameSync(real, d); fs.renameSync(d, real); } catch {}
  try { fs.renameSync(link, d); fs.renameSync(d, link); } catch {}
}
`;

// Each race test runs against a child process that swaps in a busy loop (one core
// of its own) and stops as soon as both states of the swap were observed; on a
// loaded 2-core machine that can take longer than the default 30 s.
const RACE_TIMEOUT_MS = 180_000;

describe("directory ↔ symlink swap race", { timeout: RACE_TIMEOUT_MS }, () => {
  it("reads while a directory and a symlink to outside are swapped never return outside data", async () => {
    await startChild(SWAPPER, [inside, outside]);
    const fs = await SandboxedFileSystem.create({ allowedPaths: [inside] });
    const outcomes = new Map<string, number>();
    let canary = 0;
    for (let i = 0; i < 20_000; i++) {
      let key: string;
      try {
        const text = await fs.readFile("d/f.txt");
        if (text.includes("CANARY")) canary++;
        key = text;
      } catch (err) {
        if (!SandboxError.isInstance(err)) throw err;
        expect(err.message).not.toContain("CANARY");
        key = err.code;
      }
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      if (i >= 500 && outcomes.has("INSIDE") && outcomes.has("FS_SYMLINK_ESCAPE")) break;
    }
    expect(canary).toBe(0);
    // The race was really exercised: both states of the swap were observed.
    expect(outcomes.get("INSIDE") ?? 0).toBeGreaterThan(0);
    expect(outcomes.get("FS_SYMLINK_ESCAPE") ?? 0).toBeGreaterThan(0);
    for (const key of outcomes.keys()) {
      expect(["INSIDE", "FS_SYMLINK_ESCAPE", "FS_NOT_FOUND"]).toContain(key);
    }
  });

  it("writes, lists and createDirAll during the swap never touch the outside directory", async () => {
    writeFileSync(join(outside, "outside-only.txt"), CANARY);
    await startChild(SWAPPER, [inside, outside]);
    const fs = await SandboxedFileSystem.create({ allowedPaths: [inside] });
    let wrote = 0;
    let escaped = 0;
    for (let i = 0; i < 20_000; i++) {
      const ops = [fs.writeFile("d/new.txt", "x"), fs.appendFile("d/app.txt", "y"), fs.createDirAll("d/sub/deeper")];
      const results = await Promise.allSettled(ops);
      const listed = await fs.listDir("d").catch((err: unknown) => err);
      if (Array.isArray(listed)) expect(listed).not.toContain("outside-only.txt");
      for (const r of results) {
        if (r.status === "fulfilled") wrote++;
        else if (SandboxError.isInstance(r.reason) && r.reason.code === "FS_SYMLINK_ESCAPE") escaped++;
        else if (!SandboxError.isInstance(r.reason)) throw r.reason;
      }
      if (i >= 200 && wrote > 0 && escaped > 0) break;
    }
    expect(readdirSync(outside).sort()).toEqual(["f.txt", "outside-only.txt"]);
    expect(wrote).toBeGreaterThan(0);
    expect(escaped).toBeGreaterThan(0);
  });
});

describe("atomic writes", () => {
  it("a reader in another process never sees a mix of old and new content", async () => {
    const size = 256 * 1024;
    const contents = ["a", "b", "c"].map((ch) => ch.repeat(size));
    writeFileSync(join(inside, "f.txt"), contents[0] as string);
    const READER = `
const fs = require("node:fs");
const file = process.argv[process.argv.length - 1];
let reads = 0, mixed = 0, bad = 0;
process.stdout.write("ready\\n");
process.on("SIGTERM", () => { process.stdout.write(JSON.stringify({ reads, mixed, bad }) + "\\n"); process.exit(0); });
function loop() {
  for (let i = 0; i < 50; i++) {
    let s;
    try { s = fs.readFileSync(file, "utf8"); } catch { bad++; continue; }
    reads++;
    if (s.length !== ${size} || s !== s[0].repeat(${size})) mixed++;
  }
  setImmediate(loop);
}
loop();
`;
    const reader = await startChild(READER, [join(inside, "f.txt")]);
    let report = "";
    reader.stdout?.on("data", (d: Buffer) => (report += d.toString()));
    const fs = await SandboxedFileSystem.create({ allowedPaths: [inside] });
    for (let i = 0; i < 150; i++) await fs.writeFile("f.txt", contents[i % 3] as string);
    const exited = new Promise((resolve) => reader.once("exit", resolve));
    reader.kill("SIGTERM");
    await exited;
    const line = report.split("\n").find((l) => l.startsWith("{"));
    expect(line).toBeDefined();
    const stats = JSON.parse(line as string) as { reads: number; mixed: number; bad: number };
    expect(stats.reads).toBeGreaterThan(0);
    expect(stats.mixed).toBe(0);
    expect(stats.bad).toBe(0);
    expect(readdirSync(inside)).toEqual(["f.txt"]);
  });

  it("the temp file is removed when the final rename fails", async () => {
    // The child makes a non-empty directory appear and disappear at the target name,
    // so some renames of the written temp file fail (EISDIR) after it was created.
    const TOGGLER = `
const fs = require("node:fs");
const [base] = process.argv.slice(-1);
const t = base + "/target", hidden = base + "/.hidden-dir";
fs.mkdirSync(hidden); fs.writeFileSync(hidden + "/keep", "k");
process.stdout.write("ready\\n");
for (;;) {
  try { fs.renameSync(hidden, t); } catch { try { fs.unlinkSync(t); } catch {} }
  try { fs.renameSync(t, hidden); } catch {}
}
`;
    await startChild(TOGGLER, [inside]);
    const fs = await SandboxedFileSystem.create({ allowedPaths: [inside] });
    let renameFailures = 0;
    for (let i = 0; i < 20_000 && renameFailures < 3; i++) {
      try {
        await fs.writeFile("target", "data");
      } catch (err) {
        if (!SandboxError.isInstance(err)) throw err;
        const cause = err.cause as { syscall?: string } | undefined;
        if (cause?.syscall === "rename") renameFailures++;
      }
    }
    expect(renameFailures).toBeGreaterThan(0);
    const leftovers = readdirSync(inside).filter((n) => n.startsWith(".clawft-"));
    expect(leftovers).toEqual([]);
  });
});

describe("growing file", () => {
  it("a file that grows during reads never yields more than the read limit", async () => {
    const GROWER = `
const fs = require("node:fs");
const file = process.argv[process.argv.length - 1];
const chunk = "g".repeat(1024);
fs.writeFileSync(file, "");
process.stdout.write("ready\\n");
for (;;) fs.appendFileSync(file, chunk);
`;
    await startChild(GROWER, [join(inside, "grow.txt")]);
    const limit = 64 * 1024;
    const fs = await SandboxedFileSystem.create({ allowedPaths: [inside], maxReadBytes: limit });
    let ok = 0;
    let tooLarge = 0;
    for (let i = 0; i < 20_000; i++) {
      try {
        const s = await fs.readFile("grow.txt");
        expect(s.length).toBeLessThanOrEqual(limit);
        ok++;
      } catch (err) {
        if (!SandboxError.isInstance(err)) throw err;
        expect(err.code).toBe("FS_TOO_LARGE");
        expect(err.message.startsWith("file too large")).toBe(true);
        tooLarge++;
        break;
      }
    }
    expect(ok + tooLarge).toBeGreaterThan(0);
    expect(tooLarge).toBe(1);
  });
});
