import { BlockList, isIP } from "node:net";

export interface ConnectionAttempt {
  /** `tcp` (net/tls/http/undici), `udp` (dgram) or `dns` (a name lookup). */
  kind: "tcp" | "udp" | "dns";
  /** The host name or address the code asked for. */
  host: string;
  port?: number;
  /** The address actually used, when a lookup produced one. */
  address?: string;
  allowed: boolean;
}

interface GuardState {
  attempts: ConnectionAttempt[];
  violations: string[];
}

// One state per process/worker, shared by the setup file and the test files even
// if they load this module through different URLs.
const STATE_KEY = Symbol.for("clawft.test-utils.network-guard");
const globalWithState = globalThis as typeof globalThis & { [STATE_KEY]?: GuardState };
export const guardState: GuardState = (globalWithState[STATE_KEY] ??= { attempts: [], violations: [] });

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");
loopback.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** True for 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 and the name `localhost`. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (h === "localhost") return true;
  const family = isIP(h);
  if (family === 4) return loopback.check(h, "ipv4");
  if (family === 6) return loopback.check(h, "ipv6");
  return false;
}

/** Every connection and lookup the guard saw since the last clear (a connect spy). */
export function connectionAttempts(): readonly ConnectionAttempt[] {
  return guardState.attempts;
}

export function clearConnectionAttempts(): void {
  guardState.attempts.length = 0;
}

/** Attempts the guard refused in this test file (each also threw where it happened). */
export function guardViolations(): readonly string[] {
  return guardState.violations;
}

/** Returns and clears the recorded violations (for the guard's own tests). */
export function takeGuardViolations(): string[] {
  return guardState.violations.splice(0);
}
