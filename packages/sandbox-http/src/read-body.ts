/** What `readLimited` collected. */
export interface LimitedBody {
  /** The first `min(total, limit)` bytes. */
  bytes: Buffer;
  /** True when the stream had more than `limit` bytes (and was destroyed). */
  truncated: boolean;
}

/** The parts of undici's body stream `readLimited` uses. */
export interface DestroyableAsyncIterable extends AsyncIterable<Uint8Array> {
  destroy(error?: Error): unknown;
}

/**
 * Reads at most `limit` bytes of `body`, counting as it goes, and destroys the
 * stream as soon as more arrive. Stops a server from filling the host's memory
 * with an endless or huge response: at most `limit` bytes plus one chunk are
 * ever held, and the connection is closed rather than drained.
 */
export async function readLimited(body: DestroyableAsyncIterable, limit: number): Promise<LimitedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (size + buf.length > limit) {
      chunks.push(buf.subarray(0, limit - size));
      size = limit;
      truncated = true;
      break;
    }
    chunks.push(buf);
    size += buf.length;
  }
  // Breaking out of `for await` calls the iterator's `return()`, which destroys
  // the stream; do it explicitly too so the connection is never drained.
  if (truncated) body.destroy();
  return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), truncated };
}

/**
 * Decodes `bytes` as UTF-8. Invalid sequences become U+FFFD (the body is text
 * for the plugin; a binary response is not an error). A byte-order mark is
 * kept, not stripped. When `truncated`, an incomplete character at the end
 * (cut by the byte limit) is dropped instead of becoming U+FFFD, so the text
 * holds the first `bytes.length` bytes minus at most 3.
 */
export function decodeUtf8(bytes: Uint8Array, truncated: boolean): string {
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  // With `stream: true` the decoder keeps an incomplete trailing sequence back
  // instead of emitting U+FFFD for it: exactly "never cut a character".
  return decoder.decode(bytes, { stream: truncated });
}
