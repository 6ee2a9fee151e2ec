import { channel } from "node:diagnostics_channel";
import { debuglog } from "node:util";
import { WitOptionsError, WitValidationError, type WitErrorCode, type WitIssue } from "./errors.js";
import { inspectComponent, resolveInspectOptions, type ComponentInspection, type ComponentItem, type InspectOptions } from "./inspect.js";
import { pluginWorld } from "./world.js";

const debug = debuglog("clawft");
/** Verdicts are published here (`{ ok, codes, imports, exports, wasiImports }`), for tracing. */
const witChannel = channel("clawft:wit");

export interface ValidateOptions extends InspectOptions {
  /**
   * When false, every `wasi:*` import is also a `WIT_FORBIDDEN_IMPORT` error. When true,
   * they are only listed in `wasiImports` and the host must give each a deny-all stub.
   * @default false
   */
  allowWasiImports?: boolean;
  /**
   * The component is a clawft JS engine (`@clawft/plugin-js`): it must also export
   * {@link JS_ENGINE_EXPORT} (`load-plugin-source`), through which a host hands it a plugin's
   * bundled JS. When false (a plugin's own component), that export is unknown like any other.
   * @default false
   */
  jsEngine?: boolean;
}

/**
 * The one export a JS engine component has beyond a plugin's: the host calls it once, before
 * `plugin.init`, with the plugin's bundled JS (CommonJS) and its file name.
 */
export const JS_ENGINE_EXPORT = Object.freeze({
  name: "load-plugin-source",
  signature: "func(source: string, file-name: string) -> result<_, string>",
  shape: "func(string, string) -> result<_, string>",
});

export interface PluginVerdict {
  /** True when the component fits the clawft:plugin world. */
  readonly ok: boolean;
  /** Every problem found, in order: not-a-component, exports, imports. */
  readonly errors: readonly WitIssue[];
  readonly imports: readonly ComponentItem[];
  readonly exports: readonly ComponentItem[];
  /** Exports besides the world's, listed: `init` (componentize-qjs's, allowed), `plugin.extra`, `admin` (each also a `WIT_UNKNOWN_EXPORT` error). */
  readonly extraExports: readonly string[];
  /** The `wasi:*` imports, by name: `wasi:cli/environment@0.2.3`. */
  readonly wasiImports: readonly string[];
  /** The component's WIT as jco prints it ("" when it is not a component). */
  readonly wit: string;
  /** The functions of the component's own `host` import (what a runtime may bind; empty when it imports no `host`). */
  readonly hostFunctions: readonly string[];
}

function issue(code: WitErrorCode, message: string, item?: string): WitIssue {
  return Object.freeze(item === undefined ? { code, message } : { code, message, item });
}

function resolveValidateOptions(options: ValidateOptions = {}) {
  const inspect = resolveInspectOptions(options);
  const allowWasiImports = options.allowWasiImports ?? false;
  if (typeof allowWasiImports !== "boolean") throw new WitOptionsError("allowWasiImports must be a boolean");
  const jsEngine = options.jsEngine ?? false;
  if (typeof jsEngine !== "boolean") throw new WitOptionsError("jsEngine must be a boolean");
  return Object.freeze({ ...inspect, allowWasiImports, jsEngine });
}

/**
 * The one export a component may have besides the world's `plugin`: componentize-qjs's
 * top-level `init` (its build-time snapshot entry point; the host never calls it), with its exact type.
 */
const TOOLCHAIN_EXPORTS: ReadonlyArray<{ name: string; signature: string; shape: string }> = [
  {
    name: "init",
    signature: "func(shim: string, script: string, entry-path: option<string>, disable-gc: bool) -> result<_, string>",
    shape: "func(string, string, option<string>, bool) -> result<_, string>",
  },
];

/**
 * Checks the `plugin` export: present, an interface, each function of the world with the world's
 * type, nothing more; and no other export but the toolchain's known ones with their exact types.
 * Stops: generated glue for exports nobody calls (an extra export is where a type bomb hides, and
 * every export is code jco generates and the worker loads), and a plugin that offers the host
 * entry points it never asked for.
 */
