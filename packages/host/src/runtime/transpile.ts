/**
 * The code generator: jco's js-component-bindgen, as shipped by
 * `@bytecodealliance/jco-transpile` (the transpiler alone, without the jco CLI's
 * ~150 packages and native binaries).
 *
 * Imported only by `compile.ts`'s `prepareComponent`, which runs in the load worker
 * for an uncached component: a host whose components are all cached never loads it.
 *
 * Why `@bytecodealliance/jco-transpile/component` (the generator itself) and not the
 * package's `transpileBytes`: its root entry imports `oxc-minify` (a native addon)
 * at module load even when nothing is minified, and its `transpileBytes` defaults
 * `noComponentErrorWrapping` to true where jco 1.35's `transpile` (which the glue
 * patch in glue-loader.ts and the guard in jco-guard.ts were written against) keeps
 * ComponentError wrapping. Calling `generate` with jco 1.35's options gives the same
 * glue byte for byte, and loads neither oxc-minify nor binaryen.
 */
import { $init, generate } from "@bytecodealliance/jco-transpile/component";

/** What the generator produced: the glue (`plugin.js`), the core modules (`plugin.core*.wasm`) and the import names. */
export interface TranspiledComponent {
  /** Generated files by name: `plugin.js`, `plugin.core.wasm`, `plugin.core2.wasm`, … */
  readonly files: Record<string, Uint8Array>;
  /** The component's imports as the generator names them (interface names). */
  readonly imports: string[];
}

/**
 * Transpiles a component to jco's async-instantiation glue plus its core modules,
 * with the options jco 1.35's `transpile(bytes, { name: "plugin", instantiation:
 * "async", noTypescript: true, base64Cutoff: 0, wasiShim: false })` used.
 */
export async function transpileComponent(wasm: Uint8Array): Promise<TranspiledComponent> {
  await $init;
  const generated = generate(wasm, {
    name: "plugin",
    instantiation: { tag: "async" },
    noTypescript: true,
    // Never inline core modules as base64 into the glue: every one must come
    // through getCoreModule so that it is metered.
    base64Cutoff: 0,
    // No module map: with an instantiation mode the host supplies every import itself.
    map: [],
    // jco 1.35's default (ComponentError wrapping kept); jco-transpile's would be true.
    noComponentErrorWrapping: false,
    validLiftingOptimization: false,
    tracing: false,
    tlaCompat: false,
    noNodejsCompat: false,
    noNamespacedExports: false,
    multiMemory: false,
    bindgenEnableWasmExnref: false,
    strict: false,
    flagsAsBigint: false,
    variantsInlineCases: false,
    useNamespaceObjects: false,
    enumValuesScreamingSnakeCase: false,
    asmjs: false,
  });
  return { files: Object.fromEntries(generated.files), imports: generated.imports };
}
