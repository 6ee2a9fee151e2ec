// The digest of the engine's sources (engine/sources.sha256): written by build-engine.mjs,
// recomputed by the unit test, so an edited source without a rebuild fails CI.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

/** componentize-qjs options, and why: no WASI at all (the only import is `host`), no async ABI, the size-optimised runtime. */
export const ENGINE_OPTIONS = Object.freeze({ world: "js-engine", stubWasi: true, sync: true, optSize: true });

/** sha256 over the engine script, its WIT, the plugin world, componentize-qjs's version and the options. */
export async function engineSourcesDigest() {
  const hash = createHash("sha256");
  const version = require("componentize-qjs/package.json").version;
  for (const part of [
    await readFile(join(here, "engine", "engine.js")),
    await readFile(join(here, "engine", "engine.wit")),
    await readFile(join(here, "..", "..", "wit", "plugin.wit")),
    Buffer.from(`componentize-qjs@${version} ${JSON.stringify(ENGINE_OPTIONS)}`),
  ]) {
    hash.update(createHash("sha256").update(part).digest());
  }
  return hash.digest("hex");
}
