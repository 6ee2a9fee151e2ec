import type { LookupAddress } from "node:dns";
import { isIP } from "node:net";
import type { Pool } from "undici";

/** An address that passed the private-address check and is the only place a connection may go. */
export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** The `lookup` signature `net.connect` / `tls.connect` call. */
export type PinnedLookup = (
  hostname: string,
  options: { all?: boolean; family?: number | string } | undefined,
  callback: LookupCallback,
) => void;

export function toPinned(address: string): PinnedAddress {
  const family = isIP(address);
  if (family !== 4 && family !== 6) throw new TypeError(`not an IP address: ${address}`);
  return { address, family };
}

/**
 * A `lookup` for `net.connect` that never asks DNS: it answers the addresses
 * that were checked, whatever name it is asked about. This is the DNS-rebinding
 * defence: the name was resolved once, every answer was checked, and the
 * socket can only connect to one of those answers — a second lookup that
 * would return `127.0.0.1` or `169.254.169.254` never happens.
 *
 * Node calls `lookup` in two shapes: with `{ all: true }` (happy eyeballs,
 * `autoSelectFamily`, the default since Node 20) it expects an array of
 * `{ address, family }`; otherwise one `(address, family)` pair. Both are served.
 */
export function pinnedLookup(addresses: readonly PinnedAddress[]): PinnedLookup {
  const list = addresses.map((a) => ({ address: a.address, family: a.family }));
  return (_hostname, options, callback) => {
    const wanted = options?.family === 4 || options?.family === "IPv4" ? 4 : options?.family === 6 || options?.family === "IPv6" ? 6 : 0;
    const usable = wanted === 0 ? list : list.filter((a) => a.family === wanted);
    const first = usable[0];
    if (first === undefined) {
      const err: NodeJS.ErrnoException = new Error("no pinned address of the requested family");
      err.code = "ENOTFOUND";
      process.nextTick(() => callback(err, options?.all ? [] : "", undefined));
      return;
    }
    // Asynchronous like a real lookup: net expects the callback after connect() returns.
    if (options?.all) process.nextTick(() => callback(null, usable.map((a) => ({ ...a }))));
    else process.nextTick(() => callback(null, first.address, first.family));
  };
}

export interface PinnedPoolOptions {
  /** Headers + body timeout undici enforces itself (a backstop; the client has its own total timeout). */
  timeoutMs: number;
  /** Most pools (one per origin and pinned address set) kept open for reuse. */
  maxPools?: number;
}

/**
 * The undici dispatchers of one client: one `Pool` per origin and pinned
 * address set, so keep-alive connections are reused but every connection is
 * opened through `pinnedLookup` to a checked address. Nothing here is shared
 * between clients, and none of it is undici's global dispatcher: environment
 * proxy settings (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`) and a
 * global dispatcher someone else installed are never consulted, so egress
 * goes only to the checked address. No redirect interceptor is composed in,
 * so a 3xx is returned as is and cannot bounce the request to an unchecked host.
 */
let poolClass: Promise<typeof Pool> | undefined;

/** undici's `Pool`, imported on the first request (a host whose plugins make none never loads undici). */
function loadPool(): Promise<typeof Pool> {
  poolClass ??= import("undici").then((undici) => undici.Pool);
  return poolClass;
}

export class PinnedPools {
  readonly #pools = new Map<string, Pool>();
  readonly #timeoutMs: number;
  readonly #maxPools: number;
  #closed = false;

  constructor(options: PinnedPoolOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#maxPools = options.maxPools ?? 16;
  }

  /** The pool for `origin` whose connections go only to `addresses`. */
  async get(origin: string, addresses: readonly PinnedAddress[]): Promise<Pool> {
    if (this.#closed) throw new Error("client is closed");
    const PoolClass = await loadPool();
    if (this.#closed) throw new Error("client is closed");
    // Sorted: a resolver that rotates its answers (round-robin DNS) still finds its pool.
    const key = `${origin}|${addresses
      .map((a) => a.address)
      .sort()
      .join(",")}`;
    const existing = this.#pools.get(key);
    if (existing !== undefined && !existing.closed && !existing.destroyed) {
      // Most recently used last, so eviction takes the oldest.
      this.#pools.delete(key);
      this.#pools.set(key, existing);
      return existing;
    }
    const pool = new PoolClass(origin, {
      connections: 8,
      pipelining: 1,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      connectTimeout: this.#timeoutMs,
      keepAliveTimeout: 4_000,
      connect: { lookup: pinnedLookup(addresses) },
    });
    this.#pools.set(key, pool);
    while (this.#pools.size > this.#maxPools) {
      const [oldestKey, oldest] = this.#pools.entries().next().value as [string, Pool];
      this.#pools.delete(oldestKey);
      // Graceful: requests already running on it finish first.
      oldest.close().catch(() => {});
    }
    return pool;
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Closes every pool; running requests finish first. */
  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => {})));
  }
}
