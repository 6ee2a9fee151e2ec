/**
 * The metering instrumentation on the WebAssembly binary itself: one pass
 * over each function body finds the metering regions (README "Cost model")
 * and records where to insert fuel charges and grow checks and which indices
 * to renumber; the writer then copies the module with those patches.
 */
import { BinaryFormatError, Reader } from "../binary.js";
import {
  COSTS,
  FC,
  fcCost,
  fcImmediate,
  IMM,
  IMMEDIATES,
  isSupportedValType,
  OP,
  SIMD,
  simdImmediate,
  UNSUPPORTED_REASON,
  UnsupportedFeatureError,
  valTypeReason,
} from "./opcodes.js";
import { readModule } from "./reader.js";
import { writeModule, type Layout } from "./writer.js";

export interface InstrumentStats {
  functions: number;
  /** Functions without loops or calls: charged at entry without a check. */
  leafFunctions: number;
  loops: number;
  /** Loops without calls that carry the counter in a local (see the README). */
  localLoops: number;
  /** `if` arms with their own counter update (small ones are folded into the enclosing region). */
  ifArms: number;
  /** Code after labelled blocks with its own counter update. */
  blockTails: number;
  memoryGrows: number;
  tableGrows: number;
  /** Sum of the static costs of all regions (a size measure, not a runtime one). */
  staticCost: number;
}

/** All-zero stats, filled in as the functions are instrumented. */
export function emptyStats(): InstrumentStats {
  return { functions: 0, leafFunctions: 0, loops: 0, localLoops: 0, ifArms: 0, blockTails: 0, memoryGrows: 0, tableGrows: 0, staticCost: 0 };
}

/**
 * An `if` arm whose most expensive side costs at most this much is charged
 * with its enclosing region (the larger arm's cost, whichever arm runs)
 * instead of with its own counter update: at most this many units of
 * over-charge per `if`, for one global update less per arm.
 */
export const IF_FOLD_LIMIT = 16;
/** Likewise for the code after a labelled block (a join point reached by fall-through or a branch). */
export const TAIL_FOLD_LIMIT = 4;

/** What a patch does at its offset. */
export const PATCH = {
  NOP: 0,
  /** Decrement the counter by `a`; `b` is the {@link MODE}. */
  DECREMENT: 1,
  /** Decrement by `a` and call out_of_fuel + unreachable when the counter is below 0; `b` is the mode. */
  CHECK: 2,
  /** `tmp = fuel` (before a loop in the local form). */
  REFRESH: 3,
  /** Replace the function index LEB128 at [off, end) with the renumbered `a`. */
  FUNC_INDEX: 4,
  /** Replace the global index LEB128 at [off, end) with the renumbered `a`. */
  GLOBAL_INDEX: 5,
  /** `call` the memory grow check helper (before memory.grow). */
  MEMORY_GROW: 6,
  /** `call` the grow check helper of table `a` (before table.grow). */
  TABLE_GROW: 7,
  // Unresolved kinds, only during the scan of a function:
  ENTRY: 8,
  PRE_LOOP: 9,
  LOOP_HEADER: 10,
  ARM: 11,
  TAIL: 12,
} as const;

/** How a charge reads and keeps the counter. */
export const MODE = {
  /** `global.set fuel (global.get fuel - n)`: leaf functions, which have no temp local. */
  GLOBAL: 0,
  /** Reads the global, tees the result into the temp local. */
  GLOBAL_TEE: 1,
  /** Reads the temp local (loops without calls), tees it. */
  LOCAL: 2,
} as const;

/** The patches of all functions, in body order (parallel typed arrays, grown by doubling). */
export class Patches {
  count = 0;
  off = new Int32Array(1024);
  end = new Int32Array(1024);
  kind = new Int32Array(1024);
  a = new Int32Array(1024);
  b = new Int32Array(1024);
  /** Per function: index of its first patch (and one past the last function's). */
  functionStart: number[] = [];
  /** Per function: the temp i64 local added to it, or -1. */
  tmp: number[] = [];
  add(off: number, end: number, kind: number, a: number): void {
    const i = this.count;
    if (i === this.off.length) this.grow();
    this.off[i] = off;
    this.end[i] = end;
    this.kind[i] = kind;
    this.a[i] = a;
    this.b[i] = 0;
    this.count = i + 1;
  }
  private grow(): void {
    const size = this.off.length * 2;
    const more = (from: Int32Array): Int32Array<ArrayBuffer> => {
      const to = new Int32Array(size);
      to.set(from);
      return to;
    };
    this.off = more(this.off);
    this.end = more(this.end);
    this.kind = more(this.kind);
    this.a = more(this.a);
    this.b = more(this.b);
  }
}

