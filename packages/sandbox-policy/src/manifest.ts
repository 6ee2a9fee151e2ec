import { z } from "zod";
import { networkEntryHasPort, normalizeHost, normalizeNetworkEntry } from "./allowlist.js";
import { RESOURCE_DEFAULTS, RESOURCE_HARD_LIMITS, type ResourceLimits } from "./defaults.js";
import { HARD_DENIED_ENV_VARS } from "./env.js";
import { ClawftError, type ClawftErrorOptions } from "./errors.js";
import {
  envVarNameProblem,
  MAX_PERMISSION_ENTRIES,
  normalizeFilesystemGrant,
} from "./grant-path.js";

/** What a plugin provides (the reference host's `PluginCapability`). */
export const PLUGIN_CAPABILITIES = Object.freeze([
  "tool",
  "channel",
  "pipeline_stage",
  "skill",
  "memory_backend",
  "voice",
] as const);
export type PluginCapability = (typeof PLUGIN_CAPABILITIES)[number];

/** How a plugin's code runs: its own WebAssembly component, or bundled JS run by the trusted JS engine component. */
export const PLUGIN_RUNTIMES = Object.freeze(["component", "js"] as const);
export type PluginRuntime = (typeof PLUGIN_RUNTIMES)[number];

/** The manifest's runtime, `"component"` when it names none. */
export function manifestRuntime(manifest: Pick<PluginManifest, "runtime">): PluginRuntime {
  return manifest.runtime ?? "component";
}

/** The file a plugin folder must hold for the manifest's runtime (`wasm_module` or `main`), or undefined when the manifest names none. */
export function manifestEntryFile(manifest: Pick<PluginManifest, "runtime" | "wasm_module" | "main">): string | undefined {
  return manifestRuntime(manifest) === "js" ? manifest.main : manifest.wasm_module;
}

/** `permissions` of the manifest: what the plugin asks for. */
export interface PluginPermissions {
  /** Host names, `*.domain` or `*` (all public hosts). Empty: no network. */
  network: string[];
  /** Paths the plugin may read and write. Empty: no filesystem. */
  filesystem: string[];
  /** Environment variable names the plugin may read. Empty: none. */
  env_vars: string[];
  /** Shell access (never granted without the user's approval). */
  shell: boolean;
}

/** `resources` of the manifest (snake_case, as in the JSON). */
export interface PluginResources {
  max_fuel: number;
  max_memory_mb: number;
  max_table_elements: number;
  max_execution_seconds: number;
  max_http_requests_per_minute: number;
  max_log_messages_per_minute: number;
  max_result_bytes: number;
  max_env_lookups_per_minute: number;
}

/** A validated `clawft.plugin.json`, defaults filled in, resources clamped. */
export interface PluginManifest {
  id: string;
  name: string;
  version: string;
  capabilities: PluginCapability[];
  /** What the plugin ships: a WebAssembly component (`wasm_module`), or bundled JS (`main`) run by the JS engine. Absent means `"component"`. */
  runtime?: PluginRuntime;
  /** The component's path, relative to the plugin folder (runtime `"component"` only). */
  wasm_module?: string;
  /** The bundled JS file's path, relative to the plugin folder (runtime `"js"` only). */
  main?: string;
  /** What the plugin is for, in its author's words (shown at consent; grants nothing). */
  description?: string;
  skills: string[];
  tools: string[];
  permissions: PluginPermissions;
  resources: PluginResources;
  /** Unknown top-level keys are kept (forward compatibility) and warned about. */
  [key: string]: unknown;
}

/** The result of `parseManifestWithWarnings`. */
export interface ManifestParseResult {
  manifest: PluginManifest;
  /** Non-fatal findings, each naming the field (clamped resources, unknown keys, ...). */
  warnings: string[];
}

/** A manifest that cannot be used. `issues` names every bad field. */
export class ManifestError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.ManifestError");
  /** One line per problem, each starting with the field path (`permissions.network[2]: ...`). */
  readonly issues: readonly string[];

  constructor(issues: readonly string[], options: ClawftErrorOptions = {}) {
    const shown = issues.slice(0, 10).join("; ");
    const more = issues.length > 10 ? `; and ${issues.length - 10} more` : "";
    super("MANIFEST_INVALID", `invalid plugin manifest: ${shown}${more}`, options);
    this.name = "ManifestError";
    this.issues = Object.freeze([...issues]);
  }
}

/** Reverse-domain id: at least two dot-separated labels of letters, digits, `-` and `_`. */
const ID_RE = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}))+$/;
/** semver.org's regular expression (2.0.0). */
const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

