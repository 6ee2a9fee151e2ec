import { componentFromWat, fixtureSources } from "@clawft/wasm-fixtures";

/**
 * A ~300 KB component for uncached-load benches: tool-basic padded with 2,600 generated
 * functions. `salt` changes every constant, so each salt is a component no cache has seen.
 */
export async function bigComponent(salt: number): Promise<Uint8Array> {
  const src = await fixtureSources("tool-basic");
  const funcs: string[] = [];
  for (let i = 0; i < 2600; i++) {
    const body = Array.from({ length: 12 }, (_, k) => `(local.set $x (i32.add (local.get $x) (i32.const ${(i * 31 + k * 7 + salt) % 100000})))`).join(" ");
    funcs.push(`(func $pad${i} (param $x i32) (result i32) ${body} (local.get $x))`);
  }
  const marker = ";; ---- defaults and exports (builder) ----";
  const wat = src.wat.replace(marker, `${funcs.join("\n")}\n(func $keep (export "pad-keep") (result i32) (call $pad0 (i32.const ${salt})))\n${marker}`);
  return componentFromWat(wat, src.wit, src.world);
}
