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
