/**
 * Generates large synthetic core modules for the instrumentation benches,
 * directly in the binary format (no committed binaries, no huge WAT text):
 * `functions` functions of type (i32) -> i32, each with `blocksPerFunction`
 * copies of a block { loop { counter; if { load, xor } else { call } ; br_if } }.
 */

import { concatBytes, writeU32 } from "../src/binary.js";

/** Unsigned LEB128, with the encoder the metering binary patcher uses. */
function uleb(n: number): number[] {
  const out: number[] = [];
  writeU32(out, n);
  return out;
}

function section(id: number, body: number[] | Uint8Array): Uint8Array {
  const header = [id, ...uleb(body.length)];
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

function functionBody(index: number, blocks: number): number[] {
  const callee = uleb(index === 0 ? 0 : index - 1);
  const chunk = [
    0x02, 0x40, // block
    0x03, 0x40, // loop
    0x20, 0x01, 0x41, 0x01, 0x6a, 0x22, 0x01, // local.get 1; i32.const 1; i32.add; local.tee 1
    0x20, 0x00, 0x49, // local.get 0; i32.lt_u
    0x04, 0x40, // if
    0x20, 0x01, 0x41, 0x03, 0x6c, 0x41, 0x80, 0x08, 0x70, // (local.get 1 * 3) rem_u 1024
    0x28, 0x02, 0x00, 0x20, 0x00, 0x73, 0x1a, // i32.load; local.get 0; i32.xor; drop
    0x05, // else
    0x20, 0x00, 0x10, ...callee, 0x1a, // call; drop
    0x0b, // end if
    0x20, 0x01, 0x41, 0xe4, 0x00, 0x49, 0x0d, 0x00, // local.get 1 < 100 -> br_if loop
    0x0b, 0x0b, // end loop, end block
  ];
  const code: number[] = [0x01, 0x01, 0x7f]; // one local i32
  for (let i = 0; i < blocks; i++) code.push(...chunk);
  code.push(0x20, 0x01, 0x0b); // local.get 1; end
  return [...uleb(code.length), ...code];
}

/** A module of about `targetBytes` bytes. */
export function generateModule(targetBytes: number, blocksPerFunction = 20): Uint8Array {
  const perFunction = functionBody(1, blocksPerFunction).length;
  const functions = Math.max(1, Math.round(targetBytes / perFunction));
  const parts: Uint8Array[] = [Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])];
  parts.push(section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]));
  const funcs: number[] = [...uleb(functions)];
  for (let i = 0; i < functions; i++) funcs.push(0);
  parts.push(section(3, funcs));
  parts.push(section(5, [1, 0x00, 1]));
  parts.push(section(7, [1, 1, 0x66, 0x00, 0x00])); // export "f" = func 0
  const bodies: number[][] = [];
  let size = 0;
  for (let i = 0; i < functions; i++) {
    const b = functionBody(i, blocksPerFunction);
    bodies.push(b);
    size += b.length;
  }
  const countBytes = uleb(functions);
  const code = new Uint8Array(countBytes.length + size);
  code.set(countBytes, 0);
  let off = countBytes.length;
  for (const b of bodies) {
    code.set(b, off);
    off += b.length;
  }
  parts.push(section(10, code));
  return concatBytes(parts);
}
