import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { spawn } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { PluginManager } from "@clawft/host";
import { newKeyPair } from "./helpers.js";

let tmp: TempDir;
let dataDir: string;
/** The built package, by its published name (what `npm i @clawft/host` gives a program). */
const HOST_ENTRY = pathToFileURL(createRequire(import.meta.url).resolve("@clawft/host")).href;

beforeEach(async () => {
  tmp = await createTempDir("clawft-lock-e2e-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

/**
 * One writer process: adds M fresh trusted keys through the built package's PluginManager (each
 * add is a locked read-modify-write of trusted-keys.json) and prints "ok <key id>" after each.
 */
const WRITER = `
const { generateKeyPairSync } = await import("node:crypto");
const { PluginManager } = await import(process.env.HOST_ENTRY);
const manager = new PluginManager({ dataDir: process.env.DATA_DIR, logger: { warn() {} } });
for (let i = 0; i < Number(process.env.UPDATES); i++) {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ type: "spki", format: "der" }).subarray(12)).toString("base64");
  const added = await manager.addKey(raw, process.env.WRITER + "-" + i);
  process.stdout.write("ok " + added.id + "\\n");
}
`;

interface Writer {
  oks: string[];
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

function startWriter(script: string, name: string, updates: number, env: Record<string, string> = {}): Writer {
  const child = spawn(process.execPath, [script], {
    env: {
      PATH: process.env.PATH ?? "",
      HOST_ENTRY,
      DATA_DIR: dataDir,
      UPDATES: String(updates),
      WRITER: name,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const oks: string[] = [];
  let buffered = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    buffered += c.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("ok ")) oks.push(line.slice(3));
  });
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return { oks, done, kill: () => child.kill("SIGKILL") };
}

describe("the data directory lock cannot be held twice (T69)", { timeout: 300_000 }, () => {
  it("T69 8 processes x 25 locked updates, some SIGKILLed holding the lock or mid-update: no lost update, the lock is taken over, nothing left behind", async () => {
    const script = join(tmp.path, "writer.mjs");
    await writeFile(script, WRITER);
    const updates = 25;
    const writers = [
      // Dies holding the lock (after its 5th / 12th acquisition), leaving a stale lock file.
      startWriter(script, "w0", updates, { CLAWFT_TEST_CRASH_POINT: "lock-acquired:5" }),
      startWriter(script, "w1", updates, { CLAWFT_TEST_CRASH_POINT: "lock-acquired:12" }),
      // Dies right after winning a takeover claim, if it ever needs one.
      startWriter(script, "w2", updates, { CLAWFT_TEST_CRASH_POINT: "lock-claimed:1" }),
      startWriter(script, "w3", updates),
      startWriter(script, "w4", updates),
      startWriter(script, "w5", updates),
      startWriter(script, "w6", updates),
      startWriter(script, "w7", updates),
    ];
    // w3 is killed from outside at an arbitrary point once it has done some updates.
    const killer = (async () => {
      while (writers[3]!.oks.length < 8) await new Promise((r) => setTimeout(r, 5));
      writers[3]!.kill();
    })();
    const results = await Promise.all(writers.map((w) => w.done));
    await killer;

    expect(results[0]!.signal).toBe("SIGKILL");
    expect(writers[0]!.oks).toHaveLength(4);
    expect(results[1]!.signal).toBe("SIGKILL");
    expect(writers[1]!.oks).toHaveLength(11);
    expect(results[3]!.signal).toBe("SIGKILL");
    for (const i of [4, 5, 6, 7]) {
      expect(results[i]!.code, `w${i}: ${results[i]!.stderr}`).toBe(0);
      expect(writers[i]!.oks).toHaveLength(updates);
    }
    // w2 either finished or died after winning a claim (then someone took over after it).
    if (results[2]!.signal !== "SIGKILL") expect(writers[2]!.oks).toHaveLength(updates);

    // No lost update: every add a writer reported is in the file. (A killed writer's last add
    // may have been written without being reported: at most one extra per killed writer.)
    const file = JSON.parse(await readFile(join(dataDir, "trusted-keys.json"), "utf8")) as { keys: { id: string }[] };
    const stored = new Set(file.keys.map((k) => k.id));
    const reported = writers.flatMap((w) => w.oks);
    for (const id of reported) expect(stored.has(id), `lost update: ${id}`).toBe(true);
    const killed = results.filter((r) => r.signal === "SIGKILL").length;
    expect(stored.size).toBeGreaterThanOrEqual(reported.length);
    expect(stored.size).toBeLessThanOrEqual(reported.length + killed);

    // The lock a crashed writer left (if any) is taken over by the next change, and released.
    const manager = new PluginManager({ dataDir, logger: { warn() {} } });
    await manager.addKey(newKeyPair().rawBase64);
    expect((await manager.listKeys()).length).toBe(stored.size + 1);
    const names = await readdir(dataDir);
    expect(names.filter((n) => n === "lock" || n.startsWith("lock.claim-") || n.endsWith(".tmp"))).toEqual([]);
  });
});
