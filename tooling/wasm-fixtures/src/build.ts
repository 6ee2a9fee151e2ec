import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentEmbed, componentNew, parse, print } from "@bytecodealliance/jco";

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
  "memory-multiplier",
  "hostile-args",
  "hostile-args-jco",
] as const;

export type FixtureName = (typeof fixtureNames)[number];

interface FixtureConfig {
  /** world to embed (default "plugin") */
  world?: string;
  /** plugin exports the core module provides (default all three) */
  exports?: string[];
  /** adds a custom section of this many deterministic pseudo-random (incompressible) bytes */
  paddingBytes?: number;
  /**
   * After the component is built, instantiate the core module in `module` (a WAT file of
   * the fixture folder) `count` more times, right after the main module's instance
   * (a hand-written edit of the component text: wit-component never does this). With
   * `call`, a driver instance follows whose start function calls that export
   * `(func (param i32) (result i32))` of every instance with `arg`, round after round,
   * until a whole round returns 0 everywhere.
   */
  extraCoreInstances?: ExtraCoreInstances;
  /**
   * "split": export the allocator as `cabi_import_realloc` and `cabi_export_realloc`
   * (wit-component accepts both) instead of `cabi_realloc`, so the host's direct
   * lowering cannot serve the module and jco's trampolines do (default: "single")
   */
  realloc?: "single" | "split";
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

/** See `FixtureConfig.extraCoreInstances`. */
export interface ExtraCoreInstances {
  module: string;
  count: number;
  call?: string;
  arg?: number;
}

interface FixtureSources {
  wat: string;
  wit: string;
  world: string;
  /** The extra core module (its WAT text in `module`) and how the component instantiates it. */
  extra?: ExtraCoreInstances;
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
  if (config.realloc === "split") {
    parts.push(`(export "cabi_import_realloc" (func $cabi_realloc))`);
    parts.push(`(export "cabi_export_realloc" (func $cabi_realloc))`);
  } else {
    parts.push(`(export "cabi_realloc" (func $cabi_realloc))`);
  }
  for (const [exportName, func] of PLUGIN_EXPORTS) {
    if (!exportsWanted.includes(exportName)) continue;
    parts.push(`(export "plugin#${exportName}" (func ${func}))`);
    parts.push(`(export "cabi_post_plugin#${exportName}" (func $post_return))`);
  }
  parts.push(`)`);
  const sources: FixtureSources = { wat: parts.join("\n"), wit: ownWit ?? worldWit, world: config.world ?? "plugin" };
  if (config.extraCoreInstances) {
    const extra = config.extraCoreInstances;
    sources.extra = { ...extra, module: await readFile(join(dir, extra.module), "utf8") };
  }
  return sources;
}

/**
 * Adds `extra.count` instances of the core module `extra.module` (WAT text) to a
 * component, right after the instance of its main module, by editing the
 * component's text (jco's `print`, then `parse`); with `extra.call`, a driver
 * instance follows whose start function calls that export of every instance
 * (see {@link ExtraCoreInstances}).
 */
export async function withExtraCoreInstances(component: Uint8Array, extra: ExtraCoreInstances): Promise<Uint8Array> {
  const text = await print(component);
  const anchor = text.indexOf(`  (alias core export $main "memory"`);
  if (anchor < 0) throw new Error("cannot find the main module's instance in the component text");
  const body = extra.module.replace(/^\s*(;;[^\n]*\n\s*)*\(module/, "").replace(/\)\s*$/, "");
  const added = [`  (core module $extra ${body})`];
  for (let i = 0; i < extra.count; i++) added.push(`  (core instance $extra${i} (instantiate $extra))`);
  if (extra.call !== undefined) {
    const imports: string[] = [];
    const calls: string[] = [];
    const withs: string[] = [];
    for (let i = 0; i < extra.count; i++) {
      imports.push(`(import "e${i}" "${extra.call}" (func $e${i} (param i32) (result i32)))`);
      calls.push(`(local.set $got (i32.or (local.get $got) (call $e${i} (i32.const ${extra.arg ?? 1}))))`);
      withs.push(`(with "e${i}" (instance $extra${i}))`);
    }
    added.push(
      `  (core module $driver ${imports.join(" ")} (func $run (local $got i32) (loop $round (local.set $got (i32.const 0)) ${calls.join(" ")} (br_if $round (local.get $got)))) (start $run))`,
      `  (core instance $driver (instantiate $driver ${withs.join(" ")}))`,
    );
  }
  return parse(`${text.slice(0, anchor)}${added.join("\n")}\n${text.slice(anchor)}`);
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
  const { wat, wit, world, extra } = await fixtureSources(name, options);
  const key = `${name}-${sha256(BUILDER_VERSION, wat, wit, world, ...(extra ? [JSON.stringify(extra)] : [])).slice(0, 32)}`;
  return cached(key, async () => {
    const component = await componentFromWat(wat, wit, world);
    return extra ? withExtraCoreInstances(component, extra) : component;
  });
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
