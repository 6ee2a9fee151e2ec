/**
 * The opt-in deny-everything WASI stubs (host option `wasi: "deny"`), served inside
 * the plugin's worker. Nothing here reaches the host's resources: no environment,
 * no arguments, no working directory, no filesystem (no preopens: the interface is
 * not offered at all), no sockets; `exit` traps. Clocks and random numbers are
 * allowed (they reveal nothing about the host beyond the time). Interfaces not
 * listed are refused at load. jco's preview2 shim is never used: it exposes the
 * real filesystem and environment.
 */
import { randomBytes, randomFillSync } from "node:crypto";

/** Largest random buffer one call may ask for (stops a guest from making the host allocate gigabytes). */
const MAX_RANDOM_BYTES = 1024 * 1024;

function randomLen(len: bigint | number): number {
  const n = Number(len);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_RANDOM_BYTES) {
    throw new Error(`random request too large: ${String(len)} bytes (limit ${MAX_RANDOM_BYTES})`);
  }
  return n;
}

function randomU64(): bigint {
  return randomBytes(8).readBigUInt64LE(0);
}

const STUBS: Record<string, () => Record<string, unknown>> = {
  "wasi:cli/environment": () => ({
    getEnvironment: (): Array<[string, string]> => [],
    getArguments: (): string[] => [],
    initialCwd: (): string | undefined => undefined,
  }),
  "wasi:cli/exit": () => ({
    exit: (): never => {
      throw new Error("plugin called wasi:cli/exit");
    },
  }),
  "wasi:random/random": () => ({
    getRandomBytes: (len: bigint): Uint8Array => randomFillSync(new Uint8Array(randomLen(len))),
    getRandomU64: randomU64,
  }),
  "wasi:random/insecure": () => ({
    getInsecureRandomBytes: (len: bigint): Uint8Array => randomFillSync(new Uint8Array(randomLen(len))),
    getInsecureRandomU64: randomU64,
  }),
  "wasi:random/insecure-seed": () => ({
    insecureSeed: (): [bigint, bigint] => [randomU64(), randomU64()],
  }),
  "wasi:clocks/wall-clock": () => ({
    now: () => {
      const ms = Date.now();
      return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
    },
    resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
  }),
  "wasi:clocks/monotonic-clock": () => ({
    now: (): bigint => process.hrtime.bigint(),
    resolution: (): bigint => 1n,
    // Waiting needs wasi:io/poll, which is not offered: asking traps.
    subscribeInstant: (): never => {
      throw new Error("wasi:clocks/monotonic-clock subscribe is not available");
    },
    subscribeDuration: (): never => {
      throw new Error("wasi:clocks/monotonic-clock subscribe is not available");
    },
  }),
};

/** The WASI interfaces (`wasi:pkg/iface`, any 0.2.x version) the deny stubs cover. */
export const STUBBED_WASI_INTERFACES: readonly string[] = Object.freeze(Object.keys(STUBS));

/** `wasi:cli/environment@0.2.3` → `wasi:cli/environment`. */
export function wasiInterfaceName(name: string): string {
  const at = name.indexOf("@");
  return at < 0 ? name : name.slice(0, at);
}

/** The import object entries for the given jco import names (only `wasi:*` ones). */
export function wasiImports(names: readonly string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of names) {
    if (!name.startsWith("wasi:")) continue;
    const stub = STUBS[wasiInterfaceName(name)];
    if (!stub) throw new Error(`no stub for ${name}`);
    out[name] = stub();
  }
  return out;
}