export interface InstrumentPlan {
  fuel: boolean;
  importModule: string;
  /** Effective maximum pages of the (single) memory, when there is one. */
  memoryMaxPages: number | undefined;
  /** Effective maximum elements of each table, by table index. */
  tableMaxElements: readonly number[];
}

export interface InstrumentResult {
  bytes: Uint8Array;
  stats: InstrumentStats;
  /** Fields imported from the metering module. */
  imports: string[];
}

const FRAME_FUNCTION = 0;
const FRAME_BLOCK = 1;
const FRAME_LOOP = 2;
const FRAME_IF = 3;

/** Per-function working arrays, reused from one function to the next. */
class ScanState {
  /** Per region: static cost; region 0 is the function entry. */
  cost: number[] = [];
  /** Per region: innermost enclosing loop (index into the loop arrays) or -1. */
  regionLoop: number[] = [];
  loopParent: number[] = [];
  loopHasCall: boolean[] = [];
  loopRegion: number[] = [];
  /** Control stack depth (iterative: deeply nested code cannot overflow the JS stack). The frame arrays are reused: entries at and above `depth` are stale. */
  depth = 0;
  frameKind: number[] = [];
  /** The region the frame's code is currently charged to (changes at block tails). */
  frameCurrent: number[] = [];
  /** Height of the open-tails stack when the frame started. */
  frameTailBase: number[] = [];
  frameTargeted: boolean[] = [];
  /** The block or `if` has the empty block type (its end can start a block tail). */
  frameVoid: boolean[] = [];
  /** For `if`: the region the `if` sits in. */
  frameParent: number[] = [];
  frameTrue: number[] = [];
  frameFalse: number[] = [];
  /** Block tails not closed yet: the tail's region and the region it folds into. */
  tailRegion: number[] = [];
  tailParent: number[] = [];
  calls = false;
  reset(): void {
    this.cost.length = 0;
    this.regionLoop.length = 0;
    this.loopParent.length = 0;
    this.loopHasCall.length = 0;
    this.loopRegion.length = 0;
    this.depth = 0;
    this.tailRegion.length = 0;
    this.tailParent.length = 0;
    this.calls = false;
  }
  newRegion(loop: number): number {
    this.regionLoop.push(loop);
    return this.cost.push(0) - 1;
  }
  push(kind: number, current: number, isVoid = true): void {
    const i = this.depth++;
    this.frameVoid[i] = isVoid;
    this.frameKind[i] = kind;
    this.frameCurrent[i] = current;
    this.frameTailBase[i] = this.tailRegion.length;
    this.frameTargeted[i] = false;
    this.frameParent[i] = current;
    this.frameTrue[i] = -1;
    this.frameFalse[i] = -1;
  }
  pop(): void {
    this.depth--;
  }
  /** Closes the block tails of the innermost frame's sequence, folding small ones (innermost first). */
  closeTails(): void {
    const base = this.frameTailBase[this.depth - 1] as number;
    const cost = this.cost;
    while (this.tailRegion.length > base) {
      const t = this.tailRegion.pop() as number;
      const p = this.tailParent.pop() as number;
      const c = cost[t] as number;
      if (c <= TAIL_FOLD_LIMIT) {
        cost[p] = (cost[p] as number) + c;
        cost[t] = 0;
      }
    }
  }
  markTarget(depth: number): void {
    const i = this.depth - 1 - depth;
    if (i < 0) throw new BinaryFormatError("branch depth out of range");
    this.frameTargeted[i] = true;
  }
  markCall(region: number): void {
    this.calls = true;
    for (let l = this.regionLoop[region] as number; l >= 0 && !(this.loopHasCall[l] as boolean); l = this.loopParent[l] as number) {
      this.loopHasCall[l] = true;
    }
  }
}

function memarg(r: Reader): void {
  const flags = r.u32();
  if (flags & 0x40) throw new UnsupportedFeatureError("multi-memory");
  r.u32();
}

function memoryIndex(r: Reader): void {
  if (r.u32() !== 0) throw new UnsupportedFeatureError("multi-memory");
}

/** Skips a block type; true when it is the empty type (no params, no results). */
function blockType(r: Reader, bytes: Uint8Array): boolean {
  const b = bytes[r.pos] as number;
  if (b === 0x40) {
    r.pos++;
    return true;
  }
  if (isSupportedValType(b)) r.pos++;
  else if (b & 0x40) throw new UnsupportedFeatureError(valTypeReason(b));
  else r.skipSleb();
  return false;
}

