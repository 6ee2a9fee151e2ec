import { mkdir, readFile, writeFile } from "node:fs/promises";
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
  tmp = await createTempDir("clawft-author-");
});
afterEach(async () => {
  await tmp.cleanup();
});

function cli(args: string[]): Promise<CliRun> {
  return harness.run(args, { CLAWFT_HOME: join(tmp.path, "data") });
}

/** Host calls a bundle made, recorded by the `host` module the bundle is given. */
interface Recorded {
  logs: [number, string][];
}

/**
 * Evaluates a built bundle as the JS engine does (agreements: one CommonJS file, `require("host")`
 * its only import, `module.exports.plugin` the plugin), with a `host` that records its calls.
 */
function evaluateBundle(code: string): { plugin: { describe(): string; executeTool(t: string, p: string): string; init?(): void }; recorded: Recorded } {
  const recorded: Recorded = { logs: [] };
  const host = { log: (level: number, message: string) => recorded.logs.push([level, message]) };
  const module = { exports: {} as Record<string, unknown> };
  const requireHost = (name: string) => {
    if (name !== "host") throw new Error(`the bundle required ${name}`);
    return host;
  };
  new Function("require", "module", "exports", code)(requireHost, module, module.exports);
  return { plugin: module.exports.plugin as never, recorded };
}

describe("new and build (built binary)", { timeout: 240_000 }, () => {
  for (const lang of ["ts", "js"] as const) {
    it(`new --lang ${lang} writes a js-runtime plugin; build bundles it into main, one CommonJS file whose only import is host`, async () => {
      const dir = join(tmp.path, `hello-${lang}`);
      const made = await cli(["new", dir, "--lang", lang, "--json"]);
      expect(made.code, made.stderr).toBe(0);
      const result = JSON.parse(made.stdout) as { id: string; files: string[] };
      expect(result.id).toBe(`dev.local.hello-${lang}`);
      expect(result.files).toContain(lang === "ts" ? "src/plugin.ts" : "src/plugin.js");
      expect(result.files).toContain("test/plugin.test.mjs");
      const manifest = JSON.parse(await readFile(join(dir, "clawft.plugin.json"), "utf8")) as Record<string, unknown>;
      expect(manifest).toMatchObject({ runtime: "js", main: "dist/plugin.js", tools: ["greet", "add"] });
      // Deny by default: a new plugin asks for nothing.
      expect(manifest.permissions).toEqual({ network: [], filesystem: [], env_vars: [], shell: false });

      const built = await cli(["build", dir]);
      expect(built.code, built.stderr).toBe(0);
      expect(built.stdout).toMatch(/^built dist\/plugin\.js from src\/plugin\.(ts|js): .* gzipped; default limits 300\.0 KiB \/ 120\.0 KiB\)/);
      expect(built.stderr).toBe("");
      const code = await readFile(join(dir, "dist", "plugin.js"), "utf8");
      expect(code.length).toBeLessThan(10_000);
      const { plugin, recorded } = evaluateBundle(code);
      expect((JSON.parse(plugin.describe()) as { tools: { name: string }[] }).tools.map((t) => t.name)).toEqual(["greet", "add"]);
      expect(JSON.parse(plugin.executeTool("greet", '{"name":"Ada"}'))).toEqual({ greeting: "Hello, Ada!" });
      expect(recorded.logs).toEqual([[2, "greeting Ada"]]);
      expect(JSON.parse(plugin.executeTool("add", '{"a":2,"b":3}'))).toEqual({ sum: 5 });
      expect(() => plugin.executeTool("nope", "{}")).toThrow("unknown tool: nope");
    });
  }

  it("new refuses a non-empty folder and a bad id; writes nothing", async () => {
    const dir = join(tmp.path, "taken");
    await mkdir(dir);
    await writeFile(join(dir, "mine.txt"), "keep");
    const taken = await cli(["new", dir]);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain(`folder exists and is not empty: ${dir}`);
    expect(await readFile(join(dir, "mine.txt"), "utf8")).toBe("keep");
    const badId = await cli(["new", join(tmp.path, "x"), "--id", "nodots"]);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/--id "nodots": invalid plugin manifest: id: /);
    const badLang = await cli(["new", join(tmp.path, "y"), "--lang", "rust"]);
    expect(badLang.code).toBe(2);
  });

  it("build refuses a component plugin, a missing entry and a Node built-in import, naming the problem", async () => {
    const component = join(tmp.path, "component");
    await mkdir(component);
    await writeFile(
      join(component, "clawft.plugin.json"),
      JSON.stringify({ id: "com.example.c", name: "c", version: "1.0.0", capabilities: ["tool"], wasm_module: "p.wasm" }),
    );
    const notJs = await cli(["build", component]);
    expect(notJs.code).toBe(6);
    expect(notJs.stderr).toMatch(/build bundles JS\/TS plugins only: .* needs "runtime": "js" and "main" .*\[CLI_BUILD_NOT_JS\]/);

    const dir = join(tmp.path, "p");
    expect((await cli(["new", dir])).code).toBe(0);
    const noEntry = await cli(["build", dir, "--entry", "src/none.ts"]);
    expect(noEntry.code).toBe(6);
    expect(noEntry.stderr).toContain(`source entry not found: ${join(dir, "src", "none.ts")}`);

    await writeFile(join(dir, "src", "plugin.ts"), 'import { readFileSync } from "node:fs";\nexport const plugin = { read: readFileSync };\n');
    const builtin = await cli(["build", dir]);
    expect(builtin.code).toBe(6);
    expect(builtin.stderr).toMatch(/build failed: .*node:fs.*\[CLI_BUILD_FAILED\]/);
  });
});
