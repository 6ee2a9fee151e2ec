/**
 * The WebAssembly binary format basics shared by the metering code: the
 * LEB128 reader and writer, the section list, and a reader/patcher of
 * imports, memories and tables (the caps are written into the limits of the
 * rewritten module). Only called on input that `WebAssembly.validate`
 * accepted, or on the rewriter's own output; anything unexpected throws
 * {@link BinaryFormatError}.
 */

export class BinaryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BinaryFormatError";
  }
}

export interface Limits {
  initial: number;
  max: number | undefined;
  shared: boolean;
}

export interface MemoryOrTable {
  imported: boolean;
  /** `module.name` of the import, when imported. */
  importName?: string;
  limits: Limits;
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: number;
}

export interface ModuleShape {
  imports: ImportEntry[];
  memories: MemoryOrTable[];
  tables: MemoryOrTable[];
}

const SECTION_IMPORT = 2;
const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;

/** Reads LEB128 numbers, bytes and names from a slice of a module, with bounds checks. */
export class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }
  byte(): number {
    if (this.pos >= this.end) throw new BinaryFormatError("unexpected end of section");
    return this.bytes[this.pos++] as number;
  }
  u32(): number {
    const first = this.bytes[this.pos] as number;
    if (first < 0x80 && this.pos < this.end) {
      // One-byte LEB128 (most indices and counts).
      this.pos++;
      return first;
    }
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffff_ffff) throw new BinaryFormatError("u32 out of range");
        return result;
      }
      shift += 7;
    }
    throw new BinaryFormatError("u32 LEB128 too long");
  }
  /** Skips a signed LEB128 of up to 64 bits. */
  skipSleb(): void {
    for (let i = 0; i < 10; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    throw new BinaryFormatError("LEB128 too long");
  }
  /** Skips `n` bytes. */
  skip(n: number): void {
    if (this.pos + n > this.end) throw new BinaryFormatError("unexpected end of section");
    this.pos += n;
  }
  name(): string {
    const len = this.u32();
    if (this.pos + len > this.end) throw new BinaryFormatError("name past end of section");
    const s = new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  refOrValType(): void {
    const b = this.byte();
    // (ref null ht) / (ref ht): a heap type follows as s33.
    if (b === 0x63 || b === 0x64) this.skipSleb();
  }
  limits(): Limits {
    const flags = this.byte();
    if (flags > 3) throw new BinaryFormatError(`unsupported limits flags 0x${flags.toString(16)} (64-bit memory or table?)`);
    const initial = this.u32();
    const max = flags & 1 ? this.u32() : undefined;
    return { initial, max, shared: (flags & 2) !== 0 };
  }
}

/** Appends `value` as an unsigned LEB128. */
export function writeU32(out: number[], value: number): void {
  let v = value;
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

/**
 * A growable output buffer with the LEB128 encoders of the format (the
 * binary rewriter writes whole modules through it).
 */
/** The pieces one after another in one new array. */
export function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of pieces) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of pieces) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export class ByteWriter {
  bytes: Uint8Array;
  pos = 0;
  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(capacity);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = b;
  }
  /** Unsigned LEB128 (minimal). */
  u32(value: number): void {
    this.ensure(5);
    let v = value;
    do {
      let b = v & 0x7f;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.bytes[this.pos++] = b;
    } while (v !== 0);
  }
  /** Signed LEB128 of a safe integer (i32.const / i64.const immediates). */
  sleb(value: number): void {
    this.ensure(10);
    let v = value;
    for (;;) {
      const b = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      this.bytes[this.pos++] = done ? b : b | 0x80;
      if (done) return;
    }
  }
  /** Copies `src[start, end)`. */
  copy(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 64) {
      // Short runs (between two patches) are cheaper as a loop than as a subarray + set.
      const out = this.bytes;
      let pos = this.pos;
      for (let i = start; i < end; i++) out[pos++] = src[i] as number;
      this.pos = pos;
      return;
    }
    this.bytes.set(src.subarray(start, end), this.pos);
    this.pos += n;
  }
  /** Reserves room for a size prefix; {@link endSized} fills it in. */
  beginSized(): number {
    this.ensure(5);
    this.pos += 5;
    return this.pos;
  }
  /** Writes the size of what was written since `beginSized` as a minimal LEB128 before it. */
  endSized(contentStart: number): void {
    const size = this.pos - contentStart;
    const head: number[] = [];
    writeU32(head, size);
    const at = contentStart - 5;
    const shift = 5 - head.length;
    for (let i = 0; i < head.length; i++) this.bytes[at + i] = head[i] as number;
    if (shift > 0) {
      this.bytes.copyWithin(at + head.length, contentStart, this.pos);
      this.pos -= shift;
    }
  }
  result(): Uint8Array {
    return this.bytes.slice(0, this.pos);
  }
}

function writeLimits(out: number[], l: Limits): void {
  out.push((l.max === undefined ? 0 : 1) | (l.shared ? 2 : 0));
  writeU32(out, l.initial);
  if (l.max !== undefined) writeU32(out, l.max);
}

/** One section of a module: its id and where its header and contents are. */
export interface Section {
  id: number;
  /** Offset of the section's contents. */
  start: number;
  end: number;
  /** Offset of the section id byte. */
  headerStart: number;
}