interface ScanTotals {
  stats: InstrumentStats;
  memoryGrow: boolean;
  /** Tables whose table.grow is used. */
  tableGrows: Set<number>;
}

/**
 * Scans one function body: its regions and their costs, and the patches
 * (charges, index renumbering, grow checks) in body order.
 */
function scanFunction(bytes: Uint8Array, start: number, end: number, params: number, fuel: boolean, st: ScanState, patches: Patches, totals: ScanTotals): void {
  const r = new Reader(bytes, start, end);
  const stats = totals.stats;
  const firstPatch = patches.count;
  let locals = params;
  const decls = r.u32();
  for (let i = 0; i < decls; i++) {
    locals += r.u32();
    const t = r.byte();
    if (!isSupportedValType(t)) throw new UnsupportedFeatureError(valTypeReason(t));
  }
  st.reset();
  st.newRegion(-1);
  st.push(FRAME_FUNCTION, 0);
  if (fuel) patches.add(r.pos, r.pos, PATCH.ENTRY, 0);
  const cost = st.cost;
  const current = st.frameCurrent;
  while (st.depth > 0) {
    const at = r.pos;
    if (at >= end) throw new BinaryFormatError("function body without its end");
    const op = bytes[r.pos++] as number;
    const top = st.depth - 1;
    const region = current[top] as number;
    cost[region] = (cost[region] as number) + (COSTS[op] as number);
    switch (IMMEDIATES[op]) {
      case IMM.NONE:
        break;
      case IMM.U32:
        if ((bytes[r.pos] as number) < 0x80) r.pos++;
        else r.u32();
        break;
      case IMM.MEMARG:
        memarg(r);
        break;
      case IMM.SLEB:
        if ((bytes[r.pos] as number) < 0x80) r.pos++;
        else r.skipSleb();
        break;
      case IMM.BYTES4:
        r.skip(4);
        break;
      case IMM.BYTES8:
        r.skip(8);
        break;
      case IMM.MEMIDX:
        memoryIndex(r);
        break;
      case IMM.SELECT_T: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const t = r.byte();
          if (!isSupportedValType(t)) throw new UnsupportedFeatureError(valTypeReason(t));
        }
        break;
      }
      case IMM.REF_NULL: {
        const t = r.byte();
        if (t !== 0x70 && t !== 0x6f) throw new UnsupportedFeatureError("typed function references");
        break;
      }
      case IMM.SPECIAL:
        switch (op) {
          case OP.BLOCK:
            st.push(FRAME_BLOCK, region, blockType(r, bytes));
            break;
          case OP.LOOP: {
            const loop = st.loopParent.length;
            st.loopParent.push(st.regionLoop[region] as number);
            st.loopHasCall.push(false);
            const body = st.newRegion(loop);
            st.loopRegion.push(body);
            if (fuel) patches.add(at, at, PATCH.PRE_LOOP, loop);
            blockType(r, bytes);
            if (fuel) patches.add(r.pos, r.pos, PATCH.LOOP_HEADER, loop);
            st.push(FRAME_LOOP, body);
            break;
          }
          case OP.IF: {
            const isVoid = blockType(r, bytes);
            const t = st.newRegion(st.regionLoop[region] as number);
            if (fuel) patches.add(r.pos, r.pos, PATCH.ARM, t);
            st.push(FRAME_IF, t, isVoid);
            st.frameParent[top + 1] = region;
            st.frameTrue[top + 1] = t;
            break;
          }
          case OP.ELSE: {
            if (st.frameKind[top] !== FRAME_IF) throw new BinaryFormatError("else outside if");
            st.closeTails();
            const f = st.newRegion(st.regionLoop[st.frameParent[top] as number] as number);
            st.frameFalse[top] = f;
            current[top] = f;
            if (fuel) patches.add(r.pos, r.pos, PATCH.ARM, f);
            break;
          }
          case OP.END: {
            st.closeTails();
            const kind = st.frameKind[top] as number;
            const targeted = (st.frameTargeted[top] as boolean) && (st.frameVoid[top] as boolean);
            if (kind === FRAME_IF) {
              const parent = st.frameParent[top] as number;
              const t = st.frameTrue[top] as number;
              const f = st.frameFalse[top] as number;
              const most = Math.max(cost[t] as number, f < 0 ? 0 : (cost[f] as number));
              if (most <= IF_FOLD_LIMIT) {
                cost[parent] = (cost[parent] as number) + most;
                cost[t] = 0;
                if (f >= 0) cost[f] = 0;
              }
            }
            st.pop();
            if (kind === FRAME_FUNCTION) {
              if (r.pos !== end) throw new BinaryFormatError("code after the end of a function body");
              break;
            }
            // Code after a block that is a branch target (a join point: e.g.
            // the cases of a br_table switch) is a region of its own when
            // more code follows in the same sequence. Only after blocks
            // without a value, as binaryen did: a block's value is consumed
            // by the code that follows, which belongs to the same expression.
            if ((kind === FRAME_BLOCK || kind === FRAME_IF) && targeted) {
              const next = bytes[r.pos];
              if (next !== OP.END && next !== OP.ELSE) {
                const p = top - 1;
                const parentRegion = current[p] as number;
                const tail = st.newRegion(st.regionLoop[parentRegion] as number);
                st.tailRegion.push(tail);
                st.tailParent.push(parentRegion);
                current[p] = tail;
                if (fuel) patches.add(r.pos, r.pos, PATCH.TAIL, tail);
              }
            }
            break;
          }
          case OP.BR:
          case OP.BR_IF:
            st.markTarget(r.u32());
            break;
          case OP.BR_TABLE: {
            const n = r.u32();
            for (let i = 0; i <= n; i++) st.markTarget(r.u32());
            break;
          }
          case OP.CALL:
          case OP.RETURN_CALL: {
            st.markCall(region);
            const p = r.pos;
            const f = r.u32();
            patches.add(p, r.pos, PATCH.FUNC_INDEX, f);
            break;
          }
          case OP.CALL_INDIRECT:
          case OP.RETURN_CALL_INDIRECT:
            st.markCall(region);
            r.u32();
            r.u32();
            break;
          case OP.GLOBAL_GET:
          case OP.GLOBAL_SET: {
            const p = r.pos;
            const g = r.u32();
            patches.add(p, r.pos, PATCH.GLOBAL_INDEX, g);
            break;
          }
          case OP.REF_FUNC: {
            const p = r.pos;
            const f = r.u32();
            patches.add(p, r.pos, PATCH.FUNC_INDEX, f);
            break;
          }
          case OP.MEMORY_GROW:
            memoryIndex(r);
            patches.add(at, at, PATCH.MEMORY_GROW, 0);
            totals.memoryGrow = true;
            stats.memoryGrows++;
            break;
          case OP.PREFIX_FC: {
            const sub = r.u32();
            const imm = fcImmediate(sub);
            if (imm === IMM.BAD) throw new UnsupportedFeatureError(`instruction 0xfc ${sub}`);
            cost[region] = (cost[region] as number) + fcCost(sub) - 1;
            if (imm === IMM.U32) r.u32();
            else if (imm === IMM.U32X2) {
              r.u32();
              r.u32();
            } else if (imm === IMM.SPECIAL) {
              if (sub === FC.MEMORY_INIT) {
                r.u32();
                memoryIndex(r);
              } else if (sub === FC.MEMORY_COPY) {
                memoryIndex(r);
                memoryIndex(r);
              } else if (sub === FC.MEMORY_FILL) {
                memoryIndex(r);
              } else {
                const table = r.u32();
                patches.add(at, at, PATCH.TABLE_GROW, table);
                totals.tableGrows.add(table);
                stats.tableGrows++;
              }
            }
            break;
          }
          case OP.PREFIX_FD: {
            const sub = r.u32();
            const imm = simdImmediate(sub);
            if (imm === SIMD.MEMARG) memarg(r);
            else if (imm === SIMD.BYTES16) r.skip(16);
            else if (imm === SIMD.LANE) r.skip(1);
            else if (imm === SIMD.MEMARG_LANE) {
              memarg(r);
              r.skip(1);
            } else if (imm === SIMD.BAD) throw new UnsupportedFeatureError(sub < 0x200 ? "relaxed SIMD" : `instruction 0xfd ${sub}`);
            break;
          }
          default:
            throw new BinaryFormatError(`internal: opcode 0x${op.toString(16)}`);
        }
        break;
      default:
        throw new UnsupportedFeatureError(UNSUPPORTED_REASON.get(op) ?? `unknown instruction 0x${op.toString(16)}`);
    }
  }
  stats.functions++;
  if (!fuel) {
    patches.tmp.push(-1);
    return;
  }
  resolveFunction(st, patches, firstPatch, locals, stats);
}

