import { NetworkAllowlist } from "./allowlist.js";
import { checkUrl, type CheckUrlResult } from "./check-url.js";
import { CidrList } from "./cidr.js";
import { RESOURCE_HARD_LIMITS, type ResourceLimits } from "./defaults.js";
import { envAccess, explainEnvAccess, readEnv, type EnvAccessReason } from "./env.js";
import { isPrivateIp } from "./ip.js";
import { LogLimiter } from "./log.js";
import {
  manifestResources,
  parseManifestWithWarnings,
  type PluginManifest,
  type PluginPermissions,
} from "./manifest.js";
import { assertClock, RateCounter } from "./rate.js";

/** Operator overrides: they can only narrow what the manifest asks for (or opt in to private ranges). */
export interface PluginSandboxOverrides {
  /**
   * Lower resource limits (camelCase, as `ResourceLimits`). A value above the
   * manifest's is ignored: overrides lower, never raise.
   * @default none
   */
  resources?: Partial<ResourceLimits>;
  /**
   * Private ranges this plugin may reach when they are also in its network
   * allowlist (e.g. `["127.0.0.1/32"]` for a local test server).
   * @default [] (every private address refused)
   */
  allowPrivateCidrs?: readonly string[];
}

/** Options of `PluginSandbox.fromManifest`. */
export interface PluginSandboxOptions {
  /**
   * What the user approved, in the shape of `permissions`: env vars that need
   * approval (`_SECRET`, `_PASSWORD`, `_TOKEN`) and `shell: true` are only
   * granted when approved here.
   * @default nothing approved
   */
  approvals?: Partial<PluginPermissions>;
  /** @default none */
  overrides?: PluginSandboxOverrides;
  /**
   * The clock of the HTTP and log counters, in milliseconds.
   * @default performance.now
   */
  now?: () => number;
}

const WINDOW_MS = 60_000;

function stringList(field: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new TypeError(`${field} must be an array of strings`);
  }
  return [...(value as string[])];
}

function lowerResources(base: ResourceLimits, overrides: unknown): ResourceLimits {
  if (overrides === undefined) return base;
  if (typeof overrides !== "object" || overrides === null) {
    throw new TypeError("overrides.resources must be an object");
  }
  const out: ResourceLimits = { ...base };
  for (const key of Object.keys(RESOURCE_HARD_LIMITS) as (keyof ResourceLimits)[]) {
    const value = (overrides as Partial<Record<keyof ResourceLimits, unknown>>)[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`overrides.resources.${key} must be an integer >= 0`);
    }
    out[key] = Math.min(out[key], value);
  }
  for (const key of Object.keys(overrides)) {
    if (!Object.prototype.hasOwnProperty.call(RESOURCE_HARD_LIMITS, key)) {
      throw new TypeError(`overrides.resources.${key} is not a resource limit`);
    }
  }
  return out;
}

/**
 * The runtime security context of ONE plugin instance: its network allowlist,
 * HTTP and log counters, env rule, filesystem grants, shell approval and
 * resource limits. Every call to `fromManifest` builds fresh counters and
 * copies of every list, so two plugins (or two instances of one) share nothing
 * (T43, T44): exhausting one sandbox's HTTP budget leaves the other's intact.
 */
export class PluginSandbox {
  readonly pluginId: string;
  readonly pluginVersion: string;
  /** The validated manifest this sandbox was built from (with defaults and clamping). */
  readonly manifest: Readonly<PluginManifest>;
  /** Warnings from validating the manifest (clamped resources, unknown keys). */
  readonly warnings: readonly string[];
  readonly network: NetworkAllowlist;
  /** `permissions.network` as written in the manifest. */
  readonly networkEntries: readonly string[];
  /** Granted paths as written in the manifest (sandbox-fs resolves them). */
  readonly filesystem: readonly string[];
  /** `permissions.env_vars` as written in the manifest. */
  readonly envVars: readonly string[];
  /** Env vars the user approved (needed for sensitive names). */
  readonly approvedEnvVars: readonly string[];
  /** True only when the manifest asks for shell AND the user approved it. */
  readonly shell: boolean;
  /** Manifest resources, clamped to the hard maxima, lowered by overrides. */
  readonly resources: Readonly<ResourceLimits>;
  /** `resources.maxHttpRequestsPerMinute` requests per 60 s window. */
  readonly httpCounter: RateCounter;
  /** `resources.maxLogMessagesPerMinute` messages per 60 s window. */
  readonly logLimiter: LogLimiter;
  /**
   * `resources.maxEnvLookupsPerMinute` `get-env` lookups per 60 s window (T52):
   * stops a plugin from turning env lookups into an unmetered flood of host
   * calls (each one audited). Past it the host answers `none`, as for a denied name.
   */
  readonly envCounter: RateCounter;
  /** The operator's validated private-range opt-in. */
  readonly allowPrivateCidrs: readonly string[];
  readonly #privateCidrs: CidrList;

