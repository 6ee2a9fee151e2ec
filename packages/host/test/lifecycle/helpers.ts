import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header, create as tarCreate } from "tar";
import { createPluginSignature, SIGNATURE_FILE } from "@clawft/host";

/** A minimal manifest in the reference host's format. */
export function manifestFor(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "com.example.weather",
    name: "Weather",
    version: "1.0.0",
    capabilities: ["tool"],
    wasm_module: "plugin.wasm",
    tools: ["forecast"],
    permissions: { network: [], filesystem: [], env_vars: [], shell: false },
    ...overrides,
  };
}

/** Bytes that start like a WebAssembly component; the rest is `filler`. Installs never compile. */
export function fakeModule(size = 1024, filler: "zeros" | "random" = "zeros"): Buffer {
  const body = filler === "random" ? randomBytes(size) : Buffer.alloc(size);
  Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]).copy(body, 0);
  return body;
}

export interface Ed25519Pair {
  publicKey: KeyObject;
  privateKey: KeyObject;
  /** PEM of the public key, as `keys add` takes it. */
  publicPem: string;
  /** base64 of the 32 raw public key bytes. */
  rawBase64: string;
}

export function newKeyPair(): Ed25519Pair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const der = publicKey.export({ type: "spki", format: "der" });
  return { publicKey, privateKey, publicPem, rawBase64: Buffer.from(der.subarray(12)).toString("base64") };
}

export interface PluginFiles {
  manifest: Buffer;
  module: Buffer;
  signature?: Buffer;
  extra?: Record<string, Buffer>;
}

/** Builds plugin files: manifest JSON bytes, module bytes, and a signature if a key is given. */
export function pluginFiles(
  options: { manifest?: Record<string, unknown>; module?: Buffer; signWith?: KeyObject } = {},
): PluginFiles {
  const manifest = Buffer.from(JSON.stringify(options.manifest ?? manifestFor(), null, 2));
  const module = options.module ?? fakeModule();
  const files: PluginFiles = { manifest, module };
  if (options.signWith) files.signature = Buffer.from(createPluginSignature(manifest, module, options.signWith));
  return files;
}

/** Writes plugin files into a folder (manifest, module under its manifest path, signature). */
export async function writePluginFolder(dir: string, files: PluginFiles, modulePath = "plugin.wasm"): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "clawft.plugin.json"), files.manifest);
  await mkdir(join(dir, modulePath, ".."), { recursive: true });
  await writeFile(join(dir, modulePath), files.module);
  if (files.signature) await writeFile(join(dir, SIGNATURE_FILE), files.signature);
  for (const [name, data] of Object.entries(files.extra ?? {})) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), data);
  }
  return dir;
}

/** A real `.tgz` made with `tar` from a plugin folder, with npm's `package/` prefix. */
export async function packFolder(folder: string, outFile: string): Promise<Buffer> {
  const staging = `${outFile}.d`;
  await mkdir(join(staging, "package"), { recursive: true });
  for (const name of await readdir(folder, { recursive: true })) {
    const from = join(folder, name);
    const info = await stat(from);
    if (info.isDirectory()) await mkdir(join(staging, "package", name), { recursive: true });
    else await copyFile(from, join(staging, "package", name));
  }
  await tarCreate({ gzip: true, cwd: staging, file: outFile, portable: true }, ["package"]);
  return readFile(outFile);
}

/** One raw tar entry for hand-built (malicious) archives. */
export interface RawEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "FIFO";
  data?: Buffer;
  linkpath?: string;
  /** Declared size, when it should differ from `data.length`. */
  size?: number;
}

/**
 * Builds a tar stream entry by entry with tar's own `Header` encoder, so tests can make the
 * archives a normal packer refuses to make: `../` paths, absolute paths, links, devices.
 */
export function rawTar(entries: readonly RawEntry[], options: { endMarker?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const header = new Header({
      path: e.path,
      type: e.type ?? "File",
      size: e.size ?? (e.type === undefined || e.type === "File" ? data.length : 0),
      mode: e.type === "Directory" ? 0o755 : 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (data.length > 0) {
      blocks.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) blocks.push(Buffer.alloc(pad));
    }
  }
  if (options.endMarker !== false) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function gz(data: Buffer): Buffer {
  return gzipSync(data);
}

/** Every file and folder under `dir`, relative, sorted (for "nothing else was written" checks). */
export async function tree(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}
