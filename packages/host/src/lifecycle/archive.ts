import { gunzipSync } from "node:zlib";
import { readTarStream, TarFormatError } from "./tar-reader.js";
import { LifecycleError } from "./errors.js";

/** Limits applied while reading an archive. All sizes in bytes. */
export interface ArchiveLimits {
  /** Size of the archive as given (compressed). */
  maxArchiveBytes: number;
  /** Sum of all file sizes once expanded (and the size of the expanded tar stream). */
  maxExtractedBytes: number;
  /** Number of entries (files and directories). */
  maxFiles: number;
}

/** The regular files of a validated archive, by normalised relative path. */
export type ArchiveFiles = Map<string, Buffer>;

/** A path segment or whole path may not be longer than this (bytes of UTF-8). */
const MAX_PATH_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;
const MAX_DEPTH = 16;

/** The only entry types kept: regular files and folders (links, devices and FIFOs are refused). */
const ENTRY_KINDS = new Map<string, "file" | "directory">([["0", "file"], ["7", "file"], ["5", "directory"]]);
/** Names of the refused ustar types, for the error message. */
const TYPE_NAMES = new Map([["1", "Link"], ["2", "SymbolicLink"], ["3", "CharacterDevice"], ["4", "BlockDevice"], ["6", "FIFO"], ["K", "NextFileHasLongLinkpath"]]);

const invalid = (message: string, cause?: unknown) =>
  new LifecycleError("PLUGIN_ARCHIVE_INVALID", `invalid plugin archive: ${message}`, { cause });
const tooLarge = (message: string) => new LifecycleError("PLUGIN_ARCHIVE_TOO_LARGE", `plugin archive too large: ${message}`);

/**
 * Validates one archive entry path and returns it normalised (`a/b/c`, no `./`, no trailing `/`),
 * or throws `PLUGIN_ARCHIVE_INVALID`.
 *
 * Stops zip-slip / path traversal: absolute paths (`/etc/x`, `\\server\x`, `C:\x`, `C:x`), any `..`
 * segment, backslashes (a Windows separator in disguise), NUL and other control characters, and
 * absurdly long or deep paths. Nothing is "cleaned up" into an acceptable path: a suspicious
 * entry fails the whole archive.
 */
export function normalizeEntryPath(path: string): string {
  const shown = JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
  if (path.length === 0) throw invalid("empty entry path");
  if (Buffer.byteLength(path, "utf8") > MAX_PATH_BYTES) throw invalid(`entry path too long: ${shown}`);
  if (/[\u0000-\u001f\u007f]/.test(path)) throw invalid(`control character in entry path: ${shown}`);
  if (path.includes("\\")) throw invalid(`backslash in entry path: ${shown}`);
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) throw invalid(`absolute entry path: ${shown}`);
  const segments = path.split("/").filter((s, i, all) => !(s === "" && i === all.length - 1));
  const out: string[] = [];
  for (const segment of segments) {
    if (segment === "..") throw invalid(`entry path escapes the archive: ${shown}`);
    if (segment === "" || segment === ".") continue;
    if (Buffer.byteLength(segment, "utf8") > MAX_SEGMENT_BYTES) throw invalid(`entry path segment too long: ${shown}`);
    out.push(segment);
  }
  if (out.length === 0) return "";
  // A drive prefix hidden behind "./" ("./C:x") is still a drive prefix.
  if (/^[A-Za-z]:/.test(out[0] ?? "")) throw invalid(`absolute entry path: ${shown}`);
  if (out.length > MAX_DEPTH) throw invalid(`entry path too deep: ${shown}`);
  return out.join("/");
}

/**
 * The paths of an archive seen so far, folders included (those named by an entry and those
 * implied by a file's path), keyed case- and Unicode-normalisation-insensitively.
 *
 * Stops every path conflict at validation (T74), where it is reported as an invalid archive
 * (exit 6) instead of a raw `EEXIST`/`ENOTDIR` halfway through the install: the same path twice
 * (a later entry would overwrite one already checked), a file that is also a folder (`a/b` then
 * `a`, or `a` then `a/b`), and two paths that differ only in case or Unicode normalisation
 * (`Plugin.wasm` and `plugin.wasm`, one file on macOS and Windows: which one is installed would
 * depend on the filesystem).
 */
export class ArchivePathSet {
  readonly #seen = new Map<string, { path: string; kind: "file" | "directory" }>();

  /** Records `path` (normalised, non-empty); returns why it conflicts with an earlier one, if it does. */
  add(path: string, kind: "file" | "directory"): string | undefined {
    const segments = path.split("/");
    for (let i = 1; i <= segments.length; i++) {
      const sub = segments.slice(0, i).join("/");
      const subKind = i === segments.length ? kind : "directory";
      const key = sub.normalize("NFC").toLowerCase();
      const earlier = this.#seen.get(key);
      if (earlier === undefined) {
        this.#seen.set(key, { path: sub, kind: subKind });
        continue;
      }
      if (earlier.path !== sub) {
        return `paths differ only in case or Unicode form: ${JSON.stringify(earlier.path)} and ${JSON.stringify(sub)}`;
      }
      if (earlier.kind !== subKind) return `path is both a file and a directory: ${JSON.stringify(sub)}`;
      if (subKind === "file") return `duplicate entry: ${JSON.stringify(sub)}`;
    }
    return undefined;
  }
}

