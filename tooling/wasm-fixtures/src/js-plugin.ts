import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { componentize } from "componentize-qjs";
import { BUILDER_VERSION, cached, fixturesPackageDir, worldWitPath } from "./build.js";

/** examples/js-plugin, the JavaScript plugin that plugin authors copy. */
export const jsExamplePluginDir: string = join(fixturesPackageDir, "..", "..", "examples", "js-plugin");

/**
 * The componentize-qjs options of the example (the same as its build.mjs):
 * every WASI import stubbed with a trap (so `host` is the only import), the
 * non-async runtime, the size-optimised QuickJS runtime.
 */
export const JS_PLUGIN_COMPONENTIZE_OPTIONS = Object.freeze({
  stubWasi: true,
  sync: true,
  optSize: true,
  world: "plugin",
});

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out.sort();
}

/**
 * Builds examples/js-plugin/src/plugin.js with componentize-qjs (about 1.1 MB,
 * a few seconds cold), cached under `.cache/` by the sha256 of every file in
 * its src/, the WIT, the componentize-qjs version and the options.
 *
 * Its core modules use the extended-const proposal: on Node 20 call
 * `v8.setFlagsFromString("--experimental-wasm-extended-const")` (only below Node 22) before
 * compiling them (on by default from Node 22).
 */
export interface JsExamplePluginOptions {
  /**
   * false builds the same plugin with componentize-qjs's real WASI imports left in
   * (18 `wasi:*` interfaces: cli, io, clocks, filesystem, random), to test that hosts refuse them.
   * @default true
   */
  stubWasi?: boolean;
}

export async function buildJsExamplePlugin(options: JsExamplePluginOptions = {}): Promise<Uint8Array> {
  const componentizeOptions = { ...JS_PLUGIN_COMPONENTIZE_OPTIONS, stubWasi: options.stubWasi ?? true };
  const srcDir = join(jsExamplePluginDir, "src");
  const entryPath = join(srcDir, "plugin.js");
  const hash = createHash("sha256");
  hash.update(`builder ${BUILDER_VERSION}\0`);
  hash.update(JSON.stringify(componentizeOptions));
  const qjsPackage = await readFile(join(fixturesPackageDir, "node_modules", "componentize-qjs", "package.json"), "utf8");
  hash.update((JSON.parse(qjsPackage) as { version: string }).version);
  hash.update(await readFile(worldWitPath));
  for (const file of await listFiles(srcDir)) {
    hash.update(`\0${relative(srcDir, file)}\0`);
    hash.update(await readFile(file));
  }
  const key = `js-example-plugin${componentizeOptions.stubWasi ? "" : "-wasi"}-${hash.digest("hex").slice(0, 32)}`;
  return cached(key, async () => {
    const { component } = await componentize({
      witPath: worldWitPath,
      jsSource: await readFile(entryPath, "utf8"),
      jsPath: entryPath,
      moduleRoot: jsExamplePluginDir,
      ...componentizeOptions,
    });
    return new Uint8Array(component);
  });
}

/**
 * The esbuild options of the example (the same as its build.mjs; this package cannot import
 * the example, which depends on wit-bindings, whose tests use this package): one CommonJS file,
 * `host` external, no Node built-ins.
 */
export const JS_PLUGIN_BUNDLE_OPTIONS = Object.freeze({
  bundle: true,
  format: "cjs",
  platform: "neutral",
  external: ["host"],
  target: "es2023",
  legalComments: "none",
} as const);

/**
 * examples/js-plugin bundled as its own build does (esbuild, CommonJS, `host` external): the payload
 * of the `"runtime": "js"` plugin its manifest describes (`main: dist/plugin.js`), about 7 KB.
 */
export async function bundleJsExamplePlugin(): Promise<string> {
  const { build } = await import("esbuild");
  const { external, ...options } = JS_PLUGIN_BUNDLE_OPTIONS;
  const result = await build({ entryPoints: [join(jsExamplePluginDir, "src", "plugin.js")], write: false, external: [...external], ...options });
  const file = result.outputFiles?.[0];
  if (!file) throw new Error("esbuild wrote nothing");
  return file.text;
}

/**
 * The example's manifest (`"runtime": "js"`), and the same as a component plugin's
 * (`wasm_module: dist/plugin.wasm`) for the full componentize-qjs build of the same source
 * ({@link buildJsExamplePlugin}).
 */
export async function jsExampleManifest(kind: "js" | "component" = "js"): Promise<Record<string, unknown>> {
  const manifest = JSON.parse(await readFile(join(jsExamplePluginDir, "clawft.plugin.json"), "utf8")) as Record<string, unknown>;
  if (kind === "js") return manifest;
  const { runtime: _runtime, main: _main, ...rest } = manifest;
  return { ...rest, wasm_module: "dist/plugin.wasm" };
}
