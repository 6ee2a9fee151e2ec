import { randomBytes } from "node:crypto";
import diagnostics_channel from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";
import { debuglog } from "node:util";
import { SandboxError, type FsAuditEvent, type FsOperation } from "@clawft/sandbox-policy/core";
import { FS_REFUSAL_CODES, fsError, quotePath } from "./errors.js";
import {
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  closeFd,
  errnoCode,
  fchmodFd,
  fdRealPath,
  fstatFd,
  fsyncFd,
  lstatPath,
  mkdirPath,
  openFd,
  procPath,
  readFd,
  readdirPath,
  readlinkPath,
  renamePath,
  unlinkPath,
  writeAll,
} from "./fd.js";
import { resolveFsOptions, type FsOptions, type ResolvedFsOptions } from "./options.js";
import {
  isUnderBytes,
  isWritable,
  matchRoots,
  normalizeAbsolute,
  parseRequestPath,
  MAX_PATH_BYTES,
  type LexicalPath,
  type Root,
} from "./resolve-path.js";

const trace = debuglog("clawft");

/** The `clawft:fs` diagnostics channel: one `FsAuditEvent` per operation. */
export const FS_CHANNEL_NAME = "clawft:fs";
const channel = diagnostics_channel.channel(FS_CHANNEL_NAME);

/** Most symlinks followed by our own (userland) resolution, as the kernel's MAXSYMLINKS. */
const MAX_SYMLINK_HOPS = 40;

/** Temp files of atomic writes: a dot file with a random name, created `O_EXCL`. */
const TEMP_PREFIX = ".clawft-";
const TEMP_SUFFIX = ".tmp";

interface OpContext {
  rel: string;
  bytes: number | undefined;
}

/** A descriptor checked against the roots: what it really is, not what its path string said. */
interface Pinned {
  fd: number;
  real: string;
}

/** What `classify` found when the kernel could not open a path. */
type Classification = "escape" | "missing" | "notdir" | "loop" | "exists";

/**
 * A filesystem confined to granted directories. Every operation decides on what
 * was actually opened (the descriptor's real path from `/proc/self/fd`), never
 * on the request string alone, so `..`, symlinks and concurrent swaps of a
 * directory for a symlink cannot reach outside data. Instances share nothing.
 */
export class SandboxedFileSystem {
  readonly #opts: ResolvedFsOptions;
  /** Strict decoder: invalid bytes, overlong forms, surrogates and a cut-off last character all throw. */
  readonly #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  /** Per-instance write queue by path, so two appends to one file through this instance never lose one. */
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(opts: ResolvedFsOptions) {
    this.#opts = opts;
  }

  /**
   * Validates the options, resolves each granted directory with realpath (each
   * must exist and be a directory) and checks that the platform can name an
   * opened descriptor's file. Throws `FsOptionsError` (`FS_INVALID_OPTIONS`) or
   * `FsPlatformError` (`FS_UNSUPPORTED_PLATFORM`).
   */
  static async create(options: FsOptions = {}): Promise<SandboxedFileSystem> {
    return new SandboxedFileSystem(await resolveFsOptions(options));
  }

  /** The real path of the first granted directory (relative paths resolve against it); `undefined` with no grant. */
  get homeDir(): string | undefined {
    return this.#opts.home?.real;
  }

