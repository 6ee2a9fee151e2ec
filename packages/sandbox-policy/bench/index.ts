/**
 * Per-call cost of the hot pure checks: `checkUrl` (string allowlist and a
 * prebuilt NetworkAllowlist) and `isPrivateIp`, over a few realistic inputs,
 * with `new URL()` and `net.isIP()` measured in the same run for reference.
 * Never asserts; writes bench/results/sandbox-policy.json.
 */
import { isIP } from "node:net";
import { writeBenchResults, type BenchRow } from "@clawft/test-utils";
import { Bench } from "tinybench";
import { checkUrl, isPrivateIp, NetworkAllowlist } from "../src/index.js";

const urls = [
  "https://api.weather.example/v1/forecast?city=Berlin&units=metric",
  "https://img.cdn.example/a/b/c.png",
  "http://127.0.0.1:8080/admin",
  "http://[::ffff:169.254.169.254]/latest/meta-data/",
  "https://evil.example/steal",
  "https://API.Weather.Example./v1/x",
  "file:///etc/passwd",
  "http://8.8.8.8/",
];
const network = ["api.weather.example", "*.cdn.example", "raw.githubusercontent.com", "8.8.8.8"];
const allowlist = new NetworkAllowlist(network);
const ips = [
  "93.184.215.14",
  "10.0.0.1",
  "169.254.169.254",
  "192.168.1.20",
  "2606:4700:4700::1111",
  "::ffff:127.0.0.1",
  "fe80::1",
  "2001:db8::1",
];

let sink = 0;
const tasks: Array<[string, number, () => void]> = [
  ["checkUrl (network as string[])", urls.length, () => {
    for (const u of urls) sink += checkUrl(u, network).ok ? 1 : 0;
  }],
  ["checkUrl (prebuilt NetworkAllowlist)", urls.length, () => {
    for (const u of urls) sink += checkUrl(u, allowlist).ok ? 1 : 0;
  }],
  ["new URL (reference)", urls.length, () => {
    for (const u of urls) sink += new URL(u).hostname.length;
  }],
  ["isPrivateIp", ips.length, () => {
    for (const ip of ips) sink += isPrivateIp(ip) ? 1 : 0;
  }],
  ["net.isIP (reference)", ips.length, () => {
    for (const ip of ips) sink += isIP(ip);
  }],
];

const bench = new Bench({ time: 2_000, warmupTime: 300 });
for (const [name, , fn] of tasks) bench.add(name, fn);
await bench.run();

const perCallUs = new Map<string, number>();
for (const task of bench.tasks) {
  const r = task.result;
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`);
  const n = tasks.find(([name]) => name === task.name)?.[1] ?? 1;
  perCallUs.set(task.name, (r.latency.mean * 1000) / n);
}
const us = (name: string): number => perCallUs.get(name) ?? Number.NaN;

const rows: BenchRow[] = [
  { id: "checkUrl per call (string[] allowlist)", value: us("checkUrl (network as string[])"), unit: "µs", target: 3 },
  { id: "checkUrl per call (prebuilt NetworkAllowlist)", value: us("checkUrl (prebuilt NetworkAllowlist)"), unit: "µs", target: 3 },
  { id: "checkUrl vs new URL alone", value: us("checkUrl (prebuilt NetworkAllowlist)"), unit: "µs", baseline: us("new URL (reference)") },
  { id: "isPrivateIp per call", value: us("isPrivateIp"), unit: "µs", target: 1 },
  { id: "isPrivateIp vs net.isIP", value: us("isPrivateIp"), unit: "µs", baseline: us("net.isIP (reference)") },
];
writeBenchResults("sandbox-policy", rows);
if (sink === -1) console.log(sink);
