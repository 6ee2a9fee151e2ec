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
    return handler.serve(handler.session(), fn, args, 0);
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
});