/** The sections of a module, in order (checks the magic and version). */
export function sections(bytes: Uint8Array): Section[] {
  if (
    bytes.length < 8 ||
    bytes[0] !== 0 ||
    bytes[1] !== 0x61 ||
    bytes[2] !== 0x73 ||
    bytes[3] !== 0x6d ||
    bytes[4] !== 1 ||
    bytes[5] !== 0 ||
    bytes[6] !== 0 ||
    bytes[7] !== 0
  ) {
    throw new BinaryFormatError("not a core WebAssembly module (bad magic or version)");
  }
  const out: Section[] = [];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const headerStart = r.pos;
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new BinaryFormatError("section past end of module");
    out.push({ id, start, end, headerStart });
    r.pos = end;
  }
  return out;
}

type Visitor = {
  memory?: (l: Limits) => Limits;
  table?: (l: Limits) => Limits;
};

/**
 * Reads the imports, memories and tables; with `visit`, also returns the
 * module with each memory's and table's limits replaced by what `visit` returns.
 */
function walk(bytes: Uint8Array, visit?: Visitor): { shape: ModuleShape; patched?: Uint8Array } {
  const shape: ModuleShape = { imports: [], memories: [], tables: [] };
  const pieces: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections(bytes)) {
    const r = new Reader(bytes, s.start, s.end);
    const out: number[] = [];
    let rewritten = false;
    if (s.id === SECTION_IMPORT) {
      const count = r.u32();
      writeU32(out, count);
      for (let i = 0; i < count; i++) {
        const entryStart = r.pos;
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        shape.imports.push({ module, name, kind });
        let limits: Limits | undefined;
        let prefixEnd = r.pos;
        if (kind === 0x00) r.u32();
        else if (kind === 0x01) {
          r.refOrValType();
          prefixEnd = r.pos;
          limits = r.limits();
          const l = visit?.table ? visit.table(limits) : limits;
          shape.tables.push({ imported: true, importName: `${module}.${name}`, limits });
          limits = l;
        } else if (kind === 0x02) {
          limits = r.limits();
          const l = visit?.memory ? visit.memory(limits) : limits;
          shape.memories.push({ imported: true, importName: `${module}.${name}`, limits });
          limits = l;
        } else if (kind === 0x03) {
          r.refOrValType();
          r.byte();
        } else if (kind === 0x04) {
          r.byte();
          r.u32();
        } else throw new BinaryFormatError(`unknown import kind 0x${kind.toString(16)}`);
        if (limits) {
          for (let p = entryStart; p < prefixEnd; p++) out.push(bytes[p] as number);
          writeLimits(out, limits);
        } else {
          for (let p = entryStart; p < r.pos; p++) out.push(bytes[p] as number);
        }
      }
      rewritten = true;
    } else if (s.id === SECTION_TABLE) {
      const count = r.u32();
      writeU32(out, count);
      for (let i = 0; i < count; i++) {
        if (r.bytes[r.pos] === 0x40) throw new BinaryFormatError("tables with initializer expressions are not supported");
        const typeStart = r.pos;
        r.refOrValType();
        for (let p = typeStart; p < r.pos; p++) out.push(bytes[p] as number);
        const limits = r.limits();
        shape.tables.push({ imported: false, limits });
        writeLimits(out, visit?.table ? visit.table(limits) : limits);
      }
      rewritten = true;
    } else if (s.id === SECTION_MEMORY) {
      const count = r.u32();
      writeU32(out, count);
      for (let i = 0; i < count; i++) {
        const limits = r.limits();
        shape.memories.push({ imported: false, limits });
        writeLimits(out, visit?.memory ? visit.memory(limits) : limits);
      }
      rewritten = true;
    }
    if (rewritten && r.pos !== s.end) throw new BinaryFormatError(`section ${s.id} has trailing bytes`);
    if (rewritten && visit) {
      const header: number[] = [s.id];
      writeU32(header, out.length);
      pieces.push(Uint8Array.from(header), Uint8Array.from(out));
    } else {
      pieces.push(bytes.subarray(s.headerStart, s.end));
    }
  }
  if (!visit) return { shape };
  return { shape, patched: concatBytes(pieces) };
}

/** Lists the imports, memories and tables of a core module. */
export function readModuleShape(bytes: Uint8Array): ModuleShape {
  return walk(bytes).shape;
}

/** Returns a copy of the module with memory and table limits rewritten. */
export function patchLimits(bytes: Uint8Array, visit: Required<Visitor>): Uint8Array {
  const { patched } = walk(bytes, visit);
  if (!patched) throw new BinaryFormatError("internal: no output");
  return patched;
}

/**
 * The module without its `name` custom section: the rewrite shifts function
 * and global indices, so the names would point at the wrong entries.
 */
export function stripNameSection(bytes: Uint8Array): Uint8Array {
  const keep: Array<[number, number]> = [];
  let dropped = false;
  for (const s of sections(bytes)) {
    if (s.id === 0 && new Reader(bytes, s.start, s.end).name() === "name") {
      dropped = true;
      continue;
    }
    keep.push([s.headerStart, s.end]);
  }
  if (!dropped) return bytes;
  const out = new Uint8Array(8 + keep.reduce((n, [a, b]) => n + (b - a), 0));
  out.set(bytes.subarray(0, 8));
  let pos = 8;
  for (const [a, b] of keep) {
    out.set(bytes.subarray(a, b), pos);
    pos += b - a;
  }
  return out;
}
