import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { debuglog } from "node:util";
import { MeteringError } from "./errors.js";
import { METERING_META_VERSION, meterModuleResolved, toUint8Array, type MeteringMeta, type MeterResult, type WasmBytes } from "./meter-module.js";
import { INSTRUMENTATION_REVISION } from "./meta.js";
import { resolveMeterOptions, type MeterOptions, type ResolvedMeterOptions } from "./options.js";

const debug = debuglog("clawft");

/** Options of {@link MeteringCache}. */
export interface MeteringCacheOptions {
  /**
   * Directory for the on-disk cache (created if missing). Without it the cache
   * is in memory only. Entries are verified on read (sha256 of the metered
   * bytes, key, version); a bad entry is ignored and rewritten.
   * @default undefined (memory only)
   */
  directory?: string;
  /**
   * Number of results kept in memory (least recently used are dropped).
   * @default 64
   */
  maxMemoryEntries?: number;
}

const MAGIC = "clawft-metering-cache-v1";

interface DiskHeader {
  magic: string;
  key: string;
  sha256: string;
  meta: MeteringMeta;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Instruments each module once: results are keyed by the sha256 of the input
 * and the resolved options (and the instrumentation version), kept in memory
 * and, when a directory is given, on disk. Each call returns its own copy of
 * the bytes, so a caller that mutates them cannot affect another plugin.
 */
export class MeteringCache {
  readonly #directory: string | undefined;
  readonly #maxEntries: number;
  readonly #memory = new Map<string, { bytes: Uint8Array; meta: MeteringMeta }>();
  readonly #inflight = new Map<string, Promise<{ bytes: Uint8Array; meta: MeteringMeta }>>();
  #hits = 0;
  #diskHits = 0;
  #misses = 0;

  constructor(options: MeteringCacheOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new MeteringError("METERING_INVALID_OPTIONS", "options must be an object");
    }
    if (options.directory !== undefined && (typeof options.directory !== "string" || options.directory === "")) {
      throw new MeteringError("METERING_INVALID_OPTIONS", "directory must be a non-empty string");
    }
    const max = options.maxMemoryEntries ?? 64;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new MeteringError("METERING_INVALID_OPTIONS", "maxMemoryEntries must be a non-negative integer");
    }
    this.#directory = options.directory;
    this.#maxEntries = max;
  }

  /** Hits in memory, hits on disk, and misses (modules instrumented) so far. */
  get stats(): { hits: number; diskHits: number; misses: number } {
    return { hits: this.#hits, diskHits: this.#diskHits, misses: this.#misses };
  }

  /** The cache key of `bytes` metered with `options`. */
  static key(bytes: WasmBytes, options: MeterOptions = {}): string {
    return cacheKey(toUint8Array(bytes), resolveMeterOptions(options));
  }

  /** Like `meterModule`, through the cache. */
  async meter(bytes: WasmBytes, options: MeterOptions = {}): Promise<MeterResult> {
    const input = toUint8Array(bytes);
    const opts = resolveMeterOptions(options);
    const key = cacheKey(input, opts);
    const cached = this.#memory.get(key);
    if (cached) {
      this.#hits++;
      this.#memory.delete(key);
      this.#memory.set(key, cached);
      return { bytes: cached.bytes.slice(), meta: cached.meta };
    }
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#load(key, input, opts).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    const entry = await pending;
    return { bytes: entry.bytes.slice(), meta: entry.meta };
  }

  /** Drops every entry kept in memory (disk entries stay). */
  clearMemory(): void {
    this.#memory.clear();
  }

  async #load(key: string, input: Uint8Array, opts: ResolvedMeterOptions): Promise<{ bytes: Uint8Array; meta: MeteringMeta }> {
    let entry = this.#directory === undefined ? undefined : await this.#readDisk(key);
    if (entry) {
      this.#diskHits++;
    } else {
      this.#misses++;
      const result = meterModuleResolved(input, opts);
      entry = { bytes: result.bytes, meta: deepFreeze(result.meta) };
      if (this.#directory !== undefined) await this.#writeDisk(key, entry);
    }
    if (this.#maxEntries > 0) {
      this.#memory.set(key, entry);
      while (this.#memory.size > this.#maxEntries) {
        const oldest = this.#memory.keys().next().value as string;
        this.#memory.delete(oldest);
      }
    }
    return entry;
  }

  #path(key: string): string {
    return join(this.#directory as string, `${key}.bin`);
  }

  /** A truncated, corrupted or foreign entry must never be run: verify the hash of the bytes, the key and the version. */
  async #readDisk(key: string): Promise<{ bytes: Uint8Array; meta: MeteringMeta } | undefined> {
    let data: Buffer;
    try {
      data = await readFile(this.#path(key));
    } catch {
      return undefined;
    }
    try {
      if (data.length < 4) throw new Error("too short");
      const headerLength = data.readUInt32LE(0);
      if (headerLength > data.length - 4) throw new Error("bad header length");
      const header = JSON.parse(data.subarray(4, 4 + headerLength).toString("utf8")) as DiskHeader;
      const bytes = new Uint8Array(data.subarray(4 + headerLength));
      if (header.magic !== MAGIC || header.key !== key) throw new Error("foreign entry");
      if (header.meta?.version !== METERING_META_VERSION) throw new Error("old version");
      if (sha256(bytes) !== header.sha256) throw new Error("hash mismatch");
      if (!WebAssembly.validate(bytes)) throw new Error("does not validate");
      return { bytes, meta: deepFreeze(header.meta) };
    } catch (e) {
      debug("metering cache: ignoring bad entry %s: %s", key, e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }

  /** Written to a temporary file and renamed, so a reader never sees half an entry. */
  async #writeDisk(key: string, entry: { bytes: Uint8Array; meta: MeteringMeta }): Promise<void> {
    const dir = this.#directory as string;
    const header: DiskHeader = { magic: MAGIC, key, sha256: sha256(entry.bytes), meta: entry.meta };
    const json = Buffer.from(JSON.stringify(header), "utf8");
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(json.length, 0);
    const tmp = join(dir, `.${key}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(tmp, Buffer.concat([prefix, json, entry.bytes]), { mode: 0o600 });
      await rename(tmp, this.#path(key));
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      // The cache is an optimisation: failing to write it must not fail the load.
      debug("metering cache: cannot write %s: %s", key, e instanceof Error ? e.message : String(e));
    }
  }
}

function cacheKey(input: Uint8Array, opts: ResolvedMeterOptions): string {
  const h = createHash("sha256");
  h.update(input);
  h.update(
    JSON.stringify({
      v: METERING_META_VERSION,
      revision: INSTRUMENTATION_REVISION,
      fuel: opts.fuel,
      maxMemoryBytes: opts.maxMemoryBytes,
      maxTableElements: opts.maxTableElements,
    }),
  );
  return h.digest("hex");
}
