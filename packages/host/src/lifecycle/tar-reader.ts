/**
 * A strict reader of an expanded tar stream held in memory (ustar, with pax `x` and GNU `L`
 * long-name records). It replaces the `tar` package at runtime: that package brings five more
 * packages into every install of `@clawft/host` (#15's ≤ 20 packages), and a plugin archive
 * only needs to be read, never written or extracted to disk.
 *
 * It only parses: every policy (entry types, paths, sizes, conflicts) stays in `readArchive`.
 */

/** One record of the stream, as the archive declares it. */
export interface TarEntry {
  /** The entry's path: the pax `path`, a GNU long name, or ustar prefix + name. */
  readonly path: string;
  /** The ustar type flag as one character (`"0"` file, `"5"` directory, ...). `"\0"` reads as `"0"`. */
  readonly type: string;
  /** The declared data size (pax `size` wins over the header field). */
  readonly size: number;
  /**
   * The entry's data: exactly `size` bytes, a view into the stream. Read it only after the
   * declared size passed the caller's limits (a huge size is refused from its header).
   */
  data(): Buffer;
}

/** Why a stream could not be read: the message is shown after "invalid plugin archive: ". */
export class TarFormatError extends Error {
  override readonly name = "TarFormatError";
}

const BLOCK = 512;

/** Reads NUL-terminated text of a header field. */
function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString("utf8");
}

/** Reads an octal (or GNU base-256) number field; refuses anything else. */
function numberField(block: Buffer, start: number, length: number, name: string): number {
  const raw = block.subarray(start, start + length);
  if (raw[0]! & 0x80) {
    // base-256: only positive values that fit a safe integer.
    if (raw[0] !== 0x80) throw new TarFormatError(`bad ${name} field`);
    let value = 0;
    for (let i = 1; i < raw.length; i++) {
      value = value * 256 + raw[i]!;
      if (!Number.isSafeInteger(value)) throw new TarFormatError(`${name} field too large`);
    }
    return value;
  }
  const text = field(block, start, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`bad ${name} field`);
  const value = parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw new TarFormatError(`${name} field too large`);
  return value;
}

/**
 * Checks a header's checksum (unsigned sum, or the signed sum some old tars wrote). Stops a
 * corrupted or hand-made header from being read as something else.
 */
function checksumMatches(block: Buffer): boolean {
  const stored = numberField(block, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** Parses pax `length key=value\n` records; refuses a malformed one. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) throw new TarFormatError("bad pax header");
    const length = Number(data.subarray(at, space).toString("latin1"));
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > data.length) {
      throw new TarFormatError("bad pax header");
    }
    const record = data.subarray(space + 1, at + length);
    if (record[record.length - 1] !== 0x0a) throw new TarFormatError("bad pax header");
    const text = record.subarray(0, -1).toString("utf8");
    const equals = text.indexOf("=");
    if (equals <= 0) throw new TarFormatError("bad pax header");
    records.set(text.slice(0, equals), text.slice(equals + 1));
    at += length;
  }
  return records;
}

/**
 * Reads every entry of an expanded tar stream, in order, calling `onEntry` for each (pax and
 * GNU long-name records are applied, not reported). Throws {@link TarFormatError} on a bad
 * checksum, a bad number field, a truncated stream, a record that names nothing, or a stream
 * without its end-of-archive marker (two zero blocks, as tar writes it; one is accepted).
 * `onEntry` may throw to stop reading.
 */
export function readTarStream(stream: Buffer, onEntry: (entry: TarEntry) => void): void {
  let at = 0;
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  while (true) {
    if (at + BLOCK > stream.length) throw new TarFormatError("truncated (no end-of-archive marker)");
    const block = stream.subarray(at, at + BLOCK);
    if (block.every((byte) => byte === 0)) {
      if (pax !== undefined || longName !== undefined) throw new TarFormatError("extended header names no entry");
      return;
    }
    if (!checksumMatches(block)) throw new TarFormatError(`bad header checksum at byte ${at}`);
    const typeByte = block[156]!;
    const type = typeByte === 0 ? "0" : String.fromCharCode(typeByte);
    const headerSize = numberField(block, 124, 12, "size");
    let size = headerSize;
    if (pax?.has("size") && type !== "x" && type !== "g" && type !== "L") {
      const paxSize = pax.get("size")!;
      if (!/^[0-9]+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) throw new TarFormatError("bad pax size");
      size = Number(paxSize);
    }
    const dataStart = at + BLOCK;
    const dataEnd = dataStart + size;
    const truncated = dataEnd > stream.length;
    const headerAt = at;
    const data = () => {
      if (truncated) throw new TarFormatError(`truncated entry at byte ${headerAt}`);
      return stream.subarray(dataStart, dataEnd);
    };
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === "x") {
      pax = paxRecords(data());
      continue;
    }
    if (type === "g") continue; // global pax defaults: nothing in them is used here
    if (type === "L") {
      const name = data();
      longName = field(name, 0, name.length);
      continue;
    }
    const ustar = field(block, 257, 6) === "ustar";
    const name = field(block, 0, 100);
    const prefix = ustar ? field(block, 345, 155) : "";
    const path = pax?.get("path") ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    pax = undefined;
    longName = undefined;
    onEntry({ path, type, size, data });
    // A consumer that skipped data() still must not walk past a truncated stream.
    if (truncated) throw new TarFormatError(`truncated entry at byte ${headerAt}`);
  }
}
