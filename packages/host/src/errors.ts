import { ClawftError, type ClawftErrorOptions } from "@clawft/sandbox-policy";

/** Every code a `PluginError` can carry (see the README's Errors table). */
export type PluginErrorCode =
  | "PLUGIN_TOOL_ERROR"
  | "PLUGIN_TRAP"
  | "PLUGIN_CRASHED"
  | "PLUGIN_INIT_FAILED"
  | "PLUGIN_UNKNOWN_TOOL"
  | "PLUGIN_FORBIDDEN_IMPORT"
  | "PLUGIN_CONSENT_DENIED"
  | "PLUGIN_INVALID"
  | "PLUGIN_INVALID_MANIFEST"
  | "PLUGIN_INVALID_DESCRIBE"
  | "PLUGIN_TOO_LARGE"
  | "PLUGIN_RESULT_TOO_LARGE"
  | "PLUGIN_RESULT_TOO_DEEP"
  | "PLUGIN_RESULT_TOO_COMPLEX"
  | "PLUGIN_TOO_COMPLEX"
  | "PLUGIN_UNKNOWN_EXPORT"
  | "PLUGIN_UNWIRED_HOST_IMPORT"
  | "PLUGIN_TOO_MANY_INSTANCES"
  | "PLUGIN_TOO_MANY_MEMORIES"
  | "PLUGIN_TOO_MANY_TABLES"
  | "PLUGIN_CLOSED"
  | "PLUGIN_JS_ENGINE_MISSING"
  | "PLUGIN_JS_ENGINE_TAMPERED";

export interface PluginErrorOptions extends ClawftErrorOptions {
  pluginId?: string;
}

/**
 * An error about one plugin: it failed to load, its tool returned `err`, it
 * trapped or crashed. Limits are reported with `ResourceExhaustedError` instead.
 * Match on `code`; `PluginError.isInstance(e)` works across installed copies.
 */
export class PluginError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.PluginError");
  declare readonly code: PluginErrorCode;
  /** The plugin the error is about, when known. */
  readonly pluginId: string | undefined;

  constructor(code: PluginErrorCode, message: string, options: PluginErrorOptions = {}) {
    super(code, message, options);
    this.name = "PluginError";
    this.pluginId = options.pluginId;
  }
}

/** A bad option given to `createHost` (the message names the field). */
export class HostOptionsError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.HostOptionsError");

  constructor(message: string, options: { cause?: unknown } = {}) {
    super("HOST_INVALID_OPTIONS", message, options);
    this.name = "HostOptionsError";
  }
}
