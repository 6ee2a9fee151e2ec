#!/usr/bin/env node
// Builds src/plugin.js into dist/plugin.wasm, a WebAssembly component for the
// clawft:plugin world, with componentize-qjs's JS API.
//
//   node build.mjs            (or: pnpm build)
//
// Options used, and why:
//   stubWasi: true  the plugin gets no WASI at all: every WASI import is a trap stub,
//                   so the only import left is `host` (what a clawft host accepts)
//   sync:     true  the non-async runtime: no component-model async ABI (jco runs it)
//   optSize:  true  the size-optimised QuickJS runtime (~1.1 MB instead of more)
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentize } from "componentize-qjs";

const here = dirname(fileURLToPath(import.meta.url));
/** The WIT world, from the repository (a published plugin would use @clawft/wit-bindings/wit/plugin.wit). */
export const witPath = join(here, "..", "..", "wit", "plugin.wit");
export const entryPath = join(here, "src", "plugin.js");

/** The componentize-qjs options this example is built with. */
export const componentizeOptions = Object.freeze({ stubWasi: true, sync: true, optSize: true, world: "plugin" });

/** Builds the component and returns its bytes. */
export async function buildPlugin() {
  const jsSource = await readFile(entryPath, "utf8");
  const { component } = await componentize({
    witPath,
    jsSource,
    jsPath: entryPath,
    moduleRoot: here,
    ...componentizeOptions,
  });
  return new Uint8Array(component);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const bytes = await buildPlugin();
  const out = join(here, "dist", "plugin.wasm");
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, bytes);
  console.log(`wrote ${out}: ${bytes.length} bytes in ${Math.round(performance.now() - started)} ms`);
}
