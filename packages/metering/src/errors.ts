import { ClawftError, type ClawftErrorOptions } from "@clawft/sandbox-policy/core";

/** The resource a guest ran out of. */
export type ResourceKind = "fuel" | "memory" | "table" | "timeout";

/** The unit `limit` and `used` are given in, for each kind. */
export const RESOURCE_UNITS: Readonly<Record<ResourceKind, string>> = Object.freeze({
  fuel: "fuel units",
  memory: "bytes",
  table: "table elements",
  timeout: "milliseconds",
});

const MESSAGES: Readonly<Record<ResourceKind, string>> = Object.freeze({
  fuel: "resource exhausted: fuel",
  memory: "resource exhausted: memory",
  table: "resource exhausted: table",
  timeout: "resource exhausted: timeout",
});

export interface ResourceExhaustedErrorOptions extends ClawftErrorOptions {
  /** Overrides the default message (which starts with `resource exhausted: <kind>`). */
  message?: string;
}

/**
 * A guest ran out of fuel, memory, table elements or wall-clock time. `limit`
 * and `used` are in the resource's own unit: fuel units, bytes, table
 * elements or milliseconds (see {@link RESOURCE_UNITS}).
 */
export class ResourceExhaustedError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.ResourceExhaustedError");

  declare readonly code: "RESOURCE_EXHAUSTED";
  readonly kind: ResourceKind;
  readonly limit: number;
  readonly used: number;

  constructor(kind: ResourceKind, limit: number, used: number, options: ResourceExhaustedErrorOptions = {}) {
    super(
      "RESOURCE_EXHAUSTED",
      options.message ??
        `${MESSAGES[kind]} (used ${formatNumber(used)} of ${formatNumber(limit)} ${RESOURCE_UNITS[kind]})`,
      options,
    );
    this.name = "ResourceExhaustedError";
    this.kind = kind;
    this.limit = limit;
    this.used = used;
  }

  override toJSON(): { name: string; code: string; message: string; kind: ResourceKind; limit: number; used: number } {
    return { ...super.toJSON(), kind: this.kind, limit: this.limit, used: this.used };
  }
}

/** Codes of {@link MeteringError}. */
export type MeteringErrorCode =
  /** The input is not valid WebAssembly. */
  | "METERING_INVALID"
  /** Valid WebAssembly that cannot be metered safely (feature, several memories, reserved import). */
  | "METERING_UNSUPPORTED"
  /** A bad option (the message names the field). */
  | "METERING_INVALID_OPTIONS";

/** Refusal to meter a module, or bad options. */
export class MeteringError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.MeteringError");

  declare readonly code: MeteringErrorCode;

  constructor(code: MeteringErrorCode, message: string, options: ClawftErrorOptions = {}) {
    super(code, message, options);
    this.name = "MeteringError";
  }
}

function formatNumber(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toString() : String(n);
}
