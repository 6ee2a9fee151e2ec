/**
 * TLS through the pinned connection: the socket goes to the checked address
 * (127.0.0.1) while SNI and certificate verification use the host name.
 * The certificates are in test/fixtures/tls (generate.sh); their CA is trusted
 * for this package's test run only (vitest.config.ts).
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { clearConnectionAttempts, connectionAttempts } from "@clawft/test-utils";
import { describe, expect, it } from "vitest";
import { expectRefusal, tableResolver, testClient } from "./test-helpers.js";

const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/tls/${name}`, import.meta.url));

async function startTlsServer(certName: string): Promise<{ server: Server; port: number; sni: string[]; [Symbol.asyncDispose](): Promise<void> }> {
  const sni: string[] = [];
  const server = createServer(
    {
      key: fixture(`${certName}.key`),
      cert: fixture(`${certName}.crt`),
      SNICallback: (servername, cb) => {
        sni.push(servername);
        cb(null, undefined);
      },
    },
    (_req, res) => res.end("secure hello"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    sni,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("TLS with a pinned address", () => {
  it("connects to the pinned 127.0.0.1 with SNI api.test and verifies the certificate for api.test", async () => {
    await using tls = await startTlsServer("api.test");
    const resolve = tableResolver({ "api.test": ["127.0.0.1"] });
    await using client = testClient({ resolve });
    clearConnectionAttempts();
    const res = await client.request({ method: "GET", url: `https://api.test:${tls.port}/` });
    expect(res).toMatchObject({ status: 200, body: "secure hello" });
    expect(tls.sni).toEqual(["api.test"]);
    const tcp = connectionAttempts().filter((a) => a.kind === "tcp");
    expect(new Set(tcp.map((a) => a.address))).toEqual(new Set(["127.0.0.1"]));
    expect(connectionAttempts().filter((a) => a.kind === "dns")).toEqual([]);
  });

  it("refuses a certificate issued for another name (verification uses the host name, not the pinned address)", async () => {
    await using tls = await startTlsServer("other.test");
    await using client = testClient();
    const e = await expectRefusal(client.request({ method: "GET", url: `https://api.test:${tls.port}/` }), "HTTP_NETWORK", "network error");
    expect(e.message).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(tls.sni).toEqual(["api.test"]);
  });
});
