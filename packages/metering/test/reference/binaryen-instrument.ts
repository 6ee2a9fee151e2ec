import binaryen from "binaryen";

/**
 * The parts of binaryen's low-level C API (exported on the JS module with a
 * leading underscore) that the walker calls for every expression. They are
 * present at runtime but missing from binaryen's `.d.ts`. Expressions and
 * functions are pointers into binaryen's heap (numbers).
 */
interface RawBinaryen {
  _BinaryenExpressionGetId(e: number): number;
  _BinaryenFunctionGetBody(f: number): number;
  _BinaryenFunctionSetBody(f: number, body: number): void;
  _BinaryenFunctionAddVar(f: number, type: number): number;
  _BinaryenBlockGetNumChildren(e: number): number;
  _BinaryenBlockGetChildAt(e: number, i: number): number;
  _BinaryenBlockSetChildAt(e: number, i: number, v: number): void;
  _BinaryenBlockGetName(e: number): number;
  _BinaryenIfGetCondition(e: number): number;
  _BinaryenIfGetIfTrue(e: number): number;
  _BinaryenIfGetIfFalse(e: number): number;
  _BinaryenIfSetIfTrue(e: number, v: number): void;
  _BinaryenIfSetIfFalse(e: number, v: number): void;
  _BinaryenLoopGetBody(e: number): number;
  _BinaryenLoopSetBody(e: number, v: number): void;
  _BinaryenBreakGetCondition(e: number): number;
  _BinaryenBreakGetValue(e: number): number;
  _BinaryenSwitchGetCondition(e: number): number;
  _BinaryenSwitchGetValue(e: number): number;
  _BinaryenCallGetNumOperands(e: number): number;
  _BinaryenCallGetOperandAt(e: number, i: number): number;
  _BinaryenCallIndirectGetTarget(e: number): number;
  _BinaryenCallIndirectGetNumOperands(e: number): number;
  _BinaryenCallIndirectGetOperandAt(e: number, i: number): number;
  _BinaryenLocalSetGetValue(e: number): number;
  _BinaryenGlobalSetGetValue(e: number): number;
  _BinaryenLoadGetPtr(e: number): number;
  _BinaryenStoreGetPtr(e: number): number;
  _BinaryenStoreGetValue(e: number): number;
  _BinaryenUnaryGetValue(e: number): number;
  _BinaryenBinaryGetLeft(e: number): number;
  _BinaryenBinaryGetRight(e: number): number;
  _BinaryenSelectGetIfTrue(e: number): number;
  _BinaryenSelectGetIfFalse(e: number): number;
  _BinaryenSelectGetCondition(e: number): number;
  _BinaryenDropGetValue(e: number): number;
  _BinaryenReturnGetValue(e: number): number;
  _BinaryenMemoryGrowGetDelta(e: number): number;
  _BinaryenMemoryGrowSetDelta(e: number, v: number): void;
  _BinaryenSIMDExtractGetVec(e: number): number;
  _BinaryenSIMDReplaceGetVec(e: number): number;
  _BinaryenSIMDReplaceGetValue(e: number): number;
  _BinaryenSIMDShuffleGetLeft(e: number): number;
  _BinaryenSIMDShuffleGetRight(e: number): number;
  _BinaryenSIMDTernaryGetA(e: number): number;
  _BinaryenSIMDTernaryGetB(e: number): number;
  _BinaryenSIMDTernaryGetC(e: number): number;
  _BinaryenSIMDShiftGetVec(e: number): number;
  _BinaryenSIMDShiftGetShift(e: number): number;
  _BinaryenSIMDLoadGetPtr(e: number): number;
  _BinaryenSIMDLoadStoreLaneGetPtr(e: number): number;
  _BinaryenSIMDLoadStoreLaneGetVec(e: number): number;
  _BinaryenMemoryInitGetDest(e: number): number;
  _BinaryenMemoryInitGetOffset(e: number): number;
  _BinaryenMemoryInitGetSize(e: number): number;
  _BinaryenMemoryCopyGetDest(e: number): number;
  _BinaryenMemoryCopyGetSource(e: number): number;
  _BinaryenMemoryCopyGetSize(e: number): number;
  _BinaryenMemoryFillGetDest(e: number): number;
  _BinaryenMemoryFillGetValue(e: number): number;
  _BinaryenMemoryFillGetSize(e: number): number;
  _BinaryenRefIsNullGetValue(e: number): number;
  _BinaryenRefEqGetLeft(e: number): number;
  _BinaryenRefEqGetRight(e: number): number;
  _BinaryenRefAsGetValue(e: number): number;
  _BinaryenTableGetGetIndex(e: number): number;
  _BinaryenTableSetGetIndex(e: number): number;
  _BinaryenTableSetGetValue(e: number): number;
  _BinaryenTableGrowGetValue(e: number): number;
  _BinaryenTableGrowGetDelta(e: number): number;
  _BinaryenTableGrowSetDelta(e: number, v: number): void;
  _BinaryenTupleMakeGetNumOperands(e: number): number;
  _BinaryenTupleMakeGetOperandAt(e: number, i: number): number;
  _BinaryenTupleExtractGetTuple(e: number): number;
  _BinaryenTableFillId(): number;
  _BinaryenTableCopyId(): number;
  _BinaryenTableInitId(): number;
  _BinaryenElemDropId(): number;
  _BinaryenPopId(): number;
}

