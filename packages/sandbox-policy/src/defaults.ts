/** Resource limits of a plugin, in the manifest's units. */
export interface ResourceLimits {
  /** Fuel units a call (about one per instruction). */
  maxFuel: number;
  maxMemoryMb: number;
  maxTableElements: number;
  maxExecutionSeconds: number;
  maxHttpRequestsPerMinute: number;
  maxLogMessagesPerMinute: number;
  /**
   * Largest result (UTF-8 bytes) a tool call may return; a longer one is refused in
   * the plugin's worker before it is copied to the host's main thread.
   */
  maxResultBytes: number;
  /** `get-env` lookups per 60 s window; past it the plugin sees `none` (T52). */
  maxEnvLookupsPerMinute: number;
}

/** Defaults of `resources` in the manifest (sandbox-policy README, "Options"). */
export const RESOURCE_DEFAULTS: Readonly<ResourceLimits> = Object.freeze({
  maxFuel: 1_000_000_000,
  maxMemoryMb: 16,
  maxTableElements: 10_000,
  maxExecutionSeconds: 30,
  maxHttpRequestsPerMinute: 10,
  maxLogMessagesPerMinute: 100,
  maxResultBytes: 1024 * 1024,
  maxEnvLookupsPerMinute: 1000,
});

/** Hard maxima: a manifest asking for more is clamped to these, with a warning. */
export const RESOURCE_HARD_LIMITS: Readonly<ResourceLimits> = Object.freeze({
  maxFuel: 10_000_000_000,
  maxMemoryMb: 256,
  maxTableElements: 100_000,
  maxExecutionSeconds: 300,
  maxHttpRequestsPerMinute: 10_000,
  maxLogMessagesPerMinute: 100_000,
  maxResultBytes: 16 * 1024 * 1024,
  maxEnvLookupsPerMinute: 100_000,
});

const KiB = 1024;
const MiB = 1024 * KiB;

/** Byte limits of the sandboxes (docs/security-catalogue.md, "Defaults"). */
export const SANDBOX_DEFAULTS = Object.freeze({
  httpRequestBodyBytes: 1 * MiB,
  httpResponseBodyBytes: 4 * MiB,
  httpTimeoutMs: 30_000,
  fsReadBytes: 8 * MiB,
  fsWriteBytes: 4 * MiB,
  logMessageBytes: 4096,
  moduleBytes: 300 * KiB,
  moduleGzipBytes: 120 * KiB,
});

/**
 * Largest argument each host function takes, in UTF-8 bytes as the guest hands it
 * over (the canonical ABI length), checked BEFORE the string is decoded or copied
 * (T49). Stops a plugin from making the host decode, copy, audit and escape
 * megabytes per call (a 90 MiB audit line from a 30 MiB path). Each limit is far
 * above any legitimate value: `PATH_MAX` is 4096 on Linux, the longest HTTP method
 * name is 7 bytes, browsers and servers cap URLs at 8 KiB, and an env name over
 * 1 KiB names no real variable. Headers: sandbox-http refuses more than 100
 * entries or 64 KiB anyway; the lift limits (1024 entries, 1 MiB of names and
 * values) only bound the work done before that rule is even reached. Bodies and
 * file contents keep the sandboxes' limits, also checked from the length first.
 */
export const HOST_CALL_ARGUMENT_LIMITS = Object.freeze({
  pathBytes: 4096,
  methodBytes: 16,
  urlBytes: 8 * KiB,
  envNameBytes: 1024,
  headerCount: 1024,
  headerBytes: 1 * MiB,
  requestBodyBytes: SANDBOX_DEFAULTS.httpRequestBodyBytes,
  writeContentBytes: SANDBOX_DEFAULTS.fsWriteBytes,
});
