import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// Imported by the published names, so the exports map and the shared chunk are under test.
import * as main from "@clawft/sandbox-policy";
import * as core from "@clawft/sandbox-policy/core";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

describe("the ./core entry", () => {
  it("hands out the same classes and defaults as the main entry (one shared chunk)", () => {
    expect(core.ClawftError).toBe(main.ClawftError);
    expect(core.SandboxError).toBe(main.SandboxError);
    expect(core.RESOURCE_DEFAULTS).toBe(main.RESOURCE_DEFAULTS);
    expect(core.escapeControlText).toBe(main.escapeControlText);
    expect(core.truncateLogMessage).toBe(main.truncateLogMessage);
    const error = new core.SandboxError("FS_OUTSIDE_SANDBOX", "filesystem access denied");
    expect(main.SandboxError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(main.ClawftError);
  });

  it("exports everything but the manifest schema and PluginSandbox (it must stay free of the schema library)", () => {
    const manifestOnly = [
      "ManifestError",
      "PLUGIN_CAPABILITIES",
      "PLUGIN_RUNTIMES",
      "PluginSandbox",
      "manifestEntryFile",
      "manifestJsonSchema",
      "manifestResources",
      "manifestRuntime",
      "manifestSchema",
      "parseManifest",
      "parseManifestWithWarnings",
      "stripManifestBom",
    ];
    expect(Object.keys(core).sort()).toEqual(Object.keys(main).filter((k) => !manifestOnly.includes(k)).sort());
    for (const key of Object.keys(core)) expect((core as Record<string, unknown>)[key]).toBe((main as Record<string, unknown>)[key]);
  });

  // zod v4 defines globalThis.__zod_globalConfig when it loads: a fresh process shows whether it did.
  for (const [entry, loadsZod] of [
    ["@clawft/sandbox-policy/core", false],
    ["@clawft/sandbox-policy", true],
  ] as const) {
    it(`${loadsZod ? "loads" : "does not load"} zod when ${entry} is imported (a fresh process)`, () => {
      const out = execFileSync(
        process.execPath,
        ["--input-type=module", "-e", `await import(${JSON.stringify(entry)}); console.log("__zod_globalConfig" in globalThis)`],
        { cwd: packageDir, encoding: "utf8" },
      );
      expect(out.trim()).toBe(String(loadsZod));
    });
  }
});
