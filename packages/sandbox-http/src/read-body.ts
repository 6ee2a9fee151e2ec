/**
 * Collects a response body up to `limit` bytes. Stops a server from filling
 * the host's memory with an endless or huge response: at most `limit` bytes
 * are kept, and `push` says when to stop reading so the caller can abort the
 * request (closing the connection rather than draining it).
 */
export class ByteCollector {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #truncated = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Adds a chunk; returns false once the body went past the limit (keep nothing more, stop reading). */
  push(chunk: Uint8Array): boolean {
    if (this.#truncated) return false;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#size + buf.length > this.limit) {
      const room = this.limit - this.#size;
      if (room > 0) this.#chunks.push(buf.subarray(0, room));
      this.#size = this.limit;
      this.#truncated = true;
      return false;
    }
    this.#chunks.push(buf);
    this.#size += buf.length;
    return true;
  }

  /** True when more than `limit` bytes arrived. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Bytes kept (at most `limit`). */
  get size(): number {
    return this.#size;
  }

  /** The bytes kept, in order. */
  bytes(): Buffer {
    const chunks = this.#chunks;
    if (chunks.length === 1) return chunks[0]!;
    return Buffer.concat(chunks, this.#size);
  }
}

/**
 * Decodes `bytes` as UTF-8. Invalid sequences become U+FFFD (the body is text
 * for the plugin; a binary response is not an error). A byte-order mark is
 * kept, not stripped. When `truncated`, an incomplete character at the end
 * (cut by the byte limit) is dropped instead of becoming U+FFFD, so the text
 * holds the first `bytes.length` bytes minus at most 3.
 */
export function decodeUtf8(bytes: Buffer, truncated: boolean): string {
  // Buffer#toString keeps a BOM and replaces invalid sequences with U+FFFD.
  if (!truncated) return bytes.toString("utf8");
  // With `stream: true` the decoder keeps an incomplete trailing sequence back
  // instead of emitting U+FFFD for it: exactly "never cut a character".
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(bytes, { stream: true });
}
