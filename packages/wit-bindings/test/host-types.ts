/**
 * Type test, checked by `tsc` (pnpm typecheck): the types generated from
 * wit/plugin.wit must require every host function with the world's types.
 * Each `@ts-expect-error` fails the build if the error it expects goes away
 * (e.g. a function dropped from the generated types), and the well-typed
 * objects fail it if the types change shape.
 */
import type { HostImports, PluginExports, PluginImportObject, PluginInstanceExports } from "../src/index.js";

/** A complete host: compiles. */
export const completeHost: HostImports = {
  httpRequest(method: string, url: string, headers: Array<[string, string]>, body: string | undefined): string {
    return `${method} ${url} ${headers.length} ${body ?? ""}`;
  },
  readFile(path: string): string {
    return path;
  },
  writeFile(_path: string, _content: string): void {},
  getEnv(_name: string): string | undefined {
    return undefined;
  },
  log(_level: number, _message: string): void {},
};

// @ts-expect-error a host that misses `log` does not compile
export const missingLog: HostImports = {
  httpRequest: () => "",
  readFile: () => "",
  writeFile: () => {},
  getEnv: () => undefined,
};

// @ts-expect-error a host that misses `httpRequest` does not compile
export const missingHttp: HostImports = {
  readFile: () => "",
  writeFile: () => {},
  getEnv: () => undefined,
  log: () => {},
};

export const wrongEnv: HostImports = {
  ...completeHost,
  // @ts-expect-error get-env returns option<string> (string | undefined), not a number
  getEnv: () => 42,
};

export const wrongHttpParams: HostImports = {
  ...completeHost,
  // @ts-expect-error http-request's headers are [string, string] tuples, not a record
  httpRequest: (_method: string, _url: string, _headers: Record<string, string>) => "",
};

export const imports: PluginImportObject = { host: completeHost };

// @ts-expect-error the import object is keyed by the world's import name, `host`
export const wrongKey: PluginImportObject = { hostt: completeHost };

/** What a host calls on an instance. */
export function useExports(instance: PluginInstanceExports): string {
  const plugin: PluginExports = instance.plugin;
  plugin.init();
  const out: string = plugin.executeTool("echo", "{}");
  // @ts-expect-error execute-tool takes (tool-name, params-json)
  plugin.executeTool("echo");
  return out + plugin.describe();
}
