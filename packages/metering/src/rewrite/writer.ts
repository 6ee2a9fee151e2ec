/**
 * Writes the instrumented module: the input's sections in order, with the
 * metering imports and their types appended, every function and global
 * index renumbered (new imports shift the defined ones), function bodies
 * copied with their patches applied, and the grow check helpers appended.
 */
import { BinaryFormatError, ByteWriter, Reader } from "../binary.js";
import { OP, UnsupportedFeatureError } from "./opcodes.js";
import type { Patches } from "./instrument.js";
import { customSectionName, SECTION, type ModuleInfo } from "./reader.js";

export interface Layout {
  importModule: string;
  /** Import the `fuel` global and `out_of_fuel`. */
  fuel: boolean;
  /** Set when memory.grow is used: the memory's effective maximum (pages). */
  memoryMaxPages: number | undefined;
  /** Tables whose table.grow is used, ascending, and their effective maxima. */
  growTables: number[];
  growTableMax: number[];
}

/** Where everything lands in the output's index spaces. */
interface Indices {
  functionShift: number;
  globalShift: number;
  importedFunctions: number;
  importedGlobals: number;
  fuelGlobal: number;
  outOfFuel: number;
  memoryGrowImport: number;
  tableGrowImport: number;
  memoryCheck: number;
  /** Table index → its check helper's function index. */
  tableChecks: Map<number, number>;
  typeVoid: number;
  typeGrow: number;
  typeCheck: number;
}

/**
 * Custom sections whose contents refer to function indices or code offsets,
 * which the rewrite changes: dropped (stale debug or linking data could
 * mislead a tool; none of them affects execution).
 */
function dropCustomSection(name: string): boolean {
  return (
    name === "name" ||
    name === "linking" ||
    name.startsWith("reloc.") ||
    name.startsWith("metadata.code.") ||
    name.startsWith(".debug_") ||
    name === "sourceMappingURL" ||
    name === "external_debug_info"
  );
}

/** Order of the known sections in a module. */
const ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

