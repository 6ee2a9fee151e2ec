import { describe, expect, it } from "vitest";
import { manifestEntryFile, manifestJsonSchema, manifestRuntime, parseManifestWithWarnings } from "./manifest.js";
import { issuesOf, minimal } from "./test-helpers.js";

describe("manifest runtime, main and description (issue 16)", () => {
  it('accepts runtime "js" with main, and names main as the entry file', () => {
    const { manifest, warnings } = parseManifestWithWarnings({ ...minimal, runtime: "js", main: "dist/plugin.js" });
    expect(warnings).toEqual([]);
    expect(manifestRuntime(manifest)).toBe("js");
    expect(manifestEntryFile(manifest)).toBe("dist/plugin.js");
  });

  it('a manifest without runtime is a component plugin whose entry file is wasm_module', () => {
    const { manifest } = parseManifestWithWarnings({ ...minimal, wasm_module: "plugin.wasm" });
    expect(manifest.runtime).toBeUndefined();
    expect(manifestRuntime(manifest)).toBe("component");
    expect(manifestEntryFile(manifest)).toBe("plugin.wasm");
  });

  it("description is a known key: no unknown-key warning, kept as written", () => {
    const { manifest, warnings } = parseManifestWithWarnings({ ...minimal, description: "Looks up the weather." });
    expect(warnings).toEqual([]);
    expect(manifest.description).toBe("Looks up the weather.");
  });

  it("refuses a description that is not a string or longer than 2000 characters", () => {
    expect(issuesOf({ ...minimal, description: 42 })).toEqual(["description: must be a string"]);
    expect(issuesOf({ ...minimal, description: "x".repeat(2001) })).toEqual(["description: must be at most 2000 characters"]);
  });

  it('T80 refuses both entry files, main without runtime "js", wasm_module with runtime "js", and an unknown runtime', () => {
    expect(issuesOf({ ...minimal, runtime: "js", main: "a.js", wasm_module: "a.wasm" })).toEqual([
      'wasm_module: must not be set with runtime "js" (name the bundled JS in main)',
    ]);
    expect(issuesOf({ ...minimal, main: "a.js" })).toEqual([
      'main: needs runtime "js" (a component plugin names its component in wasm_module)',
    ]);
    expect(issuesOf({ ...minimal, runtime: "component", main: "a.js" })).toEqual([
      'main: needs runtime "js" (a component plugin names its component in wasm_module)',
    ]);
    expect(issuesOf({ ...minimal, runtime: "python" })).toEqual(["runtime: must be one of component, js"]);
  });

  it("T80 main must stay inside the plugin folder, like wasm_module", () => {
    for (const main of ["../x.js", "/etc/x.js", "a/../../x.js", "C:/x.js", "a\\x.js", ""]) {
      expect(issuesOf({ ...minimal, runtime: "js", main })).toEqual(["main: must be a relative path inside the plugin folder"]);
    }
  });

  it("the JSON Schema lists runtime, main and description", () => {
    const properties = manifestJsonSchema.properties as Record<string, { enum?: unknown }>;
    expect(properties.runtime?.enum).toEqual(["component", "js"]);
    expect(properties.main).toBeDefined();
    expect(properties.description).toBeDefined();
  });
});
