import { lstat, mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { ClawftError, parseManifestWithWarnings } from "@clawft/sandbox-policy";

/** The languages `clawft-plugin new` writes a plugin in. */
export type ScaffoldLanguage = "ts" | "js";

export interface ScaffoldOptions {
  /**
   * Language of the plugin source.
   * @default "ts"
   */
  lang?: ScaffoldLanguage;
  /**
   * The plugin id (reverse-domain).
   * @default "dev.local.<folder name>"
   */
  id?: string;
}

export interface ScaffoldResult {
  /** Absolute path of the new plugin folder. */
  dir: string;
  id: string;
  /** Files written, relative to `dir`. */
  files: string[];
}

/** A `clawft-plugin new` refusal: the folder exists and is not empty, or a bad name. */
export class ScaffoldError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.ScaffoldError");

  constructor(code: "CLI_SCAFFOLD_EXISTS" | "CLI_USAGE", message: string) {
    super(code, message);
    this.name = "ScaffoldError";
  }
}

/** The plugin id the folder name gives: `dev.local.<name>` with what an id segment allows. */
export function defaultPluginId(dir: string): string {
  const segment = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `dev.local.${/^[a-z]/.test(segment) ? segment : `plugin-${segment || "new"}`}`;
}

/**
 * Writes a new JS/TS plugin into `dir` (created; an existing folder must be empty, so nothing
 * of the user's is overwritten): a manifest with `"runtime": "js"` and no permissions (deny by
 * default: the author adds what the plugin needs), a typed source with two tools, a test that
 * loads the built plugin in a real host (`node --test`), a package.json and a tsconfig.json.
 */
export async function scaffoldPlugin(dir: string, options: ScaffoldOptions = {}): Promise<ScaffoldResult> {
  const lang = options.lang ?? "ts";
  if (lang !== "ts" && lang !== "js") throw new ScaffoldError("CLI_USAGE", `--lang must be "ts" or "js", not ${JSON.stringify(lang)}`);
  const root = resolve(dir);
  const id = options.id ?? defaultPluginId(root);
  const existing = await lstat(root).catch(() => undefined);
  if (existing) {
    if (!existing.isDirectory() || (await readdir(root)).length > 0) {
      throw new ScaffoldError("CLI_SCAFFOLD_EXISTS", `folder exists and is not empty: ${root} (new writes into a new or empty folder only)`);
    }
  }
  const name = id.split(".").at(-1) ?? "plugin";
  const source = lang === "ts" ? "src/plugin.ts" : "src/plugin.js";
  const manifest = {
    id,
    name,
    version: "0.1.0",
    description: `${name}: a clawft plugin (say here what it does; the consent prompt shows this line).`,
    capabilities: ["tool"],
    runtime: "js",
    main: "dist/plugin.js",
    tools: ["greet", "add"],
    permissions: { network: [], filesystem: [], env_vars: [], shell: false },
  };
  // The one manifest parser judges the id (and everything else) before anything is written.
  try {
    parseManifestWithWarnings(manifest);
  } catch (error) {
    throw new ScaffoldError("CLI_USAGE", `--id ${JSON.stringify(id)}: ${(error as Error).message}`);
  }
  const files: Record<string, string> = {
    "clawft.plugin.json": `${JSON.stringify(manifest, null, 2)}\n`,
    [source]: lang === "ts" ? tsSource(name) : jsSource(name),
    "test/plugin.test.mjs": testSource(),
    "package.json": `${JSON.stringify(
      {
        name,
        version: "0.1.0",
        private: true,
        type: "module",
        scripts: {
          build: "clawft-plugin build",
          test: "clawft-plugin build && node --test test/",
          ...(lang === "ts" ? { typecheck: "tsc --noEmit" } : {}),
        },
        devDependencies: {
          "@clawft/cli": "^0.1.0",
          "@clawft/host": "^0.1.0",
          "@clawft/plugin-js": "^0.1.0",
          "@clawft/wit-bindings": "^0.1.0",
          ...(lang === "ts" ? { typescript: "^5.9.0" } : {}),
        },
      },
      null,
      2,
    )}\n`,
    "tsconfig.json": `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "Bundler",
          strict: true,
          noEmit: true,
          ...(lang === "js" ? { allowJs: true, checkJs: true } : {}),
          types: ["@clawft/wit-bindings/guest"],
        },
        include: ["src"],
      },
      null,
      2,
    )}\n`,
    ".gitignore": "node_modules/\ndist/\n",
  };
  await mkdir(join(root, "src"), { recursive: true });
  await mkdir(join(root, "test"), { recursive: true });
  for (const [path, text] of Object.entries(files)) await writeFile(join(root, path), text, { flag: "wx" });
  return { dir: root, id, files: Object.keys(files).sort() };
}