export function writeModule(info: ModuleInfo, layout: Layout, patches: Patches): Uint8Array {
  const bytes = info.bytes;
  const addedFunctionImports = (layout.fuel ? 1 : 0) + (layout.memoryMaxPages !== undefined ? 1 : 0) + (layout.growTables.length > 0 ? 1 : 0);
  const helperCount = (layout.memoryMaxPages !== undefined ? 1 : 0) + layout.growTables.length;
  const oldTypes = info.typeParams.length;
  let nextType = oldTypes;
  const typeVoid = layout.fuel ? nextType++ : -1;
  const typeGrow = addedFunctionImports > (layout.fuel ? 1 : 0) ? nextType++ : -1;
  const typeCheck = helperCount > 0 ? nextType++ : -1;
  let nextImport = info.importedFunctions;
  const outOfFuel = layout.fuel ? nextImport++ : -1;
  const memoryGrowImport = layout.memoryMaxPages !== undefined ? nextImport++ : -1;
  const tableGrowImport = layout.growTables.length > 0 ? nextImport++ : -1;
  let nextHelper = nextImport + info.functionTypes.length;
  const memoryCheck = layout.memoryMaxPages !== undefined ? nextHelper++ : -1;
  const tableChecks = new Map<number, number>();
  for (const t of layout.growTables) tableChecks.set(t, nextHelper++);
  const ix: Indices = {
    functionShift: addedFunctionImports,
    globalShift: layout.fuel ? 1 : 0,
    importedFunctions: info.importedFunctions,
    importedGlobals: info.importedGlobals,
    fuelGlobal: info.importedGlobals,
    outOfFuel,
    memoryGrowImport,
    tableGrowImport,
    memoryCheck,
    tableChecks,
    typeVoid,
    typeGrow,
    typeCheck,
  };
  const renumber = ix.functionShift !== 0 || ix.globalShift !== 0;

  const w = new ByteWriter(bytes.length + (bytes.length >> 2) + 1024);
  w.copy(bytes, 0, 8);
  let wroteTypes = false;
  let wroteImports = false;
  const needTypes = nextType > oldTypes;
  const needImports = addedFunctionImports > 0 || layout.fuel;
  const synthesize = (rank: number): void => {
    if (!wroteTypes && needTypes && rank > 1) {
      wroteTypes = true;
      section(w, SECTION.TYPE, () => {
        w.u32(nextType - oldTypes);
        appendTypes(w, ix);
      });
    }
    if (!wroteImports && needImports && rank > 2) {
      wroteImports = true;
      section(w, SECTION.IMPORT, () => {
        w.u32(addedFunctionImports + (layout.fuel ? 1 : 0));
        appendImports(w, layout, ix);
      });
    }
  };
  for (const s of info.sections) {
    if (s.id === SECTION.CUSTOM) {
      if (!dropCustomSection(customSectionName(bytes, s))) w.copy(bytes, s.headerStart, s.end);
      continue;
    }
    const rank = ORDER[s.id];
    if (rank === undefined) throw new BinaryFormatError(`unknown section ${s.id}`);
    synthesize(rank);
    const r = new Reader(bytes, s.start, s.end);
    switch (s.id) {
      case SECTION.TYPE:
        wroteTypes = true;
        if (!needTypes) {
          w.copy(bytes, s.headerStart, s.end);
          break;
        }
        section(w, s.id, () => {
          w.u32(r.u32() + nextType - oldTypes);
          w.copy(bytes, r.pos, s.end);
          appendTypes(w, ix);
        });
        break;
      case SECTION.IMPORT:
        wroteImports = true;
        if (!needImports) {
          w.copy(bytes, s.headerStart, s.end);
          break;
        }
        section(w, s.id, () => {
          w.u32(r.u32() + addedFunctionImports + (layout.fuel ? 1 : 0));
          w.copy(bytes, r.pos, s.end);
          appendImports(w, layout, ix);
        });
        break;
      case SECTION.FUNCTION:
        if (helperCount === 0) {
          w.copy(bytes, s.headerStart, s.end);
          break;
        }
        section(w, s.id, () => {
          w.u32(r.u32() + helperCount);
          w.copy(bytes, r.pos, s.end);
          for (let i = 0; i < helperCount; i++) w.u32(typeCheck);
        });
        break;
      case SECTION.GLOBAL:
        if (!renumber) w.copy(bytes, s.headerStart, s.end);
        else section(w, s.id, () => rewriteGlobals(r, w, ix));
        break;
      case SECTION.EXPORT:
        if (!renumber) w.copy(bytes, s.headerStart, s.end);
        else section(w, s.id, () => rewriteExports(r, w, ix));
        break;
      case SECTION.START:
        section(w, s.id, () => w.u32(func(ix, r.u32())));
        break;
      case SECTION.ELEMENT:
        if (!renumber) w.copy(bytes, s.headerStart, s.end);
        else section(w, s.id, () => rewriteElements(r, w, ix));
        break;
      case SECTION.DATA:
        if (!renumber) w.copy(bytes, s.headerStart, s.end);
        else section(w, s.id, () => rewriteData(r, w, ix));
        break;
      case SECTION.CODE:
        section(w, s.id, () => {
          w.u32(r.u32() + helperCount);
          writeBodies(info, w, patches, ix);
          if (layout.memoryMaxPages !== undefined) writeGrowCheck(w, -1, layout.memoryMaxPages, ix.memoryGrowImport);
          layout.growTables.forEach((t, i) => writeGrowCheck(w, t, layout.growTableMax[i] as number, ix.tableGrowImport));
        });
        break;
      default:
        w.copy(bytes, s.headerStart, s.end);
        break;
    }
  }
  synthesize(Number.POSITIVE_INFINITY);
  return w.result();
}

function section(w: ByteWriter, id: number, body: () => void): void {
  w.byte(id);
  const start = w.beginSized();
  body();
  w.endSized(start);
}

function func(ix: Indices, f: number): number {
  return f < ix.importedFunctions ? f : f + ix.functionShift;
}

function global(ix: Indices, g: number): number {
  return g < ix.importedGlobals ? g : g + ix.globalShift;
}

function appendTypes(w: ByteWriter, ix: Indices): void {
  if (ix.typeVoid >= 0) w.copy(Uint8Array.of(0x60, 0, 0), 0, 3);
  if (ix.typeGrow >= 0) w.copy(Uint8Array.of(0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f), 0, 7);
  if (ix.typeCheck >= 0) w.copy(Uint8Array.of(0x60, 1, 0x7f, 1, 0x7f), 0, 5);
}

function importName(w: ByteWriter, module: string, name: string): void {
  for (const s of [module, name]) {
    const b = new TextEncoder().encode(s);
    w.u32(b.length);
    w.copy(b, 0, b.length);
  }
}

function appendImports(w: ByteWriter, layout: Layout, ix: Indices): void {
  if (layout.fuel) {
    importName(w, layout.importModule, "fuel");
    w.byte(0x03);
    w.byte(0x7e);
    w.byte(0x01);
    importName(w, layout.importModule, "out_of_fuel");
    w.byte(0x00);
    w.u32(ix.typeVoid);
  }
  if (ix.memoryGrowImport >= 0) {
    importName(w, layout.importModule, "memory_grow");
    w.byte(0x00);
    w.u32(ix.typeGrow);
  }
  if (ix.tableGrowImport >= 0) {
    importName(w, layout.importModule, "table_grow");
    w.byte(0x00);
    w.u32(ix.typeGrow);
  }
}

