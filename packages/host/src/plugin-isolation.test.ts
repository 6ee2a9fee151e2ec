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
