import { mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, startLoopbackServer, type LoopbackServer, type TempDir } from "@clawft/test-utils";
import { LifecycleError, PluginManager, type DownloadProgress } from "@clawft/host";
import {
  fakeModule,
  gz,
  manifestFor,
  newKeyPair,
  packFolder,
  pluginFiles,
  rawTar,
  tree,
  writePluginFolder,
} from "./helpers.js";

let tmp: TempDir;
let dataDir: string;
let srcDir: string;
let warnings: string[];

beforeEach(async () => {
  tmp = await createTempDir("clawft-lifecycle-");
  dataDir = join(tmp.path, "data");
  srcDir = join(tmp.path, "src");
  warnings = [];
});
afterEach(async () => {
  await tmp.cleanup();
});

function manager(options: ConstructorParameters<typeof PluginManager>[0] = {}): PluginManager {
  return new PluginManager({ dataDir, logger: { warn: (m) => warnings.push(m) }, ...options });
}

async function expectRefused(promise: Promise<unknown>, code: string, messageStart?: string): Promise<LifecycleError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(LifecycleError.isInstance(error), String(error)).toBe(true);
  const e = error as LifecycleError;
  expect(e.code).toBe(code);
  if (messageStart) expect(e.message.startsWith(messageStart), e.message).toBe(true);
  return e;
}

/**
 * Nothing was installed and nothing was left behind: no plugin folder, an empty staging
 * folder, and the temp root holds only what the test itself created.
 */
async function expectNoInstall(topLevel: string[] = ["data", "src"]): Promise<void> {
  expect(await tree(join(dataDir, "plugins"))).toEqual([]);
  expect(await tree(join(dataDir, "tmp"))).toEqual([]);
  const root = (await readdir(tmp.path)).sort();
  for (const name of root) expect(topLevel, `unexpected ${name} next to the data dir`).toContain(name);
  const all = await tree(tmp.path);
  expect(all.filter((p) => p.includes("evil"))).toEqual([]);
}

async function serve(body: Buffer | ((req: { url: string }) => { status: number; body: Buffer; headers?: Record<string, string> })): Promise<LoopbackServer> {
  return startLoopbackServer((req, res) => {
    const answer = typeof body === "function" ? body({ url: req.url ?? "" }) : { status: 200, body };
    res.statusCode = answer.status;
    for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
    res.setHeader("content-type", "application/gzip");
    res.end(answer.body);
  });
}

async function archiveOf(files: ReturnType<typeof pluginFiles>, name = "p"): Promise<Buffer> {
  const folder = await writePluginFolder(join(tmp.path, "src", name), files);
  return packFolder(folder, join(tmp.path, "src", `${name}.tgz`));
}

