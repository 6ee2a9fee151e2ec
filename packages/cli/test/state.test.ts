import { execFileSync } from "node:child_process";
import { chmod, chown, lstat, mkdir, open, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, startLoopbackServer, type TempDir } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import { snapshotCli, type CliHarness } from "./cli-runner.js";
import { gz, manifestFor, newKeyPair, packFolder, pluginFiles, rawTar, tree, writePluginFolder } from "../../host/test/lifecycle/helpers.js";

let tmp: TempDir;
let dataDir: string;
let harness: CliHarness;
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
  tmp = await createTempDir("clawft-state-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

/** `clawft-plugin …` against `dataDir`, non-interactive. */
function cli(args: string[], env: Record<string, string> = {}) {
  return harness.run(args, { CLAWFT_HOME: dataDir, ...env });
}

let folders = 0;
function folder(manifest: Record<string, unknown>, module: Uint8Array = toolBasic, signWith?: ReturnType<typeof newKeyPair>) {
  return writePluginFolder(
    join(tmp.path, "src", `p${folders++}`),
    pluginFiles({
      manifest: manifestFor({ tools: ["echo", "fail", "read", "write"], ...manifest }),
      module: Buffer.from(module),
      ...(signWith ? { signWith: signWith.privateKey } : {}),
    }),
  );
}

/** Installs `com.example.other` and checks that it (another plugin) still runs. */
async function installOther(): Promise<void> {
  const r = await cli(["install", await folder({ id: "com.example.other" }), "--yes"]);
  expect(r.code, r.stderr).toBe(0);
}
async function otherStillRuns(): Promise<void> {
  const r = await cli(["run", "com.example.other", "echo", '{"n":2}']);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ n: 2 });
}

/** Files the data directory must never be left holding after a command. */
async function leftovers(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const tmpNames = await readdir(join(dir, "tmp")).catch(() => [] as string[]);
  return [
    ...names.filter((n) => n === "lock" || n.startsWith("lock.claim-") || n.endsWith(".tmp")),
    ...tmpNames.map((n) => `tmp/${n}`),
  ];
}

describe("the data directory survives a full disk (T68)", { timeout: 240_000 }, () => {
  it("T68 a full disk fails every change with exit 10, leaves no lock and the state files as they were; once space is freed every command works, revoke included", async () => {
    // CI runs as root, where a small tmpfs can be mounted: anywhere else this fails loudly rather than skip.
    expect(process.getuid?.(), "T68 mounts a small tmpfs and needs root").toBe(0);
    const mnt = join(tmp.path, "small");
    await mkdir(mnt);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", mnt]);
    try {
      dataDir = join(mnt, "data");
      const keyA = newKeyPair();
      const keyB = newKeyPair();
      const v1 = await folder({ permissions: { network: ["api.weather.example"] } });
      const v2 = await folder({ version: "2.0.0", permissions: { network: ["api.weather.example"] } });
      expect((await cli(["install", v1, "--yes"])).code).toBe(0);
      await installOther();
      const added = await cli(["keys", "add", keyA.rawBase64, "--json"]);
      expect(added.code, added.stderr).toBe(0);
      const keyAId = (JSON.parse(added.stdout) as { id: string }).id;
      const stateFiles = ["approvals.json", "trusted-keys.json", "plugins/com.example.weather/install.json"];
      const before = await Promise.all(stateFiles.map((f) => readFile(join(dataDir, f), "utf8")));
      const treeBefore = await tree(dataDir);

      // Fill the disk to the last byte.
      const filler = await open(join(mnt, "filler"), "w");
      const chunk = Buffer.alloc(4096, 1);
      for (;;) {
        try {
          await filler.write(chunk);
        } catch (error) {
          expect((error as { code?: string }).code).toBe("ENOSPC");
          break;
        }
      }
      for (;;) {
        try {
          await filler.write(chunk.subarray(0, 1));
        } catch {
          break;
        }
      }
      await filler.close();

      const changes: string[][] = [
        ["keys", "add", keyB.rawBase64],
        ["revoke", "com.example.weather"],
        ["install", v2, "--yes"],
        ["remove", "com.example.other"],
        ["keys", "remove", keyAId.slice(0, 12)],
      ];
      for (const args of changes) {
        const r = await cli(args);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(10);
        expect(r.stderr).toMatch(/^clawft-plugin: error: no space left in the data directory: .* \[PLUGIN_NO_SPACE\]$/m);
        expect(await leftovers(dataDir), args.join(" ")).toEqual([]);
        expect(await Promise.all(stateFiles.map((f) => readFile(join(dataDir, f), "utf8"))), args.join(" ")).toEqual(before);
        expect(await tree(dataDir)).toEqual(treeBefore);
      }
      for (const args of [["list"], ["info", "com.example.weather"], ["permissions", "com.example.weather"], ["keys", "list"]]) {
        const r = await cli(args);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      }

      await rm(join(mnt, "filler"));
      const revoke = await cli(["revoke", "com.example.weather"]);
      expect(revoke.code, revoke.stderr).toBe(0);
      expect(revoke.stdout).toContain("revoked 1 approval(s) of com.example.weather");
      expect((await cli(["run", "com.example.weather", "echo", "{}"])).code).toBe(4);
      for (const args of changes) {
        const r = await cli(args);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      }
      const next = await cli(["run", "com.example.weather", "echo", '{"v":2}', "--yes"]);
      expect(next.code, next.stderr).toBe(0);
      expect(JSON.parse(next.stdout)).toEqual({ v: 2 });
      expect(await leftovers(dataDir)).toEqual([]);
    } finally {
      try {
        execFileSync("umount", [mnt]);
      } catch {
        execFileSync("umount", ["-l", mnt]);
      }
    }
  });
});