function checkExports(inspection: ComponentInspection, errors: WitIssue[], extra: string[], jsEngine: boolean): void {
  const name = pluginWorld.exportName;
  // Only a component checked as a JS engine may offer the engine's entry point, and it must.
  const allowed = jsEngine ? [...TOOLCHAIN_EXPORTS, JS_ENGINE_EXPORT] : TOOLCHAIN_EXPORTS;
  if (jsEngine && !inspection.exports.some((item) => item.name === JS_ENGINE_EXPORT.name)) {
    errors.push(
      issue("WIT_MISSING_EXPORT", `missing export: ${JS_ENGINE_EXPORT.name}: ${JS_ENGINE_EXPORT.signature} (a clawft JS engine's)`, JS_ENGINE_EXPORT.name),
    );
  }
  for (const item of inspection.exports) {
    if (item.name === name) continue;
    extra.push(item.name);
    const known = allowed.find((k) => k.name === item.name);
    const fn = item.kind === "function" ? item.functions?.[0] : undefined;
    if (known === undefined || fn === undefined || fn.shape !== known.shape) {
      const found = fn === undefined ? `an ${item.kind}` : fn.signature;
      errors.push(
        issue(
          "WIT_UNKNOWN_EXPORT",
          `unknown export: ${item.name} is ${found} (a clawft plugin exports only the ${name} interface of ${pluginWorld.package}${TOOLCHAIN_EXPORTS.map((k) => ` and componentize-qjs's ${k.name}: ${k.signature}`).join("")})`,
          item.name,
        ),
      );
    }
  }
  const exported = inspection.exports.find((item) => item.name === name);
  if (exported === undefined) {
    errors.push(issue("WIT_MISSING_EXPORT", `missing export: ${name} (the ${pluginWorld.package} ${name} interface)`, name));
    return;
  }
  if (exported.kind !== "interface" || exported.functions === undefined) {
    errors.push(issue("WIT_WRONG_EXPORT_TYPE", `wrong export type: ${name} must be the inline interface of the world, found a ${exported.kind}`, name));
    return;
  }
  for (const expected of pluginWorld.pluginFunctions) {
    const actual = exported.functions.find((f) => f.name === expected.name);
    const item = `${name}.${expected.name}`;
    if (actual === undefined) {
      errors.push(issue("WIT_MISSING_EXPORT", `missing export: ${item}: ${expected.signature}`, item));
    } else if (actual.shape !== expected.shape) {
      errors.push(issue("WIT_WRONG_EXPORT_TYPE", `wrong export type: ${item} is ${actual.signature}, expected ${expected.signature}`, item));
    }
  }
  for (const actual of exported.functions) {
    if (pluginWorld.pluginFunctions.some((f) => f.name === actual.name)) continue;
    const item = `${name}.${actual.name}`;
    extra.push(item);
    errors.push(issue("WIT_UNKNOWN_EXPORT", `unknown export: ${item} is not a function of the ${name} interface`, item));
  }
}

/**
 * Checks the imports: only the world's `host` interface, and only its functions with its types.
 * Stops: a plugin that asks the host for capabilities outside the world (a `shell`, a real
 * WASI filesystem) and a plugin whose `host` functions have other types than the host serves
 * (lifting values of a type the host did not mean to give).
 */
function checkImports(inspection: ComponentInspection, allowWasi: boolean, errors: WitIssue[], wasi: string[]): void {
  const hostName = pluginWorld.importName;
  for (const item of inspection.imports) {
    if (item.wasi) {
      wasi.push(item.name);
      if (!allowWasi) {
        errors.push(issue("WIT_FORBIDDEN_IMPORT", `forbidden import: ${item.name} (a WASI interface; clawft plugins get only ${hostName})`, item.name));
      }
      continue;
    }
    if (item.name !== hostName || item.kind !== "interface" || !item.inline || item.functions === undefined) {
      errors.push(issue("WIT_FORBIDDEN_IMPORT", `forbidden import: ${item.name} (only the ${hostName} interface of ${pluginWorld.package} may be imported)`, item.name));
      continue;
    }
    for (const actual of item.functions) {
      const expected = pluginWorld.hostFunctions.find((f) => f.name === actual.name);
      const itemName = `${hostName}.${actual.name}`;
      if (expected === undefined) {
        errors.push(issue("WIT_FORBIDDEN_IMPORT", `forbidden import: ${itemName} is not a function of the ${hostName} interface`, itemName));
      } else if (actual.shape !== expected.shape) {
        errors.push(issue("WIT_FORBIDDEN_IMPORT", `forbidden import: ${itemName} is ${actual.signature}, expected ${expected.signature}`, itemName));
      }
    }
  }
}

