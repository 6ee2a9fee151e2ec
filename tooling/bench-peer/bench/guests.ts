/**
 * The guests both sides run, from WAT in this file (clawft side: the fixtures of
 * @clawft/wasm-fixtures; Extism side: core modules speaking the Extism PDK ABI, the
 * imports of `extism:host/env` as the JS SDK (1.0.3 and 2.0.0-rc13) defines them:
 * addresses are i64 with the block index in the top 16 bits).
 *
 * The same logic on both sides:
 *  - `echo`: returns its input unchanged (the no-op call; the bench sends `null`, valid
 *    JSON, so the clawft side pays no JSON exception: issue #17 point 5);
 *  - `env`: calls a host function COUNT times with the name `BENCH_VAR` and returns
 *    (clawft: `get-env`, answered none; Extism: a `extism:host/user` function that reads
 *    the name's block and answers 0, no value);
 *  - a ~300 KB variant of `echo`: the same 2,600 generated functions on both sides, with
 *    every constant changed by a salt, so each salt is a module no cache has seen.
 */
import { parse } from "@bytecodealliance/jco";
import { buildFixture, componentFromWat, fixtureSources } from "@clawft/wasm-fixtures";
import { BENCH_VAR } from "./constants.js";

/** The generated functions of the ~300 KB guests (the host bench's big-component padding). */
function padding(salt: number): string {
  const funcs: string[] = [];
  for (let i = 0; i < 2600; i++) {
    const body = Array.from({ length: 12 }, (_, k) => `(local.set $x (i32.add (local.get $x) (i32.const ${(i * 31 + k * 7 + salt) % 100000})))`).join(" ");
    funcs.push(`(func $pad${i} (param $x i32) (result i32) ${body} (local.get $x))`);
  }
  funcs.push(`(func $keep (export "pad-keep") (result i32) (call $pad0 (i32.const ${salt})))`);
  return funcs.join("\n");
}

/** The Extism guest: `echo` and `env`, plus optional padding functions. */
function extismWat(extra = ""): string {
  return `(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/user" "get_env" (func $get_env (param i64) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "${BENCH_VAR}")

  ;; Copies the input into a new block and makes it the output.
  (func $echo_input
    (local $len i64) (local $out i64) (local $i i64)
    (local.set $len (call $input_length))
    (local.set $out (call $alloc (local.get $len)))
    (block $words
      (loop $next
        (br_if $words (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $len)))
        (call $store_u64 (i64.add (local.get $out) (local.get $i)) (call $input_load_u64 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br $next)))
    (block $bytes
      (loop $next
        (br_if $bytes (i64.ge_u (local.get $i) (local.get $len)))
        (call $store_u8 (i64.add (local.get $out) (local.get $i)) (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (call $output_set (local.get $out) (local.get $len)))

  (func (export "echo") (result i32)
    (call $echo_input)
    (i32.const 0))

  ;; input: COUNT in decimal. Calls get_env(BENCH_VAR) COUNT times; output: the input.
  (func (export "env") (result i32)
    (local $len i64) (local $i i64) (local $count i64) (local $key i64) (local $answer i64) (local $k i32)
    (local.set $len (call $input_length))
    (block $digits
      (loop $next
        (br_if $digits (i64.ge_u (local.get $i) (local.get $len)))
        (local.set $count (i64.add (i64.mul (local.get $count) (i64.const 10))
          (i64.extend_i32_u (i32.sub (call $input_load_u8 (local.get $i)) (i32.const 48)))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (local.set $key (call $alloc (i64.const ${BENCH_VAR.length})))
    (block $copied
      (loop $next
        (br_if $copied (i32.ge_u (local.get $k) (i32.const ${BENCH_VAR.length})))
        (call $store_u8 (i64.add (local.get $key) (i64.extend_i32_u (local.get $k))) (i32.load8_u (local.get $k)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $i (i64.const 0))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $count)))
        (local.set $answer (call $get_env (local.get $key)))
        (if (i64.ne (local.get $answer) (i64.const 0)) (then (call $free (local.get $answer))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (call $free (local.get $key))
    (call $echo_input)
    (i32.const 0))
  ${extra}
)`;
}

/** The Extism guest (`echo`, `env`) as a core module. */
export function extismGuest(): Promise<Uint8Array> {
  return parse(extismWat());
}

/** The ~300 KB Extism guest: `echo` and `env` plus the padding of `salt`. */
export function bigExtismGuest(salt: number): Promise<Uint8Array> {
  return parse(extismWat(padding(salt)));
}

/** The clawft no-op guest: tool-basic, whose `echo` tool returns its params unchanged. */
export function clawftEchoGuest(): Promise<Uint8Array> {
  return buildFixture("tool-basic");
}

/** The clawft host-call guest: slow-host-call, whose `env [count, name]` tool calls get-env count times. */
export function clawftEnvGuest(): Promise<Uint8Array> {
  return buildFixture("slow-host-call");
}

/** The ~300 KB clawft guest: tool-basic plus the padding of `salt`. */
export async function bigClawftGuest(salt: number): Promise<Uint8Array> {
  const src = await fixtureSources("tool-basic");
  const marker = ";; ---- defaults and exports (builder) ----";
  if (!src.wat.includes(marker)) throw new Error(`tool-basic's WAT has no "${marker}" line to pad before`);
  return componentFromWat(src.wat.replace(marker, `${padding(salt)}\n${marker}`), src.wit, src.world);
}
