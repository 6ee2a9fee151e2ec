export { SandboxedFileSystem, FS_CHANNEL_NAME } from "./sandboxed-fs.js";
export type { FsOptions } from "./options.js";
export {
  FS_ERROR_MESSAGES,
  FS_REFUSAL_CODES,
  FsOptionsError,
  FsPlatformError,
  type FsErrorCode,
} from "./errors.js";
