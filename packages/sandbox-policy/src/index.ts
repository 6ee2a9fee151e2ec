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
  type ResourceLimits,
} from "./defaults.js";
