/**
 * `@clawft/sandbox-policy/core`: everything but the manifest schema and
 * `PluginSandbox` (which parses manifests), hence without zod: the error base,
 * the audit event types, the resource defaults, the text rules (truncation,
 * control-character escaping), the URL, address and CIDR checks, the rate
 * counters, the environment rules and the filesystem grant rule. For code where
 * import time matters: every plugin worker (`@clawft/metering/runtime`), and
 * `@clawft/sandbox-fs`, `@clawft/sandbox-http` and `@clawft/wit-bindings`, which
 * never read a manifest (loading zod costs ~100 ms and several MiB).
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
export {
  escapeControlText,
  escapeJsonControlText,
  truncateLogMessage,
  LogLimiter,
  TRUNCATION_SUFFIX,
  LOG_MESSAGE_MAX_BYTES,
  type LogLimiterOptions,
} from "./log.js";
export { AUDIT_STRING_MAX_BYTES, boundAuditEvent, cutAuditString } from "./audit.js";
export { isPrivateIp, isIpLiteral } from "./ip.js";
export { NetworkAllowlist, type NetworkAllowlistOptions } from "./allowlist.js";
export {
  checkUrl,
  redactUrl,
  CHECK_URL_MESSAGES,
  type CheckUrlCode,
  type CheckUrlResult,
  type CheckUrlOptions,
} from "./check-url.js";
export { CidrList, type CidrListOptions } from "./cidr.js";
export { RateCounter, type RateCounterOptions } from "./rate.js";
export {
  envAccess,
  explainEnvAccess,
  readEnv,
  HARD_DENIED_ENV_VARS,
  SENSITIVE_ENV_MARKERS,
  type EnvAccessOptions,
  type EnvAccessReason,
} from "./env.js";
export {
  normalizeFilesystemGrant,
  MAX_PERMISSION_ENTRY_CHARS,
  MAX_PERMISSION_ENTRIES,
  type FilesystemGrantResult,
} from "./grant-path.js";
export { diffPermissions, type PermissionDiff } from "./permissions-diff.js";
