/**
 * TypeScript types of the clawft:plugin world, generated at build time from
 * wit/plugin.wit by jco (`src/generated/`, git-ignored, rebuilt by `pnpm build`).
 *
 * jco's mapping of `result<T, E>`:
 *  - an IMPORT function (`HostImports`) returns `T` for ok and THROWS for err: throw the
 *    err string itself (or an object whose `payload` is the string, e.g. jco's
 *    ComponentError). Throwing an `Error` without `payload` does not make an err: jco
 *    rethrows it and the guest's call traps;
 *  - an EXPORT function (`PluginExports`) returns `T` for ok and throws a `ComponentError`
 *    whose `payload` is the err value;
 *  - `option<string>` is `string | undefined`; `u8` is `number`; `result<_, E>` ok is `void`.
 */
import type * as HostInterface from "./generated/host/interfaces/host.js";
import type * as PluginInterface from "./generated/host/interfaces/plugin.js";

/** What a host implements for the `host` import: `httpRequest`, `readFile`, `writeFile`, `getEnv`, `log`. */
export type HostImports = typeof HostInterface;

/** What the `plugin` export gives a host: `init`, `executeTool`, `describe`. */
export type PluginExports = typeof PluginInterface;

/**
 * The import object of a jco-transpiled plugin (`instantiate(getCoreModule, imports)`),
 * keyed by the world's import name. (jco's generated `plugin.d.ts` declares the same
 * as `ImportObject`; it is not re-exported because its `Plugin` name clashes with a
 * namespace import, which the declaration bundler cannot read.)
 */
export interface PluginImportObject {
  host: HostImports;
}

/** The exports of a jco-transpiled plugin instance, keyed by the world's export name. */
export interface PluginInstanceExports {
  plugin: PluginExports;
}