/** Copies a constant expression, renumbering global.get and ref.func. */
function constExpr(r: Reader, w: ByteWriter, ix: Indices): void {
  for (;;) {
    const start = r.pos;
    const op = r.byte();
    switch (op) {
      case OP.END:
        w.byte(op);
        return;
      case OP.I32_CONST:
      case OP.I64_CONST:
        r.skipSleb();
        w.copy(r.bytes, start, r.pos);
        break;
      case 0x43:
        r.skip(4);
        w.copy(r.bytes, start, r.pos);
        break;
      case 0x44:
        r.skip(8);
        w.copy(r.bytes, start, r.pos);
        break;
      case OP.GLOBAL_GET:
        w.byte(op);
        w.u32(global(ix, r.u32()));
        break;
      case OP.REF_FUNC:
        w.byte(op);
        w.u32(func(ix, r.u32()));
        break;
      case 0xd0: {
        const t = r.byte();
        if (t !== 0x70 && t !== 0x6f) throw new UnsupportedFeatureError("typed function references");
        w.copy(r.bytes, start, r.pos);
        break;
      }
      case 0x6a:
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        w.byte(op);
        break;
      case OP.PREFIX_FD:
        if (r.u32() !== 12) throw new UnsupportedFeatureError("SIMD instruction in a constant expression");
        r.skip(16);
        w.copy(r.bytes, start, r.pos);
        break;
      default:
        throw new UnsupportedFeatureError(`instruction 0x${op.toString(16)} in a constant expression`);
    }
  }
}

function rewriteGlobals(r: Reader, w: ByteWriter, ix: Indices): void {
  const count = r.u32();
  w.u32(count);
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    r.byte(); // type (checked by the reader's callers: V8 validated it)
    r.byte(); // mutability
    w.copy(r.bytes, start, r.pos);
    constExpr(r, w, ix);
  }
}

function rewriteExports(r: Reader, w: ByteWriter, ix: Indices): void {
  const count = r.u32();
  w.u32(count);
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    r.skip(r.u32());
    const kind = r.byte();
    w.copy(r.bytes, start, r.pos);
    const index = r.u32();
    if (kind === 0x00) w.u32(func(ix, index));
    else if (kind === 0x03) w.u32(global(ix, index));
    else if (kind === 0x04) throw new UnsupportedFeatureError("exception handling");
    else w.u32(index);
  }
}

function refType(r: Reader, w: ByteWriter): void {
  const t = r.byte();
  if (t !== 0x70 && t !== 0x6f) throw new UnsupportedFeatureError("typed function references");
  w.byte(t);
}

function rewriteElements(r: Reader, w: ByteWriter, ix: Indices): void {
  const count = r.u32();
  w.u32(count);
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    if (flags > 7) throw new BinaryFormatError(`unknown element segment flags ${flags}`);
    w.u32(flags);
    const explicitTable = (flags & 2) !== 0 && (flags & 1) === 0;
    const passiveOrDeclared = (flags & 1) !== 0;
    const expressions = (flags & 4) !== 0;
    if (explicitTable) w.u32(r.u32());
    if (!passiveOrDeclared) constExpr(r, w, ix);
    if (flags & 3) {
      // elemkind (0x00) or reftype
      if (expressions) refType(r, w);
      else w.byte(r.byte());
    }
    const n = r.u32();
    w.u32(n);
    for (let k = 0; k < n; k++) {
      if (expressions) constExpr(r, w, ix);
      else w.u32(func(ix, r.u32()));
    }
  }
}

function rewriteData(r: Reader, w: ByteWriter, ix: Indices): void {
  const count = r.u32();
  w.u32(count);
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    w.u32(flags);
    if (flags === 2) w.u32(r.u32());
    else if (flags !== 0 && flags !== 1) throw new BinaryFormatError(`unknown data segment flags ${flags}`);
    if (flags !== 1) constExpr(r, w, ix);
    const start = r.pos;
    r.skip(r.u32());
    w.copy(r.bytes, start, r.pos);
  }
}

