import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface LoopbackRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

export type LoopbackHandler = (
  req: IncomingMessage & { body: Buffer },
  res: ServerResponse,
) => void | Promise<void>;

export interface LoopbackServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every request received, in order (body fully read). */
  readonly requests: LoopbackRequest[];
  /** How many TCP connections were accepted. Refusal tests assert this stays 0. */
  readonly connectionCount: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a real HTTP server on a loopback address (127.0.0.1 by default, any
 * 127.0.0.0/8 address allowed) on an ephemeral port. The default handler answers
 * `200 {"ok":true}`.
 */
export async function startLoopbackServer(
  handler?: LoopbackHandler,
  options: { host?: string } = {},
): Promise<LoopbackServer> {
  const host = options.host ?? "127.0.0.1";
  if (!host.startsWith("127.")) throw new Error(`loopback server must bind 127.0.0.0/8, got ${host}`);
  const requests: LoopbackRequest[] = [];
  const sockets = new Set<Socket>();
  let connectionCount = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
    try {
      if (handler) await handler(Object.assign(req, { body }), res);
      else {
        res.setHeader("content-type", "application/json");
        res.end('{"ok":true}');
      }
    } catch (error) {
      if (!res.headersSent) res.statusCode = 500;
      res.end(String(error));
    }
  });
  server.on("connection", (socket: Socket) => {
    connectionCount++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    requests,
    get connectionCount() {
      return connectionCount;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
