/**
 * GET of a small body from a loopback server: through SandboxedHttpClient
 * (method/header/URL checks, rate counter, injected resolver, private-address
 * check, pinned keep-alive pool, limited reader, audit) against plain undici
 * `request` (global dispatcher, keep-alive) on the same server in the same run.
 * Never asserts; writes bench/results/sandbox-http.json.
 */
import { startLoopbackServer, writeBenchResults } from "@clawft/test-utils";
import { Bench } from "tinybench";
import { request } from "undici";
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

// Two rounds in opposite orders, so that neither side profits from running second on a shared CPU.
const means = new Map<string, number[]>();
for (const order of [tasks, [...tasks].reverse()]) {
  const bench = new Bench({ time: 3_000, warmupTime: 500 });
  for (const [name, fn] of order) bench.add(name, fn);
  await bench.run();
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`);
    means.set(task.name, [...(means.get(task.name) ?? []), r.latency.mean * 1000]);
  }
}
const avg = (xs: number[] | undefined) => (xs ?? [0]).reduce((a, b) => a + b, 0) / (xs ?? [0]).length;
const baseline = avg(means.get("undici request (baseline)"));
const value = avg(means.get("SandboxedHttpClient.request"));

writeBenchResults("sandbox-http", [
  { id: "http.get-small-body.loopback", value, unit: "µs/op", baseline, target: 1.3 },
]);

await client.close();
await server.close();
