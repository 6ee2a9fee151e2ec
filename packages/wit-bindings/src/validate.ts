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
}

export interface PluginVerdict {
  /** True when the component fits the clawft:plugin world. */
  readonly ok: boolean;
  /** Every problem found, in order: not-a-component, exports, imports. */
  readonly errors: readonly WitIssue[];
  readonly imports: readonly ComponentItem[];
  readonly exports: readonly ComponentItem[];
  /** Exports besides the world's (componentize-qjs adds a top-level `init`): allowed, listed: `init`, `plugin.extra`. */
  readonly extraExports: readonly string[];
  /** The `wasi:*` imports, by name: `wasi:cli/environment@0.2.3`. */
  readonly wasiImports: readonly string[];
  /** The component's WIT as jco prints it ("" when it is not a component). */
  readonly wit: string;
}

function issue(code: WitErrorCode, message: string, item?: string): WitIssue {
  return Object.freeze(item === undefined ? { code, message } : { code, message, item });
}

function resolveValidateOptions(options: ValidateOptions = {}) {
  const inspect = resolveInspectOptions(options);
  const allowWasiImports = options.allowWasiImports ?? false;
  if (typeof allowWasiImports !== "boolean") throw new WitOptionsError("allowWasiImports must be a boolean");
  return Object.freeze({ ...inspect, allowWasiImports });
}

/** Checks the `plugin` export: present, an interface, each function of the world with the world's type. */
function checkExports(inspection: ComponentInspection, errors: WitIssue[], extra: string[]): void {
  const name = pluginWorld.exportName;
  for (const item of inspection.exports) if (item.name !== name) extra.push(item.name);
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
    if (!pluginWorld.pluginFunctions.some((f) => f.name === actual.name)) extra.push(`${name}.${actual.name}`);
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
 * The verdict on a component as a clawft plugin: a component, exporting the `plugin`
 * interface with init / execute-tool / describe of the world's types (other exports
 * allowed and listed), importing nothing but the `host` interface with the world's
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
    });
    publish(verdict);
    return verdict;
  }
  const errors: WitIssue[] = [];
  const extraExports: string[] = [];
  const wasiImports: string[] = [];
  checkExports(inspection, errors, extraExports);
  checkImports(inspection, resolved.allowWasiImports, errors, wasiImports);
  const verdict: PluginVerdict = Object.freeze({
    ok: errors.length === 0,
    errors: Object.freeze(errors),
    imports: inspection.imports,
    exports: inspection.exports,
    extraExports: Object.freeze(extraExports),
    wasiImports: Object.freeze(wasiImports),
    wit: inspection.wit,
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
