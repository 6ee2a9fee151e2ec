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
export { isPrivateIp, isIpLiteral } from "./ip.js";
export { NetworkAllowlist, type NetworkAllowlistOptions } from "./allowlist.js";
export {
  checkUrl,
  redactUrl,
  CHECK_URL_MESSAGES,
  type CheckUrlCode,
  type CheckUrlResult,
} from "./check-url.js";
