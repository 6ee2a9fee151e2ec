import { debuglog } from "node:util";
import { WitOptionsError, WitValidationError } from "./errors.js";
import { resolveComponentLimits, scanComponent, type ComponentLimits, type ComponentScan, type ResolvedComponentLimits } from "./scan.js";
import { parseWit, type WitFunction } from "./wit-text.js";

const debug = debuglog("clawft");

/** One import or export of a component. */
export interface ComponentItem {
  /** `host`, `plugin`, `init`, `wasi:cli/environment@0.2.3` */
  readonly name: string;
  /** An interface (inline or named) or a function directly in the world. */
  readonly kind: "interface" | "function";
  /** The interface the item is or belongs to: `host` (inline), `wasi:cli/environment@0.2.3`; undefined for a world-level function. */
  readonly interface: string | undefined;
  /** The package of a named interface (`wasi:cli@0.2.3`); undefined for inline interfaces and functions. */
  readonly package: string | undefined;
  /** True for an inline `name: interface { … }`. */
  readonly inline: boolean;
  /** True for a `wasi:*` interface. */
  readonly wasi: boolean;
  /**
   * The functions with their WIT signatures: those of an inline interface, or
   * the function itself. Undefined for a named interface, whose body jco's
   * `componentWit` does not print.
   */
  readonly functions: readonly WitFunction[] | undefined;
}

export interface ComponentInspection {
  readonly imports: readonly ComponentItem[];
  readonly exports: readonly ComponentItem[];
  /** The component's WIT as jco prints it (`componentWit`). */
  readonly wit: string;
  /** What the strict binary scan counted (type complexity, structure, `host` imports of the component and of its core modules). */
  readonly scan: ComponentScan;
}

export interface InspectOptions {
  /**
   * Inputs larger than this are refused before decoding (`WIT_TOO_LARGE`).
   * @default 67108864 (64 MiB)
   */
  maxBytes?: number;
  /**
   * Type-complexity and structure limits, checked by a strict scan of the binary
   * before jco decodes it (`WIT_TOO_COMPLEX`); see `scanComponent`.
   * @default DEFAULT_COMPONENT_LIMITS
   */
  limits?: ComponentLimits;
}

interface ResolvedInspectOptions {
  readonly maxBytes: number;
  readonly limits: ResolvedComponentLimits;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

export function resolveInspectOptions(options: InspectOptions = {}): ResolvedInspectOptions {
  if (typeof options !== "object" || options === null) throw new WitOptionsError("options must be an object");
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new WitOptionsError("maxBytes must be a positive integer");
  return Object.freeze({ maxBytes, limits: resolveComponentLimits(options.limits) });
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** What the first 8 bytes say: a component (`\0asm` 0d 00 01 00), a core module (`\0asm` 01 00 00 00), or neither. */
export function wasmKind(bytes: Uint8Array): "component" | "module" | "unknown" {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) return "unknown";
  const [v0, v1, l0, l1] = [bytes[4], bytes[5], bytes[6], bytes[7]];
  if (v0 === 0x01 && v1 === 0x00 && l0 === 0x00 && l1 === 0x00) return "module";
  if (l0 === 0x01 && l1 === 0x00) return "component";
  return "unknown";
}

function toBytes(input: unknown): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new WitValidationError("WIT_NOT_A_COMPONENT", "not a WebAssembly component: expected a Uint8Array or ArrayBuffer");
}

/**
 * Refuses what is not a component before jco's decoder sees it.
 * Stops: a core module passed off as a plugin (it would bypass the world's
 * import rules), oversized input meant to exhaust the decoder's memory.
 */
function checkPreamble(bytes: Uint8Array, options: ResolvedInspectOptions): void {
  if (bytes.length > options.maxBytes) {
    throw new WitValidationError("WIT_TOO_LARGE", `component too large: ${bytes.length} bytes, the limit is ${options.maxBytes}`);
  }
  const kind = wasmKind(bytes);
  if (kind === "module") {
    throw new WitValidationError(
      "WIT_NOT_A_COMPONENT",
      "not a WebAssembly component: this is a core WebAssembly module (build a component for the clawft:plugin world, e.g. with wit-bindgen + wasm-tools component new, componentize-qjs, or jco new)",
    );
  }
  if (kind === "unknown") {
    throw new WitValidationError(
      "WIT_NOT_A_COMPONENT",
      bytes.length === 0 ? "not a WebAssembly component: empty input" : "not a WebAssembly component: no component preamble (\\0asm, version 0x0d, layer 1)",
    );
  }
}

/**
 * The imports and exports of a component, read by jco's own decoder
 * (`componentWit`), with the function signatures of inline interfaces.
 * Throws a `WitValidationError` (`WIT_NOT_A_COMPONENT`, `WIT_INVALID_COMPONENT`, `WIT_TOO_LARGE`, `WIT_TOO_COMPLEX`).
 */
export async function inspectComponent(input: Uint8Array | ArrayBuffer, options?: InspectOptions): Promise<ComponentInspection> {
  const resolved = resolveInspectOptions(options);
  const bytes = toBytes(input);
  checkPreamble(bytes, resolved);
  // Before jco's decoder: it prints every type expanded, so a type bomb would cost it as much as the glue.
  const scan = scanComponent(bytes, resolved.limits);
  // Loaded on first use: jco-transpile's wasm-tools is ~15k lines of glue and two core modules.
  const { componentWit } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  let wit: string;
  try {
    wit = await componentWit(bytes);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new WitValidationError("WIT_INVALID_COMPONENT", `invalid component: jco cannot decode it (${detail})`, { cause: error });
  }
  let doc;
  try {
    doc = parseWit(wit);
  } catch (error) {
    throw new WitValidationError("WIT_INVALID_COMPONENT", `invalid component: its WIT cannot be read (${(error as Error).message})`, {
      cause: error,
    });
  }
  const world = [...(doc.packages[0]?.worlds.values() ?? [])][0];
  if (world === undefined) throw new WitValidationError("WIT_INVALID_COMPONENT", "invalid component: jco printed no world for it");
  const imports: ComponentItem[] = [];
  const exports: ComponentItem[] = [];
  for (const item of world.items) {
    let entry: ComponentItem;
    if (item.kind === "function") {
      entry = { name: item.name, kind: "function", interface: undefined, package: undefined, inline: false, wasi: false, functions: [item.function] };
    } else {
      const named = /^([^:/@]+:[^:/@]+)\/[^:/@]+(?:@(.+))?$/.exec(item.name);
      entry = {
        name: item.name,
        kind: "interface",
        interface: item.name,
        package: named ? `${named[1]}${named[2] ? `@${named[2]}` : ""}` : undefined,
        inline: item.inline,
        wasi: item.name.startsWith("wasi:"),
        functions: item.interface?.functions,
      };
    }
    (item.direction === "import" ? imports : exports).push(Object.freeze(entry));
  }
  debug("inspectComponent: %d bytes, imports [%s], exports [%s]", bytes.length, imports.map((i) => i.name).join(", "), exports.map((e) => e.name).join(", "));
  return Object.freeze({ imports: Object.freeze(imports), exports: Object.freeze(exports), wit, scan });
}
