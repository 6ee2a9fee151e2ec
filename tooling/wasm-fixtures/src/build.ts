import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentEmbed, componentNew, parse } from "@bytecodealliance/jco";

/** Bump when the builder's output changes for the same sources (invalidates the cache). */
export const BUILDER_VERSION = "1";

const here = dirname(fileURLToPath(import.meta.url));
/** tooling/wasm-fixtures */
export const fixturesPackageDir: string = join(here, "..");
const fixturesDir = join(fixturesPackageDir, "fixtures");
const preludePath = join(fixturesPackageDir, "prelude", "prelude.wat");
/** The one WIT source of truth, wit/plugin.wit at the repository root. */
export const worldWitPath: string = join(fixturesPackageDir, "..", "..", "wit", "plugin.wit");
/** Where built components are cached, keyed by the sha256 of everything that goes in. */
export const cacheDir: string = join(fixturesPackageDir, ".cache");

/** The WAT fixtures, by name. Every name is a folder under `fixtures/`. */
export const fixtureNames = [
  "tool-basic",
  "host-calls",
  "infinite-loop",
  "memory-hog",
  "memory-grow-handled",
  "deep-recursion",
  "trap",
  "wasi-import",
  "wrong-export-type",
  "missing-export",
  "extra-import",
  "wrong-import-type",
  "stateful",
  "table-hog",
  "fuel-burner",
  "slow-host-call",
  "empty-tool",
  "oversized",
  "hostile-results",
  "init-error-huge",
  "nested-types",
  "extra-export",
] as const;

export type FixtureName = (typeof fixtureNames)[number];

interface FixtureConfig {
  /** world to embed (default "plugin") */
  world?: string;
  /** plugin exports the core module provides (default all three) */
  exports?: string[];
  /** adds a custom section of this many deterministic pseudo-random (incompressible) bytes */
  paddingBytes?: number;
}

const PLUGIN_EXPORTS: ReadonlyArray<readonly [string, string]> = [
  ["init", "$init"],
  ["execute-tool", "$execute_tool"],
  ["describe", "$describe"],
];

const DESCRIBE_OFFSET = 8192;

function isFixtureName(name: string): name is FixtureName {
  return (fixtureNames as readonly string[]).includes(name);
}

/** The folder holding a fixture's sources (`main.wat`, optional `imports.wat`, `world.wit`, `describe.json`, `fixture.json`). */
export function fixturePath(name: FixtureName): string {
  if (!isFixtureName(name)) throw new Error(`unknown fixture: ${String(name)}`);
  return join(fixturesDir, name);
}

async function readOptional(path: string): Promise<string | undefined> {
  return existsSync(path) ? readFile(path, "utf8") : undefined;
}

