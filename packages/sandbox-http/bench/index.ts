/**
 * GET of a small body from a loopback server: through SandboxedHttpClient
 * (method/header/URL checks, rate counter, injected resolver, private-address
 * check, pinned keep-alive pool, limited reader, audit) against plain undici
 * `request` (global dispatcher, keep-alive) on the same server in the same run.
 * Also the `allowPrivateCidrs` check per resolved address (`CidrList#contains`,
 * shared with sandbox-policy) against a memo `Map#get` (what the client used to
 * put in front of `net.BlockList#check`): it shows whether a memo would pay.
 * Never asserts; writes bench/results/sandbox-http.json.
 */
import { startLoopbackServer, writeBenchResults } from "@clawft/test-utils";
import { Bench } from "tinybench";
import { request } from "undici";
import { CidrList } from "@clawft/sandbox-policy";
import { SandboxedHttpClient } from "../src/index.js";

const server = await startLoopbackServer((_req, res) => {
  res.setHeader("content-type", "application/json");
  res.end('{"ok":true,"items":[1,2,3]}');
});

const client = new SandboxedHttpClient({
  pluginId: "com.example.bench",
  pluginVersion: "1.0.0",
  network: ["api.test"],
  resolve: async () => ["127.0.0.1"],
  allowPrivateCidrs: ["127.0.0.1/32"],
  // High enough that the bench never meets the rate limit.
  maxRequestsPerMinute: 2 ** 31,
});

const clientUrl = `http://api.test:${server.port}/data?x=1`;
const plainUrl = `${server.url}/data?x=1`;

const tasks: Array<[string, () => Promise<void>]> = [
  [
    "undici request (baseline)",
    async () => {
      const res = await request(plainUrl);
      await res.body.text();
    },
  ],
  [
    "SandboxedHttpClient.request",
    async () => {
      await client.request({ method: "GET", url: clientUrl, headers: [["accept", "application/json"]] });
    },
  ],
];

// Many short rounds in alternating order. On a shared, busy CPU the load
// changes from second to second; within one short round both sides see about
// the same load, so the round whose ratio is the median is reported (its two
// measured means, as value and baseline).
const rounds: Array<{ value: number; baseline: number }> = [];
for (let round = 0; round < 11; round++) {
  const order = round % 2 === 0 ? tasks : [...tasks].reverse();
  const bench = new Bench({ time: 400, warmupTime: round === 0 ? 500 : 100 });
  for (const [name, fn] of order) bench.add(name, fn);
  await bench.run();
  const mean = (name: string): number => {
    const r = bench.getTask(name)?.result;
    if (r?.state !== "completed") throw new Error(`${name}: ${r?.state ?? "missing"}`);
    return r.latency.mean * 1000;
  };
  rounds.push({ value: mean("SandboxedHttpClient.request"), baseline: mean("undici request (baseline)") });
}
rounds.sort((x, y) => x.value / x.baseline - y.value / y.baseline);
const { value, baseline } = rounds[Math.floor(rounds.length / 2)]!;

const cidrs = new CidrList(["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
const memo = new Map<string, boolean>([["127.0.0.1", true], ["fd00::1", true]]);
let sink = 0;
const micro = new Bench({ time: 300, warmupTime: 100 });
micro.add("CidrList#contains v4", () => {
  if (cidrs.contains("127.0.0.1")) sink++;
});
micro.add("CidrList#contains v6", () => {
  if (cidrs.contains("fd00::1")) sink++;
});
micro.add("memo Map#get (baseline)", () => {
  if (memo.get("127.0.0.1") === true) sink++;
});
await micro.run();
const ns = (name: string): number => {
  const r = micro.getTask(name)?.result;
  if (r?.state !== "completed") throw new Error(`${name}: ${r?.state ?? "missing"}`);
  return r.latency.mean * 1e6;
};
if (sink < 0) console.log(sink);

writeBenchResults("sandbox-http", [
  { id: "http.get-small-body.loopback", value, unit: "µs/op", baseline, target: 1.3 },
  { id: "http.allow-private-cidrs.contains-v4", value: ns("CidrList#contains v4"), unit: "ns/op", baseline: ns("memo Map#get (baseline)") },
  { id: "http.allow-private-cidrs.contains-v6", value: ns("CidrList#contains v6"), unit: "ns/op", baseline: ns("memo Map#get (baseline)") },
]);

await client.close();
await server.close();
