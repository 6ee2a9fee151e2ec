// Child process of the bench, run with plain `node` (not tsx, whose loader
// would add its own memory): instruments the module in argv[2] with the built
// package and prints peak RSS as JSON.
import { readFileSync } from "node:fs";
import { meterModule } from "../dist/index.js";

/**
 * Peak RSS of this process in bytes. On Linux from /proc/self/status (VmHWM):
 * getrusage's maxRSS of a freshly spawned child can report the parent's peak
 * (the bench parent, with binaryen loaded, is bigger than this child).
 */
function peakRss() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

const input = new Uint8Array(readFileSync(process.argv[2]));
meterModule(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])); // loads the rewriter
const before = peakRss();
const started = performance.now();
const cpu = process.cpuUsage();
const { bytes } = meterModule(input);
const cpuUsed = process.cpuUsage(cpu);
const ms = performance.now() - started;
const after = peakRss();
process.stdout.write(
  JSON.stringify({ before, after, ms, cpuMs: (cpuUsed.user + cpuUsed.system) / 1000, inputBytes: input.length, outputBytes: bytes.length }),
);
