/**
 * `@clawft/sandbox-policy/core`: the error base, the audit event types, the
 * resource defaults and the text rules (truncation, control-character escaping),
 * without the manifest schema (no zod). For code that runs in
 * every plugin worker, where import time matters (e.g. `@clawft/metering/runtime`).
 * The classes are the same as the main entry's (one shared chunk).
 */
export { ClawftError, SandboxError, type ClawftErrorOptions } from "./errors.js";
export type {
  AuditEvent,
  AuditResult,
  AuditSink,
  FsAuditEvent,
  FsOperation,
  HostFunction,
  HttpAuditEvent,
} from "./audit.js";
export {
  RESOURCE_DEFAULTS,
  RESOURCE_HARD_LIMITS,
  SANDBOX_DEFAULTS,
  HOST_CALL_ARGUMENT_LIMITS,
  type ResourceLimits,
} from "./defaults.js";
export { escapeControlText, escapeJsonControlText, truncateLogMessage, TRUNCATION_SUFFIX, LOG_MESSAGE_MAX_BYTES } from "./log.js";
