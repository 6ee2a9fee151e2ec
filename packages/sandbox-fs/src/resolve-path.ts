import { posix } from "node:path";
import { fsError } from "./errors.js";

/** Longest path (bytes, without the final NUL) the kernel accepts (Linux PATH_MAX - 1). */
export const MAX_PATH_BYTES = 4095;
/** Longest single path component (bytes) the kernel accepts (NAME_MAX). */
export const MAX_NAME_BYTES = 255;

/** In a `u` regex a surrogate class only matches surrogates that are not part of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** One granted directory, resolved once at `create`. */
export interface Root {
  /** The path as configured, normalized (no `.`/`..`/`//`, no trailing slash). */
  readonly given: string;
  /** Its real path (every symlink resolved) at `create`. */
  readonly real: string;
  /** `real` as bytes, for exact comparison with a descriptor's path. */
  readonly realBytes: Buffer;
  /** True for `readOnlyPaths` entries. */
  readonly readOnly: boolean;
}

/** A request path after lexical resolution: absolute, normalized, mapped onto a root's real path. */
export interface LexicalPath {
  /** Absolute, normalized path under `root.real`. */
  readonly path: string;
  /** The most specific root containing `path`. */
  readonly root: Root;
  /** `path` relative to `root.real` (`"."` for the root itself). */
  readonly rel: string;
  /** The request ended in `/`, `/.` or `/..`: it can only name a directory. */
  readonly dirOnly: boolean;
}

/** `child` is `parent` or below it, compared by whole components (`/data/app2` is not under `/data/app`). */
export function isUnder(child: string, parent: string): boolean {
  if (parent === "/") return child.startsWith("/");
  return child === parent || (child.startsWith(parent) && child.charCodeAt(parent.length) === 0x2f);
}

/** Byte-wise `isUnder` for paths read back from `/proc/self/fd` (which need not be valid UTF-8). */
export function isUnderBytes(child: Buffer, parent: Buffer): boolean {
  const n = parent.length;
  if (child.length < n || child.compare(parent, 0, n, 0, n) !== 0) return false;
  if (n === 1 && parent[0] === 0x2f) return true;
  return child.length === n || child[n] === 0x2f;
}

/** Normalizes an absolute path: collapses `//`, `.` and `..` (never above `/`), drops a trailing slash. */
export function normalizeAbsolute(abs: string): string {
  const n = posix.normalize(abs);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/**
 * Validates a request path and resolves it lexically (absolute, or relative to
 * `base`), without touching the disk.
 *
 * Defends against: non-string or empty input and NUL bytes (which C APIs would
 * truncate: `"a.txt\0/../../etc/passwd"`), over-long paths and components
 * (answered with a clear error, not an OS crash path), and `..`/`.`/`//` tricks,
 * which are collapsed here so the kernel never sees a `..` that could climb out.
 */
export function parseRequestPath(input: unknown, base: string): { abs: string; dirOnly: boolean } {
  if (typeof input !== "string") throw fsError("FS_INVALID_PATH", "path must be a string");
  if (input.length === 0) throw fsError("FS_INVALID_PATH", "path is empty");
  if (input.includes("\0")) throw fsError("FS_INVALID_PATH", "path contains a NUL byte");
  if (LONE_SURROGATE.test(input)) throw fsError("FS_INVALID_PATH", "path contains a lone surrogate");
  if (Buffer.byteLength(input, "utf8") > MAX_PATH_BYTES) {
    throw fsError("FS_INVALID_PATH", `path too long (more than ${MAX_PATH_BYTES} bytes)`);
  }
  const segments = input.split("/");
  for (const s of segments) {
    if (Buffer.byteLength(s, "utf8") > MAX_NAME_BYTES) {
      throw fsError("FS_INVALID_PATH", `path component too long (more than ${MAX_NAME_BYTES} bytes)`);
    }
  }
  const last = segments[segments.length - 1];
  const dirOnly = last === "" || last === "." || last === "..";
  const abs = normalizeAbsolute(input.startsWith("/") ? input : `${base}/${input}`);
  return { abs, dirOnly };
}

/**
 * Maps an absolute normalized path onto the roots: a path under a root's
 * configured spelling or under its real path is rewritten under the real path.
 * The most specific (longest) match wins. `undefined` means outside every root.
 */
export function matchRoots(abs: string, roots: readonly Root[]): { path: string; root: Root; rel: string } | undefined {
  let mapped: string | undefined;
  let bestLen = -1;
  for (const r of roots) {
    for (const prefix of [r.real, r.given]) {
      if (prefix.length > bestLen && isUnder(abs, prefix)) {
        bestLen = prefix.length;
        const rest = abs === prefix ? "" : abs.slice(prefix === "/" ? 1 : prefix.length + 1);
        mapped = rest === "" ? r.real : r.real === "/" ? `/${rest}` : `${r.real}/${rest}`;
      }
    }
  }
  if (mapped === undefined) return undefined;
  const root = mostSpecificRoot(mapped, roots);
  if (root === undefined) return undefined;
  return { path: mapped, root, rel: relativeTo(mapped, root.real) };
}

/** The longest root whose real path contains `realPath`. */
export function mostSpecificRoot(realPath: string, roots: readonly Root[]): Root | undefined {
  let best: Root | undefined;
  for (const r of roots) {
    if (isUnder(realPath, r.real) && (best === undefined || r.real.length > best.real.length)) best = r;
  }
  return best;
}

/** `p` relative to `root` (`"."` when equal); `p` must be under `root`. */
export function relativeTo(p: string, root: string): string {
  if (p === root) return ".";
  return p.slice(root === "/" ? 1 : root.length + 1);
}

/**
 * Whether a real path may be written: the most specific root containing it
 * decides (a read-only subtree inside a writable root stays read-only; a
 * writable root inside a read-only one is writable, since it was granted
 * explicitly). A directory listed both ways is read-only.
 */
export function isWritable(realPath: string, roots: readonly Root[]): boolean {
  let best: Root | undefined;
  for (const r of roots) {
    if (!isUnder(realPath, r.real)) continue;
    if (best === undefined || r.real.length > best.real.length || (r.real.length === best.real.length && r.readOnly)) {
      best = r;
    }
  }
  return best !== undefined && !best.readOnly;
}
