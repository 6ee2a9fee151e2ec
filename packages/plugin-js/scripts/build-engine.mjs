#!/usr/bin/env node
// Builds the clawft JS engine component from this repository's sources, with
// componentize-qjs (a devDependency: authors and hosts never install it):
//
//   engine/engine.js          the engine script (holds no plugin; evaluates the one it is handed)
//   engine/engine.wit         its world: wit/plugin.wit's `plugin` world + `load-plugin-source`
//   ../../wit/plugin.wit      the clawft:plugin world
//
// and writes engine/clawft-js-engine.wasm, src/engine-digest.ts (its sha256) and
// engine/sources.sha256 (the digest of the inputs, checked by a unit test so an edited
// source without a rebuild fails CI).
//
//   pnpm --filter @clawft/plugin-js build:engine      (about 1 s)
//
// componentize-qjs's output is not byte-reproducible (the Wizer snapshot holds a few
// bytes of QuickJS's per-run state: two builds differ in ~130 bytes), so the built
// component is committed with its digest rather than rebuilt by every `pnpm build`.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentize } from "componentize-qjs";
import { ENGINE_OPTIONS, engineSourcesDigest } from "./engine-sources.mjs";

const here = fileURLToPath(new URL("..", import.meta.url));

async function build() {
  const started = performance.now();
  // One package file: the plugin world plus the engine's world (which includes it).
  const dir = await mkdtemp(join(tmpdir(), "clawft-js-engine-"));
  try {
    const witPath = join(dir, "plugin.wit");
    const wit = await readFile(join(here, "..", "..", "wit", "plugin.wit"), "utf8");
    await writeFile(witPath, `${wit}\n${await readFile(join(here, "engine", "engine.wit"), "utf8")}`);
    const jsSource = await readFile(join(here, "engine", "engine.js"), "utf8");
    const { component } = await componentize({ witPath, jsSource, ...ENGINE_OPTIONS });
    const bytes = new Uint8Array(component);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    await writeFile(join(here, "engine", "clawft-js-engine.wasm"), bytes);
    await writeFile(
      join(here, "src", "engine-digest.ts"),
      `// Written by scripts/build-engine.mjs: the sha256 of engine/clawft-js-engine.wasm.\nexport const JS_ENGINE_SHA256 = "${sha256}";\n/** Its size in bytes. */\nexport const JS_ENGINE_BYTES = ${bytes.byteLength};\n`,
    );
    await writeFile(join(here, "engine", "sources.sha256"), `${await engineSourcesDigest()}\n`);
    console.log(`wrote engine/clawft-js-engine.wasm: ${bytes.byteLength} bytes, sha256 ${sha256}, in ${Math.round(performance.now() - started)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await build();