function tsSource(name: string): string {
  return `/**
 * The ${name} plugin. \`clawft-plugin build\` bundles this file into dist/plugin.js, which runs in
 * the clawft JS engine (@clawft/plugin-js) inside the host's sandbox.
 *
 * \`host\` is the clawft:plugin world's import: httpRequest, readFile, writeFile, getEnv, log.
 * Each one is refused unless clawft.plugin.json's "permissions" ask for it and the user approves.
 * A host function's err is thrown as an Error whose \`payload\` is the host's text.
 */
import * as host from "host";
import type { GuestPlugin } from "@clawft/wit-bindings/guest";

const TOOLS = [
  {
    name: "greet",
    description: "Greets someone by name.",
    parameters: {
      type: "object",
      properties: { name: { type: "string" } },
      required: ["name"],
      additionalProperties: false,
    },
  },
  {
    name: "add",
    description: "Adds two numbers.",
    parameters: {
      type: "object",
      properties: { a: { type: "number" }, b: { type: "number" } },
      required: ["a", "b"],
      additionalProperties: false,
    },
  },
];

type Params = Record<string, unknown>;

const handlers: Record<string, (params: Params) => unknown> = {
  greet({ name }) {
    if (typeof name !== "string") throw "greet: name must be a string";
    host.log(2, \`greeting \${name}\`);
    return { greeting: \`Hello, \${name}!\` };
  },
  add({ a, b }) {
    if (typeof a !== "number" || typeof b !== "number") throw "add: a and b must be numbers";
    return { sum: a + b };
  },
};

export const plugin: GuestPlugin = {
  init() {},

  describe() {
    return JSON.stringify({ name: "${name}", version: "0.1.0", tools: TOOLS });
  },

  executeTool(toolName, paramsJson) {
    const handler = Object.hasOwn(handlers, toolName) ? handlers[toolName] : undefined;
    if (handler === undefined) throw \`unknown tool: \${toolName}\`;
    // What a tool throws becomes the call's err: a string as it is, an Error by its message.
    return JSON.stringify(handler(JSON.parse(paramsJson) as Params));
  },
};
`;
}

function jsSource(name: string): string {
  return `// @ts-check
/**
 * The ${name} plugin. \`clawft-plugin build\` bundles this file into dist/plugin.js, which runs in
 * the clawft JS engine (@clawft/plugin-js) inside the host's sandbox.
 *
 * \`host\` is the clawft:plugin world's import: httpRequest, readFile, writeFile, getEnv, log.
 * Each one is refused unless clawft.plugin.json's "permissions" ask for it and the user approves.
 * A host function's err is thrown as an Error whose \`payload\` is the host's text.
 */
import * as host from "host";

const TOOLS = [
  {
    name: "greet",
    description: "Greets someone by name.",
    parameters: {
      type: "object",
      properties: { name: { type: "string" } },
      required: ["name"],
      additionalProperties: false,
    },
  },
  {
    name: "add",
    description: "Adds two numbers.",
    parameters: {
      type: "object",
      properties: { a: { type: "number" }, b: { type: "number" } },
      required: ["a", "b"],
      additionalProperties: false,
    },
  },
];

/** @type {Record<string, (params: Record<string, unknown>) => unknown>} */
const handlers = {
  greet({ name }) {
    if (typeof name !== "string") throw "greet: name must be a string";
    host.log(2, \`greeting \${name}\`);
    return { greeting: \`Hello, \${name}!\` };
  },
  add({ a, b }) {
    if (typeof a !== "number" || typeof b !== "number") throw "add: a and b must be numbers";
    return { sum: a + b };
  },
};

/** @type {import("@clawft/wit-bindings/guest").GuestPlugin} */
export const plugin = {
  init() {},

  describe() {
    return JSON.stringify({ name: "${name}", version: "0.1.0", tools: TOOLS });
  },

  executeTool(toolName, paramsJson) {
    const handler = Object.hasOwn(handlers, toolName) ? handlers[toolName] : undefined;
    if (handler === undefined) throw \`unknown tool: \${toolName}\`;
    // What a tool throws becomes the call's err: a string as it is, an Error by its message.
    return JSON.stringify(handler(JSON.parse(paramsJson)));
  },
};
`;
}

function testSource(): string {
  return `// Runs the built plugin (dist/plugin.js) in a real clawft host: \`npm test\` builds, then runs this.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { createHost } from "@clawft/host";

const folder = fileURLToPath(new URL("..", import.meta.url));
const host = createHost();
let plugin;

before(async () => {
  plugin = await host.loadFromDirectory(folder);
});
after(() => host.close());

test("describe lists the tools", () => {
  assert.deepEqual(
    plugin.describe().tools.map((t) => t.name),
    ["greet", "add"],
  );
});

test("greet answers", async () => {
  assert.deepEqual(await plugin.executeTool("greet", { name: "Ada" }), { greeting: "Hello, Ada!" });
});

test("add adds; bad parameters are the tool's error", async () => {
  assert.deepEqual(await plugin.executeTool("add", { a: 2, b: 3 }), { sum: 5 });
  await assert.rejects(plugin.executeTool("add", { a: "2" }), /a and b must be numbers/);
});
`;
}