describe("install limits (T36)", () => {
  it("T36 install a module over 300 KB uncompressed is refused at install", async () => {
    const folder = await writePluginFolder(srcDir, pluginFiles({ module: fakeModule(300 * 1024 + 1) }));
    await expectRefused(manager().install(folder), "PLUGIN_TOO_LARGE", "module too large");
    await expectNoInstall();
  });

  it("T36 install an archive whose module is over 300 KB uncompressed is refused at install", async () => {
    const tgz = await archiveOf(pluginFiles({ module: fakeModule(300 * 1024 + 1) }));
    await writeFile(join(srcDir, "big.tgz"), tgz);
    await expectRefused(manager().install(join(srcDir, "big.tgz")), "PLUGIN_TOO_LARGE", "module too large");
    await expectNoInstall();
  });

  it("T36 install a module over 120 KB gzipped is refused at install", async () => {
    const folder = await writePluginFolder(srcDir, pluginFiles({ module: fakeModule(200 * 1024, "random") }));
    const e = await expectRefused(manager().install(folder), "PLUGIN_TOO_LARGE", "module too large");
    expect(e.message).toContain("gzipped");
    await expectNoInstall();
  });

  it("T36 a module of exactly 300 KiB that compresses well is accepted", async () => {
    const folder = await writePluginFolder(srcDir, pluginFiles({ module: fakeModule(300 * 1024) }));
    const result = await manager().install(folder);
    expect(result.plugin.moduleBytes).toBe(300 * 1024);
  });

  it("T36 an operator can raise both limits (a 1 MB componentize-qjs plugin)", async () => {
    const folder = await writePluginFolder(srcDir, pluginFiles({ module: fakeModule(1024 * 1024, "random") }));
    await expectRefused(manager().install(folder), "PLUGIN_TOO_LARGE");
    const m = manager({ maxModuleBytes: 2 * 1024 * 1024, maxModuleGzipBytes: 2 * 1024 * 1024 });
    const result = await m.install(folder);
    expect(result.plugin.moduleBytes).toBe(1024 * 1024);
    expect((await m.open("com.example.weather")).wasm.length).toBe(1024 * 1024);
  });

  it("bad options throw at construction naming the field", () => {
    expect(() => new PluginManager({ dataDir, maxModuleBytes: -1 })).toThrow(/^maxModuleBytes must be a positive integer/);
    expect(() => new PluginManager({ dataDir, trustedKeys: ["nope"] })).toThrow(/^trustedKeys\[0\] must be an Ed25519 public key/);
  });
});