/** Un-gzips when the bytes start with the gzip magic, refusing to expand past `maxBytes` (tar bomb). */
function gunzipLimited(data: Buffer, maxBytes: number): Buffer {
  if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b) return data;
  try {
    // Both one-byte-over (ERR_BUFFER_TOO_LARGE) and a truncated stream land here.
    return gunzipSync(data, { maxOutputLength: maxBytes + 1 });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError) {
      throw tooLarge(`expands past ${maxBytes} bytes`);
    }
    throw invalid("corrupt or truncated gzip data", error);
  }
}

/**
 * Reads a `.tgz` (or plain `.tar`) held in memory and returns its regular files, after
 * checking every entry. Nothing is written anywhere: the caller writes the returned files
 * into a fresh staging directory that it created (so no link in the archive can ever be followed).
 *
 * Refused with `PLUGIN_ARCHIVE_INVALID`: a bad entry path ({@link normalizeEntryPath}), any entry
 * type other than file or directory (symlinks and hard links stop link-following escapes; devices
 * and FIFOs stop hangs), the same path twice (stops an entry silently overwriting an earlier one
 * after it was checked), a file and a directory at one path, bad checksums, a truncated archive
 * or one without its end-of-archive marker.
 * Refused with `PLUGIN_ARCHIVE_TOO_LARGE` (tar bomb): compressed input, expanded size, declared
 * entry sizes or entry count over the limits — checked from the headers before any data is kept.
 */
export async function readArchive(data: Buffer, limits: ArchiveLimits): Promise<ArchiveFiles> {
  if (data.length > limits.maxArchiveBytes) {
    throw tooLarge(`${data.length} bytes (limit ${limits.maxArchiveBytes})`);
  }
  // Expanded tar = file data + a 512-byte header (and padding) per entry + the end marker.
  const tarBytes = gunzipLimited(data, limits.maxExtractedBytes + (limits.maxFiles + 4) * 1536);
  if (tarBytes.length === 0) throw invalid("empty archive");
  if (tarBytes.length > limits.maxExtractedBytes + (limits.maxFiles + 4) * 1536) {
    throw tooLarge(`expands past ${limits.maxExtractedBytes} bytes`);
  }
  // A compressed stream inside the gzip would be expanded again by the tar parser, outside
  // the limit above (nested tar bomb): refuse it.
  if (
    (tarBytes[0] === 0x1f && tarBytes[1] === 0x8b) ||
    (tarBytes[0] === 0x28 && tarBytes[1] === 0xb5 && tarBytes[2] === 0x2f && tarBytes[3] === 0xfd)
  ) {
    throw invalid("nested compression is not allowed");
  }

  const files: ArchiveFiles = new Map();
  const paths = new ArchivePathSet();
  let entries = 0;
  let total = 0;
  try {
    readTarStream(tarBytes, (entry) => {
      entries++;
      if (entries > limits.maxFiles) throw tooLarge(`more than ${limits.maxFiles} entries`);
      const path = normalizeEntryPath(entry.path);
      const kind = ENTRY_KINDS.get(entry.type);
      if (kind === undefined) {
        throw invalid(`entry type ${TYPE_NAMES.get(entry.type) ?? JSON.stringify(entry.type)} is not allowed: ${JSON.stringify(entry.path)}`);
      }
      if (kind === "file" && path === "") throw invalid(`file entry with an empty path: ${JSON.stringify(entry.path)}`);
      const conflict = path === "" ? undefined : paths.add(path, kind);
      if (conflict) throw invalid(conflict);
      if (kind === "directory") return;
      total += entry.size;
      if (total > limits.maxExtractedBytes) throw tooLarge(`files expand past ${limits.maxExtractedBytes} bytes`);
      files.set(path, Buffer.from(entry.data()));
    });
  } catch (error) {
    if (error instanceof TarFormatError) throw invalid(error.message, error);
    throw error;
  }
  return files;
}

/**
 * Strips one top-level folder shared by every path (npm packs everything under `package/`),
 * but only when the manifest is not already at the root.
 */
export function stripCommonRoot(files: ArchiveFiles, manifestName: string): ArchiveFiles {
  if (files.has(manifestName)) return files;
  let root: string | undefined;
  for (const path of files.keys()) {
    const slash = path.indexOf("/");
    if (slash === -1) return files;
    const first = path.slice(0, slash);
    if (root === undefined) root = first;
    else if (root !== first) return files;
  }
  if (root === undefined) return files;
  const out: ArchiveFiles = new Map();
  for (const [path, data] of files) out.set(path.slice(root.length + 1), data);
  return out;
}
