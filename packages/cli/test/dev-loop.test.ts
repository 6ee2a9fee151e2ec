import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, startLoopbackServer, type TempDir } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import { snapshotCli, type CliHarness, type CliRun } from "./cli-runner.js";
import { manifestFor, pluginFiles, writePluginFolder } from "../../host/test/lifecycle/helpers.js";

let tmp: TempDir;
let dataDir: string;
let harness: CliHarness;
let hostCalls: Uint8Array;

beforeAll(async () => {
  harness = await snapshotCli(() => tmp.path);
  hostCalls = await buildFixture("host-calls");
});
afterAll(async () => {
  await harness?.dispose();
});
beforeEach(async () => {
  tmp = await createTempDir("clawft-cli-dev-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return harness.run(args, { CLAWFT_HOME: dataDir, ...env });
}

function pluginFolder(name: string, manifest: Record<string, unknown>): Promise<string> {
  return writePluginFolder(
    join(tmp.path, "src", name),
    pluginFiles({ manifest: manifestFor({ tools: ["http", "env"], ...manifest }), module: Buffer.from(hostCalls) }),
  );
}

async function auditFunctions(): Promise<string[]> {
  const r = await cli(["audit", "--json"]);
  return (JSON.parse(r.stdout) as { function: string }[]).map((e) => e.function);
}

describe("dev network flags and the dev loop (built binary)", { timeout: 240_000 }, () => {
  it("T87 a local test server is reachable only with --allow-private-cidr and --resolve, which warn and are audited; without them it is refused again", async () => {
    await using server = await startLoopbackServer((_req, res) => {
      res.end("hello from 127.0.0.1");
    });
    const port = new URL(server.url).port;
    const src = await pluginFolder("http", { permissions: { network: ["api.test.example"] } });
    expect((await cli(["install", src, "--yes"])).code).toBe(0);
    const url = `http://api.test.example:${port}/x`;

    // No flags: a private address stays refused before any connection (no DNS: the literal address).
    const refused = await cli(["run", "com.example.weather", "http", JSON.stringify(["GET", `http://127.0.0.1:${port}/x`])]);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toMatch(/host not in network allowlist|request to private\/reserved IP denied/);
    // --resolve alone: the name answers 127.0.0.1, which is still a private address.
    const onlyResolve = await cli(["run", "com.example.weather", "http", JSON.stringify(["GET", url]), "--resolve", "api.test.example=127.0.0.1"]);
    expect(onlyResolve.code).toBe(7);
    expect(onlyResolve.stderr).toContain("request to private/reserved IP denied");

    const ok = await cli([
      "run", "com.example.weather", "http", JSON.stringify(["GET", url]),
      "--resolve", "api.test.example=127.0.0.1", "--allow-private-cidr", "127.0.0.0/8",
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe("hello from 127.0.0.1");
    expect(ok.stderr).toMatch(/^clawft-plugin: warning: dev-only network flags for com\.example\.weather: --allow-private-cidr 127\.0\.0\.0\/8 .*--resolve api\.test\.example=127\.0\.0\.1/m);
    const audit = JSON.parse((await cli(["audit", "--json"])).stdout) as { function: string; args: Record<string, unknown> }[];
    const dev = audit.filter((e) => e.function === "dev-network");
    expect(dev).toHaveLength(2);
    expect(dev.at(-1)!.args).toEqual({ allowPrivateCidrs: "127.0.0.0/8", resolve: "api.test.example=127.0.0.1" });

    // Flags are per run: the next run without them is refused again; the plugin's other tool works.
    const after = await cli(["run", "com.example.weather", "http", JSON.stringify(["GET", url]), "--resolve", "api.test.example=127.0.0.1"]);
    expect(after.code).toBe(7);
    const env = await cli(["run", "com.example.weather", "env", '["PATH"]']);
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout.trim()).toBe("none");

    const bad = await cli(["run", "com.example.weather", "env", "[]", "--allow-private-cidr", "10.0.0.0/33"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--allow-private-cidr: ");
  });

  it("T88 run --dir runs a plugin from its folder without installing it, and still asks for every permission", async () => {
    const folder = await pluginFolder("dev", { permissions: { env_vars: ["CLAWFT_TEST_DEV_KEY"] } });
    const env = { CLAWFT_TEST_DEV_KEY: "dev-value" };
    const refused = await cli(["run", "--dir", folder, "env", '["CLAWFT_TEST_DEV_KEY"]'], env);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/consent denied: .*CLAWFT_TEST_DEV_KEY.*\[PLUGIN_CONSENT_DENIED\]/);
    expect(refused.stderr).toContain("non-interactive: pass --yes or a --grant file");
    const missing = await cli(["run", "--dir", join(tmp.path, "nope"), "env", "[]"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`plugin folder not found: ${join(tmp.path, "nope")}`);
    expect(refused.stdout).toBe("");

    const ran = await cli(["run", "--dir", folder, "env", '["CLAWFT_TEST_DEV_KEY"]', "--yes"], env);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout.trim()).toBe("some:dev-value");
    // Nothing was installed or approved: the next run asks again.
    expect(JSON.parse((await cli(["list", "--json"])).stdout)).toEqual([]);
    await expect(access(join(dataDir, "approvals.json"))).rejects.toThrow();
    expect((await cli(["run", "--dir", folder, "env", '["CLAWFT_TEST_DEV_KEY"]'], env)).code).toBe(4);
    // Its host calls are audited like an installed plugin's.
    expect(await auditFunctions()).toContain("get-env");
    // A grant file works as for installed plugins; a name it does not list stays unreadable.
    const grants = join(tmp.path, "grants.json");
    await (await import("node:fs/promises")).writeFile(grants, JSON.stringify({ "com.example.weather": { env_vars: ["CLAWFT_TEST_DEV_KEY"] } }));
    const granted = await cli(["run", "--dir", folder, "env", '["PATH"]', "--grant", grants], env);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stdout.trim()).toBe("none");
    expect(JSON.parse(await readFile(join(folder, "clawft.plugin.json"), "utf8")).id).toBe("com.example.weather");
  });
});
