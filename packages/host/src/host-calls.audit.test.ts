import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AuditEvent, PluginSandbox } from "@clawft/sandbox-policy";
import { SandboxedFileSystem } from "@clawft/sandbox-fs";
import { SandboxedHttpClient } from "@clawft/sandbox-http";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostCallHandler, type HostLogger } from "./host-calls.js";
import { HostFn, type HostFnId, Reply } from "./runtime/protocol.js";
import type { HostReply } from "./runtime/worker-runtime.js";

const SECRET = "sk-live-0123456789abcdef";
const quiet: HostLogger = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };

describe("HostCallHandler audit trail", () => {
  let dir: TempDir;
  let http: SandboxedHttpClient;
  let events: AuditEvent[];
  let handler: HostCallHandler;

  beforeEach(async () => {
    dir = await createTempDir();
    await writeFile(join(dir.path, "in.txt"), "hello");
    const manifest = {
      id: "com.example.audit",
      name: "audit",
      version: "1.0.0",
      capabilities: ["tool"],
      permissions: { network: ["api.example.com"], filesystem: [dir.path], env_vars: ["API_KEY"] },
    };
    const sandbox = PluginSandbox.fromManifest(manifest, { approvals: { env_vars: ["API_KEY"] } });
    // A test resolver answers loopback only: the request is refused as private before any connection.
    http = new SandboxedHttpClient({ pluginId: manifest.id, pluginVersion: manifest.version, network: manifest.permissions.network, resolve: async () => ["127.0.0.1"] });
    events = [];
    handler = new HostCallHandler({
      pluginId: manifest.id,
      fs: await SandboxedFileSystem.create({ allowedPaths: [dir.path] }),
      http,
      sandbox,
      env: { API_KEY: SECRET },
      logger: quiet,
      audit: (event) => events.push(event),
      maxWriteBytes: 4 * 1024 * 1024,
      maxRequestBytes: 1024 * 1024,
    });
  });

  afterEach(async () => {
    handler.close();
    await http.close();
    await dir.cleanup();
  });

  async function call(fn: HostFnId, args: string[]): Promise<HostReply> {
    return handler.serve(handler.session(), fn, args);
  }

  it("T42 every host call writes exactly one audit event: plugin, function, summary, result, duration", async () => {
    const replies = [
      await call(HostFn.READ_FILE, [join(dir.path, "in.txt")]),
      await call(HostFn.WRITE_FILE, [join(dir.path, "out.txt"), "written"]),
      await call(HostFn.READ_FILE, ["/etc/passwd"]),
      await call(HostFn.GET_ENV, ["API_KEY"]),
      await call(HostFn.GET_ENV, ["HOME"]),
      await call(HostFn.LOG, ["2", "a line"]),
      await call(HostFn.HTTP_REQUEST, ["GET", "http://10.0.0.1/", "[]"]),
    ];
    expect(replies.map((r) => r.status)).toEqual([Reply.OK, Reply.OK_UNIT, Reply.ERR, Reply.OK, Reply.NONE, Reply.OK_UNIT, Reply.ERR]);
    expect(events.map((e) => [e.function, e.result])).toEqual([
      ["read-file", "ok"],
      ["write-file", "ok"],
      ["read-file", "refused"],
      ["get-env", "ok"],
      ["get-env", "refused"],
      ["log", "ok"],
      ["http-request", "refused"],
    ]);
    for (const e of events) {
      expect(e.pluginId).toBe("com.example.audit");
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
      expect(typeof e.timestamp).toBe("number");
      expect(Object.isFrozen(e)).toBe(true);
    }
    expect(events[2]?.code).toBe("FS_OUTSIDE_SANDBOX");
    expect(events[6]?.code).toBe("HTTP_PRIVATE_IP");
  });

  it("T42 the audit summary never carries a secret: env values, file contents, URL credentials and query values", async () => {
    await call(HostFn.GET_ENV, ["API_KEY"]);
    await call(HostFn.WRITE_FILE, [join(dir.path, "secret.txt"), SECRET]);
    await call(HostFn.READ_FILE, [join(dir.path, "secret.txt")]);
    await call(HostFn.LOG, ["2", `token ${SECRET}`]);
    await call(HostFn.HTTP_REQUEST, ["POST", `https://api.example.com/v1?key=${SECRET}`, JSON.stringify([["authorization", SECRET]]), SECRET]);
    await call(HostFn.HTTP_REQUEST, ["GET", `https://user:${SECRET}@api.example.com/`, "[]"]);
    expect(events).toHaveLength(6);
    const text = JSON.stringify(events);
    expect(text).not.toContain(SECRET);
    expect(events[0]?.args).toEqual({ name: "API_KEY", set: true });
    expect(events[1]?.args).toMatchObject({ bytes: SECRET.length });
    expect(events[4]?.args).toMatchObject({ method: "POST", headers: 1, bodyBytes: SECRET.length });
    expect(events[4]).toMatchObject({ result: "refused", code: "HTTP_PRIVATE_IP" });
    expect(events[5]).toMatchObject({ result: "refused", code: "HTTP_INVALID_URL" });
  });

  it("T51 calls dropped by the log limit are summarised in one RATE_LIMITED event per window, and their payload is never read", async () => {
    const session = handler.session();
    let reads = 0;
    const lazy = (args: string[]) => () => (reads++, args);
    for (let i = 0; i < 100; i++) await handler.serve(session, HostFn.LOG, lazy(["2", `m${i}`]));
    expect(reads).toBe(100);
    for (let i = 0; i < 5000; i++) expect(await handler.serve(session, HostFn.LOG, lazy(["2", "dropped"]))).toEqual({ status: Reply.OK_UNIT, value: "" });
    // The dropped messages were answered without reading the wire.
    expect(reads).toBe(100);
    expect(events.filter((e) => e.function === "log")).toHaveLength(100);
    handler.close();
    const summary = events.filter((e) => e.code === "RATE_LIMITED");
    expect(summary).toEqual([
      expect.objectContaining({ function: "log", result: "refused", code: "RATE_LIMITED", args: { dropped: 5000, limit: 100, windowMs: 60_000 } }),
    ]);
  });

  it("T52 get-env past its per-plugin limit answers none, unread, summarised once (default limit 1000 a minute)", async () => {
    const session = handler.session();
    let reads = 0;
    for (let i = 0; i < 1000; i++) await handler.serve(session, HostFn.GET_ENV, () => (reads++, ["API_KEY"]));
    for (let i = 0; i < 300; i++) {
      expect(await handler.serve(session, HostFn.GET_ENV, () => (reads++, ["API_KEY"]))).toEqual({ status: Reply.NONE, value: "" });
    }
    expect(reads).toBe(1000);
    expect(events.filter((e) => e.function === "get-env" && e.result === "ok")).toHaveLength(1000);
    handler.close();
    expect(events.filter((e) => e.code === "RATE_LIMITED")).toEqual([
      expect.objectContaining({ function: "get-env", result: "refused", args: { dropped: 300, limit: 1000, windowMs: 60_000 } }),
    ]);
  });

  it("T49 a refusal from the worker (argument over its limit) is an err for the guest and an audit event with the size, never the content", async () => {
    const session = handler.session();
    const never = (): string[] => {
      throw new Error("the arguments of a refused call must not be read");
    };
    const r1 = await handler.serve(session, HostFn.READ_FILE, never, { argument: "path", size: 30 * 1024 * 1024, limit: 4096, unit: "bytes" });
    expect(r1).toEqual({ status: Reply.ERR, value: "argument too large: path is 31457280 bytes (limit 4096)" });
    const r2 = await handler.serve(session, HostFn.HTTP_REQUEST, never, { argument: "body", size: 2 * 1024 * 1024, limit: 1024 * 1024, unit: "bytes" });
    expect(r2.value).toMatch(/^request body too large/);
    const r3 = await handler.serve(session, HostFn.GET_ENV, never, { argument: "name", size: 5000, limit: 1024, unit: "bytes" });
    expect(r3).toEqual({ status: Reply.NONE, value: "" });
    const r4 = await handler.serve(session, HostFn.HTTP_REQUEST, never, { argument: "headers", size: 100_000, limit: 1024, unit: "entries" });
    expect(r4.value).toBe("argument too large: headers is 100000 entries (limit 1024)");
    expect(events.map((e) => [e.function, e.result, e.code, e.args])).toEqual([
      ["read-file", "refused", "ARGUMENT_TOO_LARGE", { argument: "path", pathBytes: 30 * 1024 * 1024, limit: 4096 }],
      ["http-request", "refused", "HTTP_BODY_TOO_LARGE", { argument: "body", bodyBytes: 2 * 1024 * 1024, limit: 1024 * 1024 }],
      ["get-env", "refused", "ARGUMENT_TOO_LARGE", { argument: "name", nameBytes: 5000, limit: 1024 }],
      ["http-request", "refused", "ARGUMENT_TOO_LARGE", { argument: "headers", headersCount: 100_000, limit: 1024 }],
    ]);
  });
});
