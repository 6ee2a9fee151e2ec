import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, startLoopbackServer, type TempDir } from "@clawft/test-utils";
import { buildFixture, buildJsExamplePlugin, jsExampleManifest } from "@clawft/wasm-fixtures";
import { snapshotCli, type CliHarness, type CliRun } from "./cli-runner.js";
import { manifestFor, newKeyPair, packFolder, pluginFiles, tree, writePluginFolder } from "../../host/test/lifecycle/helpers.js";

let tmp: TempDir;
let dataDir: string;
/**
 * The built binary, as `npm i -g @clawft/cli` would run it, from a snapshot of dist/ taken at
 * start (see cli-runner.ts), with pipes for stdio: never a TTY, so never interactive.
 */
let harness: CliHarness;

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return harness.run(args, { CLAWFT_HOME: dataDir, ...env });
}

let toolBasic: Uint8Array;
let hostCalls: Uint8Array;

beforeAll(async () => {
  harness = await snapshotCli(() => tmp.path);
  toolBasic = await buildFixture("tool-basic");
  hostCalls = await buildFixture("host-calls");
});

afterAll(async () => {
  await harness?.dispose();
});

beforeEach(async () => {
  tmp = await createTempDir("clawft-cli-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

function folder(name: string, manifest: Record<string, unknown>, module: Uint8Array = toolBasic): Promise<string> {
  return writePluginFolder(
    join(tmp.path, "src", name),
    pluginFiles({ manifest: manifestFor({ tools: ["echo", "fail"], ...manifest }), module: Buffer.from(module) }),
  );
}

describe("clawft-plugin CLI (built binary)", { timeout: 240_000 }, () => {
  it("prints help with every command and the exit codes; --help on each command", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    for (const c of ["install", "list", "info", "run", "permissions", "revoke", "remove", "audit", "keys"]) {
      expect(help.stdout).toContain(`  ${c} `);
    }
    expect(help.stdout).toContain("Exit codes:");
    for (const c of ["install", "list", "info", "run", "permissions", "revoke", "remove", "audit", "keys", "sign"]) {
      const r = await cli([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/^Usage: clawft-plugin /);
    }
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    const badFlag = await cli(["list", "--nope"]);
    expect(badFlag.code).toBe(2);
  });

  it("T39 non-interactive: a permission request is refused unless --yes or a grant file names it", async () => {
    const src = await folder("shell", { permissions: { shell: true, env_vars: ["WEATHER_KEY"] } });
    const refused = await cli(["install", src]);
    expect(refused.code).toBe(4);
    const lines = refused.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^clawft-plugin: error: consent denied: .*non-interactive: pass --yes or a --grant file.*\[PLUGIN_CONSENT_DENIED\]$/);
    // The refusal lists what was asked (so the script's author knows what to pre-grant).
    expect(lines.at(-1)).toMatch(/not approved: .*shell: run shell commands/);
    expect(lines.at(-1)).toMatch(/not approved: .*env: WEATHER_KEY/);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
    expect(JSON.parse((await cli(["list", "--json"])).stdout)).toEqual([]);
    expect(await tree(join(dataDir, "plugins"))).toEqual([]);

    const grantFile = join(tmp.path, "grants.json");
    await writeFile(grantFile, JSON.stringify({ "com.example.weather": { env_vars: ["WEATHER_KEY"] } }));
    const partial = await cli(["install", src, "--grant", grantFile]);
    expect(partial.code).toBe(4);
    expect(partial.stderr).toContain("not in the grant file: shell");

    await writeFile(grantFile, JSON.stringify({ "com.example.weather": { env_vars: ["WEATHER_KEY"], shell: true } }));
    const granted = await cli(["install", src, "--grant", grantFile, "--json"]);
    expect(granted.code, granted.stderr).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ plugin: { id: "com.example.weather", signature: { status: "unsigned" } } });
    expect(granted.stderr).toContain("warning: plugin com.example.weather@1.0.0 is not signed");

    const perms = JSON.parse((await cli(["permissions", "com.example.weather", "--json"])).stdout) as { permissions: unknown }[];
    expect(perms[0]?.permissions).toEqual({ network: [], filesystem: [], env_vars: ["WEATHER_KEY"], shell: true });
  });

  it("T40 env vars are asked before the first run; revoke makes the next run ask again (refused without a TTY)", async () => {
    const src = await folder("env", { permissions: { env_vars: ["CLAWFT_TEST_WEATHER_KEY"] }, tools: ["env"] }, hostCalls);
    expect((await cli(["install", src, "--yes"])).code).toBe(0);
    const env = { CLAWFT_TEST_WEATHER_KEY: "s3cret-value" };
    const run = await cli(["run", "com.example.weather", "env", '["CLAWFT_TEST_WEATHER_KEY"]'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("some:s3cret-value");

    const audit = await cli(["audit", "--plugin", "com.example.weather", "--json"]);
    const events = JSON.parse(audit.stdout) as { function: string; result: string }[];
    expect(events.map((e) => [e.function, e.result])).toEqual([["get-env", "ok"]]);
    expect(audit.stdout).not.toContain("s3cret-value");
    const table = await cli(["audit", "--since", "1h"]);
    expect(table.stdout).toMatch(/^TIME\s+PLUGIN\s+FUNCTION\s+RESULT/);
    expect(table.stdout).toContain("get-env");

    expect((await cli(["revoke", "com.example.weather"])).code).toBe(0);
    const again = await cli(["run", "com.example.weather", "env", '["CLAWFT_TEST_WEATHER_KEY"]'], env);
    expect(again.code).toBe(4);
    expect(again.stdout).toBe("");
    expect(JSON.parse((await cli(["audit", "--json"])).stdout)).toHaveLength(1); // it never ran
    const approved = await cli(["run", "com.example.weather", "env", '["CLAWFT_TEST_WEATHER_KEY"]', "--yes"], env);
    expect(approved.stdout.trim()).toBe("some:s3cret-value");
  });

  it("run executes a tool of a real component; a changed module is refused (exit 5)", async () => {
    const src = await folder("basic", {});
    expect((await cli(["install", src])).code).toBe(0);
    const echo = await cli(["run", "com.example.weather", "echo", '{"city":"Oslo"}']);
    expect(echo.code, echo.stderr).toBe(0);
    expect(JSON.parse(echo.stdout)).toEqual({ city: "Oslo" });
    const fail = await cli(["run", "com.example.weather", "fail"]);
    expect(fail.code).toBe(7);
    expect(fail.stderr).toContain("[PLUGIN_TOOL_ERROR]");

    const wasm = join(dataDir, "plugins", "com.example.weather", "package", "plugin.wasm");
    const bytes = await readFile(wasm);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(wasm, bytes);
    const tampered = await cli(["run", "com.example.weather", "echo", "{}"]);
    expect(tampered.code).toBe(5);
    expect(tampered.stderr).toMatch(/integrity check failed.*\[PLUGIN_INTEGRITY_MISMATCH\]/);
  });

  it("T56 run prints a plugin's text on one line with controls and bidi escaped; --json escapes them as \\u; a hostile error stays one line", async () => {
    const src = await writePluginFolder(
      join(tmp.path, "src", "hostile"),
      pluginFiles({
        manifest: manifestFor({ tools: ["repeat", "fail-repeat"] }),
        module: Buffer.from(await buildFixture("hostile-results")),
      }),
    );
    expect((await cli(["install", src])).code).toBe(0);
    const hostile = "out\n[clawft error] other.plugin: forged\x1b[2J\x1b]0;t\x07\u202eend\u2028";
    const params = JSON.stringify([hostile, 1]);
    const plain = await cli(["run", "com.example.weather", "repeat", params]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe("out\\n[clawft error] other.plugin: forged\\x1b[2J\\x1b]0;t\\x07\\u202eend\\u2028\n");
    const json = await cli(["run", "com.example.weather", "repeat", params, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/);
    expect(JSON.parse(json.stdout)).toEqual({ pluginId: "com.example.weather", tool: "repeat", output: hostile });
    const failed = await cli(["run", "com.example.weather", "fail-repeat", JSON.stringify(["bad\x1b[31m\u202e", 1])]);
    expect(failed.code).toBe(7);
    expect(failed.stderr).toBe("clawft-plugin: error: bad\\x1b[31m\\u202e [PLUGIN_TOOL_ERROR]\n");
  });

  it("T36 a 1.1 MB componentize-qjs plugin is refused by default, installs with raised limits, and then runs", async () => {
    const dir = join(tmp.path, "src", "js");
    await writePluginFolder(
      dir,
      {
        manifest: Buffer.from(JSON.stringify(await jsExampleManifest("component"))),
        module: Buffer.from(await buildJsExamplePlugin()),
      },
      "dist/plugin.wasm",
    );
    const refused = await cli(["install", dir, "--yes"]);
    expect(refused.code).toBe(6);
    // The refusal names the flag that raises the limit it hit.
    expect(refused.stderr).toMatch(
      /module too large: \d+ bytes uncompressed \(limit 307200\); raise it with --max-module-bytes <n> if you trust this plugin \[PLUGIN_TOO_LARGE\]/,
    );
    const gzipOnly = await cli(["install", dir, "--yes", "--max-module-bytes", "2000000"]);
    expect(gzipOnly.stderr).toMatch(/bytes gzipped \(limit 122880\); raise it with --max-module-gzip-bytes <n>/);
    const raised = await cli(["install", dir, "--yes", "--max-module-bytes", "2000000", "--max-module-gzip-bytes", "2000000"]);
    expect(raised.code, raised.stderr).toBe(0);
    // The limits chosen at install carry over: the pinned module runs without repeating the flags.
    const greet = await cli(["run", "dev.clawft.example-js-plugin", "greet", '{"name":"Ola"}'], { EXAMPLE_GREETING: "Hej" });
    expect(greet.code, greet.stderr).toBe(0);
    expect(greet.stdout.trim()).toBe("Hej, Ola!");
  });

  it("command-line stumbles: clear data-dir, manifest-path, option and JSON errors; --json errors and outputs are JSON; a reinstall says so", async () => {
    // A mistyped --data-dir: missing is an error for a reading command, a file is never a data dir.
    const missing = await cli(["list", "--data-dir", join(tmp.path, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`clawft-plugin: error: --data-dir ${join(tmp.path, "nope")} does not exist (nothing is installed there; check the path); see clawft-plugin list --help`);
    await writeFile(join(tmp.path, "afile"), "x");
    const file = await cli(["list", "--data-dir", join(tmp.path, "afile")]);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(`--data-dir ${join(tmp.path, "afile")} is not a folder`);
    expect(file.stderr).not.toContain("ENOTDIR");

    // The manifest instead of its folder.
    const src = await folder("basic", { version: "0.2.0" });
    const manifestArg = await cli(["install", join(src, "clawft.plugin.json")]);
    expect(manifestArg.code).toBe(2);
    expect(manifestArg.stderr).toContain(`is the manifest: pass the plugin folder that holds it (clawft-plugin install ${src})`);
    expect(manifestArg.stderr).not.toMatch(/TAR|tar/);

    // "see … --help" once; parseArgs errors in the CLI's words.
    const noId = await cli(["info"]);
    expect(noId.stderr.match(/--help/g)).toHaveLength(1);
    const negative = await cli(["audit", "--limit", "-1"]);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain('--limit needs a value (a value that starts with "-" is written --limit=<value>)');
    const unknownFlag = await cli(["list", "--nope"]);
    expect(unknownFlag.stderr).toContain("unknown option --nope");
    expect(unknownFlag.stderr.match(/--help/g)).toHaveLength(1);

    // Install, then reinstall the same version: not an "upgrade 0.2.0 -> 0.2.0".
    expect((await cli(["install", src])).stdout).toMatch(/^installed com\.example\.weather 0\.2\.0 /);
    const again = await cli(["install", src]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^reinstalled com\.example\.weather 0\.2\.0 /);

    // An unclosed quote reaches the CLI as broken JSON: said so, with the text received.
    const broken = await cli(["run", "com.example.weather", "echo", '{"city":"Oslo}']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("[json] must be valid JSON (the tool's parameters), got");

    // --json: the output is the tool's JSON value, and an error is one JSON line on stderr.
    const out = await cli(["run", "com.example.weather", "echo", '{"city":"Oslo"}', "--json"]);
    expect(JSON.parse(out.stdout)).toEqual({ pluginId: "com.example.weather", tool: "echo", output: { city: "Oslo" } });
    const notFound = await cli(["info", "com.example.none", "--json"]);
    expect(notFound.code).toBe(3);
    expect(notFound.stdout).toBe("");
    expect(JSON.parse(notFound.stderr)).toEqual({
      error: { code: "PLUGIN_NOT_FOUND", message: expect.stringMatching(/com\.example\.none/) as unknown, exitCode: 3 },
    });
  });

  it("T41 an upgrade asks for the new permission only, and a grant file for just that one suffices", async () => {
    const v1 = await folder("v1", { version: "1.0.0", permissions: { network: ["api.weather.example"] } });
    expect((await cli(["install", v1, "--yes"])).code).toBe(0);
    const v2 = await folder("v2", { version: "1.1.0", permissions: { network: ["api.weather.example", "tiles.weather.example"] } });
    const refused = await cli(["install", v2]);
    expect(refused.code).toBe(4);
    const grantFile = join(tmp.path, "grants.json");
    await writeFile(grantFile, JSON.stringify({ "com.example.weather": { network: ["tiles.weather.example"] } }));
    const upgraded = await cli(["install", v2, "--grant", grantFile]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.stdout).toContain("upgraded com.example.weather 1.0.0 -> 1.1.0");
    expect(upgraded.stdout).toContain("approved: network: tiles.weather.example");
  });

  it("keys add/list/remove and registry installs: unsigned refused (exit 5), signed installs with progress", async () => {
    const signer = newKeyPair();
    const pem = join(tmp.path, "signer.pub.pem");
    await writeFile(pem, signer.publicPem);
    const added = await cli(["keys", "add", pem, "--name", "weather team", "--json"]);
    expect(added.code, added.stderr).toBe(0);
    const { id } = JSON.parse(added.stdout) as { id: string };
    const listed = await cli(["keys", "list"]);
    expect(listed.stdout).toContain(id.slice(0, 16));
    expect(listed.stdout).toContain("weather team");

    const unsignedDir = await folder("unsigned", {});
    const unsigned = await packFolder(unsignedDir, join(tmp.path, "unsigned.tgz"));
    // The author signs with `clawft-plugin sign`.
    const signedDir = await folder("signed", {});
    const privatePem = join(tmp.path, "signer.pem");
    await writeFile(privatePem, signer.privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    const signing = await cli(["sign", signedDir, "--key", privatePem, "--json"]);
    expect(signing.code, signing.stderr).toBe(0);
    expect(JSON.parse(signing.stdout)).toMatchObject({ keyId: id });
    expect((await cli(["sign", signedDir, "--key", pem])).code).toBe(6); // a public key cannot sign
    const signed = await packFolder(signedDir, join(tmp.path, "signed.tgz"));
    await using server = await startLoopbackServer((req, res) => {
      res.setHeader("content-type", "application/gzip");
      res.end(req.url === "/signed.tgz" ? signed : unsigned);
    });
    const refused = await cli(["install", `${server.url}/unsigned.tgz`]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain("[PLUGIN_SIGNATURE_MISSING]");
    const ok = await cli(["install", `${server.url}/signed.tgz`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/downloading http:\/\/127\.0\.0\.1:\d+\/signed\.tgz: .*\(100%\)/);
    expect(ok.stdout).toContain("signed by weather team");

    expect((await cli(["keys", "remove", id.slice(0, 10)])).code).toBe(0);
    const afterRemoval = await cli(["run", "com.example.weather", "echo", "{}"]);
    expect(afterRemoval.code).toBe(5);
    expect(afterRemoval.stderr).toContain("[PLUGIN_SIGNATURE_UNTRUSTED]");
  });

  it("list, info, remove; errors are one line (stack only with --debug) with documented exit codes", async () => {
    expect((await cli(["list"])).stdout).toContain("no plugins installed");
    const src = await folder("basic", {});
    await cli(["install", src]);
    const list = await cli(["list"]);
    expect(list.stdout).toMatch(/^ID\s+VERSION\s+NAME\s+SIGNATURE\s+SOURCE\ncom\.example\.weather\s+1\.0\.0\s+Weather\s+unsigned\s+folder/);
    const info = await cli(["info", "com.example.weather"]);
    expect(info.stdout).toContain("module:");
    expect(info.stdout).toMatch(/sha256 [0-9a-f]{64}/);

    const missing = await cli(["info", "com.example.nope"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe("clawft-plugin: error: plugin not installed: com.example.nope [PLUGIN_NOT_FOUND]\n");
    const debug = await cli(["info", "com.example.nope", "--debug"]);
    expect(debug.stderr.split("\n").length).toBeGreaterThan(2);
    expect(debug.stderr).toMatch(/\n\s+at /);

    const badArchive = join(tmp.path, "bad.tgz");
    await writeFile(badArchive, Buffer.from("not a tarball"));
    expect((await cli(["install", badArchive])).code).toBe(6);
    expect((await cli(["run", "com.example.weather", "echo", "{not json"])).code).toBe(2);
    expect((await cli(["audit", "--since", "yesterday-ish"])).code).toBe(2);

    const removed = await cli(["remove", "com.example.weather"]);
    expect(removed.code).toBe(0);
    expect((await cli(["remove", "com.example.weather"])).code).toBe(3);
  });

  it("T63 T64 T65 T67 install/info/permissions show grants whole, relative ones as their folder, text escaped; a BOM manifest installs and runs", async () => {
    const trick = `/home/alice/.local/share/weather-plugin/cache/${"c".repeat(300)}/../../../../../../../..`;
    const refused = await cli(["install", await folder("trick", { permissions: { filesystem: [trick] } }), "--yes"]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toBe(
      'clawft-plugin: error: invalid plugin manifest: permissions.filesystem[0]: must not contain a ".." segment: write the folder it stands for [PLUGIN_INVALID_MANIFEST]\n',
    );
    const port = await cli(["install", await folder("port", { permissions: { network: ["api.weather.example:8443"] } }), "--yes"]);
    expect(port.code).toBe(6);
    expect(port.stderr).toContain("permissions.network[0]: must not name a port");

    // About 900 characters, in segments a file system accepts (the grant must exist to run).
    const long = join(tmp.path, "grant", ...Array.from({ length: 8 }, (_, i) => `${i}${"d".repeat(100)}`));
    await mkdir(long, { recursive: true });
    expect(long.length).toBeGreaterThan(800);
    const src = await writePluginFolder(
      join(tmp.path, "src", "bom"),
      (() => {
        const files = pluginFiles({
          manifest: manifestFor({
            name: "Wea\u001b[2Kther\u202e",
            tools: ["write", "read"],
            permissions: { filesystem: ["cache/", long] },
          }),
          module: Buffer.from(hostCalls),
        });
        files.manifest = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), files.manifest]);
        return files;
      })(),
    );
    // Non-interactive refusal names the absolute folders, whole.
    const grantFile = join(tmp.path, "grants.json");
    await writeFile(grantFile, JSON.stringify({ "com.example.weather": {} }));
    const asked = await cli(["install", src, "--grant", grantFile]);
    expect(asked.code).toBe(4);
    const cacheFolder = join(dataDir, "data", "com.example.weather", "cache");
    expect(asked.stderr).toContain(`filesystem: ${cacheFolder} (manifest: cache)`);
    expect(asked.stderr).toContain(`filesystem: ${long}`);
    const installed = await cli(["install", src, "--yes"]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout).toContain(`approved: filesystem: ${long}, filesystem: ${cacheFolder} (manifest: cache)`);
    const info = await cli(["info", "com.example.weather"]);
    expect(info.stdout).toContain('com.example.weather 1.0.0 "Wea\\x1b[2Kther\\u202e"');
    expect(info.stdout).toContain(`  asks for:    filesystem: ${long}, filesystem: ${cacheFolder} (manifest: cache)\n`);
    expect(info.stdout).not.toContain("…");
    expect((await cli(["list"])).stdout).toContain("Wea\\x1b[2Kther\\u202e");
    const perms = await cli(["permissions", "com.example.weather"]);
    expect(perms.stdout).toContain(`  filesystem: ${cacheFolder} (manifest: cache)\n`);
    expect(perms.stdout).toContain(`  filesystem: ${long}\n`);
    // One manifest text from install to run (T67): the BOM manifest runs.
    const run = await cli(["run", "com.example.weather", "write", '["note.txt", "hi"]']);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(cacheFolder, "note.txt"), "utf8")).toBe("hi");
    await writeFile(join(long, "x.txt"), "deep");
    const read = await cli(["run", "com.example.weather", "read", `[${JSON.stringify(join(long, "x.txt"))}]`]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout.trim()).toBe("deep");
  });
});