const B = binaryen as unknown as RawBinaryen & typeof binaryen;

const ID = {
  Nop: binaryen.NopId,
  Block: binaryen.BlockId,
  If: binaryen.IfId,
  Loop: binaryen.LoopId,
  Break: binaryen.BreakId,
  Switch: binaryen.SwitchId,
  Call: binaryen.CallId,
  CallIndirect: binaryen.CallIndirectId,
  LocalGet: binaryen.LocalGetId,
  LocalSet: binaryen.LocalSetId,
  GlobalGet: binaryen.GlobalGetId,
  GlobalSet: binaryen.GlobalSetId,
  Load: binaryen.LoadId,
  Store: binaryen.StoreId,
  Const: binaryen.ConstId,
  Unary: binaryen.UnaryId,
  Binary: binaryen.BinaryId,
  Select: binaryen.SelectId,
  Drop: binaryen.DropId,
  Return: binaryen.ReturnId,
  MemorySize: binaryen.MemorySizeId,
  MemoryGrow: binaryen.MemoryGrowId,
  Unreachable: binaryen.UnreachableId,
  SIMDExtract: binaryen.SIMDExtractId,
  SIMDReplace: binaryen.SIMDReplaceId,
  SIMDShuffle: binaryen.SIMDShuffleId,
  SIMDTernary: binaryen.SIMDTernaryId,
  SIMDShift: binaryen.SIMDShiftId,
  SIMDLoad: binaryen.SIMDLoadId,
  SIMDLoadStoreLane: binaryen.SIMDLoadStoreLaneId,
  MemoryInit: binaryen.MemoryInitId,
  DataDrop: binaryen.DataDropId,
  MemoryCopy: binaryen.MemoryCopyId,
  MemoryFill: binaryen.MemoryFillId,
  RefNull: binaryen.RefNullId,
  RefIsNull: binaryen.RefIsNullId,
  RefFunc: binaryen.RefFuncId,
  RefEq: binaryen.RefEqId,
  RefAs: binaryen.RefAsId,
  TableGet: binaryen.TableGetId,
  TableSet: binaryen.TableSetId,
  TableSize: binaryen.TableSizeId,
  TableGrow: binaryen.TableGrowId,
  TableFill: B._BinaryenTableFillId(),
  TableCopy: B._BinaryenTableCopyId(),
  TableInit: B._BinaryenTableInitId(),
  ElemDrop: B._BinaryenElemDropId(),
  TupleMake: binaryen.TupleMakeId,
  TupleExtract: binaryen.TupleExtractId,
} as const;

