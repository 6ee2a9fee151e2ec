/**
 * Child process of the bench: instruments the module in argv[2] and prints
 * peak RSS before and after as JSON, so the parent's own memory does not count.
 */
import { readFileSync } from "node:fs";
import { meterModule } from "../src/index.js";

const input = new Uint8Array(readFileSync(process.argv[2] as string));
try {
  meterModule(tiny()); // loads binaryen
} catch {
  // an empty module is fine too
}
const before = process.resourceUsage().maxRSS * 1024;
const started = performance.now();
const { bytes } = meterModule(input);
const ms = performance.now() - started;
const after = process.resourceUsage().maxRSS * 1024;
process.stdout.write(JSON.stringify({ before, after, ms, inputBytes: input.length, outputBytes: bytes.length }));

function tiny(): Uint8Array {
  return Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
}