/** Turns the function's region patches into charges, now that every region's cost is final. */
function resolveFunction(st: ScanState, patches: Patches, firstPatch: number, locals: number, stats: InstrumentStats): void {
  const cost = st.cost;
  const loops = st.loopParent.length;
  // A leaf (no loop, no call) runs a bounded number of instructions: charge
  // it without the check; the caller's next check sees the counter.
  const leaf = loops === 0 && !st.calls;
  const tmp = leaf ? -1 : locals;
  patches.tmp.push(tmp);
  if (leaf) stats.leafFunctions++;
  // Loops without calls get `tmp = fuel` just before them and read the local
  // inside (nested ones inherit the form).
  const localOk: boolean[] = [];
  const ownLocal: boolean[] = [];
  for (let i = 0; i < loops; i++) {
    const parent = st.loopParent[i] as number;
    const inherited = parent >= 0 && (localOk[parent] as boolean);
    const own = !inherited && !(st.loopHasCall[i] as boolean);
    localOk.push(inherited || own);
    ownLocal.push(own);
  }
  const mode = (region: number): number => {
    if (leaf) return MODE.GLOBAL;
    const l = st.regionLoop[region] as number;
    return l >= 0 && (localOk[l] as boolean) ? MODE.LOCAL : MODE.GLOBAL_TEE;
  };
  const kinds = patches.kind;
  for (let i = firstPatch; i < patches.count; i++) {
    const k = kinds[i] as number;
    const a = patches.a[i] as number;
    switch (k) {
      case PATCH.ENTRY:
        kinds[i] = leaf ? PATCH.DECREMENT : PATCH.CHECK;
        patches.a[i] = Math.max(1, cost[0] as number);
        patches.b[i] = leaf ? MODE.GLOBAL : MODE.GLOBAL_TEE;
        break;
      case PATCH.PRE_LOOP:
        if (ownLocal[a]) {
          kinds[i] = PATCH.REFRESH;
          stats.localLoops++;
        } else kinds[i] = PATCH.NOP;
        break;
      case PATCH.LOOP_HEADER: {
        const region = st.loopRegion[a] as number;
        kinds[i] = PATCH.CHECK;
        patches.a[i] = Math.max(1, cost[region] as number);
        patches.b[i] = mode(region);
        stats.loops++;
        break;
      }
      case PATCH.ARM:
      case PATCH.TAIL: {
        const c = cost[a] as number;
        if (c > 0) {
          kinds[i] = PATCH.DECREMENT;
          patches.a[i] = c;
          patches.b[i] = mode(a);
          if (k === PATCH.ARM) stats.ifArms++;
          else stats.blockTails++;
        } else kinds[i] = PATCH.NOP;
        break;
      }
      default:
        break;
    }
  }
  for (const c of cost) stats.staticCost += c;
}