describe("the start-up sweep and symlinked state folders (T70)", { timeout: 240_000 }, () => {
  it("T70 the sweep removes only entries the manager creates: a data dir holding the user's own tmp/ keeps every file", async () => {
    // `--data-dir ~`: the user's home, with a ~/tmp of their own.
    const home = join(tmp.path, "home");
    await mkdir(join(home, "tmp", "install-draft"), { recursive: true, mode: 0o700 });
    await mkdir(join(home, "tmp", "old-photos"), { mode: 0o700 });
    await writeFile(join(home, "tmp", "notes.txt"), "mine");
    await writeFile(join(home, "tmp", "install-draft", "chapter1.md"), "mine");
    await writeFile(join(home, "tmp", "old-photos", "a.jpg"), "mine");
    await writeFile(join(home, ".editor.tmp"), "mine");
    await chmod(home, 0o700);
    // …and what a crashed install of ours left: this one goes.
    await mkdir(join(home, "tmp", "install-0123456789abcdef", "package"), { recursive: true });
    const mine = [".editor.tmp", "tmp/install-draft/chapter1.md", "tmp/notes.txt", "tmp/old-photos/a.jpg"];

    const r = await cli(["keys", "add", newKeyPair().rawBase64, "--data-dir", home]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of mine) expect(await readFile(join(home, f), "utf8"), f).toBe("mine");
    expect(await readdir(join(home, "tmp"))).toEqual(expect.not.arrayContaining(["install-0123456789abcdef"]));
    const installed = await cli(["install", await folder({}), "--data-dir", home]);
    expect(installed.code, installed.stderr).toBe(0);
    const run = await cli(["run", "com.example.weather", "echo", '{"ok":true}', "--data-dir", home]);
    expect(run.code, run.stderr).toBe(0);
    for (const f of mine) expect(await readFile(join(home, f), "utf8"), f).toBe("mine");
  });

  it("T70 a symlinked state folder (tmp, plugins, data, the data dir itself) is refused with exit 9 and nothing behind it is touched", async () => {
    const key = newKeyPair().rawBase64;
    for (const which of ["tmp", "plugins", "data", "."]) {
      dataDir = join(tmp.path, `dd-${which === "." ? "root" : which}`);
      const target = join(tmp.path, `target-${which === "." ? "root" : which}`);
      await mkdir(join(target, "install-0123456789abcdef"), { recursive: true, mode: 0o700 });
      await writeFile(join(target, "install-0123456789abcdef", "precious"), "keep");
      await writeFile(join(target, "approvals.json"), "not ours");
      if (which === ".") await symlink(target, dataDir);
      else {
        await mkdir(dataDir, { mode: 0o700 });
        await symlink(target, join(dataDir, which));
      }
      for (const args of [["keys", "add", key], ["list"], ["install", await folder({}), "--yes"]]) {
        const r = await cli(args);
        expect(r.code, `${which}: ${args[0]}: ${r.stderr}`).toBe(9);
        expect(r.stderr).toMatch(/unsafe data directory: .* is a symlink; .*\[PLUGIN_STATE_UNSAFE\]/);
      }
      expect(await tree(target)).toEqual(["approvals.json", "install-0123456789abcdef", "install-0123456789abcdef/precious"]);
      // Replaced by a real folder, everything works again, and a plugin runs.
      await rm(which === "." ? dataDir : join(dataDir, which));
      const ok = await cli(["install", await folder({}), "--yes"]);
      expect(ok.code, ok.stderr).toBe(0);
      const run = await cli(["run", "com.example.weather", "echo", '{"w":1}']);
      expect(run.code, run.stderr).toBe(0);
    }
  });
});

