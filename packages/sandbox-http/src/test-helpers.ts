/**
 * Helpers for this package's tests (not exported by the package). Every
 * resolver here answers loopback addresses only: no test may send a packet
 * anywhere else.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { SandboxError } from "@clawft/sandbox-policy";
import { isLoopbackAddress } from "@clawft/test-utils";
import { expect } from "vitest";
import { SandboxedHttpClient } from "./client.js";
import type { HttpClientOptions } from "./options.js";

/** A resolver over a fixed table, recording every call. Unknown names fail like DNS (`ENOTFOUND`). */
export interface RecordingResolver {
  (hostname: string): Promise<string[]>;
  readonly calls: string[];
}

export function tableResolver(table: Record<string, string[] | (() => string[])>): RecordingResolver {
  const calls: string[] = [];
  const fn = async (hostname: string): Promise<string[]> => {
    calls.push(hostname);
    const entry = table[hostname];
    if (entry === undefined) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = "ENOTFOUND";
      throw err;
    }
    const answers = typeof entry === "function" ? entry() : entry;
    for (const a of answers) {
      if (!isLoopbackAddress(a)) throw new Error(`test resolver must answer loopback only, got ${a}`);
    }
    return answers;
  };
  return Object.assign(fn, { calls });
}

export const PLUGIN = { pluginId: "com.example.test", pluginVersion: "1.0.0" } as const;

/** A client for `api.test` → 127.0.0.1, reachable through `allowPrivateCidrs: ["127.0.0.1/32"]`. */
export function testClient(overrides: Partial<HttpClientOptions> = {}): SandboxedHttpClient {
  return new SandboxedHttpClient({
    ...PLUGIN,
    network: ["api.test"],
    resolve: tableResolver({ "api.test": ["127.0.0.1"] }),
    allowPrivateCidrs: ["127.0.0.1/32"],
    ...overrides,
  });
}

/** Awaits a rejection and checks it is a `SandboxError` with `code` whose message starts with `prefix`. */
export async function expectRefusal(promise: Promise<unknown>, code: string, prefix?: string): Promise<SandboxError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected the request to be refused").toBeDefined();
  expect(SandboxError.isInstance(caught), `expected a SandboxError, got ${String(caught)}`).toBe(true);
  const e = caught as SandboxError;
  expect(e.code).toBe(code);
  if (prefix !== undefined) expect(e.message.startsWith(prefix), `message "${e.message}" should start with "${prefix}"`).toBe(true);
  return e;
}

/** A bare HTTP server on a chosen loopback address and port (0: any), e.g. a second server on another server's port. */
export interface PlainServer {
  readonly connectionCount: number;
  readonly port: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startServerAt(
  host: string,
  port: number,
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end("second server"),
): Promise<PlainServer> {
  if (!isLoopbackAddress(host)) throw new Error("loopback only");
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return {
    get connectionCount() {
      return connections;
    },
    port: (server.address() as AddressInfo).port,
    close,
    [Symbol.asyncDispose]: close,
  };
}
