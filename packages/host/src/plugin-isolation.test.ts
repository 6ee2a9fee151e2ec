import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PluginSandbox } from "@clawft/sandbox-policy";
import { SandboxedFileSystem } from "@clawft/sandbox-fs";
import { SandboxedHttpClient } from "@clawft/sandbox-http";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { ComponentCompiler } from "./compile.js";
import { HostCallHandler, type HostLogger } from "./host-calls.js";
import { HostFn, Reply } from "./runtime/protocol.js";

const quiet: HostLogger = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };

describe("two plugins share no state on the host side", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  async function pluginSide(id: string, dir: TempDir, env: Record<string, string>) {
    const manifest = {
      id,
      name: id,
      version: "1.0.0",
      capabilities: ["tool"],
      permissions: { network: [], filesystem: [dir.path], env_vars: Object.keys(env) },
    };
    const http = new SandboxedHttpClient({ pluginId: id, pluginVersion: "1.0.0", network: [] });
    const handler = new HostCallHandler({
      pluginId: id,
      fs: await SandboxedFileSystem.create({ allowedPaths: [dir.path] }),
      http,
      sandbox: PluginSandbox.fromManifest(manifest),
      env,
      logger: quiet,
      audit: undefined,
      maxWriteBytes: 1024,
      maxRequestBytes: 1024,
    });
    cleanup.push(async () => {
      handler.close();
      await http.close();
    });
    return handler.session();
  }

  it("T43 plugin A cannot read plugin B's files or variables through its own host calls", async () => {
    const dirA = await createTempDir();
    const dirB = await createTempDir();
    cleanup.push(dirA.cleanup, dirB.cleanup);
    await writeFile(join(dirB.path, "state.json"), '{"secret":"b"}');
    const a = await pluginSide("com.example.a", dirA, { A_REGION: "a" });
    const b = await pluginSide("com.example.b", dirB, { B_REGION: "b" });
    // B reads its own state; A asking for the same path is refused as outside its grant.
    expect(await b.serve(HostFn.READ_FILE, () => [join(dirB.path, "state.json")], undefined)).toEqual({ status: Reply.OK, value: '{"secret":"b"}' });
    const refused = await a.serve(HostFn.READ_FILE, () => [join(dirB.path, "state.json")], undefined);
    expect(refused.status).toBe(Reply.ERR);
    expect(refused.value).toMatch(/^filesystem access denied/);
    // Each sees only its own variables (an env map is per plugin).
    expect(await a.serve(HostFn.GET_ENV, () => ["B_REGION"], undefined)).toMatchObject({ status: Reply.NONE });
    expect(await b.serve(HostFn.GET_ENV, () => ["B_REGION"], undefined)).toEqual({ status: Reply.OK, value: "b" });
  });

  it("T43 two hosts' compilers share no compiled component", async () => {
    const options = { maxMemoryBytes: 16 * 1024 * 1024, maxTableElements: 10_000 };
    const wasm = await buildFixture("tool-basic");
    const one = new ComponentCompiler(undefined);
    const two = new ComponentCompiler(undefined);
    const compiled = await one.compile(wasm, options);
    expect(one.has(wasm, options)).toBe(true);
    expect(two.has(wasm, options)).toBe(false);
    // A second compiler builds its own modules: no WebAssembly.Module object is shared.
    const again = await two.compile(wasm, options);
    for (const [name, module] of Object.entries(compiled.modules)) expect(again.modules[name]).not.toBe(module);
  });
});

describe("T90 rate windows belong to the plugin, not to one instance", () => {
  it("T90 a fresh instance's session (after a hibernation or a fault) finds the plugin's log and get-env budgets already used", async () => {
    const manifest = {
      id: "com.example.hibernating",
      name: "hibernating",
      version: "1.0.0",
      capabilities: ["tool"],
      permissions: { network: [], filesystem: [], env_vars: ["REGION"] },
      resources: { max_log_messages_per_minute: 2, max_env_lookups_per_minute: 2 },
    };
    const lines: string[] = [];
    const http = new SandboxedHttpClient({ pluginId: manifest.id, pluginVersion: "1.0.0", network: [] });
    const handler = new HostCallHandler({
      pluginId: manifest.id,
      fs: undefined,
      http,
      sandbox: PluginSandbox.fromManifest(manifest, { approvals: { env_vars: ["REGION"] } }),
      env: { REGION: "eu" },
      logger: { ...quiet, info: (message: string) => void lines.push(message) },
      audit: undefined,
      maxWriteBytes: 1024,
      maxRequestBytes: 1024,
    });
    try {
      const before = handler.session();
      for (const m of ["one", "two"]) await before.serve(HostFn.LOG, () => ["2", m], undefined);
      for (let i = 0; i < 2; i++) expect(await before.serve(HostFn.GET_ENV, () => ["REGION"], undefined)).toEqual({ status: Reply.OK, value: "eu" });
      // The instance is gone; the plugin's next instance gets a new session of the same handler.
      const after = handler.session();
      await after.serve(HostFn.LOG, () => ["2", "three"], undefined);
      expect(lines).toEqual(["one", "two"]);
      expect(await after.serve(HostFn.GET_ENV, () => ["REGION"], undefined)).toMatchObject({ status: Reply.NONE });
    } finally {
      handler.close();
      await http.close();
    }
  });
});