  private constructor(manifest: PluginManifest, warnings: string[], options: PluginSandboxOptions) {
    const approvals = options.approvals ?? {};
    if (typeof approvals !== "object" || approvals === null) throw new TypeError("approvals must be an object");
    const overrides = options.overrides ?? {};
    if (typeof overrides !== "object" || overrides === null) throw new TypeError("overrides must be an object");
    assertClock("now", options.now);

    this.pluginId = manifest.id;
    this.pluginVersion = manifest.version;
    this.manifest = Object.freeze(manifest);
    this.warnings = Object.freeze([...warnings]);
    const perms = manifest.permissions;
    this.networkEntries = Object.freeze([...perms.network]);
    this.network = new NetworkAllowlist(this.networkEntries, { field: "permissions.network" });
    this.filesystem = Object.freeze([...perms.filesystem]);
    this.envVars = Object.freeze([...perms.env_vars]);
    this.approvedEnvVars = Object.freeze(stringList("approvals.env_vars", approvals.env_vars));
    if (approvals.shell !== undefined && typeof approvals.shell !== "boolean") {
      throw new TypeError("approvals.shell must be a boolean");
    }
    this.shell = perms.shell && approvals.shell === true;
    this.resources = Object.freeze(lowerResources(manifestResources(manifest), overrides.resources));
    this.#privateCidrs = new CidrList(stringList("overrides.allowPrivateCidrs", overrides.allowPrivateCidrs), {
      field: "overrides.allowPrivateCidrs",
    });
    this.allowPrivateCidrs = this.#privateCidrs.cidrs;
    const now = options.now;
    this.httpCounter = new RateCounter({
      limit: this.resources.maxHttpRequestsPerMinute,
      windowMs: WINDOW_MS,
      ...(now ? { now } : {}),
    });
    this.envCounter = new RateCounter({
      limit: this.resources.maxEnvLookupsPerMinute,
      windowMs: WINDOW_MS,
      ...(now ? { now } : {}),
    });
    this.logLimiter = new LogLimiter({
      limit: this.resources.maxLogMessagesPerMinute,
      windowMs: WINDOW_MS,
      ...(now ? { now } : {}),
    });
    Object.freeze(this);
  }

  /**
   * Builds the sandbox of one plugin instance. `manifest` is validated again
   * (a raw object or JSON text works too), so a hand-built manifest cannot
   * skip the rules. Throws `ManifestError` for a bad manifest and `TypeError`
   * naming the field for bad options.
   */
  static fromManifest(manifest: PluginManifest | unknown, options: PluginSandboxOptions = {}): PluginSandbox {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    // zod builds new objects and arrays, so the caller's manifest is never shared or mutated.
    const { manifest: parsed, warnings } = parseManifestWithWarnings(manifest);
    for (const list of [parsed.capabilities, parsed.skills, parsed.tools]) Object.freeze(list);
    const p = parsed.permissions;
    for (const list of [p.network, p.filesystem, p.env_vars]) Object.freeze(list);
    Object.freeze(p);
    Object.freeze(parsed.resources);
    return new PluginSandbox(parsed, warnings, options);
  }

  /** `checkUrl` with this plugin's allowlist and the operator's private-range opt-in. Never throws. */
  checkUrl(url: string | URL): CheckUrlResult {
    return checkUrl(url, this.network, { allowPrivateCidrs: this.#privateCidrs });
  }

  /**
   * May a connection go to this (resolved) address? True for public addresses
   * and for private ones inside `allowPrivateCidrs`; false for anything else,
   * including strings that are not IP literals. For DNS answers: stops SSRF and
   * DNS rebinding through names that resolve to private addresses.
   */
  isAddressAllowed(ip: string): boolean {
    try {
      return !isPrivateIp(ip) || this.#privateCidrs.contains(ip);
    } catch {
      return false;
    }
  }

  /** The env rule for this plugin (listed in the manifest; sensitive names approved). */
  envAccess(name: string): boolean {
    return envAccess(name, this.envVars, { approved: this.approvedEnvVars });
  }

  /** Why `envAccess` decided as it did, for audit. */
  explainEnvAccess(name: string): EnvAccessReason {
    return explainEnvAccess(name, this.envVars, { approved: this.approvedEnvVars });
  }

  /** Reads `name` from `env` (pass `process.env`) when the env rule allows it; `undefined` otherwise. */
  readEnv(name: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
    return readEnv(name, this.envVars, env, { approved: this.approvedEnvVars });
  }
}
