/**
 * Builds every fixture from source, bypassing the cache, and prints a table of
 * sizes and build times (markdown, for README.md). `pnpm --filter @clawft/wasm-fixtures report`
 */
import { gzipSync } from "node:zlib";
import { performance } from "node:perf_hooks";
import { componentize } from "componentize-qjs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { componentFromWat, fixtureNames, fixtureSources, withExtraCoreInstances, worldWitPath } from "../src/build.js";
import { jsExamplePluginDir, JS_PLUGIN_COMPONENTIZE_OPTIONS } from "../src/js-plugin.js";

const rows: string[] = ["| fixture | component bytes | gzipped | cold build ms |", "|---|---:|---:|---:|"];
let total = 0;
// warm jco's wasm-tools instance once, so the first row is not charged for it
await componentFromWat("(module)", "package a:b; world w {}", "w");
for (const name of fixtureNames) {
  const started = performance.now();
  const { wat, wit, world, extra } = await fixtureSources(name);
  const component = await componentFromWat(wat, wit, world);
  const bytes = extra ? await withExtraCoreInstances(component, extra) : component;
  const ms = performance.now() - started;
  total += ms;
  rows.push(`| \`${name}\` | ${bytes.length} | ${gzipSync(bytes).length} | ${ms.toFixed(0)} |`);
}
const entryPath = join(jsExamplePluginDir, "src", "plugin.js");
const started = performance.now();
const { component } = await componentize({
  witPath: worldWitPath,
  jsSource: await readFile(entryPath, "utf8"),
  jsPath: entryPath,
  moduleRoot: jsExamplePluginDir,
  ...JS_PLUGIN_COMPONENTIZE_OPTIONS,
});
const jsMs = performance.now() - started;
rows.push(`| JS example (componentize-qjs) | ${component.length} | ${gzipSync(component).length} | ${jsMs.toFixed(0)} |`);
console.log(rows.join("\n"));
console.log(`\nall WAT fixtures: ${total.toFixed(0)} ms; with the JS plugin: ${(total + jsMs).toFixed(0)} ms (node ${process.version})`);