const ID_NAMES = new Map<number, string>(Object.entries(ID).map(([k, v]) => [v, k]));

/** Thrown when a function contains an expression the walker does not know. */
export class UnsupportedExpressionError extends Error {
  constructor(readonly expressionId: number) {
    super(`expression kind ${expressionId} cannot be metered`);
    this.name = "UnsupportedExpressionError";
  }
}

/** Names of what the instrumentation adds to a module. */
export interface InstrumentNames {
  fuelGlobal: string;
  outOfFuel: string;
  memoryGrowCheck: string | undefined;
  /** Per table name, the grow check helper. */
  tableGrowChecks: ReadonlyMap<string, string>;
}

// The stats shape and the fold limits are the real engine's: the reference must apply the same ones.
import { emptyStats, IF_FOLD_LIMIT, TAIL_FOLD_LIMIT, type InstrumentPlan, type InstrumentStats } from "../../src/rewrite/instrument.js";
export { IF_FOLD_LIMIT, TAIL_FOLD_LIMIT, type InstrumentStats } from "../../src/rewrite/instrument.js";

/** A region nested in another one that runs at most once per entry of its parent. */
interface SubRegion {
  parent: number;
  /** For an `if`: the expression; for a block tail: the parent block. */
  expr: number;
  /** if: true-arm region; tail: the region of children[index...]. */
  a: number;
  /** if: false-arm region or -1; tail: index of the first child of the tail. */
  b: number;
  isIf: boolean;
}

/** How a loop hangs in its parent: 0 block child, 1 if-true, 2 if-false, 3 loop body, 4 function body. */
interface LoopAttach {
  kind: 0 | 1 | 2 | 3 | 4;
  parent: number;
  index: number;
}

/** What one walk of a function found. */
interface FunctionScan {
  /** Cost of each region; region 0 is the function entry. */
  regionCost: number[];
  /** `if` arms and block tails, in discovery order (a parent before its children). */
  subRegions: SubRegion[];
  /** Loop expressions with their body's region. */
  loops: number[];
  loopRegions: number[];
  /** Per loop: the innermost enclosing loop (index into `loops`) or -1. */
  loopParent: number[];
  /** Per loop: a call happens somewhere inside it. */
  loopHasCall: boolean[];
  /** Per loop: where it hangs in its parent, when that parent can be rewritten (else undefined). */
  loopAttach: (LoopAttach | undefined)[];
  /** Per region: the innermost loop containing it, or -1. */
  regionLoop: number[];
  memoryGrows: number[];
  tableGrows: number[];
  needsFlatten: boolean;
  /** The function calls another function (call, call_indirect, return_call…). */
  calls: boolean;
}

/**
 * Walks one function body iteratively (deeply nested code must not overflow
 * the JS stack) and splits it into metering regions: the function entry, each
 * loop body and each `if` arm. Every expression is charged to the innermost
 * region that contains it (cost model: wasmtime's — one unit for each
 * instruction except block, loop, nop, drop, unreachable and return).
 * An expression kind the walker does not know throws: a module must never
 * come out partly unmetered.
 */
