import { buildFixture } from "@clawft/wasm-fixtures";
import { beforeAll, describe, expect, it } from "vitest";
import { patchGlue } from "../compile.js";
import { createGlueCodeCache, glueAsScript, loadGlue } from "./glue-loader.js";
import { transpileComponent } from "./transpile.js";

type Glue = { instantiate: (getCore: (n: string) => WebAssembly.Module, imports: unknown, instantiateCore?: unknown) => Promise<{ plugin: { init(): void; describe(): string } }> };

let glue: string;
let files: Record<string, Uint8Array>;
beforeAll(async () => {
  const out = await transpileComponent(await buildFixture("tool-basic"));
  files = out.files as Record<string, Uint8Array>;
  glue = patchGlue(Buffer.from(files["plugin.js"] as Uint8Array).toString("utf8"));
}, 60_000);

async function describeWith(g: Glue): Promise<string> {
  const modules = new Map<string, WebAssembly.Module>();
  for (const [name, bytes] of Object.entries(files)) {
    if (name.endsWith(".wasm")) modules.set(name, new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
  }
  const host = { getEnv: () => undefined, log: () => undefined, readFile: () => "", writeFile: () => undefined, httpRequest: () => "" };
  const root = await g.instantiate((n) => modules.get(n) as WebAssembly.Module, { host }, (m: WebAssembly.Module, i: WebAssembly.Imports) => new WebAssembly.Instance(m, i));
  root.plugin.init();
  return root.plugin.describe();
}

describe("glue loader", () => {
  it("runs jco's glue as a script from a main-thread code cache, with the same result as the module", async () => {
    const cache = createGlueCodeCache(glue);
    expect(cache?.byteLength).toBeGreaterThan(0);
    const fromScript = await describeWith(await loadGlue<Glue>(glue, cache));
    const fromModule = await describeWith((await import(`data:text/javascript;base64,${Buffer.from(glue).toString("base64")}`)) as Glue);
    expect(JSON.parse(fromScript)).toEqual(JSON.parse(fromModule));
  });

  it("a cache that does not match (another source, or garbage) is ignored by V8, never trusted", async () => {
    const other = createGlueCodeCache(glue.replace("\nexport const _util = ", "\nexport const _util = /* changed */ "));
    const garbage = new Uint8Array(4096).fill(7);
    for (const cache of [other, garbage]) {
      expect(JSON.parse(await describeWith(await loadGlue<Glue>(glue, cache))).tools.length).toBeGreaterThan(0);
    }
  });

  it("a glue of another shape (other exports, import.meta, static imports) is not rewritten; the loader imports it as a module", async () => {
    expect(glueAsScript(glue)).toContain("return { instantiate, _util };");
    expect(glueAsScript(glue.replace("\nexport function instantiate(", "\nexport async function instantiate("))).toBeUndefined();
    expect(glueAsScript(`${glue}\nexport const extra = 1;\n`)).toBeUndefined();
    expect(glueAsScript(`import x from "node:fs";\n${glue}`)).toBeUndefined();
    expect(glueAsScript(`${glue}\nconst u = import.meta.url;\n`)).toBeUndefined();
    expect(createGlueCodeCache("export const instantiate = 1;")).toBeUndefined();
    const module = await loadGlue<{ answer: number }>("export const answer = 42;\n", undefined);
    expect(module.answer).toBe(42);
  });
});
