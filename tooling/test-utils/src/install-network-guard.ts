/**
 * The network guard itself (no test-runner dependency). Every violation is also
 * recorded in the shared guard state, so a test runner can fail a test whose
 * code swallowed the error.
 */
import dgram from "node:dgram";
import dns from "node:dns";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";
import { guardState, isLoopbackAddress } from "./network-guard-state.js";

const GUARD_INSTALLED = Symbol.for("clawft.test-utils.network-guard.installed");
const g = globalThis as typeof globalThis & { [GUARD_INSTALLED]?: boolean };

class NetworkGuardError extends Error {
  readonly code = "ERR_CLAWFT_NETWORK_GUARD";
}

function violation(what: string): NetworkGuardError {
  const message = `network guard: ${what} is not loopback; tests may only reach 127.0.0.0/8 and ::1`;
  guardState.violations.push(message);
  return new NetworkGuardError(message);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
type LookupFn = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void;

function guardedLookup(original: LookupFn, attemptPort?: number): LookupFn {
  return (hostname, options, callback) => {
    original(hostname, options, (err, address, family) => {
      if (err) return callback(err, address, family);
      const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
      for (const a of list) {
        const allowed = isLoopbackAddress(a);
        guardState.attempts.push({ kind: "tcp", host: hostname, port: attemptPort, address: a, allowed });
        if (!allowed) return callback(violation(`${hostname} resolved to ${a}`), address, family);
      }
      callback(null, address, family);
    });
  };
}

/**
 * Makes any network traffic to a non-loopback address throw, in this process
 * (or worker). Idempotent. Used by the vitest setup file, the demo and the benches.
 *
 * It wraps `net.Socket.prototype.connect` (which `net`, `tls`, `http`, `https` and
 * undici all go through), `dgram` sends, and the `dns` module. An IP literal that
 * is not loopback throws synchronously, before any packet. A host name is allowed
 * only when its lookup answers loopback addresses (the wrapped `lookup` checks
 * each answer), and plain DNS queries are allowed only for `localhost`.
 */
export function installNetworkGuard(): void {
  if (g[GUARD_INSTALLED]) return;
  g[GUARD_INSTALLED] = true;

  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    // net.connect() passes its normalised arguments as one array.
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    let host: string | undefined;
    let port: number | undefined;
    let options: Record<string, unknown> | undefined;
    if (first !== null && typeof first === "object") {
      options = first as Record<string, unknown>;
      if (typeof options.path === "string") return originalConnect.apply(this, args as never); // IPC socket
      host = typeof options.host === "string" ? options.host : "localhost";
      port = Number(options.port);
    } else if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
      port = Number(first);
      host = typeof args[1] === "string" ? args[1] : "localhost";
    } else {
      return originalConnect.apply(this, args as never); // a path: IPC socket
    }
    if (net.isIP(host.replace(/^\[(.*)\]$/, "$1")) || host === "localhost") {
      const allowed = isLoopbackAddress(host);
      guardState.attempts.push({ kind: "tcp", host, port, address: host, allowed });
      if (!allowed) throw violation(`connection to ${host}:${port}`);
    } else if (options) {
      // A name: check every address its lookup produces before the socket uses it.
      options.lookup = guardedLookup((options.lookup as LookupFn | undefined) ?? (dns.lookup as LookupFn), port);
    } else {
      guardState.attempts.push({ kind: "tcp", host, port, allowed: false });
      throw violation(`connection to ${host}:${port}`);
    }
    return originalConnect.apply(this, args as never);
  } as typeof net.Socket.prototype.connect;

  const originalSend = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function guardedSend(this: dgram.Socket, ...args: unknown[]) {
    const address = args.find((a, i) => i > 0 && typeof a === "string") as string | undefined;
    const allowed = address === undefined || isLoopbackAddress(address);
    guardState.attempts.push({ kind: "udp", host: address ?? "(connected)", allowed });
    if (!allowed) throw violation(`UDP datagram to ${address}`);
    return originalSend.apply(this, args as never);
  } as typeof dgram.Socket.prototype.send;

  const originalUdpConnect = dgram.Socket.prototype.connect;
  dgram.Socket.prototype.connect = function guardedUdpConnect(this: dgram.Socket, ...args: unknown[]) {
    const address = typeof args[1] === "string" ? args[1] : "localhost";
    if (!isLoopbackAddress(address)) throw violation(`UDP connect to ${address}`);
    return originalUdpConnect.apply(this, args as never);
  } as typeof dgram.Socket.prototype.connect;

  /** DNS queries leave the machine: only `localhost` and IP literals may be looked up. */
  const checkName = (name: unknown) => {
    const host = String(name);
    const allowed = host === "localhost" || net.isIP(host) !== 0;
    guardState.attempts.push({ kind: "dns", host, allowed });
    if (!allowed) throw violation(`DNS lookup of ${host}`);
  };
  const originalLookup = dns.lookup;
  dns.lookup = function guardedDnsLookup(hostname: string, ...rest: unknown[]) {
    checkName(hostname);
    return (originalLookup as (...a: unknown[]) => unknown)(hostname, ...rest);
  } as typeof dns.lookup;
  const originalPromisesLookup = dns.promises.lookup;
  dns.promises.lookup = async function guardedPromisesLookup(hostname: string, ...rest: unknown[]) {
    checkName(hostname);
    return (originalPromisesLookup as (...a: unknown[]) => Promise<unknown>)(hostname, ...rest);
  } as typeof dns.promises.lookup;
  for (const method of ["resolve", "resolve4", "resolve6", "resolveAny", "resolveCname", "resolveTxt"] as const) {
    const original = dns[method] as (...a: unknown[]) => unknown;
    (dns as unknown as Record<string, unknown>)[method] = (name: string, ...rest: unknown[]) => {
      checkName(name);
      return original.call(dns, name, ...rest);
    };
    const originalP = dns.promises[method] as (...a: unknown[]) => Promise<unknown>;
    (dns.promises as unknown as Record<string, unknown>)[method] = async (name: string, ...rest: unknown[]) => {
      checkName(name);
      return originalP.call(dns.promises, name, ...rest);
    };
  }
  syncBuiltinESMExports();
}