function scanFunction(fn: number, body: number, flattened: boolean): FunctionScan {
  const scan: FunctionScan = {
    regionCost: [0],
    loops: [],
    loopRegions: [],
    loopParent: [],
    loopHasCall: [],
    loopAttach: [],
    regionLoop: [-1],
    subRegions: [],
    memoryGrows: [],
    tableGrows: [],
    needsFlatten: false,
    calls: false,
  };
  const cost = scan.regionCost;
  const regionLoop = scan.regionLoop;
  const newRegion = (loop: number): number => {
    regionLoop.push(loop);
    return cost.push(0) - 1;
  };
  /** Loops found as a child of a parent we can rewrite, keyed by expression. */
  const attach = new Map<number, LoopAttach>();
  const noteLoop = (child: number, kind: LoopAttach["kind"], parent: number, index: number): void => {
    if (child !== 0 && B._BinaryenExpressionGetId(child) === ID.Loop) attach.set(child, { kind, parent, index });
  };
  const markCall = (r: number): void => {
    scan.calls = true;
    for (let l = regionLoop[r] as number; l >= 0 && !scan.loopHasCall[l]; l = scan.loopParent[l] as number) {
      scan.loopHasCall[l] = true;
    }
  };
  noteLoop(body, 4, fn, 0);
  const exprs: number[] = [body];
  const regions: number[] = [0];
  const push = (e: number, r: number): void => {
    if (e !== 0) {
      exprs.push(e);
      regions.push(r);
    }
  };
  while (exprs.length > 0) {
    const e = exprs.pop() as number;
    const r = regions.pop() as number;
    const id = B._BinaryenExpressionGetId(e);
    switch (id) {
      case ID.Block: {
        // Code after a labelled block is a join point (reached by fall-through
        // or by a branch out of the block, e.g. the cases of a br_table
        // switch): it gets its own region, so a switch is charged only for
        // the case that runs.
        const n = B._BinaryenBlockGetNumChildren(e);
        let current = r;
        for (let i = 0; i < n; i++) {
          const child = B._BinaryenBlockGetChildAt(e, i);
          push(child, current);
          const childId = B._BinaryenExpressionGetId(child);
          if (childId === ID.Loop) attach.set(child, { kind: 0, parent: e, index: i });
          if (i + 1 < n && childId === ID.Block && B._BinaryenBlockGetName(child) !== 0) {
            const tail = newRegion(regionLoop[current] as number);
            scan.subRegions.push({ parent: current, expr: e, a: tail, b: i + 1, isIf: false });
            current = tail;
          }
        }
        break;
      }
      case ID.Loop: {
        const index = scan.loops.length;
        scan.loops.push(e);
        scan.loopParent.push(regionLoop[r] as number);
        scan.loopHasCall.push(false);
        scan.loopAttach.push(attach.get(e));
        const region = newRegion(index);
        scan.loopRegions.push(region);
        const loopBody = B._BinaryenLoopGetBody(e);
        noteLoop(loopBody, 3, e, 0);
        push(loopBody, region);
        break;
      }
      case ID.If: {
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenIfGetCondition(e), r);
        const t = newRegion(regionLoop[r] as number);
        const ifTrue = B._BinaryenIfGetIfTrue(e);
        noteLoop(ifTrue, 1, e, 0);
        push(ifTrue, t);
        const ifFalse = B._BinaryenIfGetIfFalse(e);
        let f = -1;
        if (ifFalse !== 0) {
          f = newRegion(regionLoop[r] as number);
          noteLoop(ifFalse, 2, e, 0);
          push(ifFalse, f);
        }
        scan.subRegions.push({ parent: r, expr: e, a: t, b: f, isIf: true });
        break;
      }
      case ID.Nop:
      case ID.Unreachable:
        break;
      case ID.Drop:
        push(B._BinaryenDropGetValue(e), r);
        break;
      case ID.Return:
        push(B._BinaryenReturnGetValue(e), r);
        break;
      case ID.LocalGet:
      case ID.GlobalGet:
      case ID.Const:
      case ID.MemorySize:
      case ID.DataDrop:
      case ID.RefNull:
      case ID.RefFunc:
      case ID.TableSize:
      case ID.ElemDrop:
        cost[r] = (cost[r] as number) + 1;
        break;
      case ID.Break:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenBreakGetCondition(e), r);
        push(B._BinaryenBreakGetValue(e), r);
        break;
      case ID.Switch:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSwitchGetCondition(e), r);
        push(B._BinaryenSwitchGetValue(e), r);
        break;
      case ID.Call: {
        markCall(r);
        cost[r] = (cost[r] as number) + 1;
        const n = B._BinaryenCallGetNumOperands(e);
        for (let i = 0; i < n; i++) push(B._BinaryenCallGetOperandAt(e, i), r);
        break;
      }
      case ID.CallIndirect: {
        markCall(r);
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenCallIndirectGetTarget(e), r);
        const n = B._BinaryenCallIndirectGetNumOperands(e);
        for (let i = 0; i < n; i++) push(B._BinaryenCallIndirectGetOperandAt(e, i), r);
        break;
      }
      case ID.LocalSet:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenLocalSetGetValue(e), r);
        break;
      case ID.GlobalSet:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenGlobalSetGetValue(e), r);
        break;
      case ID.Load:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenLoadGetPtr(e), r);
        break;
      case ID.Store:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenStoreGetPtr(e), r);
        push(B._BinaryenStoreGetValue(e), r);
        break;
      case ID.Unary:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenUnaryGetValue(e), r);
        break;
      case ID.Binary:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenBinaryGetLeft(e), r);
        push(B._BinaryenBinaryGetRight(e), r);
        break;
      case ID.Select:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSelectGetIfTrue(e), r);
        push(B._BinaryenSelectGetIfFalse(e), r);
        push(B._BinaryenSelectGetCondition(e), r);
        break;
      case ID.MemoryGrow:
        cost[r] = (cost[r] as number) + 1;
        scan.memoryGrows.push(e);
        push(B._BinaryenMemoryGrowGetDelta(e), r);
        break;
      case ID.SIMDExtract:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSIMDExtractGetVec(e), r);
        break;
      case ID.SIMDReplace:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSIMDReplaceGetVec(e), r);
        push(B._BinaryenSIMDReplaceGetValue(e), r);
        break;
      case ID.SIMDShuffle:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSIMDShuffleGetLeft(e), r);
        push(B._BinaryenSIMDShuffleGetRight(e), r);
        break;
      case ID.SIMDTernary:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSIMDTernaryGetA(e), r);
        push(B._BinaryenSIMDTernaryGetB(e), r);
        push(B._BinaryenSIMDTernaryGetC(e), r);
        break;
      case ID.SIMDShift:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSIMDShiftGetVec(e), r);
        push(B._BinaryenSIMDShiftGetShift(e), r);
        break;
      case ID.SIMDLoad:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSIMDLoadGetPtr(e), r);
        break;
      case ID.SIMDLoadStoreLane:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenSIMDLoadStoreLaneGetPtr(e), r);
        push(B._BinaryenSIMDLoadStoreLaneGetVec(e), r);
        break;
      case ID.MemoryInit:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenMemoryInitGetDest(e), r);
        push(B._BinaryenMemoryInitGetOffset(e), r);
        push(B._BinaryenMemoryInitGetSize(e), r);
        break;
      case ID.MemoryCopy:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenMemoryCopyGetDest(e), r);
        push(B._BinaryenMemoryCopyGetSource(e), r);
        push(B._BinaryenMemoryCopyGetSize(e), r);
        break;
      case ID.MemoryFill:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenMemoryFillGetDest(e), r);
        push(B._BinaryenMemoryFillGetValue(e), r);
        push(B._BinaryenMemoryFillGetSize(e), r);
        break;
      case ID.RefIsNull:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenRefIsNullGetValue(e), r);
        break;
      case ID.RefEq:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenRefEqGetLeft(e), r);
        push(B._BinaryenRefEqGetRight(e), r);
        break;
      case ID.RefAs:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenRefAsGetValue(e), r);
        break;
      case ID.TableGet:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenTableGetGetIndex(e), r);
        break;
      case ID.TableSet:
        cost[r] = (cost[r] as number) + 1;
        push(B._BinaryenTableSetGetIndex(e), r);
        push(B._BinaryenTableSetGetValue(e), r);
        break;
      case ID.TableGrow:
        cost[r] = (cost[r] as number) + 1;
        scan.tableGrows.push(e);
        push(B._BinaryenTableGrowGetValue(e), r);
        push(B._BinaryenTableGrowGetDelta(e), r);
        break;
      case ID.TableFill:
      case ID.TableCopy:
      case ID.TableInit:
        // binaryen's C API has no getters for these operands. After the
        // `flatten` pass every operand is a local.get or a constant, so no
        // loop can hide in them; before it, ask for the function to be
        // flattened and walked again.
        if (!flattened) {
          scan.needsFlatten = true;
          return scan;
        }
        cost[r] = (cost[r] as number) + 4;
        break;
      case ID.TupleMake: {
        const n = B._BinaryenTupleMakeGetNumOperands(e);
        for (let i = 0; i < n; i++) push(B._BinaryenTupleMakeGetOperandAt(e, i), r);
        break;
      }
      case ID.TupleExtract:
        push(B._BinaryenTupleExtractGetTuple(e), r);
        break;
      default:
        throw new UnsupportedExpressionError(id);
    }
  }
  return scan;
}

