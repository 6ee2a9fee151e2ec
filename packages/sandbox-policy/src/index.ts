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
export { AUDIT_STRING_MAX_BYTES, boundAuditEvent, cutAuditString } from "./audit.js";
export {
  RESOURCE_DEFAULTS,
  RESOURCE_HARD_LIMITS,
  SANDBOX_DEFAULTS,
  HOST_CALL_ARGUMENT_LIMITS,
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
  type CheckUrlOptions,
} from "./check-url.js";
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
  escapeControlText,
  escapeJsonControlText,
  truncateLogMessage,
  LogLimiter,
  TRUNCATION_SUFFIX,
  LOG_MESSAGE_MAX_BYTES,
  type LogLimiterOptions,
} from "./log.js";
export {
  normalizeFilesystemGrant,
  MAX_PERMISSION_ENTRY_CHARS,
  MAX_PERMISSION_ENTRIES,
  type FilesystemGrantResult,
} from "./grant-path.js";
export {
  parseManifest,
  parseManifestWithWarnings,
  stripManifestBom,
  diffPermissions,
  manifestResources,
  manifestRuntime,
  manifestEntryFile,
  manifestJsonSchema,
  manifestSchema,
  ManifestError,
  PLUGIN_CAPABILITIES,
  PLUGIN_RUNTIMES,
  type PluginRuntime,
  type PluginManifest,
  type PluginCapability,
  type PluginPermissions,
  type PluginResources,
  type ManifestParseResult,
  type PermissionDiff,
} from "./manifest.js";
export { CidrList, type CidrListOptions } from "./cidr.js";
export {
  PluginSandbox,
  type PluginSandboxOptions,
  type PluginSandboxOverrides,
} from "./sandbox.js";
