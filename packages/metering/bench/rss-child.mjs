// Child process of the bench, run with plain `node` (not tsx, whose loader
// itself uses ~1.5 GB transforming binaryen's 14 MB index.js): instruments the
// module in argv[2] with the built package and prints peak RSS as JSON.
import { readFileSync } from "node:fs";
import { meterModule } from "../dist/index.js";

const input = new Uint8Array(readFileSync(process.argv[2]));
meterModule(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])); // loads the rewriter
const before = process.resourceUsage().maxRSS * 1024;
const started = performance.now();
const cpu = process.cpuUsage();
const { bytes } = meterModule(input);
const cpuUsed = process.cpuUsage(cpu);
const ms = performance.now() - started;
const after = process.resourceUsage().maxRSS * 1024;
process.stdout.write(
  JSON.stringify({ before, after, ms, cpuMs: (cpuUsed.user + cpuUsed.system) / 1000, inputBytes: input.length, outputBytes: bytes.length }),
);
