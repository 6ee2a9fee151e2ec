import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  diffPermissions,
  ManifestError,
  manifestJsonSchema,
  manifestResources,
  parseManifest,
  parseManifestWithWarnings,
} from "./manifest.js";
import { RESOURCE_DEFAULTS, RESOURCE_HARD_LIMITS } from "./defaults.js";
import { issuesOf, minimal } from "./test-helpers.js";

describe("parseManifest — valid input and defaults", () => {
  it("fills in every documented default", () => {
    const { manifest, warnings } = parseManifestWithWarnings(minimal);
    expect(warnings).toEqual([]);
    expect(manifest).toEqual({
      ...minimal,
      skills: [],
      tools: [],
      permissions: { network: [], filesystem: [], env_vars: [], shell: false },
      resources: {
        max_fuel: 1_000_000_000,
        max_memory_mb: 16,
        max_table_elements: 10_000,
        max_execution_seconds: 30,
        max_http_requests_per_minute: 10,
        max_log_messages_per_minute: 100,
        max_result_bytes: 1_048_576,
        max_env_lookups_per_minute: 1000,
      },
    });
    expect(manifestResources(manifest)).toEqual(RESOURCE_DEFAULTS);
    expect(manifest.wasm_module).toBeUndefined();
  });

  it("parses the reference host's full example, from JSON text", () => {
    const json = JSON.stringify({
      id: "com.example.test-plugin",
      name: "Test Plugin",
      version: "1.0.0-beta.1+build.5",
      capabilities: ["tool", "skill", "channel", "pipeline_stage", "memory_backend", "voice"],
      permissions: { network: ["api.example.com", "*.example.org", "*"], filesystem: ["/tmp/plugin"], env_vars: ["MY_API_KEY"], shell: false },
      resources: { max_fuel: 500_000_000, max_memory_mb: 8, max_http_requests_per_minute: 5, max_log_messages_per_minute: 50, max_execution_seconds: 15, max_table_elements: 5000 },
      wasm_module: "dist/plugin.wasm",
      skills: ["code-review"],
      tools: ["lint_code"],
    });
    const m = parseManifest(json);
    expect(m.resources.max_fuel).toBe(500_000_000);
    expect(m.resources.max_memory_mb).toBe(8);
    expect(m.permissions.network).toEqual(["api.example.com", "*.example.org", "*"]);
    expect(m.wasm_module).toBe("dist/plugin.wasm");
  });

  it("clamps values above the hard maxima with a warning naming the field", () => {
    const { manifest, warnings } = parseManifestWithWarnings({
      ...minimal,
      resources: { max_fuel: 5e10, max_memory_mb: 4096, max_table_elements: 1e6, max_execution_seconds: 3600, max_http_requests_per_minute: 1e6, max_log_messages_per_minute: 1e7, max_result_bytes: 1e9, max_env_lookups_per_minute: 1e9 },
    });
    expect(manifestResources(manifest)).toEqual(RESOURCE_HARD_LIMITS);
    expect(warnings).toHaveLength(8);
    expect(warnings[0]).toMatch(/^resources\.max_fuel: 50000000000 is above the hard maximum 10000000000; clamped/);
    expect(warnings.some((w) => w.startsWith("resources.max_memory_mb: 4096 is above the hard maximum 256"))).toBe(true);
  });

  it("keeps unknown top-level keys and warns about them; drops __proto__", () => {
    const { manifest, warnings } = parseManifestWithWarnings(
      JSON.parse(JSON.stringify({ ...minimal, description: "x", homepage: "https://x" }).replace("{", '{"__proto__":{"polluted":true},')),
    );
    expect(manifest.description).toBe("x");
    expect(manifest.homepage).toBe("https://x");
    expect(warnings).toEqual(["__proto__: key ignored", "homepage: unknown key (kept)"]);
    expect(Object.getPrototypeOf(manifest)).toBe(Object.prototype);
    expect((manifest as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("quotes odd key names in warnings and issues (no log-line forgery)", () => {
    const { warnings } = parseManifestWithWarnings({ ...minimal, "x\nERROR forged": 1 });
    expect(warnings).toEqual(['["x\\nERROR forged"]: unknown key (kept)']);
    expect(warnings[0]).not.toContain("\n");
    const issues = issuesOf({ ...minimal, permissions: { "net\nwork": [] } });
    expect(issues).toEqual(['permissions["net\\nwork"]: unknown permission']);
  });

  it("accepts a $schema key without a warning", () => {
    const { manifest, warnings } = parseManifestWithWarnings({ $schema: "./manifest.schema.json", ...minimal });
    expect(warnings).toEqual([]);
    expect(manifest.$schema).toBe("./manifest.schema.json");
  });

  it("warns about env vars that are never readable", () => {
    const { warnings } = parseManifestWithWarnings({ ...minimal, permissions: { env_vars: ["API_URL", "openai_api_key"] } });
    expect(warnings).toEqual(['permissions.env_vars[1]: "openai_api_key" is never readable by plugins']);
  });
});

describe("parseManifest — every bad field is named", () => {
  it("missing required fields", () => {
    expect(issuesOf({})).toEqual(["id: is required", "name: is required", "version: is required", "capabilities: is required"]);
  });

  it("not an object, not JSON", () => {
    expect(issuesOf(null)).toEqual(["(root): must be a JSON object"]);
    expect(issuesOf([minimal])).toEqual(["(root): must be a JSON object"]);
    expect(issuesOf("[1]")).toEqual(["(root): must be a JSON object"]);
    expect(issuesOf("{nope")[0]).toMatch(/^\(root\): invalid JSON/);
  });

  it("names each field and index", () => {
    const issues = issuesOf({
      id: "weather",
      name: "",
      version: "1.0",
      capabilities: ["tool", "shell"],
      wasm_module: "../../evil.wasm",
      skills: "all",
      tools: ["ok", 7],
      permissions: { network: ["api.example.com", "ok.org", "*example.com"], filesystem: ["", "/ok"], env_vars: ["A=B"], shell: "yes", exec: true },
      resources: { max_fuel: -1, max_memory_mb: "16", max_table_elements: 1.5, max_execution_seconds: 0, max_http_requests_per_minute: -3, gpu: 1 },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        "id: must be a reverse-domain id such as com.example.my-plugin",
        "name: must not be empty",
        "version: must be a semantic version such as 1.2.3",
        "capabilities[1]: must be one of tool, channel, pipeline_stage, skill, memory_backend, voice",
        "wasm_module: must be a relative path inside the plugin folder",
        "skills: must be an array of strings",
        "tools[1]: must be a string",
        'permissions.network[2]: must be a host name, "*.domain" or "*"',
        "permissions.filesystem[0]: must not be empty",
        "permissions.env_vars[0]: must not contain NUL or '='",
        "permissions.shell: must be a boolean",
        "permissions.exec: unknown permission",
        "resources.max_fuel: must be >= 1",
        "resources.max_memory_mb: must be a number",
        "resources.max_table_elements: must be an integer",
        "resources.max_execution_seconds: must be >= 1",
        "resources.max_http_requests_per_minute: must be >= 0",
        "resources.gpu: unknown key",
      ]),
    );
    expect(issues).toHaveLength(18);
  });

  it.each([["/abs/plugin.wasm"], ["C:/x.wasm"], ["a\\b.wasm"], ["a/../../b.wasm"], [""], ["x\u0000.wasm"]])(
    "wasm_module %j is refused",
    (p) => {
      expect(issuesOf({ ...minimal, wasm_module: p })).toEqual(["wasm_module: must be a relative path inside the plugin folder"]);
    },
  );

  it("capabilities must not be empty; permissions and resources must be objects", () => {
    expect(issuesOf({ ...minimal, capabilities: [] })).toEqual(["capabilities: must list at least one capability"]);
    expect(issuesOf({ ...minimal, permissions: ["network"] })).toEqual(["permissions: must be an object"]);
    expect(issuesOf({ ...minimal, resources: 5 })).toEqual(["resources: must be an object"]);
  });

  it("property: random junk never crashes, it parses or throws ManifestError", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          parseManifest(v);
        } catch (e) {
          expect(ManifestError.isInstance(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("property: a resource value is either rejected, kept, or clamped to its hard maximum", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 2e10 }), (n) => {
        try {
          const m = parseManifest({ ...minimal, resources: { max_memory_mb: n } });
          expect(m.resources.max_memory_mb).toBe(Math.min(n, 256));
          expect(n).toBeGreaterThanOrEqual(1);
        } catch (e) {
          expect(n).toBeLessThan(1);
          expect((e as ManifestError).issues).toEqual(["resources.max_memory_mb: must be >= 1"]);
        }
      }),
    );
  });
});

describe("diffPermissions (T41 at unit level)", () => {
  it("T41 an upgrade that adds a network permission reports only the new one", () => {
    const approved = { network: ["api.example.com"], filesystem: ["/data"], env_vars: ["A"], shell: false };
    const requested = { network: ["API.example.com.", "new.example.com"], filesystem: ["/data"], env_vars: ["A"], shell: false };
    const diff = diffPermissions(approved, requested);
    expect(diff).toEqual({ network: ["new.example.com"], filesystem: [], env_vars: [], shell: false, hasNew: true, isEmpty: false });
  });

  it("reports new paths, env vars and a shell escalation; nothing new is empty", () => {
    const a = { network: [], filesystem: ["/a"], env_vars: ["X"], shell: false };
    const d = diffPermissions(a, { network: [], filesystem: ["/a", "/b", "/b"], env_vars: ["x", "X"], shell: true });
    expect(d.filesystem).toEqual(["/b"]);
    expect(d.env_vars).toEqual(["x"]);
    expect(d.shell).toBe(true);
    expect(d.hasNew).toBe(true);
    const same = diffPermissions({ ...a, shell: true }, { filesystem: ["/a"], shell: true });
    expect(same.isEmpty).toBe(true);
    expect(same.hasNew).toBe(false);
    expect(diffPermissions({ shell: true }, { shell: false }).isEmpty).toBe(true);
  });

  it("with nothing approved before, everything requested is new", () => {
    const d = diffPermissions(undefined, { network: ["*"], filesystem: [], env_vars: ["K"], shell: false });
    expect(d.network).toEqual(["*"]);
    expect(d.env_vars).toEqual(["K"]);
  });
});

describe("manifest JSON Schema", () => {
  it("is a draft 2020-12 schema with the manifest's fields", () => {
    expect(manifestJsonSchema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    const props = manifestJsonSchema.properties as Record<string, Record<string, unknown>>;
    expect(Object.keys(props)).toEqual(
      expect.arrayContaining(["id", "name", "version", "capabilities", "wasm_module", "skills", "tools", "permissions", "resources"]),
    );
    expect(manifestJsonSchema.required).toEqual(["id", "name", "version", "capabilities"]);
    const perms = props.permissions as { properties: Record<string, unknown>; additionalProperties: unknown };
    expect(Object.keys(perms.properties)).toEqual(["network", "filesystem", "env_vars", "shell"]);
    expect(perms.additionalProperties).toBe(false);
    expect(Object.isFrozen(manifestJsonSchema)).toBe(true);
  });

  it("is published as dist/manifest.schema.json by the build (when built)", () => {
    let text: string;
    try {
      text = readFileSync(new URL("../dist/manifest.schema.json", import.meta.url), "utf8");
    } catch {
      // Not built yet in this checkout: the in-memory schema is checked above.
      return;
    }
    // Structural check (the file may predate the last source edit in a dev checkout).
    const published = JSON.parse(text) as Record<string, unknown>;
    expect(published.$schema).toBe(manifestJsonSchema.$schema);
    expect(published.$id).toBe(manifestJsonSchema.$id);
    expect(published.required).toEqual(["id", "name", "version", "capabilities"]);
  });
});