/** Deterministic, incompressible bytes: a sha256 chain seeded with the fixture name. */
function paddingBytes(seed: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let block = createHash("sha256").update(seed).digest();
  for (let offset = 0; offset < length; offset += block.length) {
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

/** Escapes text or bytes for a WAT string literal. */
function watString(data: string | Uint8Array): string {
  let out = "";
  for (const byte of typeof data === "string" ? Buffer.from(data, "utf8") : data) {
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c) out += String.fromCharCode(byte);
    else out += "\\" + byte.toString(16).padStart(2, "0");
  }
  return out;
}

interface FixtureSources {
  wat: string;
  wit: string;
  world: string;
}

export interface FixtureBuildOptions {
  /**
   * What `describe()` returns instead of the fixture's describe.json (any JSON value;
   * e.g. to declare other tool names, or to test describe() validation).
   */
  describe?: unknown;
}

/** Reads a fixture's sources and composes its full WAT module text. */
export async function fixtureSources(name: FixtureName, options: FixtureBuildOptions = {}): Promise<FixtureSources> {
  const dir = fixturePath(name);
  const [prelude, main, imports, ownWit, describeText, configText, worldWit] = await Promise.all([
    readFile(preludePath, "utf8"),
    readFile(join(dir, "main.wat"), "utf8"),
    readOptional(join(dir, "imports.wat")),
    readOptional(join(dir, "world.wit")),
    readOptional(join(dir, "describe.json")),
    readOptional(join(dir, "fixture.json")),
    readFile(worldWitPath, "utf8"),
  ]);
  const config = (configText === undefined ? {} : JSON.parse(configText)) as FixtureConfig;
  const exportsWanted = config.exports ?? PLUGIN_EXPORTS.map(([n]) => n);
  const describe =
    options.describe !== undefined
      ? typeof options.describe === "string"
        ? options.describe
        : JSON.stringify(options.describe)
      : describeText === undefined
      ? JSON.stringify({
          name,
          version: "0.1.0",
          tools: [{ name: "run", description: `the ${name} fixture`, parameters: { type: "object" } }],
        })
      : JSON.stringify(JSON.parse(describeText));
  const describeLen = Buffer.byteLength(describe, "utf8");
  // the prelude's memory starts with 2 pages (128 KiB); the describe data must fit in it
  if (DESCRIBE_OFFSET + describeLen > 2 * 65536 - 4096) throw new Error(`describe of ${name} is too large for a fixture`);
  const heapBase = Math.max(65536, Math.ceil((DESCRIBE_OFFSET + describeLen + 8) / 8) * 8);

  const parts: string[] = [];
  parts.push(`(module $${name}`);
  if (imports !== undefined) parts.push(imports);
  parts.push(prelude);
  parts.push(`(global $heap_base i32 (i32.const ${heapBase}))`);
  parts.push(`(global $DESCRIBE i32 (i32.const ${DESCRIBE_OFFSET}))`);
  parts.push(`(global $DESCRIBE_LEN i32 (i32.const ${describeLen}))`);
  parts.push(`(data (i32.const ${DESCRIBE_OFFSET}) "${watString(describe)}")`);
  parts.push(`;; ---- fixture ${name} ----`);
  parts.push(main);
  parts.push(`;; ---- defaults and exports (builder) ----`);
  if (exportsWanted.includes("init") && !/\(func \$init\b/.test(main)) {
    parts.push(`(func $init (result i32) (call $ok_unit))`);
  }
  if (exportsWanted.includes("describe") && !/\(func \$describe\b/.test(main)) {
    parts.push(`(func $describe (result i32) (call $ret_str (global.get $DESCRIBE) (global.get $DESCRIBE_LEN)))`);
  }
  if (config.paddingBytes !== undefined) {
    parts.push(`(@custom "clawft-padding" "${watString(paddingBytes(name, config.paddingBytes))}")`);
  }
  parts.push(`(export "memory" (memory $mem))`);
  parts.push(`(export "cabi_realloc" (func $cabi_realloc))`);
  for (const [exportName, func] of PLUGIN_EXPORTS) {
    if (!exportsWanted.includes(exportName)) continue;
    parts.push(`(export "plugin#${exportName}" (func ${func}))`);
    parts.push(`(export "cabi_post_plugin#${exportName}" (func $post_return))`);
  }
  parts.push(`)`);
  return { wat: parts.join("\n"), wit: ownWit ?? worldWit, world: config.world ?? "plugin" };
}

/** WAT text → core module → embed the WIT world → component, all in process through jco. */
export async function componentFromWat(wat: string, witSource: string, world: string): Promise<Uint8Array> {
  const core = await parse(wat);
  const embedded = await componentEmbed({ binary: core, witSource, world });
  return componentNew(embedded);
}

function sha256(...parts: Array<string | Uint8Array>): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    hash.update(part);
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** Returns the cached bytes for `key`, or builds them and writes the cache atomically. */
export async function cached(key: string, build: () => Promise<Uint8Array>): Promise<Uint8Array> {
  const path = join(cacheDir, `${key}.wasm`);
  if (existsSync(path)) return new Uint8Array(await readFile(path));
  const bytes = await build();
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
  return bytes;
}

/**
 * Builds (or reads from `.cache/`) the component of one WAT fixture. With `describe`,
 * its describe() returns that instead (a string is returned as is, so it may be invalid JSON).
 */
export async function buildFixture(name: FixtureName, options: FixtureBuildOptions = {}): Promise<Uint8Array> {
  const { wat, wit, world } = await fixtureSources(name, options);
  const key = `${name}-${sha256(BUILDER_VERSION, wat, wit, world).slice(0, 32)}`;
  return cached(key, () => componentFromWat(wat, wit, world));
}

/** The core module of a fixture (no component wrapping), e.g. to test "not a component" paths. */
export async function buildFixtureCoreModule(name: FixtureName): Promise<Uint8Array> {
  const { wat } = await fixtureSources(name);
  return parse(wat);
}

/**
 * Builds every WAT fixture (from `.cache/` when the sources did not change), e.g. in a
 * vitest `globalSetup` so that test files only read the cache. A few seconds cold.
 */
export async function buildAllFixtures(): Promise<Map<FixtureName, Uint8Array>> {
  const out = new Map<FixtureName, Uint8Array>();
  // one at a time: jco's wasm-tools instance is synchronous inside, parallelism buys nothing
  for (const name of fixtureNames) out.set(name, await buildFixture(name));
  return out;
}