  /** Reads a regular file as strict UTF-8. */
  readFile(path: string): Promise<string> {
    return this.#run("readFile", async (ctx) => {
      const lex = this.#lexical(path, ctx, true);
      const bytes = await this.#readBytes(lex);
      ctx.bytes = bytes.length;
      try {
        return this.#decoder.decode(bytes);
      } catch (cause) {
        throw fsError("FS_NOT_UTF8", quotePath(lex.rel), cause);
      }
    });
  }

  /** Replaces (or creates) a file atomically with `content` (UTF-8). The parent directory must exist. */
  writeFile(path: string, content: string): Promise<void> {
    return this.#run("writeFile", async (ctx) => {
      const lex = this.#lexical(path, ctx, true);
      const data = this.#encodeContent(content);
      await this.#locked(lex.path, () => this.#writeAtomic(lex, data, false));
      ctx.bytes = data.length;
    });
  }

  /**
   * Appends `content` (UTF-8) to a file, creating it if missing. Atomic like
   * `writeFile`: the old content plus the new goes to a temp file that replaces
   * the original, so readers never see a half-written append.
   */
  appendFile(path: string, content: string): Promise<void> {
    return this.#run("appendFile", async (ctx) => {
      const lex = this.#lexical(path, ctx, true);
      const data = this.#encodeContent(content);
      await this.#locked(lex.path, () => this.#writeAtomic(lex, data, true));
      ctx.bytes = data.length;
    });
  }

  /**
   * Whether a path inside the sandbox exists. An outside path throws
   * `FS_OUTSIDE_SANDBOX` and a path through a symlink leading outside throws
   * `FS_SYMLINK_ESCAPE`, whether or not the target exists.
   */
  exists(path: string): Promise<boolean> {
    return this.#run("exists", async (ctx) => {
      const lex = this.#lexical(path, ctx, false);
      let pinned: Pinned;
      try {
        pinned = await this.#pin(lex.path, lex.dirOnly ? O_PATH | O_DIRECTORY : O_PATH);
      } catch (err) {
        if (SandboxError.isInstance(err) && err.code === "FS_NOT_FOUND") return false;
        if (SandboxError.isInstance(err) && err.code === "FS_NOT_A_FILE") return false;
        throw err;
      }
      await closeFd(pinned.fd);
      return true;
    });
  }

  /** The names in a directory (sorted; no `.`/`..`). */
  listDir(path: string): Promise<string[]> {
    return this.#run("listDir", async (ctx) => {
      const lex = this.#lexical(path, ctx, false);
      const dir = await this.#pin(lex.path, O_PATH | O_DIRECTORY);
      try {
        // Read the directory the descriptor holds, not whatever the path string names now.
        const names = await readdirPath(procPath(dir.fd));
        names.sort();
        return names;
      } catch (cause) {
        throw this.#ioError(cause, lex.rel);
      } finally {
        await closeFd(dir.fd);
      }
    });
  }

  /**
   * Creates a directory and its missing parents, walking down from the root one
   * component at a time through verified descriptors.
   */
  createDirAll(path: string): Promise<void> {
    return this.#run("createDirAll", async (ctx) => {
      const lex = this.#lexical(path, ctx, false);
      await this.#createDirAll(lex);
    });
  }

  /** Removes a file (or a symlink itself, never its target). Directories are refused. */
  removeFile(path: string): Promise<void> {
    return this.#run("removeFile", async (ctx) => {
      const lex = this.#lexical(path, ctx, true);
      if (lex.rel === ".") throw fsError("FS_NOT_A_FILE", `${quotePath(lex.rel)} is a directory`);
      const dir = await this.#pinParent(lex);
      try {
        const name = basename(lex.path);
        const entry = `${procPath(dir.fd)}/${name}`;
        let st;
        try {
          st = await lstatPath(entry);
        } catch (cause) {
          throw this.#entryError(cause, lex.rel);
        }
        if (!st.isFile() && !st.isSymbolicLink()) {
          throw fsError("FS_NOT_A_FILE", quotePath(lex.rel));
        }
        try {
          await unlinkPath(entry);
        } catch (cause) {
          throw this.#entryError(cause, lex.rel);
        }
      } finally {
        await closeFd(dir.fd);
      }
    });
  }

  // ---------------------------------------------------------------- internals

  /** Runs one operation: times it, turns any failure into a `SandboxError`, and emits one audit event. */
  async #run<T>(op: FsOperation, fn: (ctx: OpContext) => Promise<T>): Promise<T> {
    const start = performance.now();
    const ctx: OpContext = { rel: "(outside)", bytes: undefined };
    try {
      const out = await fn(ctx);
      this.#emit({ op, path: ctx.rel, result: "ok", ...(ctx.bytes === undefined ? {} : { bytes: ctx.bytes }), durationMs: performance.now() - start });
      return out;
    } catch (err) {
      const e = SandboxError.isInstance(err) ? err : fsError("FS_IO_ERROR", "unexpected failure", err);
      this.#emit({
        op,
        path: ctx.rel,
        result: FS_REFUSAL_CODES.has(e.code) ? "refused" : "error",
        code: e.code,
        durationMs: performance.now() - start,
      });
      trace("fs %s %s refused: %s", op, ctx.rel, e.message);
      throw e;
    }
  }

  #emit(event: FsAuditEvent): void {
    const frozen = Object.freeze(event);
    const sink = this.#opts.audit;
    if (sink) {
      try {
        sink(frozen);
      } catch {
        // A failing sink must not change the outcome of the operation.
      }
    }
    if (channel.hasSubscribers) channel.publish(frozen);
  }

  /**
   * Resolves a request path lexically and maps it onto a root, without
   * touching the disk. Defends against: reaching outside the grants by string
   * tricks (`..`, absolute paths, `/data/app2` vs `/data/app`): anything not
   * under a root is `FS_OUTSIDE_SANDBOX` before any syscall, so an outside path
   * cannot reveal whether it exists.
   */
  #lexical(input: unknown, ctx: OpContext, fileOnly: boolean): LexicalPath {
    const home = this.#opts.home;
    if (home === undefined) throw fsError("FS_NOT_PERMITTED");
    const { abs, dirOnly } = parseRequestPath(input, home.real);
    const m = matchRoots(abs, this.#opts.roots);
    if (m === undefined) throw fsError("FS_OUTSIDE_SANDBOX");
    ctx.rel = m.rel;
    if (Buffer.byteLength(m.path, "utf8") > MAX_PATH_BYTES) {
      throw fsError("FS_INVALID_PATH", `path too long (more than ${MAX_PATH_BYTES} bytes)`);
    }
    if (fileOnly && dirOnly) throw fsError("FS_INVALID_PATH", `${quotePath(m.rel)} ends with "/" but names a file`);
    return { path: m.path, root: m.root, rel: m.rel, dirOnly };
  }

  #encodeContent(content: unknown): Buffer {
    if (typeof content !== "string") throw fsError("FS_INVALID_PATH", "content must be a string");
    // Checked before encoding: a string longer than the limit in UTF-16 units is over it in UTF-8 bytes too.
    if (content.length > this.#opts.maxWriteBytes) {
      throw fsError("FS_TOO_LARGE", `content is over the ${this.#opts.maxWriteBytes}-byte write limit`);
    }
    const n = Buffer.byteLength(content, "utf8");
    if (n > this.#opts.maxWriteBytes) {
      throw fsError("FS_TOO_LARGE", `content is ${n} bytes (UTF-8), over the ${this.#opts.maxWriteBytes}-byte write limit`);
    }
    if (/[\uD800-\uDFFF]/u.test(content)) {
      throw fsError("FS_NOT_UTF8", "content contains a lone surrogate and cannot be written as UTF-8");
    }
    return Buffer.from(content, "utf8");
  }

  /** The root containing a descriptor's real path, or `undefined` when it is outside every root. */
  #rootOfBytes(real: Buffer): Root | undefined {
    let best: Root | undefined;
    for (const r of this.#opts.roots) {
      if (isUnderBytes(real, r.realBytes) && (best === undefined || r.real.length > best.real.length)) best = r;
    }
    return best;
  }

  /**
   * Opens `path` with `O_PATH` (following symlinks, but never running a device's
   * or FIFO's open and never reading) and judges the descriptor by its real path.
   *
   * Defends against: symlinks (also as parent directories) leading outside, and
   * a concurrent swap of a directory for such a symlink between check and use.
   * The verdict is taken on the object the kernel actually opened; every later
   * step uses that descriptor, so the swap cannot redirect it.
   */
  async #pin(path: string, flags: number): Promise<Pinned> {
    let fd: number;
    try {
      fd = await openFd(path, flags);
    } catch (err) {
      throw await this.#openError(err, path, (flags & O_DIRECTORY) !== 0);
    }
    try {
      const real = await fdRealPath(fd);
      if (this.#rootOfBytes(real) === undefined) throw this.#escape(path);
      return { fd, real: real.toString("utf8") };
    } catch (err) {
      await closeFd(fd);
      throw err;
    }
  }

  /** Pins the parent directory of a file path and checks that it may be written. */
  async #pinParent(lex: LexicalPath): Promise<Pinned> {
    const dir = await this.#pin(dirname(lex.path), O_PATH | O_DIRECTORY);
    if (!isWritable(dir.real, this.#opts.roots)) {
      await closeFd(dir.fd);
      throw fsError("FS_READ_ONLY", quotePath(lex.rel));
    }
    return dir;
  }

  #escape(path: string): SandboxError {
    return fsError("FS_SYMLINK_ESCAPE", quotePath(this.#relOf(path)));
  }

  /** A request-side path relative to its root, for messages (never a path outside). */
  #relOf(path: string): string {
    const m = matchRoots(path, this.#opts.roots);
    return m ? m.rel : "(outside)";
  }

  /**
   * Maps a failed open to an error. Before looking at the errno, the path is
   * re-walked from its root (`#classify`), so a path through a symlink that leads
   * outside fails `FS_SYMLINK_ESCAPE` whether or not its target exists.
   *
   * Defends against: probing whether outside files exist through a symlink
   * (existing target and missing target give the same code and message).
   */
  async #openError(err: unknown, path: string, wantDir: boolean): Promise<SandboxError> {
    const rel = this.#relOf(path);
    const code = errnoCode(err);
    if (code === "ENAMETOOLONG") return fsError("FS_INVALID_PATH", "path too long");
    const found = await this.#classify(path);
    if (found === "escape") return this.#escape(path);
    if (found === "loop" || code === "ELOOP") return fsError("FS_INVALID_PATH", `too many levels of symbolic links: ${quotePath(rel)}`);
    if (code === "ENOTDIR" && wantDir && found === "exists") {
      return fsError("FS_NOT_A_FILE", `${quotePath(rel)} is not a directory`);
    }
    if (code === "ENOENT" || code === "ENOTDIR" || found === "missing" || found === "notdir") {
      return fsError("FS_NOT_FOUND", quotePath(rel));
    }
    return this.#ioError(err, rel);
  }

  #ioError(cause: unknown, rel: string): SandboxError {
    if (SandboxError.isInstance(cause)) return cause;
    return fsError("FS_IO_ERROR", `${errnoCode(cause) ?? "error"} on ${quotePath(rel)}`, cause);
  }

  /** Maps a failure on a name inside a pinned directory. */
  #entryError(cause: unknown, rel: string): SandboxError {
    const code = errnoCode(cause);
    if (code === "ENOENT") return fsError("FS_NOT_FOUND", quotePath(rel));
    if (code === "EISDIR" || code === "ENOTEMPTY") return fsError("FS_NOT_A_FILE", `${quotePath(rel)} is a directory`, cause);
    return this.#ioError(cause, rel);
  }

  /**
   * Re-walks a path that failed to open, from its root, one component at a
   * time, following symlinks lexically and stopping at the first one whose
   * target is outside every root. Only used to choose an error code after the
   * kernel refused; access is never granted on its answer.
   */
  async #classify(path: string): Promise<Classification> {
    const m = matchRoots(path, this.#opts.roots);
    if (m === undefined) return "escape";
    let current = m.root.real;
    let pending = m.rel === "." ? [] : m.rel.split("/");
    let hops = 0;
    while (pending.length > 0) {
      const name = pending.shift() as string;
      const next = current === "/" ? `/${name}` : `${current}/${name}`;
      let st;
      try {
        st = await lstatPath(next);
      } catch (err) {
        const code = errnoCode(err);
        if (code === "ENOTDIR") return "notdir";
        if (code === "ENOENT") return "missing";
        return "missing";
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) return "loop";
        let target: string;
        try {
          target = await readlinkPath(next);
        } catch {
          return "missing";
        }
        const abs = normalizeAbsolute(target.startsWith("/") ? target : `${current}/${target}`);
        const t = matchRoots(abs, this.#opts.roots);
        if (t === undefined) return "escape";
        current = t.root.real;
        pending = [...(t.rel === "." ? [] : t.rel.split("/")), ...pending];
      } else if (st.isDirectory()) {
        current = next;
      } else if (pending.length > 0) {
        return "notdir";
      } else {
        current = next;
      }
    }
    return "exists";
  }

  /**
   * Reads a regular file through a pinned descriptor.
   *
   * Defends against: reading outside data (the verdict on the descriptor's real
   * path comes before any byte is read; the file is reopened through
   * `/proc/self/fd`, which reaches the same inode, not the path string);
   * FIFOs/devices that would hang or have side effects (`O_PATH` does not open
   * them; `fstat` refuses all but regular files); hard links to files we cannot
   * see (link count > 1 is refused); huge or growing files (size checked on
   * `fstat`, and the read stops at the `fstat` size and never exceeds the limit).
   */
  async #readBytes(lex: LexicalPath): Promise<Buffer> {
    let fd: number;
    try {
      fd = await openFd(lex.path, O_PATH);
    } catch (err) {
      throw await this.#openError(err, lex.path, false);
    }
    let rfd = -1;
    try {
      const [real, st] = await Promise.all([fdRealPath(fd), fstatFd(fd)]);
      if (this.#rootOfBytes(real) === undefined) throw this.#escape(lex.path);
      this.#checkRegular(st, lex.rel, "read");
      const max = this.#opts.maxReadBytes;
      if (st.size > max) throw fsError("FS_TOO_LARGE", `${quotePath(lex.rel)} is ${st.size} bytes, over the ${max}-byte read limit`);
      try {
        rfd = await openFd(procPath(fd), O_RDONLY | O_NONBLOCK | O_NOCTTY);
      } catch (cause) {
        throw this.#ioError(cause, lex.rel);
      }
      return await this.#readCapped(rfd, st.size, lex.rel);
    } finally {
      await Promise.all([closeFd(fd), rfd >= 0 ? closeFd(rfd) : undefined]);
    }
  }

  #checkRegular(st: { isFile(): boolean; isDirectory(): boolean; nlink: number }, rel: string, what: string): void {
    if (st.isDirectory()) throw fsError("FS_NOT_A_FILE", `${quotePath(rel)} is a directory`);
    if (!st.isFile()) throw fsError("FS_NOT_A_FILE", `${quotePath(rel)} is not a regular file`);
    if (st.nlink > 1) {
      // A second name for the same inode may live outside the sandbox (e.g. a hard link to a secret).
      throw fsError("FS_OUTSIDE_SANDBOX", `${quotePath(rel)} has ${st.nlink} hard links; cannot ${what} a file with other names`);
    }
  }

  /**
   * Reads at most `size` bytes when the size is known (a file that grows during
   * the read is cut at its `fstat` size), else until EOF; either way never more
   * than the read limit (`FS_TOO_LARGE` once it is passed).
   */
  async #readCapped(fd: number, size: number, rel: string): Promise<Buffer> {
    const max = this.#opts.maxReadBytes;
    const want = size > 0 ? size : Infinity;
    let buf = Buffer.allocUnsafe(size > 0 ? size : Math.min(64 * 1024, max + 1));
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total >= want) break;
        if (total > max) break;
        const grown = Buffer.allocUnsafe(Math.min(buf.length * 2, max + 1));
        buf.copy(grown, 0, 0, total);
        buf = grown;
      }
      let n: number;
      try {
        n = await readFd(fd, buf, total, buf.length - total);
      } catch (cause) {
        throw this.#ioError(cause, rel);
      }
      if (n === 0) break;
      total += n;
      if (total > max) break;
    }
    if (total > max) throw fsError("FS_TOO_LARGE", `${quotePath(rel)} grew over the ${max}-byte read limit`);
    return total === buf.length ? buf : buf.subarray(0, total);
  }

  async #locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }

  /**
   * Writes atomically: temp file in the target's directory, write, fsync,
   * rename over the target, all inside a directory held by a verified
   * descriptor and addressed as `/proc/self/fd/<dirfd>/<name>`.
   *
   * Defends against: writing outside through a symlinked parent or a
   * directory swapped for a symlink mid-write (every step happens in the pinned
   * directory, re-verified just before the rename); following a symlink at the
   * target (only inside-pointing ones are followed, by our own resolution;
   * `rename` replaces a name, never follows it); torn files seen by concurrent
   * readers (rename is atomic); leftover temp files (removed on failure); and
   * mode changes (an existing file's mode is kept).
   */
  async #writeAtomic(start: LexicalPath, data: Buffer, append: boolean): Promise<void> {
    let lex = start;
    for (let hops = 0; ; hops++) {
      if (hops > MAX_SYMLINK_HOPS) throw fsError("FS_INVALID_PATH", `too many levels of symbolic links: ${quotePath(start.rel)}`);
      if (lex.rel === ".") throw fsError("FS_NOT_A_FILE", `${quotePath(start.rel)} is a directory`);
      const dir = await this.#pinParent(lex);
      try {
        const name = basename(lex.path);
        const target = `${procPath(dir.fd)}/${name}`;
        let st;
        try {
          st = await lstatPath(target);
        } catch (err) {
          if (errnoCode(err) !== "ENOENT") throw this.#ioError(err, start.rel);
        }
        if (st?.isSymbolicLink()) {
          lex = await this.#followWriteLink(target, dir.real, start);
          continue;
        }
        let mode: number | undefined;
        let old: Buffer | undefined;
        if (st) {
          this.#checkRegular(st, start.rel, "write");
          // Permission bits only: setuid/setgid are dropped, the plugin chose this content.
          mode = st.mode & 0o777;
          if (append) old = await this.#readExisting(target, start.rel);
        }
        await this.#replace(dir, name, append && old ? Buffer.concat([old, data]) : data, mode, start.rel);
        return;
      } finally {
        await closeFd(dir.fd);
      }
    }
  }

  /** Resolves a symlink at a write target: inside → its target (to be re-pinned), outside → `FS_SYMLINK_ESCAPE`. */
  async #followWriteLink(link: string, dirReal: string, start: LexicalPath): Promise<LexicalPath> {
    let target: string;
    try {
      target = await readlinkPath(link);
    } catch (cause) {
      throw this.#ioError(cause, start.rel);
    }
    const abs = normalizeAbsolute(target.startsWith("/") ? target : `${dirReal}/${target}`);
    const m = matchRoots(abs, this.#opts.roots);
    if (m === undefined) throw fsError("FS_SYMLINK_ESCAPE", quotePath(start.rel));
    return { path: m.path, root: m.root, rel: m.rel, dirOnly: false };
  }

  /** Reads the current content of a file to append to, with the read-side checks. */
  async #readExisting(target: string, rel: string): Promise<Buffer> {
    let fd: number;
    try {
      fd = await openFd(target, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    } catch (cause) {
      if (errnoCode(cause) === "ELOOP") throw fsError("FS_SYMLINK_ESCAPE", quotePath(rel));
      throw this.#entryError(cause, rel);
    }
    try {
      const st = await fstatFd(fd);
      this.#checkRegular(st, rel, "append to");
      if (st.size > this.#opts.maxReadBytes) {
        throw fsError("FS_TOO_LARGE", `${quotePath(rel)} is ${st.size} bytes, over the ${this.#opts.maxReadBytes}-byte read limit`);
      }
      return await this.#readCapped(fd, st.size, rel);
    } finally {
      await closeFd(fd);
    }
  }

  async #replace(dir: Pinned, name: string, data: Buffer, mode: number | undefined, rel: string): Promise<void> {
    const base = procPath(dir.fd);
    const tmp = `${base}/${TEMP_PREFIX}${randomBytes(12).toString("hex")}${TEMP_SUFFIX}`;
    let fd: number;
    try {
      fd = await openFd(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode ?? 0o666);
    } catch (cause) {
      throw this.#ioError(cause, rel);
    }
    let open = true;
    try {
      if (mode !== undefined) await fchmodFd(fd, mode);
      await writeAll(fd, data);
      await fsyncFd(fd);
      open = false;
      await closeFd(fd);
      // The directory may have been moved since it was pinned: check it again right before the rename.
      const now = await fdRealPath(dir.fd);
      const root = this.#rootOfBytes(now);
      if (root === undefined) throw fsError("FS_SYMLINK_ESCAPE", quotePath(rel));
      if (!isWritable(now.toString("utf8"), this.#opts.roots)) throw fsError("FS_READ_ONLY", quotePath(rel));
      try {
        await renamePath(tmp, `${base}/${name}`);
      } catch (cause) {
        throw this.#entryError(cause, rel);
      }
    } catch (err) {
      if (open) await closeFd(fd);
      await unlinkPath(tmp).catch(() => undefined);
      throw SandboxError.isInstance(err) ? err : this.#ioError(err, rel);
    }
    await this.#syncDir(base);
  }

  /** Makes the rename durable (best effort: a directory we may not read is skipped). */
  async #syncDir(dirPath: string): Promise<void> {
    let fd: number;
    try {
      fd = await openFd(dirPath, O_RDONLY | O_DIRECTORY);
    } catch {
      return;
    }
    await fsyncFd(fd).catch(() => undefined);
    await closeFd(fd);
  }

  /**
   * Creates missing directories one component at a time from the root; each
   * step is `mkdir` inside the pinned parent, then a fresh descriptor for the
   * child, verified before going deeper.
   *
   * Defends against: creating directories outside through a symlinked
   * component (or one swapped in during the walk), and revealing whether an
   * outside target of a dangling symlink exists.
   */
  async #createDirAll(lex: LexicalPath): Promise<void> {
    const root = lex.root;
    let dir = await this.#pin(root.real, O_PATH | O_DIRECTORY);
    try {
      if (dir.real !== root.real) throw fsError("FS_SYMLINK_ESCAPE", quotePath(lex.rel));
      const parts = lex.rel === "." ? [] : lex.rel.split("/");
      let sofar = root.real;
      for (const part of parts) {
        sofar = sofar === "/" ? `/${part}` : `${sofar}/${part}`;
        const child = `${procPath(dir.fd)}/${part}`;
        const next = await this.#openOrMakeDir(child, dir, sofar, lex.rel);
        await closeFd(dir.fd);
        dir = next;
      }
      if (!isWritable(dir.real, this.#opts.roots)) throw fsError("FS_READ_ONLY", quotePath(lex.rel));
    } finally {
      await closeFd(dir.fd);
    }
  }

  async #openOrMakeDir(child: string, parent: Pinned, lexical: string, rel: string): Promise<Pinned> {
    for (let attempt = 0; ; attempt++) {
      let fd: number | undefined;
      try {
        fd = await openFd(child, O_PATH | O_DIRECTORY);
      } catch (err) {
        const code = errnoCode(err);
        if (code !== "ENOENT" || attempt > 0) throw await this.#openError(err, lexical, true);
        let exists = false;
        try {
          await lstatPath(child);
          exists = true;
        } catch (e) {
          if (errnoCode(e) !== "ENOENT") throw this.#ioError(e, rel);
        }
        // A name that exists but does not open is a dangling symlink: classify it (escape or not found).
        if (exists) throw await this.#openError(err, lexical, true);
        if (!isWritable(parent.real, this.#opts.roots)) throw fsError("FS_READ_ONLY", quotePath(rel));
        try {
          await mkdirPath(child);
        } catch (e) {
          if (errnoCode(e) !== "EEXIST") throw this.#ioError(e, rel);
        }
        continue;
      }
      try {
        const real = await fdRealPath(fd);
        if (this.#rootOfBytes(real) === undefined) throw fsError("FS_SYMLINK_ESCAPE", quotePath(rel));
        return { fd, real: real.toString("utf8") };
      } catch (err) {
        await closeFd(fd);
        throw err;
      }
    }
  }
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}
