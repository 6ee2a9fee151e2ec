export { PluginManager, LIFECYCLE_CHANNEL } from "./manager.js";
export type {
  InstallOptions,
  InstallResult,
  InstallSourceKind,
  InstalledPlugin,
  LifecycleEvent,
  OpenedPlugin,
  RemoveOptions,
  RemoveResult,
} from "./manager.js";
export {
  defaultDataDir,
  type ConsentCallback,
  type ConsentReason,
  type LifecycleConsentRequest,
  type LifecycleLogger,
  type PluginManagerOptions,
  type ResolvedManagerOptions,
} from "./options.js";
export { LifecycleError, LIFECYCLE_ERROR_CODES, type LifecycleErrorCode } from "./errors.js";
export {
  SIGNATURE_FILE,
  SIGNATURE_FORMAT,
  checkSignature,
  createPluginSignature,
  parsePublicKey,
  signedMessage,
  type ParsedPublicKey,
  type SignatureFile,
  type SignatureStatus,
  type TrustedKey,
} from "./signature.js";
export { TrustedKeyStore, keyScopeMatches, parseKeyScope, type TrustedKeyInfo } from "./keys.js";
export { ApprovalStore, approvalBindingOf, type Approval, type ApprovalBinding } from "./approvals.js";
export { normalizeEntryPath, readArchive, type ArchiveFiles, type ArchiveLimits } from "./archive.js";
export { MANIFEST_FILE } from "./manifest.js";
export {
  describeFilesystemGrant,
  describePermissions,
  isEmptyPermissions,
  missingPermissions,
  permissionsFromJson,
  NO_PERMISSIONS,
  pluginDataFolder,
  type DescribePermissionsOptions,
  type PermissionSet,
} from "./permissions.js";
export type { DownloadProgress } from "./download.js";
export { compileCacheFolder, runInstalledTool, type RunInstalledToolOptions } from "./run.js";
export { parsePrivateKey, signPluginFolder } from "./sign.js";
export { formatConsentRequest } from "./consent-format.js";