describe("registry installs and signatures (T37)", () => {
  it("T37 install from the registry without a signature is refused at install", async () => {
    const tgz = await archiveOf(pluginFiles());
    await using server = await serve(tgz);
    const m = manager();
    await m.addKey(newKeyPair().publicPem);
    await expectRefused(m.install(`${server.url}/weather-1.0.0.tgz`), "PLUGIN_SIGNATURE_MISSING", "unsigned plugin refused");
    expect(server.requests).toHaveLength(1);
    await expectNoInstall();
  });

  it("T37 install from the registry signed by a key that is not trusted is refused", async () => {
    const signer = newKeyPair();
    const tgz = await archiveOf(pluginFiles({ signWith: signer.privateKey }));
    await using server = await serve(tgz);
    const m = manager();
    await m.addKey(newKeyPair().publicPem, "someone else");
    await expectRefused(m.install(`${server.url}/p.tgz`), "PLUGIN_SIGNATURE_UNTRUSTED", "untrusted signer refused");
    await expectNoInstall();
  });

  it("T37 a tampered module (signed, then changed) is refused", async () => {
    const signer = newKeyPair();
    const files = pluginFiles({ signWith: signer.privateKey });
    files.module = Buffer.from(files.module);
    files.module[100] = 0x42;
    await using server = await serve(await archiveOf(files));
    const m = manager({ trustedKeys: [signer.publicPem] });
    await expectRefused(m.install(`${server.url}/p.tgz`), "PLUGIN_SIGNATURE_INVALID", "invalid plugin signature");
    await expectNoInstall();
  });

  it("T37 a tampered manifest (a permission added after signing) is refused", async () => {
    const signer = newKeyPair();
    const files = pluginFiles({ signWith: signer.privateKey });
    files.manifest = Buffer.from(
      JSON.stringify(manifestFor({ permissions: { network: ["*"], filesystem: [], env_vars: [], shell: true } })),
    );
    await using server = await serve(await archiveOf(files));
    const m = manager({ trustedKeys: [signer.publicPem], approve: () => true });
    await expectRefused(m.install(`${server.url}/p.tgz`), "PLUGIN_SIGNATURE_INVALID", "invalid plugin signature");
    await expectNoInstall();
  });

  it("T37 a signature by the wrong key claiming to be the trusted key is refused", async () => {
    const trusted = newKeyPair();
    const attacker = newKeyPair();
    const files = pluginFiles({ signWith: attacker.privateKey });
    const sig = JSON.parse(files.signature!.toString()) as { publicKey: string };
    sig.publicKey = trusted.rawBase64;
    files.signature = Buffer.from(JSON.stringify(sig));
    await using server = await serve(await archiveOf(files));
    const m = manager({ trustedKeys: [trusted.publicPem] });
    await expectRefused(m.install(`${server.url}/p.tgz`), "PLUGIN_SIGNATURE_INVALID");
    await expectNoInstall();
  });

  it("T37 a valid signature by a trusted key installs, with download progress", async () => {
    const signer = newKeyPair();
    const tgz = await archiveOf(pluginFiles({ signWith: signer.privateKey }));
    await using server = await serve(tgz);
    const m = manager();
    const key = await m.addKey(signer.publicPem, "weather team");
    const progress: DownloadProgress[] = [];
    const result = await m.install(`${server.url}/p.tgz`, { onProgress: (p) => progress.push(p) });
    expect(result.plugin.signature).toEqual({ status: "trusted", keyId: key.id, keyName: "weather team" });
    expect(result.plugin.source.kind).toBe("registry");
    expect(progress.at(-1)).toMatchObject({ received: tgz.length, total: tgz.length, done: true });
    expect(warnings).toEqual([]);
    const opened = await m.open("com.example.weather");
    expect(opened.wasm.equals(pluginFiles().module)).toBe(true);
  });

  it("a registry plugin stops loading once its signing key is removed", async () => {
    const signer = newKeyPair();
    await using server = await serve(await archiveOf(pluginFiles({ signWith: signer.privateKey })));
    const m = manager();
    const key = await m.addKey(signer.publicPem);
    await m.install(`${server.url}/p.tgz`);
    await m.removeKey(key.id.slice(0, 12));
    await expectRefused(m.open("com.example.weather"), "PLUGIN_SIGNATURE_UNTRUSTED");
  });

  it("an upgrade signed by another trusted key (or unsigned) is refused: the installed version's signer is pinned", async () => {
    const weatherTeam = newKeyPair();
    const otherPublisher = newKeyPair();
    const m = manager({ trustedKeys: [weatherTeam.publicPem, otherPublisher.publicPem] });
    const v1 = pluginFiles({ manifest: manifestFor({ version: "1.0.0" }), signWith: weatherTeam.privateKey });
    const v2other = pluginFiles({ manifest: manifestFor({ version: "1.1.0" }), signWith: otherPublisher.privateKey });
    const v2unsigned = pluginFiles({ manifest: manifestFor({ version: "1.1.0" }) });
    const v2same = pluginFiles({ manifest: manifestFor({ version: "1.1.0" }), signWith: weatherTeam.privateKey });
    const archives: Record<string, Buffer> = {
      "/v1.tgz": await archiveOf(v1, "v1"),
      "/v2-other.tgz": await archiveOf(v2other, "v2o"),
      "/v2-same.tgz": await archiveOf(v2same, "v2s"),
    };
    await using server = await serve(({ url }) => ({ status: 200, body: archives[url] ?? Buffer.alloc(0) }));
    await m.install(`${server.url}/v1.tgz`);
    const e = await expectRefused(m.install(`${server.url}/v2-other.tgz`), "PLUGIN_SIGNATURE_UNTRUSTED", "signer change refused");
    expect(e.message).toContain("allow it explicitly");
    await expectRefused(m.install(await writePluginFolder(join(srcDir, "v2u"), v2unsigned)), "PLUGIN_SIGNATURE_UNTRUSTED", "signer change refused");
    expect((await m.info("com.example.weather")).version).toBe("1.0.0");
    expect((await m.install(`${server.url}/v2-same.tgz`)).plugin.version).toBe("1.1.0");
    const moved = await m.install(`${server.url}/v2-other.tgz`, { allowSignerChange: true });
    expect(moved.plugin.signature).toMatchObject({ status: "trusted", keyId: expect.not.stringMatching(/^$/) });
  });

  it("redirects are not followed and HTTP errors fail the download", async () => {
    await using server = await serve(({ url }) =>
      url === "/moved"
        ? { status: 302, body: Buffer.alloc(0), headers: { location: "http://127.0.0.1:1/x.tgz" } }
        : { status: 404, body: Buffer.from("no") },
    );
    const m = manager();
    const e = await expectRefused(m.install(`${server.url}/moved`), "PLUGIN_DOWNLOAD_FAILED", "download failed");
    expect(e.message).toContain("302");
    await expectRefused(m.install(`${server.url}/missing.tgz`), "PLUGIN_DOWNLOAD_FAILED");
    expect(server.requests.map((r) => r.url)).toEqual(["/moved", "/missing.tgz"]);
    await expectNoInstall();
  });

  it("a download larger than the archive limit is cut off", async () => {
    await using server = await serve(Buffer.alloc(64 * 1024, 1));
    await expectRefused(manager({ maxArchiveBytes: 16 * 1024 }).install(`${server.url}/big.tgz`), "PLUGIN_ARCHIVE_TOO_LARGE");
    await expectNoInstall();
  });

  it("only http(s) URLs are downloaded", async () => {
    await expectRefused(manager().install(new URL("ftp://127.0.0.1/x.tgz")), "PLUGIN_SOURCE_INVALID");
  });
});