const typeError = (expected: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? "is required" : `must be ${expected}`;

const str = (expected = "a string") => z.string({ error: typeError(expected) });

/**
 * A path relative to the plugin folder: not absolute, no `..` segment, no
 * backslash, drive letter or NUL. Stops a manifest from pointing the loader at
 * a module outside its own folder.
 */
function isRelativeModulePath(p: string): boolean {
  if (p.length === 0 || p.length > 1024 || p.includes("\0") || p.includes("\\")) return false;
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p)) return false;
  return !p.split("/").some((seg) => seg === "..");
}

/**
 * A host name, `*.domain` or `*`, without a port. A port is refused (T66): the
 * allowlist matches hosts, so `api.example.com:8443` would be shown in the
 * consent prompt as "port 8443 only" while every port of the host is reachable.
 */
const networkEntry = str().superRefine((v, ctx) => {
  if (normalizeNetworkEntry(v) !== undefined) return;
  const message =
    networkEntryHasPort(v) && normalizeHost(v, true) !== undefined
      ? "must not name a port: an allowed host is reachable on every port; list the host alone"
      : 'must be a host name, "*.domain" or "*"';
  ctx.addIssue({ code: "custom", message });
});

/** Checked and normalised by `normalizeFilesystemGrant` (T63, T64). */
const filesystemEntry = str().superRefine((v, ctx) => {
  const result = normalizeFilesystemGrant(v);
  if (!result.ok) ctx.addIssue({ code: "custom", message: result.problem });
});

