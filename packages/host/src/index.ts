export { createHost, type Host, type Plugin, type PluginUsage, type LoadInput } from "./host.js";
export {
  formatLogLine,
  type HostOptions,
  type ConsentRequest,
  type Approvals,
  type SandboxContext,
  type SandboxFactories,
  type WorkerResourceLimits,
  INSTANCE_LIMITS,
} from "./options.js";
export {
  type HostLogger,
  type LogLevel,
  type PluginFileSystem,
  type PluginHttpClient,
  type PluginHttpRequest,
} from "./host-calls.js";
export { PluginError, HostOptionsError, type PluginErrorCode, type PluginErrorOptions } from "./errors.js";
export { ResourceExhaustedError } from "./metering.js";
export {
  createJsonlAuditSink,
  HOST_AUDIT_CHANNEL,
  type JsonlAuditSink,
  type JsonlAuditSinkOptions,
} from "./audit.js";
export { type PluginDescription, type ToolDescription } from "./validate.js";
export { WORKER_CHANNEL, type WorkerEvent } from "./runtime/spare-workers.js";
export type { AuditEvent } from "@clawft/sandbox-policy";

// lifecycle (issue 9)
export {
  PluginManager,
  LIFECYCLE_CHANNEL,
  LifecycleError,
  LIFECYCLE_ERROR_CODES,
  ApprovalStore,
  TrustedKeyStore,
  approvalBindingOf,
  keyScopeMatches,
  parseKeyScope,
  SIGNATURE_FILE,
  SIGNATURE_FORMAT,
  MANIFEST_FILE,
  NO_PERMISSIONS,
  checkSignature,
  createPluginSignature,
  defaultDataDir,
  describeFilesystemGrant,
  describePermissions,
  missingPermissions,
  pluginDataFolder,
  normalizeEntryPath,
  parsePrivateKey,
  parsePublicKey,
  readArchive,
  runInstalledTool,
  signPluginFolder,
  signedMessage,
  type Approval,
  type ApprovalBinding,
  type ArchiveFiles,
  type ArchiveLimits,
  type ConsentCallback,
  type ConsentReason,
  type DownloadProgress,
  type InstallOptions,
  type InstallResult,
  type InstallSourceKind,
  type InstalledPlugin,
  type LifecycleConsentRequest,
  type LifecycleErrorCode,
  type LifecycleEvent,
  type LifecycleLogger,
  type OpenedPlugin,
  type ParsedPublicKey,
  type PermissionSet,
  type DescribePermissionsOptions,
  type PluginManagerOptions,
  type RemoveOptions,
  type RemoveResult,
  type ResolvedManagerOptions,
  type SignatureFile,
  type SignatureStatus,
  type TrustedKey,
  type TrustedKeyInfo,
} from "./lifecycle/index.js";
export { formatConsentRequest } from "./cli/consent.js";