describe("local installs (T38) and the sha256 pin", () => {
  it("T38 install a local plugin without a signature logs a warning and goes on", async () => {
    const folder = await writePluginFolder(srcDir, pluginFiles());
    const result = await manager().install(folder);
    expect(result.plugin.signature).toEqual({ status: "unsigned" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^plugin com\.example\.weather@1\.0\.0 is not signed/);
    expect(result.warnings).toEqual(warnings);
    expect((await manager().list()).map((p) => p.id)).toEqual(["com.example.weather"]);
  });

  it("T38 a local .tgz without a signature installs with a warning", async () => {
    const tgz = await archiveOf(pluginFiles());
    await writeFile(join(srcDir, "w.tgz"), tgz);
    const result = await manager().install(join(srcDir, "w.tgz"));
    expect(result.plugin.source.kind).toBe("archive");
    expect(warnings[0]).toMatch(/is not signed/);
  });

  it("a local plugin with a broken signature is refused (not downgraded to unsigned)", async () => {
    const files = pluginFiles({ signWith: newKeyPair().privateKey });
    files.module = fakeModule(2048);
    const folder = await writePluginFolder(srcDir, files);
    await expectRefused(manager().install(folder), "PLUGIN_SIGNATURE_INVALID");
    await expectNoInstall();
  });

  it("a changed module is refused at load (sha256 recorded at install)", async () => {
    const m = manager();
    const { plugin } = await m.install(await writePluginFolder(srcDir, pluginFiles()));
    const installed = join(dataDir, "plugins", plugin.id, "package", "plugin.wasm");
    const bytes = await readFile(installed);
    bytes[50] = 0x99;
    await writeFile(installed, bytes);
    await expectRefused(m.open(plugin.id), "PLUGIN_INTEGRITY_MISMATCH", "integrity check failed");
  });

  it("an installed file swapped for a symlink (even to identical bytes) or a FIFO is refused at load, without hanging", async () => {
    const m = manager();
    const { plugin } = await m.install(await writePluginFolder(srcDir, pluginFiles()));
    const installed = join(dataDir, "plugins", plugin.id, "package", "plugin.wasm");
    const copy = join(tmp.path, "copy.wasm");
    await writeFile(copy, await readFile(installed));
    await rm(installed);
    await symlink(copy, installed);
    await expectRefused(m.open(plugin.id), "PLUGIN_INTEGRITY_MISMATCH");
    await rm(installed);
    execFileSync("mkfifo", [installed]);
    await expectRefused(m.open(plugin.id), "PLUGIN_INTEGRITY_MISMATCH");
  });

  it("a changed manifest is refused at load (permissions cannot be edited after install)", async () => {
    const m = manager();
    const { plugin } = await m.install(await writePluginFolder(srcDir, pluginFiles()));
    const path = join(dataDir, "plugins", plugin.id, "package", "clawft.plugin.json");
    await writeFile(path, JSON.stringify(manifestFor({ permissions: { network: ["*"] } })));
    await expectRefused(m.open(plugin.id), "PLUGIN_INTEGRITY_MISMATCH");
  });

  it("a module path that leaves the plugin folder through a symlink is refused", async () => {
    await writeFile(join(tmp.path, "outside.wasm"), fakeModule());
    const folder = await writePluginFolder(srcDir, pluginFiles());
    await rm(join(folder, "plugin.wasm"));
    await symlink(join(tmp.path, "outside.wasm"), join(folder, "plugin.wasm"));
    await expectRefused(manager().install(folder), "PLUGIN_SOURCE_INVALID");
    await expectNoInstall(["data", "src", "outside.wasm"]);
  });

  it("an upgrade replaces the installed folder whole; a downgrade is refused unless allowed", async () => {
    const m = manager();
    await m.install(await writePluginFolder(join(srcDir, "v1"), pluginFiles({ manifest: manifestFor({ version: "1.0.0" }) })));
    const v2 = await m.install(await writePluginFolder(join(srcDir, "v2"), pluginFiles({ manifest: manifestFor({ version: "1.1.0" }) })));
    expect(v2.previousVersion).toBe("1.0.0");
    expect((await m.info("com.example.weather")).version).toBe("1.1.0");
    expect(await tree(join(dataDir, "tmp"))).toEqual([]);
    const old = await writePluginFolder(join(srcDir, "v0"), pluginFiles({ manifest: manifestFor({ version: "0.9.0" }) }));
    await expectRefused(m.install(old), "PLUGIN_DOWNGRADE_REFUSED");
    expect((await m.info("com.example.weather")).version).toBe("1.1.0");
    expect((await m.install(old, { allowDowngrade: true })).plugin.version).toBe("0.9.0");
  });

  it("leftovers of an install that crashed mid-way are swept at the next change", async () => {
    await mkdir(join(dataDir, "tmp", "install-0123456789abcdef", "package"), { recursive: true });
    await writeFile(join(dataDir, "tmp", "install-0123456789abcdef", "package", "plugin.wasm"), "partial");
    await writeFile(join(dataDir, ".0123456789abcdef.tmp"), '{"version":1');
    await manager().install(await writePluginFolder(srcDir, pluginFiles()));
    expect(await tree(join(dataDir, "tmp"))).toEqual([]);
    expect((await readdir(dataDir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("remove deletes the plugin and its approvals", async () => {
    const m = manager({ approve: () => true });
    await m.install(
      await writePluginFolder(srcDir, pluginFiles({ manifest: manifestFor({ permissions: { env_vars: ["WEATHER_KEY"] } }) })),
    );
    expect(await m.permissions("com.example.weather")).toHaveLength(1);
    await m.remove("com.example.weather");
    expect(await m.list()).toEqual([]);
    expect(await m.permissions("com.example.weather")).toEqual([]);
    await expectRefused(m.info("com.example.weather"), "PLUGIN_NOT_FOUND");
    await expectRefused(m.remove("com.example.weather"), "PLUGIN_NOT_FOUND");
    await expectRefused(m.info("../../etc"), "PLUGIN_NOT_FOUND");
  });

  it("a damaged install record hides nothing else from list, and the plugin can still be removed", async () => {
    const m = manager();
    await m.install(await writePluginFolder(join(srcDir, "a"), pluginFiles({ manifest: manifestFor({ id: "com.example.a" }) })));
    await m.install(await writePluginFolder(join(srcDir, "b"), pluginFiles({ manifest: manifestFor({ id: "com.example.b" }) })));
    await writeFile(join(dataDir, "plugins", "com.example.a", "install.json"), "{broken");
    warnings.length = 0;
    expect((await m.list()).map((p) => p.id)).toEqual(["com.example.b"]);
    expect(warnings[0]).toMatch(/^plugin com\.example\.a: .*remove or reinstall it/);
    await expectRefused(m.open("com.example.a"), "PLUGIN_STATE_CORRUPT");
    expect(await m.remove("com.example.a")).toEqual({ id: "com.example.a", dataDeleted: false, approvalsRevoked: 0 });
    expect(await tree(join(dataDir, "plugins"))).not.toContain("com.example.a");
  });

  it("an invalid manifest is refused naming the field", async () => {
    const folder = await writePluginFolder(srcDir, pluginFiles({ manifest: manifestFor({ version: "one" }) }));
    const e = await expectRefused(manager().install(folder), "PLUGIN_INVALID_MANIFEST", "invalid plugin manifest");
    expect(e.message).toContain("version");
    await expectNoInstall();
  });
});

describe("bad archives: refused whole, nothing written outside the data dir, no partial install", () => {
  const good = () => pluginFiles();
  const base = () => {
    const f = good();
    return [
      { path: "package/clawft.plugin.json", data: f.manifest },
      { path: "package/plugin.wasm", data: f.module },
    ];
  };
  /** Writes the archive into the source folder; returns its path. */
  async function archiveFile(tarBytes: Buffer, compress = true): Promise<string> {
    const file = join(srcDir, `bad-${Math.random().toString(36).slice(2)}.tgz`);
    await mkdir(srcDir, { recursive: true });
    await writeFile(file, compress ? gz(tarBytes) : tarBytes);
    return file;
  }
  const installRaw = async (tarBytes: Buffer, compress = true) => manager().install(await archiveFile(tarBytes, compress));

  it("a well-formed hand-built archive installs (control for the cases below)", async () => {
    const result = await installRaw(rawTar(base()));
    expect(result.plugin.id).toBe("com.example.weather");
  });

  it("path traversal entries (../) are refused", async () => {
    const entries = [...base(), { path: "package/../../../../../../evil.txt", data: Buffer.from("x") }];
    const e = await expectRefused(installRaw(rawTar(entries)), "PLUGIN_ARCHIVE_INVALID", "invalid plugin archive");
    expect(e.message).toContain("escapes the archive");
    await expectNoInstall();
  });

  it("absolute entry paths are refused", async () => {
    const entries = [...base(), { path: join(tmp.path, "evil-abs.txt"), data: Buffer.from("x") }];
    const e = await expectRefused(installRaw(rawTar(entries)), "PLUGIN_ARCHIVE_INVALID");
    expect(e.message).toContain("absolute entry path");
    await expectNoInstall();
  });

  it("symlink entries are refused (even ones pointing inside)", async () => {
    for (const linkpath of ["/etc/passwd", "plugin.wasm", "../../evil"]) {
      const entries = [...base(), { path: "package/evil-link", type: "SymbolicLink" as const, linkpath }];
      const e = await expectRefused(installRaw(rawTar(entries)), "PLUGIN_ARCHIVE_INVALID");
      expect(e.message).toContain("entry type SymbolicLink is not allowed");
      await expectNoInstall();
    }
  });

  it("a symlinked folder followed by a file through it is refused", async () => {
    const entries = [
      ...base(),
      { path: "package/evil-dir", type: "SymbolicLink" as const, linkpath: tmp.path },
      { path: "package/evil-dir/evil-through.txt", data: Buffer.from("x") },
    ];
    await expectRefused(installRaw(rawTar(entries)), "PLUGIN_ARCHIVE_INVALID");
    await expectNoInstall();
  });

  it("hard link and device entries are refused", async () => {
    await expectRefused(
      installRaw(rawTar([...base(), { path: "package/evil-hard", type: "Link", linkpath: "/etc/passwd" }])),
      "PLUGIN_ARCHIVE_INVALID",
    );
    await expectRefused(
      installRaw(rawTar([...base(), { path: "package/evil-dev", type: "CharacterDevice" }])),
      "PLUGIN_ARCHIVE_INVALID",
    );
    await expectRefused(installRaw(rawTar([...base(), { path: "package/evil-fifo", type: "FIFO" }])), "PLUGIN_ARCHIVE_INVALID");
    await expectNoInstall();
  });

  it("a duplicate entry (overwriting a checked file) is refused", async () => {
    const entries = [...base(), { path: "package/plugin.wasm", data: fakeModule(64) }];
    const e = await expectRefused(installRaw(rawTar(entries)), "PLUGIN_ARCHIVE_INVALID");
    expect(e.message).toContain("duplicate entry");
    await expectNoInstall();
  });

  it("a truncated .tgz is refused", async () => {
    const whole = gz(rawTar(base()));
    const file = join(srcDir, "cut.tgz");
    await mkdir(srcDir, { recursive: true });
    await writeFile(file, whole.subarray(0, Math.floor(whole.length / 2)));
    const e = await expectRefused(manager().install(file), "PLUGIN_ARCHIVE_INVALID");
    expect(e.message).toContain("truncated gzip");
    await expectNoInstall();
  });

  it("a tar cut inside an entry, or without its end marker, is refused", async () => {
    const full = rawTar(base());
    await expectRefused(installRaw(full.subarray(0, 512 + 700)), "PLUGIN_ARCHIVE_INVALID");
    await expectRefused(installRaw(rawTar(base(), { endMarker: false })), "PLUGIN_ARCHIVE_INVALID");
    await expectNoInstall();
  });

  it("garbage is refused", async () => {
    await expectRefused(installRaw(Buffer.from("this is not an archive at all".repeat(40)), false), "PLUGIN_ARCHIVE_INVALID");
    await expectNoInstall();
  });

  it("too many files are refused", async () => {
    const entries = [...base()];
    for (let i = 0; i < 300; i++) entries.push({ path: `package/f${i}.txt`, data: Buffer.from("x") });
    await expectRefused(installRaw(rawTar(entries)), "PLUGIN_ARCHIVE_TOO_LARGE", "plugin archive too large");
    await expectNoInstall();
  });

  it("a tar bomb (a small .tgz that expands to 64 MiB) is refused without expanding it", async () => {
    const bomb = rawTar([...base(), { path: "package/evil-bomb.bin", data: Buffer.alloc(64 * 1024 * 1024) }]);
    const compressed = gz(bomb);
    expect(compressed.length).toBeLessThan(200 * 1024);
    const file = join(srcDir, "bomb.tgz");
    await mkdir(srcDir, { recursive: true });
    await writeFile(file, compressed);
    const e = await expectRefused(manager().install(file), "PLUGIN_ARCHIVE_TOO_LARGE");
    expect(e.message).toMatch(/expands past/);
    await expectNoInstall();
  });

  it("an entry declaring a huge size is refused from its header", async () => {
    const entries = [...base(), { path: "package/evil-huge.bin", data: Buffer.alloc(0), size: 8 * 1024 * 1024 * 1024 }];
    await expectRefused(installRaw(rawTar(entries, { endMarker: false })), "PLUGIN_ARCHIVE_TOO_LARGE");
    await expectNoInstall();
  });

  it("a gzip inside the gzip (nested bomb) is refused", async () => {
    const e = await expectRefused(installRaw(gz(rawTar(base()))), "PLUGIN_ARCHIVE_INVALID");
    expect(e.message).toContain("nested compression");
    await expectNoInstall();
  });

  it("an archive without a manifest, or whose module is missing, is refused", async () => {
    await expectRefused(installRaw(rawTar([{ path: "x/readme.txt", data: Buffer.from("hi") }])), "PLUGIN_INVALID_MANIFEST");
    await expectRefused(
      installRaw(rawTar([{ path: "package/clawft.plugin.json", data: pluginFiles().manifest }])),
      "PLUGIN_INVALID_MANIFEST",
    );
    await expectNoInstall();
  });
});