/** A readable name for an expression kind id, for error messages. */
export function expressionKindName(id: number): string {
  return ID_NAMES.get(id) ?? `#${id}`;
}

function uniqueName(taken: (name: string) => boolean, base: string): string {
  let name = base;
  for (let i = 1; taken(name); i++) name = `${base}_${i}`;
  return name;
}

export interface InstrumentResult {
  stats: InstrumentStats;
  /** Fields imported from the metering module. */
  imports: string[];
}

/**
 * Rewrites `module` in place: fuel checks at every function entry and loop
 * header (the only places where control can come back without passing a
 * check: recursion and loop back edges), fuel decrements at `if` arms, and a
 * call of the resource limiter (`memory_grow` / `table_grow`) before every
 * `memory.grow` / `table.grow`.
 */
export function instrumentModule(module: binaryen.Module, plan: InstrumentPlan): InstrumentResult {
  const stats = emptyStats();
  const imports: string[] = [];
  const hasFunction = (n: string): boolean => module.getFunction(n) !== 0;
  const hasGlobal = (n: string): boolean => module.getGlobal(n) !== 0;
  const i64 = binaryen.i64;
  const i32 = binaryen.i32;

  const fuelGlobal = uniqueName(hasGlobal, "clawft_metering_fuel");
  const outOfFuel = uniqueName(hasFunction, "clawft_metering_out_of_fuel");
  const memGrowFailed = uniqueName(hasFunction, "clawft_metering_memory_grow");
  const tableGrowFailed = uniqueName(hasFunction, "clawft_metering_table_grow");
  const memGrowCheck = uniqueName(hasFunction, "clawft_metering_memory_grow_check");

  // The functions to meter: every defined function present before we add ours.
  const functions: number[] = [];
  const count = module.getNumFunctions();
  for (let i = 0; i < count; i++) {
    const f = module.getFunctionByIndex(i);
    if (binaryen.getFunctionInfo(f).module === "") functions.push(f);
  }

  const tableNames: string[] = [];
  for (let i = 0; i < module.getNumTables(); i++) tableNames.push(binaryen.getTableInfo(module.getTableByIndex(i)).name);
  const tableGrowChecks = new Map<string, string>();

  /*
   * Every charge leaves the function's i64 local `tmp` equal to the global,
   * so until the next call (which may change the global) the local is as good
   * as the global. Inside loops without calls the charge reads the local
   * ("local form"): the loop then carries its counter in a register instead
   * of through memory (no store-to-load dependency between iterations); the
   * global is still written at every charge, so it is always up to date for
   * out_of_fuel, traps and the host.
   */
  const makeDecrement = (amount: number, tmp: number, local: boolean): number => {
    const current = local ? module.local.get(tmp, i64) : module.global.get(fuelGlobal, i64);
    const next = module.i64.sub(current, module.i64.const(BigInt(amount) as unknown as number));
    return module.global.set(fuelGlobal, tmp < 0 ? next : module.local.tee(tmp, next, i64));
  };
  const makeCheck = (amount: number, tmp: number, local: boolean): number[] => [
    makeDecrement(amount, tmp, local),
    module.if(
      module.i64.lt_s(module.local.get(tmp, i64), module.i64.const(0n as unknown as number)),
      module.block(null, [module.call(outOfFuel, [], binaryen.none), module.unreachable()], binaryen.none),
    ),
  ];

  let usesFuel = false;
  let usesMemGrow = false;
  let usesTableGrow = false;
  for (const f of functions) {
    let scan = scanFunction(f, B._BinaryenFunctionGetBody(f), false);
    if (scan.needsFlatten) {
      module.runPassesOnFunction(f, ["flatten"]);
      scan = scanFunction(f, B._BinaryenFunctionGetBody(f), true);
    }
    stats.functions++;
    for (const g of scan.memoryGrows) {
      B._BinaryenMemoryGrowSetDelta(g, module.call(memGrowCheck, [B._BinaryenMemoryGrowGetDelta(g)], i32));
      usesMemGrow = true;
      stats.memoryGrows++;
    }
    for (const g of scan.tableGrows) {
      const table = (binaryen as unknown as { TableGrow: { getTable(e: number): string } }).TableGrow.getTable(g);
      let helper = tableGrowChecks.get(table);
      if (helper === undefined) {
        helper = uniqueName(hasFunction, `clawft_metering_table_grow_check_${tableGrowChecks.size}`);
        tableGrowChecks.set(table, helper);
      }
      B._BinaryenTableGrowSetDelta(g, module.call(helper, [B._BinaryenTableGrowGetDelta(g)], i32));
      usesTableGrow = true;
      stats.tableGrows++;
    }
    if (!plan.fuel) continue;
    usesFuel = true;
    const cost = scan.regionCost;
    const tmp = scan.loops.length === 0 && !scan.calls ? -1 : B._BinaryenFunctionAddVar(f, i64);
    // Loops without calls whose parent we can rewrite get `tmp = fuel` just
    // before them and use the local form inside (nested ones inherit it).
    const localOk: boolean[] = [];
    scan.loops.forEach((loop, i) => {
      const parent = scan.loopParent[i] as number;
      const inherited = parent >= 0 && (localOk[parent] as boolean);
      const at = scan.loopAttach[i];
      const own = !inherited && !scan.loopHasCall[i] && at !== undefined;
      localOk[i] = inherited || own;
      if (!own || at === undefined) return;
      const wrap = (inner: number): number => module.block(null, [module.local.set(tmp, module.global.get(fuelGlobal, i64)), inner], binaryen.auto);
      if (at.kind === 0) B._BinaryenBlockSetChildAt(at.parent, at.index, wrap(loop));
      else if (at.kind === 1) B._BinaryenIfSetIfTrue(at.parent, wrap(loop));
      else if (at.kind === 2) B._BinaryenIfSetIfFalse(at.parent, wrap(loop));
      else if (at.kind === 3) B._BinaryenLoopSetBody(at.parent, wrap(loop));
      else B._BinaryenFunctionSetBody(at.parent, wrap(loop));
      stats.localLoops++;
    });
    const localForm = (region: number): boolean => {
      const l = scan.regionLoop[region] as number;
      return l >= 0 && (localOk[l] as boolean);
    };
    // Fold small sub-regions into their parents, innermost first.
    const sub = scan.subRegions;
    for (let i = sub.length - 1; i >= 0; i--) {
      const s = sub[i] as SubRegion;
      if (s.isIf) {
        const t = cost[s.a] as number;
        const f = s.b < 0 ? 0 : (cost[s.b] as number);
        const most = Math.max(t, f);
        if (most <= IF_FOLD_LIMIT) {
          cost[s.parent] = (cost[s.parent] as number) + most;
          cost[s.a] = 0;
          if (s.b >= 0) cost[s.b] = 0;
        }
      } else {
        const t = cost[s.a] as number;
        if (t <= TAIL_FOLD_LIMIT) {
          cost[s.parent] = (cost[s.parent] as number) + t;
          cost[s.a] = 0;
        }
      }
    }
    for (const s of sub) {
      if (s.isIf) {
        const t = cost[s.a] as number;
        if (t > 0) {
          B._BinaryenIfSetIfTrue(s.expr, module.block(null, [makeDecrement(t, tmp, localForm(s.a)), B._BinaryenIfGetIfTrue(s.expr)], binaryen.auto));
          stats.ifArms++;
        }
        const f = s.b < 0 ? 0 : (cost[s.b] as number);
        if (f > 0) {
          B._BinaryenIfSetIfFalse(s.expr, module.block(null, [makeDecrement(f, tmp, localForm(s.b)), B._BinaryenIfGetIfFalse(s.expr)], binaryen.auto));
          stats.ifArms++;
        }
      } else {
        const t = cost[s.a] as number;
        if (t > 0) {
          const child = B._BinaryenBlockGetChildAt(s.expr, s.b);
          B._BinaryenBlockSetChildAt(s.expr, s.b, module.block(null, [makeDecrement(t, tmp, localForm(s.a)), child], binaryen.auto));
          stats.blockTails++;
        }
      }
    }
    scan.loops.forEach((loop, i) => {
      const region = scan.loopRegions[i] as number;
      const c = Math.max(1, cost[region] as number);
      B._BinaryenLoopSetBody(loop, module.block(null, [...makeCheck(c, tmp, localForm(region)), B._BinaryenLoopGetBody(loop)], binaryen.auto));
      stats.loops++;
    });
    for (const c of cost) stats.staticCost += c;
    const entry = Math.max(1, cost[0] as number);
    // A leaf (no loop, no call) runs a bounded number of instructions: charge
    // it without the check; the caller's next check sees the counter.
    const leaf = scan.loops.length === 0 && !scan.calls;
    const prologue = leaf ? [makeDecrement(entry, tmp, false)] : makeCheck(entry, tmp, false);
    if (leaf) stats.leafFunctions++;
    B._BinaryenFunctionSetBody(f, module.block(null, [...prologue, B._BinaryenFunctionGetBody(f)], binaryen.auto));
  }

  if (usesFuel) {
    module.addGlobalImport(fuelGlobal, plan.importModule, "fuel", i64, true);
    module.addFunctionImport(outOfFuel, plan.importModule, "out_of_fuel", binaryen.none, binaryen.none);
    imports.push("fuel", "out_of_fuel");
  }
  const limiterParams = binaryen.createType([i32, i32, i32]);
  if (usesMemGrow) {
    const max = plan.memoryMaxPages;
    if (max === undefined) throw new Error("internal: memory.grow without a memory");
    module.addFunctionImport(memGrowFailed, plan.importModule, "memory_grow", limiterParams, i32);
    imports.push("memory_grow");
    module.addFunction(
      memGrowCheck,
      i32,
      i32,
      [],
      module.call(memGrowFailed, [module.memory.size(), module.local.get(0, i32), module.i32.const(max)], i32),
    );
  }
  if (usesTableGrow) {
    module.addFunctionImport(tableGrowFailed, plan.importModule, "table_grow", limiterParams, i32);
    imports.push("table_grow");
    for (const [table, helper] of tableGrowChecks) {
      const index = tableNames.indexOf(table);
      const max = plan.tableMaxElements[index];
      if (max === undefined) throw new Error(`internal: unknown table ${table}`);
      module.addFunction(
        helper,
        i32,
        i32,
        [],
        module.call(tableGrowFailed, [module.table.size(table), module.local.get(0, i32), module.i32.const(max)], i32),
      );
    }
  }
  return { stats, imports };
}