/** Each function body with its patches applied, and the temp local appended where needed. */
function writeBodies(info: ModuleInfo, w: ByteWriter, patches: Patches, ix: Indices): void {
  const bytes = info.bytes;
  const n = info.functionTypes.length;
  for (let fi = 0; fi < n; fi++) {
    const start = info.bodyStarts[fi] as number;
    const end = info.bodyEnds[fi] as number;
    const r = new Reader(bytes, start, end);
    const decls = r.u32();
    const declsStart = r.pos;
    for (let i = 0; i < decls; i++) {
      r.u32();
      r.byte();
    }
    const codeStart = r.pos;
    const tmp = patches.tmp[fi] as number;
    const bodyStart = w.beginSized();
    if (tmp >= 0) {
      w.u32(decls + 1);
      w.copy(bytes, declsStart, codeStart);
      w.byte(1);
      w.byte(0x7e);
    } else w.copy(bytes, start, codeStart);
    let cursor = codeStart;
    const last = patches.functionStart[fi + 1] as number;
    for (let p = patches.functionStart[fi] as number; p < last; p++) {
      const kind = patches.kind[p] as number;
      if (kind === 0) continue;
      const off = patches.off[p] as number;
      w.copy(bytes, cursor, off);
      cursor = patches.end[p] as number;
      const a = patches.a[p] as number;
      const b = patches.b[p] as number;
      switch (kind) {
        case 1: // DECREMENT
          charge(w, ix, a, b, tmp);
          break;
        case 2: // CHECK
          charge(w, ix, a, b, tmp);
          // if (tmp < 0) { out_of_fuel(); unreachable }
          w.byte(OP.LOCAL_GET);
          w.u32(tmp);
          w.byte(OP.I64_CONST);
          w.byte(0);
          w.byte(OP.I64_LT_S);
          w.byte(OP.IF);
          w.byte(0x40);
          w.byte(OP.CALL);
          w.u32(ix.outOfFuel);
          w.byte(OP.UNREACHABLE);
          w.byte(OP.END);
          break;
        case 3: // REFRESH
          w.byte(OP.GLOBAL_GET);
          w.u32(ix.fuelGlobal);
          w.byte(OP.LOCAL_SET);
          w.u32(tmp);
          break;
        case 4: // FUNC_INDEX
          w.u32(func(ix, a));
          break;
        case 5: // GLOBAL_INDEX
          w.u32(global(ix, a));
          break;
        case 6: // MEMORY_GROW
          w.byte(OP.CALL);
          w.u32(ix.memoryCheck);
          break;
        case 7: {
          // TABLE_GROW
          const helper = ix.tableChecks.get(a);
          if (helper === undefined) throw new BinaryFormatError("internal: table without a grow check");
          w.byte(OP.CALL);
          w.u32(helper);
          break;
        }
        default:
          throw new BinaryFormatError(`internal: unresolved patch ${kind}`);
      }
    }
    w.copy(bytes, cursor, end);
    w.endSized(bodyStart);
  }
}

/** `fuel -= amount`, reading the global or the temp local, teeing into the temp local when there is one. */
function charge(w: ByteWriter, ix: Indices, amount: number, mode: number, tmp: number): void {
  if (mode === 2) {
    w.byte(OP.LOCAL_GET);
    w.u32(tmp);
  } else {
    w.byte(OP.GLOBAL_GET);
    w.u32(ix.fuelGlobal);
  }
  w.byte(OP.I64_CONST);
  w.sleb(amount);
  w.byte(OP.I64_SUB);
  if (mode !== 0) {
    w.byte(OP.LOCAL_TEE);
    w.u32(tmp);
  }
  w.byte(OP.GLOBAL_SET);
  w.u32(ix.fuelGlobal);
}

/**
 * `(func (param $delta i32) (result i32))`: asks the `memory_grow` /
 * `table_grow(size, delta, max)` import, the instance's resource limiter,
 * which returns the delta to grow by: `delta` itself, or -1 (0xffffffff, a
 * grow no memory or table can satisfy, so the grow returns -1) when the grow
 * would take the instance's total over its budget. Every grow of every
 * memory and table goes through it, so the host sees the sum across
 * instances, not one module's share. `table` is -1 for the memory.
 */
function writeGrowCheck(w: ByteWriter, table: number, max: number, limiter: number): void {
  const start = w.beginSized();
  w.byte(0); // no locals
  if (table < 0) {
    w.byte(OP.MEMORY_SIZE);
    w.byte(0);
  } else {
    w.byte(OP.PREFIX_FC);
    w.u32(16);
    w.u32(table);
  }
  w.byte(OP.LOCAL_GET);
  w.byte(0);
  w.byte(OP.I32_CONST);
  w.sleb(max);
  w.byte(OP.CALL);
  w.u32(limiter);
  w.byte(OP.END);
  w.endSized(start);
}