/**
 * Checks that every core import from the module `host` names a function the component's own
 * `host` import declares. Stops: a component that declares no `host` import (its world check
 * shows `imports=[]`, so nobody consented to anything) but whose core module imports `host`/`log`
 * or `host`/`get-env`, wired to a stub of its own, hoping the runtime binds host functions by core
 * import name. A toolchain (wit-component) only emits core `host` imports for declared functions.
 */
function checkHostWiring(inspection: ComponentInspection, errors: WitIssue[]): void {
  const hostName = pluginWorld.importName;
  const declared = inspection.scan.hostImportFunctions;
  const unwired = inspection.scan.coreHostImports.filter((name) => !declared.includes(name));
  if (unwired.length === 0) return;
  const said = declared.length === 0 ? "it declares none" : `it declares ${declared.map((f) => `${hostName}.${f}`).join(", ")}`;
  errors.push(
    issue(
      "WIT_UNWIRED_HOST_IMPORT",
      `host import not wired: core imports ${unwired.map((f) => `${hostName}/${f}`).join(", ")} are not lowered from the component's ${hostName} import (${said})`,
      `${hostName}/${unwired[0] as string}`,
    ),
  );
}

/**
 * The verdict on a component as a clawft plugin: a component, exporting the `plugin`
 * interface with init / execute-tool / describe of the world's types (no other export
 * but componentize-qjs's `init: func()`), importing nothing but the `host` interface with the world's
 * types (a subset of its functions is fine). Never throws for bad bytes: they are
 * a verdict with `ok: false`. Throws `WitOptionsError` for bad options.
 */
export async function validatePluginComponent(input: Uint8Array | ArrayBuffer, options?: ValidateOptions): Promise<PluginVerdict> {
  const resolved = resolveValidateOptions(options);
  let inspection: ComponentInspection;
  try {
    inspection = await inspectComponent(input, resolved);
  } catch (error) {
    if (!WitValidationError.isInstance(error)) throw error;
    const verdict: PluginVerdict = Object.freeze({
      ok: false,
      errors: error.issues,
      imports: [],
      exports: [],
      extraExports: [],
      wasiImports: [],
      wit: "",
      hostFunctions: [],
    });
    publish(verdict);
    return verdict;
  }
  const errors: WitIssue[] = [];
  const extraExports: string[] = [];
  const wasiImports: string[] = [];
  checkExports(inspection, errors, extraExports, resolved.jsEngine);
  checkImports(inspection, resolved.allowWasiImports, errors, wasiImports);
  checkHostWiring(inspection, errors);
  const verdict: PluginVerdict = Object.freeze({
    ok: errors.length === 0,
    errors: Object.freeze(errors),
    imports: inspection.imports,
    exports: inspection.exports,
    extraExports: Object.freeze(extraExports),
    wasiImports: Object.freeze(wasiImports),
    wit: inspection.wit,
    hostFunctions: inspection.scan.hostImportFunctions,
  });
  publish(verdict);
  return verdict;
}

function publish(verdict: PluginVerdict): void {
  debug("validatePluginComponent: ok=%s errors=[%s]", verdict.ok, verdict.errors.map((e) => e.code).join(", "));
  if (witChannel.hasSubscribers) {
    witChannel.publish({
      ok: verdict.ok,
      codes: verdict.errors.map((e) => e.code),
      imports: verdict.imports.map((i) => i.name),
      exports: verdict.exports.map((e) => e.name),
      wasiImports: verdict.wasiImports,
    });
  }
}

/**
 * Like `validatePluginComponent`, but throws a `WitValidationError` (code and
 * message of the first problem, all of them in `issues`) unless the verdict is ok.
 */
export async function assertPluginComponent(input: Uint8Array | ArrayBuffer, options?: ValidateOptions): Promise<PluginVerdict> {
  const verdict = await validatePluginComponent(input, options);
  const first = verdict.errors[0];
  if (first !== undefined) {
    const more = verdict.errors.length > 1 ? ` (and ${verdict.errors.length - 1} more: ${verdict.errors.slice(1).map((e) => e.item ?? e.code).join(", ")})` : "";
    throw new WitValidationError(first.code, `${first.message}${more}`, { issues: verdict.errors });
  }
  return verdict;
}