const envVarEntry = str().superRefine((v, ctx) => {
  const problem = envVarNameProblem(v);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

const list = <T extends z.ZodType>(item: T, expected: string) =>
  z.array(item, { error: typeError(expected) }).max(1000, "must have at most 1000 entries");

/** A permission list: each entry is one line of the consent prompt, so the count is bounded (T64). */
const permissionList = <T extends z.ZodType>(item: T, expected: string) =>
  z
    .array(item, { error: typeError(expected) })
    .max(MAX_PERMISSION_ENTRIES, `must have at most ${MAX_PERMISSION_ENTRIES} entries (each is shown in full at consent)`);

const permissionsSchema = z
  .strictObject(
    {
      network: permissionList(networkEntry, "an array of host names")
        .default([])
        .describe('Hosts the plugin may reach: "api.example.com", "*.example.com" (subdomains only) or "*" (every public host), without a port (every port of a listed host is reachable). Empty: no network.'),
      filesystem: permissionList(filesystemEntry, "an array of paths")
        .default([])
        .describe('Folders the plugin may read and write: absolute, or relative to the plugin\'s data folder; no ".", ".." or empty segments, no control characters, at most 1024 characters. Empty: no filesystem access.'),
      env_vars: permissionList(envVarEntry, "an array of variable names")
        .default([])
        .describe("Environment variables the plugin may read. Names with _SECRET, _PASSWORD or _TOKEN need the user's approval."),
      shell: z
        .boolean({ error: typeError("a boolean") })
        .default(false)
        .describe("Shell access; needs the user's approval."),
    },
    { error: typeError("an object") },
  )
  .default({ network: [], filesystem: [], env_vars: [], shell: false });

const resourceInt = (key: keyof PluginResources, min: number, unit: string) => {
  const camel = SNAKE_TO_CAMEL[key];
  return z
    .number({ error: typeError("a number") })
    .int("must be an integer")
    .min(min, min === 0 ? "must be >= 0" : `must be >= ${min}`)
    .default(RESOURCE_DEFAULTS[camel])
    .describe(`${unit} (default ${RESOURCE_DEFAULTS[camel]}, hard maximum ${RESOURCE_HARD_LIMITS[camel]}; larger values are clamped)`);
};

const SNAKE_TO_CAMEL: Readonly<Record<keyof PluginResources, keyof ResourceLimits>> = Object.freeze({
  max_fuel: "maxFuel",
  max_memory_mb: "maxMemoryMb",
  max_table_elements: "maxTableElements",
  max_execution_seconds: "maxExecutionSeconds",
  max_http_requests_per_minute: "maxHttpRequestsPerMinute",
  max_log_messages_per_minute: "maxLogMessagesPerMinute",
  max_result_bytes: "maxResultBytes",
  max_env_lookups_per_minute: "maxEnvLookupsPerMinute",
});

const resourcesSchema = z
  .strictObject(
    {
      max_fuel: resourceInt("max_fuel", 1, "Fuel units per call"),
      max_memory_mb: resourceInt("max_memory_mb", 1, "Linear memory in MiB"),
      max_table_elements: resourceInt("max_table_elements", 0, "Table elements"),
      max_execution_seconds: resourceInt("max_execution_seconds", 1, "Wall clock per call in seconds"),
      max_http_requests_per_minute: resourceInt("max_http_requests_per_minute", 0, "HTTP requests per minute"),
      max_log_messages_per_minute: resourceInt("max_log_messages_per_minute", 0, "Log messages per minute"),
      max_result_bytes: resourceInt("max_result_bytes", 1, "Largest tool result in UTF-8 bytes"),
      max_env_lookups_per_minute: resourceInt("max_env_lookups_per_minute", 0, "get-env lookups per minute"),
    },
    { error: typeError("an object") },
  )
  .default({
    max_fuel: RESOURCE_DEFAULTS.maxFuel,
    max_memory_mb: RESOURCE_DEFAULTS.maxMemoryMb,
    max_table_elements: RESOURCE_DEFAULTS.maxTableElements,
    max_execution_seconds: RESOURCE_DEFAULTS.maxExecutionSeconds,
    max_http_requests_per_minute: RESOURCE_DEFAULTS.maxHttpRequestsPerMinute,
    max_log_messages_per_minute: RESOURCE_DEFAULTS.maxLogMessagesPerMinute,
    max_result_bytes: RESOURCE_DEFAULTS.maxResultBytes,
    max_env_lookups_per_minute: RESOURCE_DEFAULTS.maxEnvLookupsPerMinute,
  });

/** The zod schema of `clawft.plugin.json` (before clamping). */
export const manifestSchema = z
  .looseObject(
    {
      $schema: str()
        .optional()
        .describe("The JSON Schema of this file (for editors); ignored by the host."),
      id: str()
        .regex(ID_RE, "must be a reverse-domain id such as com.example.my-plugin")
        .max(255, "must be at most 255 characters")
        .describe("Unique reverse-domain identifier, e.g. com.example.weather."),
      name: str()
        .min(1, "must not be empty")
        .max(256, "must be at most 256 characters")
        .refine((v) => v.length === 0 || v.trim().length > 0, { message: "must not be blank" })
        .describe("Human-readable name."),
      version: str()
        .regex(SEMVER_RE, "must be a semantic version such as 1.2.3")
        .max(256, "must be at most 256 characters")
        .describe("Semantic version (semver 2.0.0)."),
      capabilities: z
        .array(
          z.enum(PLUGIN_CAPABILITIES, {
            error: () => `must be one of ${PLUGIN_CAPABILITIES.join(", ")}`,
          }),
          { error: typeError("an array of capabilities") },
        )
        .min(1, "must list at least one capability")
        .max(PLUGIN_CAPABILITIES.length * 4, "has too many entries")
        .describe("What the plugin provides."),
      description: str()
        .max(2000, "must be at most 2000 characters")
        .optional()
        .describe("What the plugin is for, in one or two sentences (shown at consent, cut to 500 characters; grants nothing)."),
      runtime: z
        .enum(PLUGIN_RUNTIMES, { error: () => `must be one of ${PLUGIN_RUNTIMES.join(", ")}` })
        .optional()
        .describe('How the plugin runs: "component" (default; wasm_module is a WebAssembly component) or "js" (main is one bundled CommonJS file run by the trusted engine of @clawft/plugin-js).'),
      wasm_module: str()
        .refine(isRelativeModulePath, { message: "must be a relative path inside the plugin folder" })
        .optional()
        .describe('Path of the WebAssembly component, relative to the plugin folder (runtime "component").'),
      main: str()
        .refine(isRelativeModulePath, { message: "must be a relative path inside the plugin folder" })
        .optional()
        .describe('Path of the bundled JS file, relative to the plugin folder (runtime "js"; require("host") is the only import, module.exports.plugin the plugin).'),
      skills: list(str().max(256, "must be at most 256 characters"), "an array of strings")
        .default([])
        .describe("Skills provided by this plugin."),
      tools: list(str().max(256, "must be at most 256 characters"), "an array of strings")
        .default([])
        .describe("Tools provided by this plugin."),
      permissions: permissionsSchema.describe("What the plugin asks for. Everything is denied by default."),
      resources: resourcesSchema.describe("Resource limits. Values above the hard maximum are clamped."),
    },
    { error: typeError("a JSON object") },
  )
  .superRefine((m, ctx) => {
    // One entry file, of the runtime's kind: a manifest that names both, or the other
    // runtime's file, is refused rather than guessed at (which file the signature and
    // the size limits cover must never be ambiguous).
    const js = m.runtime === "js";
    if (js && m.wasm_module !== undefined) {
      ctx.addIssue({ code: "custom", path: ["wasm_module"], message: 'must not be set with runtime "js" (name the bundled JS in main)' });
    }
    if (!js && m.main !== undefined) {
      ctx.addIssue({ code: "custom", path: ["main"], message: 'needs runtime "js" (a component plugin names its component in wasm_module)' });
    }
  })
  .describe("clawft plugin manifest (clawft.plugin.json)");

const KNOWN_KEYS = new Set(Object.keys(manifestSchema.shape));

/** The JSON Schema (draft 2020-12) of `clawft.plugin.json`, for editors and validators. */
export const manifestJsonSchema: Readonly<Record<string, unknown>> = Object.freeze({
  ...z.toJSONSchema(manifestSchema, { io: "input", unrepresentable: "any" }),
  $id: "https://unpkg.com/@clawft/sandbox-policy/dist/manifest.schema.json",
  title: "clawft plugin manifest",
});

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]{0,63}$/;

/**
 * `permissions.network[2]`. Keys that are not plain identifiers are quoted and
 * cut (`["bad\nkey"]`), so a hostile manifest cannot forge lines in a log
 * through its key names.
 */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && PLAIN_KEY.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg).slice(0, 64))}]`;
  }
  return out === "" ? "(root)" : out;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const where = formatPath(issue.path);
      const what = where === "permissions" ? "unknown permission" : "unknown key";
      for (const key of issue.keys) out.push(`${formatPath([...issue.path, key])}: ${what}`);
      continue;
    }
    out.push(`${formatPath(issue.path)}: ${issue.message}`);
  }
  return out;
}

/**
 * Removes one leading byte order mark (U+FEFF) from manifest text. Editors on
 * Windows write one; `JSON.parse` refuses it. Every reader of a manifest's text
 * goes through `parseManifestWithWarnings`, which calls this, so the plugin
 * manager (at install) and the host (at every run) parse the same text (T67):
 * a manifest cannot install and then fail at run, or the reverse. A second
 * BOM is not stripped (it is invalid JSON).
 */
export function stripManifestBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Validates a manifest (an object, or its JSON text; one leading BOM is ignored) and returns it with
 * defaults filled in, plus warnings: resources above their hard maximum are
 * clamped (a plugin can never grant itself more than the host's ceiling),
 * unknown top-level keys are kept, a `__proto__` key is dropped, hard-denied
 * env vars are pointed out. Throws `ManifestError` (code `MANIFEST_INVALID`)
 * listing every bad field.
 */
export function parseManifestWithWarnings(input: unknown): ManifestParseResult {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(stripManifestBom(input)) as unknown;
    } catch (e) {
      // V8's message may quote the input: strip control characters (log-line forgery).
      const why = String((e as Error).message).replace(/[\x00-\x1f\x7f]/g, " ").slice(0, 200);
      throw new ManifestError([`(root): invalid JSON: ${why}`], { cause: e });
    }
  }
  const warnings: string[] = [];
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const key of Object.keys(value)) {
      if (key === "__proto__") warnings.push(`__proto__: key ignored`);
      else if (!KNOWN_KEYS.has(key)) warnings.push(`${formatPath([key])}: unknown key (kept)`);
    }
  } else {
    throw new ManifestError(["(root): must be a JSON object"]);
  }
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) throw new ManifestError(formatIssues(parsed.error.issues), { cause: parsed.error });

  const data = parsed.data as PluginManifest;
  // The one normalised form of each grant: what the prompt shows, the approvals store and the sandbox uses.
  data.permissions.filesystem = data.permissions.filesystem.map((entry) => {
    const result = normalizeFilesystemGrant(entry);
    return result.ok ? result.path : entry;
  });
  for (const key of Object.keys(SNAKE_TO_CAMEL) as (keyof PluginResources)[]) {
    const max = RESOURCE_HARD_LIMITS[SNAKE_TO_CAMEL[key]];
    if (data.resources[key] > max) {
      warnings.push(`resources.${key}: ${data.resources[key]} is above the hard maximum ${max}; clamped to ${max}`);
      data.resources[key] = max;
    }
  }
  data.permissions.env_vars.forEach((name, i) => {
    if (HARD_DENIED_ENV_VARS.includes(name.toUpperCase())) {
      warnings.push(`permissions.env_vars[${i}]: ${JSON.stringify(name)} is never readable by plugins`);
    }
  });
  return { manifest: data, warnings };
}

/** `parseManifestWithWarnings(input).manifest`: the warnings are dropped. */
export function parseManifest(input: unknown): PluginManifest {
  return parseManifestWithWarnings(input).manifest;
}

/** The manifest's resources in the camelCase form the other packages use. */
export function manifestResources(manifest: Pick<PluginManifest, "resources">): ResourceLimits {
  const r = manifest.resources;
  return {
    maxFuel: r.max_fuel,
    maxMemoryMb: r.max_memory_mb,
    maxTableElements: r.max_table_elements,
    maxExecutionSeconds: r.max_execution_seconds,
    maxHttpRequestsPerMinute: r.max_http_requests_per_minute,
    maxLogMessagesPerMinute: r.max_log_messages_per_minute,
    maxResultBytes: r.max_result_bytes,
    maxEnvLookupsPerMinute: r.max_env_lookups_per_minute,
  };
}

export { diffPermissions, type PermissionDiff } from "./permissions-diff.js";
