#!/usr/bin/env node
// Builds src/plugin.js into dist/plugin.js: one bundled CommonJS file, the payload of a
// "runtime": "js" plugin (run by the trusted engine of @clawft/plugin-js).
//
//   node build.mjs                (or: pnpm build)        → dist/plugin.js
//   node build.mjs --component    (or: pnpm build:component) → dist/plugin.wasm, a full
//       componentize-qjs component of the same source, for hosts without @clawft/plugin-js
//       (~1.1 MB: its manifest then needs "wasm_module" and raised size limits)
//
// esbuild options, and why:
//   bundle: true         one file: the engine gives the plugin no module loader
//   format: "cjs"        require("host") / module.exports.plugin, what the engine evaluates
//   external: ["host"]   the world's host import, provided by the engine at run time
//   platform: "neutral"  no Node built-ins: there is no fs or process inside the sandbox
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** The WIT world, from the repository (a published plugin would use @clawft/wit-bindings/wit/plugin.wit). */
export const witPath = join(here, "..", "..", "wit", "plugin.wit");
export const entryPath = join(here, "src", "plugin.js");

/** The esbuild options this example is bundled with (see above). */
export const bundleOptions = Object.freeze({ bundle: true, format: "cjs", platform: "neutral", external: ["host"], target: "es2023", legalComments: "none" });

/** The componentize-qjs options of the full-component build. */
export const componentizeOptions = Object.freeze({ stubWasi: true, sync: true, optSize: true, world: "plugin" });

/** Bundles the plugin and returns its JS (what the manifest's `main` names). */
export async function bundlePlugin() {
  const { build } = await import("esbuild");
  const result = await build({ entryPoints: [entryPath], write: false, ...bundleOptions });
  const [file] = result.outputFiles;
  if (!file) throw new Error("esbuild wrote nothing");
  return file.text;
}

/** Builds the same source into a full componentize-qjs component and returns its bytes. */
export async function buildComponent() {
  const { componentize } = await import("componentize-qjs");
  const jsSource = await readFile(entryPath, "utf8");
  const { component } = await componentize({ witPath, jsSource, jsPath: entryPath, moduleRoot: here, ...componentizeOptions });
  return new Uint8Array(component);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const component = process.argv.includes("--component");
  const out = join(here, "dist", component ? "plugin.wasm" : "plugin.js");
  const output = component ? await buildComponent() : await bundlePlugin();
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, output);
  const size = typeof output === "string" ? Buffer.byteLength(output) : output.byteLength;
  console.log(`wrote ${out}: ${size} bytes in ${Math.round(performance.now() - started)} ms`);
}
