import { CidrList, ClawftError, RESOURCE_DEFAULTS, SANDBOX_DEFAULTS, type AuditSink, type HttpAuditEvent } from "@clawft/sandbox-policy/core";

/** Resolves a host name to IP address strings (all of them). */
export type HttpResolver = (hostname: string) => Promise<string[]>;

/** Options of `new SandboxedHttpClient(options)`. */
export interface HttpClientOptions {
  /** The plugin's id (manifest `id`); sent in `User-Agent`. Required. */
  pluginId: string;
  /** The plugin's version (manifest `version`); sent in `User-Agent`. Required. */
  pluginVersion: string;
  /**
   * The plugin's `permissions.network`: host names, `*.domain` wildcards, or
   * `"*"` for every public host. Required; `[]` means no network access.
   */
  network: readonly string[];
  /**
   * Requests a minute for this client (one client per plugin). `0` refuses
   * every request that reaches the rate limit (`HTTP_RATE_LIMITED`).
   * @default 10
   */
  maxRequestsPerMinute?: number;
  /**
   * Largest request body, in UTF-8 bytes.
   * @default 1048576 (1 MiB)
   */
  maxRequestBytes?: number;
  /**
   * Largest response body kept, in bytes; longer bodies are cut and `truncated` is true.
   * @default 4194304 (4 MiB)
   */
  maxResponseBytes?: number;
  /**
   * Total time for one request: DNS, connect, headers and the whole body.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Resolves a host name to its IP addresses.
   * @default the system resolver, `dns.promises.lookup(host, { all: true })`
   */
  resolve?: HttpResolver;
  /**
   * CIDR ranges (`"127.0.0.1/32"`, `"fd00::/8"`) whose addresses are allowed
   * even though they are private/reserved: the operator's explicit opt-in for a
   * local service. It lifts only the private-address refusal, for addresses
   * inside these ranges; the allowlist and every other rule still apply.
   * Parsed and matched by `CidrList` from `@clawft/sandbox-policy` (the rule
   * `PluginSandbox` applies): strict entries, IPv4-mapped addresses judged as
   * their IPv4, zoned addresses never inside.
   * @default []
   */
  allowPrivateCidrs?: readonly string[];
  /** Receives one event per request. Must not throw (errors are ignored). */
  audit?: AuditSink<HttpAuditEvent>;
  /**
   * Clock in milliseconds, for the rate window and audit durations.
   * @default performance.now (monotonic: a wall-clock jump cannot refill the rate window)
   */
  now?: () => number;
}

/** The frozen form of the options, resolved once at construction. */
export interface ResolvedHttpOptions {
  readonly pluginId: string;
  readonly pluginVersion: string;
  readonly network: readonly string[];
  readonly maxRequestsPerMinute: number;
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  readonly timeoutMs: number;
  readonly resolve: HttpResolver | undefined;
  readonly allowPrivateCidrs: readonly string[];
  readonly audit: AuditSink<HttpAuditEvent> | undefined;
  readonly now: () => number;
}

/** Thrown for bad constructor options; the message names the field. */
export class HttpOptionsError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.HttpOptionsError");

  constructor(message: string, options?: { cause?: unknown }) {
    super("HTTP_INVALID_OPTIONS", message, options);
    this.name = "HttpOptionsError";
  }
}

const monotonicNow = (): number => performance.now();

/** The largest limit `RateCounter` accepts. */
const MAX_RATE_LIMIT = 2 ** 31;

/** Longest timer Node accepts (setTimeout clamps larger values to 1 ms). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function positiveInteger(name: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw new HttpOptionsError(`${name} must be a positive integer${max < Number.MAX_SAFE_INTEGER ? ` <= ${max}` : ""}`);
  }
  return value;
}

/** `maxRequestsPerMinute`: an integer 0 … 2^31; 0 refuses every request at the rate limit (deny, never "unlimited"). */
function rateLimit(value: unknown): number {
  if (value === undefined) return RESOURCE_DEFAULTS.maxHttpRequestsPerMinute;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > MAX_RATE_LIMIT) {
    throw new HttpOptionsError(`maxRequestsPerMinute must be an integer from 0 to ${MAX_RATE_LIMIT}`);
  }
  return value;
}

/** A value that ends up in a header: printable ASCII without spaces or `/`, so `User-Agent` stays one clean token. */
const ID_PART = /^[\x21-\x2e\x30-\x7e]{1,200}$/;

function idPart(name: string, value: unknown): string {
  if (typeof value !== "string" || !ID_PART.test(value)) {
    throw new HttpOptionsError(`${name} must be a non-empty string of printable ASCII without spaces or "/"`);
  }
  return value;
}

function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new HttpOptionsError(`${name} must be a function`);
  return value as T;
}

/**
 * Parses `allowPrivateCidrs` with `CidrList` from `@clawft/sandbox-policy`: the
 * one matcher `PluginSandbox` and `checkUrl` use too, so the operator's opt-in
 * means the same thing everywhere (strict addresses, decimal prefixes without
 * leading zeros, no zone ids or whitespace; an IPv4-mapped IPv6 address is
 * judged like the IPv4 it carries). `undefined` is the empty list. Its
 * `TypeError` becomes an `HttpOptionsError` with the same message (the
 * original as `cause`).
 */
export function parseCidrs(value: unknown): CidrList {
  try {
    return new CidrList(value === undefined ? [] : (value as readonly string[]), { field: "allowPrivateCidrs" });
  } catch (error) {
    throw new HttpOptionsError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

function networkList(value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new HttpOptionsError("network must be an array of host patterns");
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== "string" || entry.length === 0) {
      throw new HttpOptionsError(`network[${i}] must be a host name, "*.domain" or "*"`);
    }
  });
  return Object.freeze([...(value as string[])]);
}

/**
 * Checks every option and returns the frozen internal form, plus the
 * `allowPrivateCidrs` matcher (a frozen `CidrList`). Throws `HttpOptionsError`
 * naming the field.
 */
export function resolveOptions(options: unknown): { options: ResolvedHttpOptions; allowedPrivate: CidrList } {
  if (options === null || typeof options !== "object") throw new HttpOptionsError("options must be an object");
  const o = options as Record<string, unknown>;
  const cidrs = parseCidrs(o.allowPrivateCidrs);
  const resolved: ResolvedHttpOptions = Object.freeze({
    pluginId: idPart("pluginId", o.pluginId),
    pluginVersion: idPart("pluginVersion", o.pluginVersion),
    network: networkList(o.network),
    maxRequestsPerMinute: rateLimit(o.maxRequestsPerMinute),
    maxRequestBytes: positiveInteger("maxRequestBytes", o.maxRequestBytes, SANDBOX_DEFAULTS.httpRequestBodyBytes),
    maxResponseBytes: positiveInteger("maxResponseBytes", o.maxResponseBytes, SANDBOX_DEFAULTS.httpResponseBodyBytes),
    timeoutMs: positiveInteger("timeoutMs", o.timeoutMs, SANDBOX_DEFAULTS.httpTimeoutMs, MAX_TIMEOUT_MS),
    resolve: optionalFunction<HttpResolver>("resolve", o.resolve),
    allowPrivateCidrs: cidrs.cidrs,
    audit: optionalFunction<AuditSink<HttpAuditEvent>>("audit", o.audit),
    now: optionalFunction<() => number>("now", o.now) ?? monotonicNow,
  });
  return { options: resolved, allowedPrivate: cidrs };
}
