import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { snapshotCli, type CliHarness, type CliRun } from "./cli-runner.js";

let tmp: TempDir;
let harness: CliHarness;

beforeAll(async () => {
  harness = await snapshotCli(() => tmp.path);
});
afterAll(async () => {
  await harness?.dispose();
});
beforeEach(async () => {
  tmp = await createTempDir("clawft-author-e2e-");
});
afterEach(async () => {
  await tmp.cleanup();
});

function cli(args: string[]): Promise<CliRun> {
  return harness.run(args, { CLAWFT_HOME: join(tmp.path, "data") });
}

describe("a TS plugin from scratch (built binary)", { timeout: 240_000 }, () => {
  it("new -> build -> install with the default limits -> run each tool -> upgrade -> remove", async () => {
    const dir = join(tmp.path, "hello");
    expect((await cli(["new", dir, "--lang", "ts"])).code).toBe(0);
    const built = await cli(["build", dir]);
    expect(built.code, built.stderr).toBe(0);

    // Default limits: no --max-module-* flag.
    const installed = await cli(["install", dir]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout).toMatch(/^installed dev\.local\.hello 0\.1\.0 /);
    const greet = await cli(["run", "dev.local.hello", "greet", '{"name":"Ada"}', "--json"]);
    expect(greet.code, greet.stderr).toBe(0);
    expect(JSON.parse(greet.stdout)).toEqual({ pluginId: "dev.local.hello", tool: "greet", output: { greeting: "Hello, Ada!" } });
    const add = await cli(["run", "dev.local.hello", "add", '{"a":2,"b":3}']);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toEqual({ sum: 5 });
    const bad = await cli(["run", "dev.local.hello", "add", '{"a":"2"}']);
    expect(bad.code).toBe(7);
    expect(bad.stderr).toContain("add: a and b must be numbers");

    // Upgrade: a new version of the source, rebuilt and installed over the old one.
    const source = join(dir, "src", "plugin.ts");
    await writeFile(source, (await readFile(source, "utf8")).replace("Hello, ${name}!", "Hi, ${name}!").replace('version: "0.1.0"', 'version: "0.2.0"'));
    const manifestPath = join(dir, "clawft.plugin.json");
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as Record<string, unknown>;
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: "0.2.0" }, null, 2));
    expect((await cli(["build", dir])).code).toBe(0);
    const upgraded = await cli(["install", dir]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.stdout).toMatch(/^upgraded dev\.local\.hello 0\.1\.0 -> 0\.2\.0 /);
    const again = await cli(["run", "dev.local.hello", "greet", '{"name":"Ada"}']);
    expect(JSON.parse(again.stdout)).toEqual({ greeting: "Hi, Ada!" });

    const removed = await cli(["remove", "dev.local.hello"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse((await cli(["list", "--json"])).stdout)).toEqual([]);
    expect((await cli(["run", "dev.local.hello", "greet", "{}"])).code).toBe(3);
  });
});