describe("remove deletes the plugin's data and approvals (T71)", { timeout: 240_000 }, () => {
  it("T71 after remove, a new package installed under the same id sees none of the old files and is asked for consent again", async () => {
    const notes = { tools: ["read", "write"], permissions: { filesystem: ["notes"] } };
    const first = await cli(["install", await folder(notes, hostCalls), "--yes"]);
    expect(first.code, first.stderr).toBe(0);
    await installOther();
    const wrote = await cli(["run", "com.example.weather", "write", '["secret.txt","the old plugin\'s secret"]']);
    expect(wrote.code, wrote.stderr).toBe(0);
    expect(await readFile(join(dataDir, "data", "com.example.weather", "notes", "secret.txt"), "utf8")).toBe("the old plugin's secret");

    const removed = await cli(["remove", "com.example.weather", "--json"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ removed: "com.example.weather", version: "1.0.0", dataDeleted: true, approvalsRevoked: 1 });
    expect(await tree(join(dataDir, "data"))).not.toContain("com.example.weather");
    expect((await cli(["permissions", "com.example.weather"])).stdout).toContain("no approvals stored");

    // Another publisher's package under the same id: asked again (non-interactive → exit 4)…
    const publisher = newKeyPair();
    const newcomer = await folder({ ...notes, name: "Not the same plugin" }, hostCalls, publisher);
    const refused = await cli(["install", newcomer]);
    expect(refused.code, refused.stderr).toBe(4);
    const accepted = await cli(["install", newcomer, "--yes"]);
    expect(accepted.code, accepted.stderr).toBe(0);
    // …and finds nothing of the old plugin's files.
    const read = await cli(["run", "com.example.weather", "read", '["secret.txt"]']);
    expect(read.code).toBe(7);
    expect(read.stderr).toContain("file not found");
    const next = await cli(["run", "com.example.weather", "write", '["fresh.txt","new"]']);
    expect(next.code, next.stderr).toBe(0);
    await otherStillRuns();

    // --keep-data keeps the folder; a later remove of the id deletes it.
    const kept = await cli(["remove", "com.example.weather", "--keep-data"]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain("data folder kept");
    expect(await readFile(join(dataDir, "data", "com.example.weather", "notes", "fresh.txt"), "utf8")).toBe("new");
    const purge = await cli(["remove", "com.example.weather"]);
    expect(purge.code, purge.stderr).toBe(0);
    await expect(lstat(join(dataDir, "data", "com.example.weather"))).rejects.toMatchObject({ code: "ENOENT" });
    expect((await cli(["remove", "com.example.weather"])).code).toBe(3);
  });
});

describe("approvals bound to id, version, module sha256 and signer (T73)", { timeout: 240_000 }, () => {
  it("T73 an approval stored for another package with the same id@version is ignored and the user is asked again", async () => {
    const asks = { permissions: { network: ["api.weather.example"] } };
    const original = await folder(asks);
    expect((await cli(["install", original, "--yes"])).code).toBe(0);
    await installOther();
    const approvals = JSON.parse(await readFile(join(dataDir, "approvals.json"), "utf8")) as {
      plugins: Record<string, Record<string, { moduleSha256: string; signer: string }>>;
    };
    expect(approvals.plugins["com.example.weather"]?.["1.0.0"]).toMatchObject({ moduleSha256: expect.stringMatching(/^[0-9a-f]{64}$/), signer: "unsigned" });
    const orphan = await readFile(join(dataDir, "approvals.json"));

    // The plugin goes, its approval stays behind (what an interrupted upgrade or an older version left).
    expect((await cli(["remove", "com.example.weather"])).code).toBe(0);
    await writeFile(join(dataDir, "approvals.json"), orphan, { mode: 0o600 });
    // Another module under the same id@version: not covered by the orphaned approval.
    const impostor = await folder({ ...asks, tools: ["read", "write"] }, hostCalls);
    const refused = await cli(["install", impostor]);
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toContain("[PLUGIN_CONSENT_DENIED]");
    // The very package it was granted to is still covered (the binding, not the id, decides).
    const same = await cli(["install", original]);
    expect(same.code, same.stderr).toBe(0);

    // The same module signed by someone else (a signer change): asked again.
    const signer = newKeyPair();
    const resigned = await folder(asks, toolBasic, signer);
    const signerRefused = await cli(["install", resigned, "--allow-signer-change"]);
    expect(signerRefused.code, signerRefused.stderr).toBe(4);
    expect((await cli(["install", resigned, "--allow-signer-change", "--yes"])).code).toBe(0);

    // An approvals file written before binding existed (version 1) covers nothing: run asks.
    await writeFile(
      join(dataDir, "approvals.json"),
      JSON.stringify({ version: 1, plugins: { "com.example.weather": { "1.0.0": { permissions: { network: ["api.weather.example"], filesystem: [], env_vars: [], shell: false }, grantedAt: "" } } } }),
      { mode: 0o600 },
    );
    expect((await cli(["run", "com.example.weather", "echo", "{}"])).code).toBe(4);
    const run = await cli(["run", "com.example.weather", "echo", '{"a":1}', "--yes"]);
    expect(run.code, run.stderr).toBe(0);
    expect((await cli(["run", "com.example.weather", "echo", '{"a":2}'])).code).toBe(0);
    await otherStillRuns();
  });
});

describe("archive path conflicts (T74)", { timeout: 240_000 }, () => {
  it("T74 every path conflict is refused in validation with exit 6 and a clear message, nothing is written, the next install works", async () => {
    const manifest = Buffer.from(JSON.stringify(manifestFor({ tools: ["echo"] })));
    const base = [
      { path: "clawft.plugin.json", data: manifest },
      { path: "plugin.wasm", data: Buffer.from(toolBasic) },
    ];
    const cases: [string, { path: string; type?: "Directory"; data?: Buffer }[], RegExp][] = [
      ["a/b then a", [{ path: "a/b", data: Buffer.from("1") }, { path: "a", data: Buffer.from("2") }], /path is both a file and a directory: "a"/],
      ["a then a/b", [{ path: "a", data: Buffer.from("1") }, { path: "a/b", data: Buffer.from("2") }], /path is both a file and a directory: "a"/],
      ["a twice", [{ path: "a", data: Buffer.from("1") }, { path: "a", data: Buffer.from("2") }], /duplicate entry: "a"/],
      ["folder a/ then file a", [{ path: "a/", type: "Directory" }, { path: "a", data: Buffer.from("2") }], /path is both a file and a directory: "a"/],
      ["case only", [{ path: "README.md", data: Buffer.from("1") }, { path: "readme.md", data: Buffer.from("2") }], /paths differ only in case or Unicode form: "README.md" and "readme.md"/],
      ["case of a folder", [{ path: "Docs/a", data: Buffer.from("1") }, { path: "docs/b", data: Buffer.from("2") }], /paths differ only in case or Unicode form: "Docs" and "docs"/],
    ];
    for (const [name, extra, message] of cases) {
      const file = join(tmp.path, `${name.replace(/\W+/g, "-")}.tgz`);
      await writeFile(file, gz(rawTar([...base, ...extra])));
      const r = await cli(["install", file, "--yes"]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(6);
      expect(r.stderr, name).toMatch(message);
      expect(r.stderr, name).toContain("[PLUGIN_ARCHIVE_INVALID]");
      expect(await tree(join(dataDir, "plugins")), name).toEqual([]);
    }
    const good = join(tmp.path, "good.tgz");
    await packFolder(await folder({}), good);
    const ok = await cli(["install", good, "--yes"]);
    expect(ok.code, ok.stderr).toBe(0);
    const run = await cli(["run", "com.example.weather", "echo", '{"x":1}']);
    expect(run.code, run.stderr).toBe(0);
  });
});

describe("state files as a careful tool keeps them (T75)", { timeout: 240_000 }, () => {
  it("T75 state writable by group/others or owned by another user is refused with exit 9 until fixed; new state is 0700/0600", async () => {
    expect((await cli(["install", await folder({ permissions: { network: ["api.weather.example"] } }), "--yes"])).code).toBe(0);
    await installOther();
    expect((await cli(["keys", "add", newKeyPair().rawBase64])).code).toBe(0);
    for (const d of [".", "tmp", "plugins", "data"]) expect((await stat(join(dataDir, d))).mode & 0o777, d).toBe(0o700);
    for (const f of ["approvals.json", "trusted-keys.json", "plugins/com.example.weather/install.json"]) {
      expect((await stat(join(dataDir, f))).mode & 0o777, f).toBe(0o600);
    }

    const attempts: [string, () => Promise<void>, () => Promise<void>, RegExp][] = [
      ["data dir g+w", () => chmod(dataDir, 0o770), () => chmod(dataDir, 0o700), /data directory .* is writable by its group \(mode 0770\)/],
      ["plugins o+w", () => chmod(join(dataDir, "plugins"), 0o702), () => chmod(join(dataDir, "plugins"), 0o700), /state folder .*plugins is writable by others/],
      ["approvals o+w", () => chmod(join(dataDir, "approvals.json"), 0o602), () => chmod(join(dataDir, "approvals.json"), 0o600), /state file .*approvals\.json is writable by others/],
      ["keys g+w", () => chmod(join(dataDir, "trusted-keys.json"), 0o620), () => chmod(join(dataDir, "trusted-keys.json"), 0o600), /state file .*trusted-keys\.json is writable by its group/],
      ["approvals chown", () => chown(join(dataDir, "approvals.json"), 12345, 12345), () => chown(join(dataDir, "approvals.json"), 0, 0), /state file .*approvals\.json is owned by another user \(uid 12345/],
      ["data dir chown", () => chown(dataDir, 12345, 12345), () => chown(dataDir, 0, 0), /data directory .* is owned by another user \(uid 12345/],
      ["record chown", () => chown(join(dataDir, "plugins/com.example.weather/install.json"), 12345, 0), () => chown(join(dataDir, "plugins/com.example.weather/install.json"), 0, 0), /install\.json is owned by another user/],
    ];
    expect(process.getuid?.(), "T75 chowns files to another user and needs root").toBe(0);
    for (const [name, breakIt, fixIt, message] of attempts) {
      await breakIt();
      const run = await cli(["run", "com.example.weather", "echo", "{}"]);
      expect(run.code, `${name}: ${run.stderr}`).toBe(9);
      expect(run.stderr, name).toMatch(message);
      expect(run.stderr, name).toContain("[PLUGIN_STATE_UNSAFE]");
      // A change that does not read the file is refused too when the file is one of the data dir's own.
      const second = await cli(name.startsWith("record") ? ["info", "com.example.weather"] : ["revoke", "com.example.weather"]);
      expect(second.code, `${name}: ${second.stderr}`).toBe(9);
      await fixIt();
      const ok = await cli(["run", "com.example.weather", "echo", '{"ok":1}']);
      expect(ok.code, `${name}: ${ok.stderr}`).toBe(0);
    }
    await otherStillRuns();
  });
});

describe("trusted keys scoped to plugin id patterns (T76)", { timeout: 240_000 }, () => {
  it("T76 a key added with --scope com.example.* verifies only plugins whose id matches; signer pinning stays", async () => {
    const publisher = newKeyPair();
    const other = newKeyPair();
    const archives = new Map<string, Buffer>();
    const pack = async (name: string, manifest: Record<string, unknown>, key: ReturnType<typeof newKeyPair>) =>
      archives.set(`/${name}.tgz`, await packFolder(await folder(manifest, toolBasic, key), join(tmp.path, `${name}.tgz`)));
    await pack("ours", {}, publisher);
    await pack("theirs", { id: "org.victim.tool" }, publisher);
    await pack("lookalike", { id: "com.examplexyz.tool" }, publisher);
    await pack("upgrade", { version: "1.1.0" }, other);
    await using server = await startLoopbackServer((req, res) => {
      res.setHeader("content-type", "application/gzip");
      res.end(archives.get(req.url ?? "") ?? Buffer.alloc(0));
    });

    const added = await cli(["keys", "add", publisher.rawBase64, "--name", "example team", "--scope", "com.example.*", "--json"]);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: "example team", scope: ["com.example.*"] });
    expect((await cli(["keys", "list"])).stdout).toMatch(/example team\s+com\.example\.\*/);
    expect((await cli(["keys", "add", other.rawBase64, "--scope", "com.*.tool"])).code).toBe(6);
    expect((await cli(["keys", "add", other.rawBase64, "--scope", "com.example.*"])).code).toBe(0);

    const ours = await cli(["install", `${server.url}/ours.tgz`, "--yes"]);
    expect(ours.code, ours.stderr).toBe(0);
    for (const name of ["theirs", "lookalike"]) {
      const refused = await cli(["install", `${server.url}/${name}.tgz`, "--yes"]);
      expect(refused.code, `${name}: ${refused.stderr}`).toBe(5);
      expect(refused.stderr).toMatch(/untrusted signer refused: .* is signed by key [0-9a-f]{16}, which is not a trusted key for this plugin id \(key [0-9a-f]{16} is trusted only for com\.example\.\*\) \[PLUGIN_SIGNATURE_UNTRUSTED\]/);
    }
    // Signer pinning: another trusted key cannot ship an upgrade of com.example.weather.
    const pinned = await cli(["install", `${server.url}/upgrade.tgz`, "--yes"]);
    expect(pinned.code, pinned.stderr).toBe(5);
    expect(pinned.stderr).toContain("signer change refused");

    const run = await cli(["run", "com.example.weather", "echo", '{"s":1}']);
    expect(run.code, run.stderr).toBe(0);
    // Narrowing the key's scope later stops the plugins it no longer covers at load.
    expect((await cli(["keys", "add", publisher.rawBase64, "--scope", "com.example.other"])).code).toBe(0);
    const stopped = await cli(["run", "com.example.weather", "echo", "{}"]);
    expect(stopped.code).toBe(5);
    await installOther();
    await otherStillRuns();
  });
});
