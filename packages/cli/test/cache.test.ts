import { chmod, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import { snapshotCli, type CliHarness, type CliRun } from "./cli-runner.js";
import { manifestFor, pluginFiles, writePluginFolder } from "../../host/test/lifecycle/helpers.js";

let tmp: TempDir;
let dataDir: string;
let harness: CliHarness;
let toolBasic: Uint8Array;

beforeAll(async () => {
  harness = await snapshotCli(() => tmp.path);
  toolBasic = await buildFixture("tool-basic");
});
afterAll(async () => {
  await harness?.dispose();
});
beforeEach(async () => {
  tmp = await createTempDir("clawft-cli-cache-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

function cli(args: string[]): Promise<CliRun> {
  return harness.run(args, { CLAWFT_HOME: dataDir });
}

async function installBasic(): Promise<void> {
  const src = await writePluginFolder(
    join(tmp.path, "src"),
    pluginFiles({ manifest: manifestFor({ tools: ["echo"] }), module: Buffer.from(toolBasic) }),
  );
  const installed = await cli(["install", src]);
  expect(installed.code, installed.stderr).toBe(0);
}

describe("run's compile cache in the data dir (built binary)", { timeout: 240_000 }, () => {
  it("T85 run keeps compiled code in <dataDir>/cache (0700); an altered cache file is rebuilt, never run", async () => {
    await installBasic();
    const first = await cli(["run", "com.example.weather", "echo", '{"n":1}']);
    expect(first.code, first.stderr).toBe(0);
    const cache = join(dataDir, "cache");
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    const entries = (await readdir(cache)).filter((n) => !n.startsWith(".") && n !== "checked");
    expect(entries).toHaveLength(1);
    const entry = join(cache, entries[0]!);
    const core = (await readdir(entry)).find((n) => n.endsWith(".wasm"))!;
    const original = await readFile(join(entry, core));

    // Replace a metered core module by other bytes (as a local attacker or a bad disk would).
    const altered = Buffer.from(original);
    altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 0xff;
    await writeFile(join(entry, core), altered);
    const second = await cli(["run", "com.example.weather", "echo", '{"n":2}']);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ n: 2 });
    expect(Buffer.compare(await readFile(join(entry, core)), original)).toBe(0);

    // The plugin's next call and a second run from the cache still work.
    const third = await cli(["run", "com.example.weather", "echo", '{"n":3}']);
    expect(JSON.parse(third.stdout)).toEqual({ n: 3 });
  });

  it("T86 a compile cache writable by group/others is refused (exit 9) until fixed", async () => {
    await installBasic();
    expect((await cli(["run", "com.example.weather", "echo", "{}"])).code).toBe(0);
    const cache = join(dataDir, "cache");
    await chmod(cache, 0o777);
    const refused = await cli(["run", "com.example.weather", "echo", "{}"]);
    expect(refused.code).toBe(9);
    expect(refused.stderr).toMatch(/unsafe data directory: compile cache .* is writable by .*\[PLUGIN_STATE_UNSAFE\]/);
    await chmod(cache, 0o700);
    const fixed = await cli(["run", "com.example.weather", "echo", '{"ok":true}']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(JSON.parse(fixed.stdout)).toEqual({ ok: true });
  });

  it("T89 a world-check verdict is cached for the next run only for the same bytes: a component with a forbidden import is still refused", async () => {
    await installBasic();
    expect((await cli(["run", "com.example.weather", "echo", "{}"])).code).toBe(0);
    const checked = join(dataDir, "cache", "checked");
    expect(await readdir(checked)).toHaveLength(1);
    const hostile = await writePluginFolder(
      join(tmp.path, "wasi"),
      pluginFiles({
        manifest: manifestFor({ id: "com.example.wasi", tools: ["echo"] }),
        module: Buffer.from(await buildFixture("wasi-import")),
      }),
    );
    expect((await cli(["install", hostile])).code).toBe(0); // installs never compile
    for (let i = 0; i < 2; i++) {
      const refused = await cli(["run", "com.example.wasi", "echo", "{}"]);
      expect(refused.code).toBe(6);
      expect(refused.stderr).toContain("[PLUGIN_FORBIDDEN_IMPORT]");
    }
    expect(await readdir(checked)).toHaveLength(1);
    // The first plugin's next run (from its verdict and compiled entry) still works.
    const again = await cli(["run", "com.example.weather", "echo", '{"ok":1}']);
    expect(JSON.parse(again.stdout)).toEqual({ ok: 1 });
  });
});
