import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import { snapshotCli, type CliHarness } from "./cli-runner.js";
import { manifestFor, pluginFiles, writePluginFolder } from "../../host/test/lifecycle/helpers.js";

let tmp: TempDir;
let dataDir: string;
let harness: CliHarness;
let toolBasic: Uint8Array;
let hostCalls: Uint8Array;

beforeAll(async () => {
  harness = await snapshotCli(() => tmp.path);
  toolBasic = await buildFixture("tool-basic");
  hostCalls = await buildFixture("host-calls");
});
afterAll(async () => {
  await harness?.dispose();
});
beforeEach(async () => {
  tmp = await createTempDir("clawft-crash-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

function cli(args: string[], env: Record<string, string> = {}) {
  return harness.run(args, { CLAWFT_HOME: dataDir, ...env });
}

let folders = 0;
function folder(manifest: Record<string, unknown>, module: Uint8Array = toolBasic) {
  return writePluginFolder(
    join(tmp.path, "src", `p${folders++}`),
    pluginFiles({ manifest: manifestFor({ tools: ["echo", "read", "write"], ...manifest }), module: Buffer.from(module) }),
  );
}

async function versions(): Promise<Record<string, string>> {
  const r = await cli(["list", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return Object.fromEntries((JSON.parse(r.stdout) as { id: string; version: string }[]).map((p) => [p.id, p.version]));
}

/** What a crashed change may never leave once the next command has run. */
async function leftovers(): Promise<string[]> {
  const top = (await readdir(dataDir)).filter((n) => n === "lock" || n.startsWith("lock.claim-") || n.endsWith(".tmp"));
  return [...top, ...(await readdir(join(dataDir, "tmp"))).map((n) => `tmp/${n}`)];
}

async function crashed(args: string[], point: string): Promise<void> {
  const r = await cli(args, { CLAWFT_TEST_CRASH_POINT: point });
  expect(r.signal, `${point}: exit ${r.code} ${r.stderr}`).toBe("SIGKILL");
}

describe("an upgrade is recoverable at every crash point (T72)", { timeout: 300_000 }, () => {
  const v1Asks = { network: ["api.weather.example"] };
  const v2Asks = { network: ["api.weather.example", "tiles.weather.example"] };
  // Where the process dies, and which version recovery must leave installed.
  const points: [string, "1.0.0" | "2.0.0"][] = [
    ["upgrade-staged", "1.0.0"], // new version staged, nothing moved: rolled back
    ["upgrade-after-aside", "1.0.0"], // between the two renames (plugins/<id> missing): old one restored
    ["upgrade-after-swap", "2.0.0"], // new one in place, old one aside: completed
    ["upgrade-before-approval", "2.0.0"], // installed, its approval not yet stored: completed, asks at first run
  ];
  for (const [point, expected] of points) {
    it(`T72 a SIGKILL at ${point} leaves ${expected} installed, runnable, and no approval for a package that is not installed`, async () => {
      expect((await cli(["install", await folder({ permissions: v1Asks }), "--yes"])).code).toBe(0);
      expect((await cli(["install", await folder({ id: "com.example.other" }), "--yes"])).code).toBe(0);
      const v2 = await folder({ version: "2.0.0", permissions: v2Asks });
      await crashed(["install", v2, "--yes"], point);
      if (point === "upgrade-after-aside") {
        // The crash left plugins/<id> missing; nothing was deleted.
        await expect(lstat(join(dataDir, "plugins", "com.example.weather"))).rejects.toMatchObject({ code: "ENOENT" });
        expect((await readdir(join(dataDir, "tmp"))).some((n) => /^old-[0-9a-f]{16}-com\.example\.weather$/.test(n))).toBe(true);
      }

      // A read-only command already sees the recovered state. (A stale lock may remain until
      // the next change takes it over.)
      expect(await versions()).toEqual({ "com.example.other": "1.0.0", "com.example.weather": expected });
      expect((await leftovers()).filter((n) => n !== "lock")).toEqual([]);

      const approvals = JSON.parse(await readFile(join(dataDir, "approvals.json"), "utf8")) as {
        plugins: Record<string, Record<string, unknown>>;
      };
      const stored = Object.keys(approvals.plugins["com.example.weather"] ?? {});
      if (expected === "1.0.0") {
        expect(stored).toEqual(["1.0.0"]);
        const run = await cli(["run", "com.example.weather", "echo", '{"after":"rollback"}']);
        expect(run.code, run.stderr).toBe(0);
        expect(JSON.parse(run.stdout)).toEqual({ after: "rollback" });
        // A different package later installed as 2.0.0 is asked for what it wants (nothing was orphaned).
        const other2 = await folder({ version: "2.0.0", permissions: v2Asks }, hostCalls);
        expect((await cli(["install", other2])).code).toBe(4);
      } else {
        // 2.0.0 is installed; its consent was given before the crash but stored only if the
        // process got that far: without it the next run asks (never runs unapproved).
        expect(stored).toEqual(["1.0.0"]);
        const first = await cli(["run", "com.example.weather", "echo", '{"after":"complete"}']);
        expect(first.code, first.stderr).toBe(4);
        const approved = await cli(["run", "com.example.weather", "echo", '{"after":"complete"}', "--yes"]);
        expect(approved.code, approved.stderr).toBe(0);
        expect(JSON.parse(approved.stdout)).toEqual({ after: "complete" });
      }
      const again = await cli(["run", "com.example.weather", "echo", '{"n":2}']);
      expect(again.code, again.stderr).toBe(0);
      const other = await cli(["run", "com.example.other", "echo", '{"o":1}']);
      expect(other.code, other.stderr).toBe(0);
      // And the upgrade can simply be run again.
      const retry = await cli(["install", v2, "--yes"]);
      expect(retry.code, retry.stderr).toBe(0);
      expect(await versions()).toMatchObject({ "com.example.weather": "2.0.0" });
      expect(await leftovers()).toEqual([]);
    });
  }

  const removePoints: [string, boolean][] = [
    ["remove-after-revoke", true],
    ["remove-after-data", true],
    ["remove-after-aside", false],
  ];
  for (const [point, stillInstalled] of removePoints) {
    it(`T72 T71 a SIGKILL at ${point} leaves nothing that runs without consent, and remove can finish`, async () => {
      const notes = { tools: ["read", "write"], permissions: { filesystem: ["notes"] } };
      expect((await cli(["install", await folder(notes, hostCalls), "--yes"])).code).toBe(0);
      expect((await cli(["run", "com.example.weather", "write", '["a.txt","old"]'])).code).toBe(0);
      await crashed(["remove", "com.example.weather"], point);
      expect(Object.keys(await versions())).toEqual(stillInstalled ? ["com.example.weather"] : []);
      expect((await leftovers()).filter((n) => n !== "lock")).toEqual([]);
      if (stillInstalled) {
        // Approvals went first: the plugin that is still there must ask again.
        expect((await cli(["run", "com.example.weather", "read", '["a.txt"]'])).code).toBe(4);
        const done = await cli(["remove", "com.example.weather"]);
        expect(done.code, done.stderr).toBe(0);
      }
      await expect(lstat(join(dataDir, "data", "com.example.weather"))).rejects.toMatchObject({ code: "ENOENT" });
      expect((await cli(["remove", "com.example.weather"])).code).toBe(3);
      const fresh = await cli(["install", await folder(notes, hostCalls), "--yes"]);
      expect(fresh.code, fresh.stderr).toBe(0);
      const read = await cli(["run", "com.example.weather", "read", '["a.txt"]']);
      expect(read.code).toBe(7);
      expect((await cli(["run", "com.example.weather", "write", '["b.txt","new"]'])).code).toBe(0);
      expect(await leftovers()).toEqual([]);
    });
  }
});
