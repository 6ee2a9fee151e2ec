import { readlink, realpath, stat } from "node:fs/promises";
import { SANDBOX_DEFAULTS, type AuditSink, type FsAuditEvent } from "@clawft/sandbox-policy/core";
import { FsOptionsError, FsPlatformError } from "./errors.js";
import { O_DIRECTORY, O_PATH, closeFd, errnoCode, openFd, readFd } from "./fd.js";
import { normalizeAbsolute, type Root } from "./resolve-path.js";

/** Options of `SandboxedFileSystem.create`. Every field is optional; nothing granted means no filesystem. */
export interface FsOptions {
  /**
   * Directories the plugin may read and write (absolute paths; each must exist
   * and be a directory). The first is `homeDir`, against which relative request
   * paths resolve. Empty (with no `readOnlyPaths`) means no filesystem at all:
   * every call fails `FS_NOT_PERMITTED`.
   * @default []
   */
  allowedPaths?: readonly string[];
  /**
   * Directories the plugin may read but not write: extra read-only grants, or
   * read-only subtrees inside an `allowedPaths` entry. Each must exist and be a
   * directory. Writes there fail `FS_READ_ONLY`.
   * @default []
   */
  readOnlyPaths?: readonly string[];
  /**
   * Largest file `readFile` returns, in bytes (also the largest existing file
   * `appendFile` will extend).
   * @default 8388608 (8 MiB)
   */
  maxReadBytes?: number;
  /**
   * Largest content `writeFile`/`appendFile` accept, counted in UTF-8 bytes.
   * @default 4194304 (4 MiB)
   */
  maxWriteBytes?: number;
  /**
   * Receives one `FsAuditEvent` per operation (errors it throws are ignored).
   * Events also go to the `clawft:fs` diagnostics channel.
   * @default undefined
   */
  audit?: AuditSink<FsAuditEvent>;
}

/** The frozen, validated form of `FsOptions`. */
export interface ResolvedFsOptions {
  readonly roots: readonly Root[];
  /** The root relative paths resolve against: first allowed root, else first read-only one. */
  readonly home: Root | undefined;
  readonly maxReadBytes: number;
  readonly maxWriteBytes: number;
  readonly audit: AuditSink<FsAuditEvent> | undefined;
}

/** Upper bound for the byte limits: a Node string or buffer much larger is not practical. */
export const MAX_LIMIT_BYTES = 1024 * 1024 * 1024;

function checkLimit(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 || value > MAX_LIMIT_BYTES) {
    throw new FsOptionsError(`${field} must be a positive integer no larger than ${MAX_LIMIT_BYTES}`);
  }
  return value;
}

async function resolveRoot(field: string, entry: unknown, readOnly: boolean): Promise<Root> {
  if (typeof entry !== "string" || entry.length === 0) {
    throw new FsOptionsError(`${field} must be a non-empty string`);
  }
  if (entry.includes("\0")) throw new FsOptionsError(`${field} must not contain a NUL byte`);
  if (!entry.startsWith("/")) throw new FsOptionsError(`${field} must be an absolute path: ${JSON.stringify(entry)}`);
  const given = normalizeAbsolute(entry);
  let realBytes: Buffer;
  try {
    realBytes = await realpath(given, { encoding: "buffer" });
  } catch (cause) {
    const code = errnoCode(cause);
    const why = code === "ENOENT" ? "does not exist" : `cannot be resolved (${code ?? "error"})`;
    throw new FsOptionsError(`${field} ${why}: ${JSON.stringify(entry)}`, { cause });
  }
  const real = realBytes.toString("utf8");
  if (!Buffer.from(real, "utf8").equals(realBytes)) {
    throw new FsOptionsError(`${field} must resolve to a valid UTF-8 path: ${JSON.stringify(entry)}`);
  }
  const st = await stat(real);
  if (!st.isDirectory()) throw new FsOptionsError(`${field} must be a directory: ${JSON.stringify(entry)}`);
  return Object.freeze({ given, real, realBytes, readOnly });
}

function checkList(field: string, value: unknown): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new FsOptionsError(`${field} must be an array of absolute paths`);
  return value as unknown[];
}

/**
 * Checks that this platform can name a descriptor's file: on Linux,
 * `/proc/self/fd/<fd>` of an `O_PATH` descriptor must read back as the root's
 * real path, and the descriptor must really be `O_PATH` (reads fail EBADF).
 *
 * Defends against: silently degrading to string checks (defeated by symlink
 * swaps) on a platform or container where `/proc` is missing or hidden.
 */
export async function probeDescriptorPaths(root: Root, procRoot = "/proc"): Promise<void> {
  if (process.platform !== "linux") {
    throw new FsPlatformError(
      `@clawft/sandbox-fs needs Linux /proc/self/fd to check opened descriptors; platform ${process.platform} is not supported`,
    );
  }
  let fd: number;
  try {
    fd = await openFd(root.real, O_PATH | O_DIRECTORY);
  } catch (cause) {
    throw new FsPlatformError(`cannot open ${JSON.stringify(root.real)} with O_PATH`, { cause });
  }
  try {
    let link: Buffer;
    try {
      link = await readlink(`${procRoot}/self/fd/${fd}`, { encoding: "buffer" });
    } catch (cause) {
      throw new FsPlatformError("/proc/self/fd is not available: mount /proc to use @clawft/sandbox-fs", { cause });
    }
    if (!link.equals(root.realBytes)) {
      throw new FsPlatformError("/proc/self/fd does not report the real path of an opened directory");
    }
    let readError: string | undefined;
    try {
      await readFd(fd, Buffer.alloc(1), 0, 1);
    } catch (err) {
      readError = errnoCode(err);
    }
    if (readError !== "EBADF") {
      throw new FsPlatformError("the kernel does not honour O_PATH (a read on an O_PATH descriptor did not fail EBADF)");
    }
  } finally {
    await closeFd(fd);
  }
}

/** Validates options, resolves each root with realpath and probes the platform; the result is frozen. */
export async function resolveFsOptions(options: FsOptions = {}): Promise<ResolvedFsOptions> {
  if (typeof options !== "object" || options === null) throw new FsOptionsError("options must be an object");
  const allowed = checkList("allowedPaths", options.allowedPaths);
  const readOnly = checkList("readOnlyPaths", options.readOnlyPaths);
  const maxReadBytes = checkLimit("maxReadBytes", options.maxReadBytes, SANDBOX_DEFAULTS.fsReadBytes);
  const maxWriteBytes = checkLimit("maxWriteBytes", options.maxWriteBytes, SANDBOX_DEFAULTS.fsWriteBytes);
  const audit = options.audit;
  if (audit !== undefined && typeof audit !== "function") throw new FsOptionsError("audit must be a function");
  const roots: Root[] = [];
  for (const [i, entry] of allowed.entries()) roots.push(await resolveRoot(`allowedPaths[${i}]`, entry, false));
  for (const [i, entry] of readOnly.entries()) roots.push(await resolveRoot(`readOnlyPaths[${i}]`, entry, true));
  const home = roots[0];
  if (home !== undefined) await probeDescriptorPaths(home);
  return Object.freeze({ roots: Object.freeze(roots), home, maxReadBytes, maxWriteBytes, audit });
}
