import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { transpile } from "@bytecodealliance/jco";

/** What the `host` import offers, the jco way: a `result` import returns the ok value and throws for err. */
export interface TestHost {
  httpRequest(method: string, url: string, headers: Array<[string, string]>, body: string | undefined): string;
  readFile(path: string): string;
  writeFile(path: string, content: string): void;
  getEnv(name: string): string | undefined;
  log(level: number, message: string): void;
}

/** The `plugin` export, the jco way: a `result` export returns the ok value and throws a ComponentError for err. */
export interface TestPlugin {
  init(): void;
  executeTool(toolName: string, paramsJson: string): string;
  describe(): string;
}

interface Instantiated {
  plugin: TestPlugin;
}

/** `WebAssembly` as a value (the Node 20 types declare only its types). */
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;

type InstantiateFn = (
  getCoreModule: (path: string) => Promise<object>,
  imports: Record<string, unknown>,
) => Promise<Instantiated>;

/**
 * A minimal, unsandboxed runner for tests of this package: jco transpiles the
 * component (async instantiation) into a temp dir, and it is instantiated with
 * the given host. It is not the clawft host (no metering, no worker).
 */
export async function runComponent(
  bytes: Uint8Array,
  host: TestHost,
  extraImports: Record<string, unknown> = {},
): Promise<{ plugin: TestPlugin; exports: Readonly<Record<string, unknown>>; dispose: () => Promise<void> }> {
  const { files } = await transpile(bytes, { name: "component", instantiation: "async", noTypescript: true });
  const dir = await mkdtemp(join(tmpdir(), "clawft-fixture-"));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  const mod = (await import(pathToFileURL(join(dir, "component.js")).href)) as { instantiate: InstantiateFn };
  const instance = await mod.instantiate(
    async (path) => wasm.compile(await readFile(join(dir, path))),
    { host, ...extraImports },
  );
  // `exports`: every export of the component (e.g. a JS engine's `loadPluginSource`), by jco's camelCase name.
  return { plugin: instance.plugin, exports: instance as unknown as Record<string, unknown>, dispose: () => rm(dir, { recursive: true, force: true }) };
}