/**
 * Rewrites a core module (already validated by V8, name section stripped):
 * fuel checks at every function entry and loop header (the only places where
 * control can come back without passing a check: recursion and loop back
 * edges), fuel decrements at large `if` arms and block tails, and a call
 * of the instance's resource limiter (`memory_grow` / `table_grow`) before
 * every `memory.grow` / `table.grow`, which may refuse the grow. Throws {@link UnsupportedFeatureError} for anything it cannot meter.
 */
export function instrumentBinary(input: Uint8Array, plan: InstrumentPlan): InstrumentResult {
  const info = readModule(input);
  const stats = emptyStats();
  const totals: ScanTotals = { stats, memoryGrow: false, tableGrows: new Set() };
  const patches = new Patches();
  const st = new ScanState();
  const defined = info.functionTypes.length;
  for (let i = 0; i < defined; i++) {
    patches.functionStart.push(patches.count);
    const params = info.typeParams[info.functionTypes[i] as number];
    if (params === undefined) throw new BinaryFormatError("function type index out of range");
    scanFunction(input, info.bodyStarts[i] as number, info.bodyEnds[i] as number, params, plan.fuel, st, patches, totals);
  }
  patches.functionStart.push(patches.count);

  const fuel = plan.fuel && defined > 0;
  const imports: string[] = [];
  if (fuel) imports.push("fuel", "out_of_fuel");
  if (totals.memoryGrow) {
    if (plan.memoryMaxPages === undefined) throw new BinaryFormatError("memory.grow without a memory");
    imports.push("memory_grow");
  }
  const tables = [...totals.tableGrows].sort((x, y) => x - y);
  const tableMax = tables.map((t) => {
    const max = plan.tableMaxElements[t];
    if (max === undefined) throw new BinaryFormatError(`table.grow of unknown table ${t}`);
    return max;
  });
  if (tables.length > 0) imports.push("table_grow");
  const layout: Layout = {
    importModule: plan.importModule,
    fuel,
    memoryMaxPages: totals.memoryGrow ? plan.memoryMaxPages : undefined,
    growTables: tables,
    growTableMax: tableMax,
  };
  return { bytes: writeModule(info, layout, patches), stats, imports };
}
