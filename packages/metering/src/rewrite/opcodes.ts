/**
 * The opcode table of the binary rewriter: for every instruction the
 * metering decoder accepts, the shape of its immediates and its fuel cost.
 * Anything not listed here is refused (a module must never come out partly
 * metered); the features outside SUPPORTED_FEATURES are refused with a reason.
 */

/** Thrown for an instruction, type or section the rewriter does not meter. */
export class UnsupportedFeatureError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "UnsupportedFeatureError";
  }
}

/** Immediate shapes. */
export const IMM = {
  /** Not an instruction the decoder accepts (see {@link UNSUPPORTED_REASON}). */
  BAD: 0,
  NONE: 1,
  /** Handled by the walker itself (structure, branches, calls, indices it renumbers). */
  SPECIAL: 2,
  U32: 3,
  U32X2: 4,
  MEMARG: 5,
  SLEB: 6,
  BYTES4: 7,
  BYTES8: 8,
  /** One memory index (memory.size): must be 0. */
  MEMIDX: 9,
  SELECT_T: 10,
  REF_NULL: 11,
} as const;

/** Opcodes the walker treats itself. */
export const OP = {
  UNREACHABLE: 0x00,
  BLOCK: 0x02,
  LOOP: 0x03,
  IF: 0x04,
  ELSE: 0x05,
  END: 0x0b,
  BR: 0x0c,
  BR_IF: 0x0d,
  BR_TABLE: 0x0e,
  CALL: 0x10,
  CALL_INDIRECT: 0x11,
  RETURN_CALL: 0x12,
  RETURN_CALL_INDIRECT: 0x13,
  LOCAL_GET: 0x20,
  LOCAL_SET: 0x21,
  LOCAL_TEE: 0x22,
  GLOBAL_GET: 0x23,
  GLOBAL_SET: 0x24,
  MEMORY_SIZE: 0x3f,
  MEMORY_GROW: 0x40,
  I32_CONST: 0x41,
  I64_CONST: 0x42,
  I64_LT_S: 0x53,
  I64_GT_U: 0x56,
  I64_ADD: 0x7c,
  I64_SUB: 0x7d,
  I64_EXTEND_I32_U: 0xad,
  REF_FUNC: 0xd2,
  PREFIX_FC: 0xfc,
  PREFIX_FD: 0xfd,
} as const;

/** 0xFC sub-opcodes the walker needs by name. */
export const FC = {
  MEMORY_INIT: 8,
  MEMORY_COPY: 10,
  MEMORY_FILL: 11,
  TABLE_INIT: 12,
  TABLE_COPY: 14,
  TABLE_GROW: 15,
  TABLE_SIZE: 16,
  TABLE_FILL: 17,
} as const;

/** Immediate shape of each single-byte opcode. */
export const IMMEDIATES: Uint8Array = new Uint8Array(256);
/** Fuel cost of each single-byte opcode (the README's cost model). */
export const COSTS: Uint8Array = new Uint8Array(256);
/** Why a single-byte opcode is refused. */
export const UNSUPPORTED_REASON = new Map<number, string>();

function set(from: number, to: number, imm: number, cost: number): void {
  for (let op = from; op <= to; op++) {
    IMMEDIATES[op] = imm;
    COSTS[op] = cost;
  }
}

set(0x00, 0x01, IMM.NONE, 0); // unreachable, nop
set(0x02, 0x05, IMM.SPECIAL, 0); // block, loop, if (1, set below), else
COSTS[OP.IF] = 1;
set(0x0b, 0x0b, IMM.SPECIAL, 0); // end
set(0x0c, 0x0e, IMM.SPECIAL, 1); // br, br_if, br_table
set(0x0f, 0x0f, IMM.NONE, 0); // return
set(0x10, 0x13, IMM.SPECIAL, 1); // call, call_indirect, return_call, return_call_indirect
set(0x1a, 0x1a, IMM.NONE, 0); // drop
set(0x1b, 0x1b, IMM.NONE, 1); // select
set(0x1c, 0x1c, IMM.SELECT_T, 1); // select t*
set(0x20, 0x22, IMM.U32, 1); // local.get/set/tee
set(0x23, 0x24, IMM.SPECIAL, 1); // global.get/set (renumbered)
set(0x25, 0x26, IMM.U32, 1); // table.get/set
set(0x28, 0x3e, IMM.MEMARG, 1); // loads and stores
set(0x3f, 0x3f, IMM.MEMIDX, 1); // memory.size
set(0x40, 0x40, IMM.SPECIAL, 1); // memory.grow
set(0x41, 0x42, IMM.SLEB, 1); // i32.const, i64.const
set(0x43, 0x43, IMM.BYTES4, 1); // f32.const
set(0x44, 0x44, IMM.BYTES8, 1); // f64.const
set(0x45, 0xc4, IMM.NONE, 1); // numeric (incl. sign extension)
set(0xd0, 0xd0, IMM.REF_NULL, 1); // ref.null
set(0xd1, 0xd1, IMM.NONE, 1); // ref.is_null
set(0xd2, 0xd2, IMM.SPECIAL, 1); // ref.func (renumbered)
set(0xfc, 0xfd, IMM.SPECIAL, 1); // prefixes

for (const op of [0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f]) UNSUPPORTED_REASON.set(op, "exception handling");
for (const op of [0x14, 0x15, 0xd4, 0xd5, 0xd6]) UNSUPPORTED_REASON.set(op, "typed function references");
UNSUPPORTED_REASON.set(0xd3, "GC");
UNSUPPORTED_REASON.set(0xfb, "GC");
UNSUPPORTED_REASON.set(0xfe, "threads");

/** Immediate shape of a 0xFC sub-opcode, or BAD. */
export function fcImmediate(sub: number): number {
  if (sub <= 7) return IMM.NONE; // saturating truncations
  switch (sub) {
    case FC.MEMORY_INIT:
    case FC.MEMORY_COPY:
    case FC.MEMORY_FILL:
    case FC.TABLE_GROW:
      return IMM.SPECIAL;
    case 9: // data.drop
    case 13: // elem.drop
    case FC.TABLE_SIZE:
    case FC.TABLE_FILL:
      return IMM.U32;
    case FC.TABLE_INIT:
    case FC.TABLE_COPY:
      return IMM.U32X2;
    default:
      return IMM.BAD;
  }
}

/** Fuel cost of a 0xFC sub-opcode: table.fill/copy/init 4, the rest 1. */
export function fcCost(sub: number): number {
  return sub === FC.TABLE_FILL || sub === FC.TABLE_COPY || sub === FC.TABLE_INIT ? 4 : 1;
}

/** SIMD (0xFD) immediate shapes. */
export const SIMD = {
  NONE: 0,
  MEMARG: 1,
  BYTES16: 2,
  LANE: 3,
  MEMARG_LANE: 4,
  /** Relaxed SIMD or unknown. */
  BAD: 5,
} as const;

/** Immediate shape of a SIMD sub-opcode (every one costs 1). */
export function simdImmediate(sub: number): number {
  if (sub <= 11) return SIMD.MEMARG; // v128.load*, v128.store
  if (sub <= 13) return SIMD.BYTES16; // v128.const, i8x16.shuffle
  if (sub <= 20) return SIMD.NONE; // swizzle, splats
  if (sub <= 34) return SIMD.LANE; // extract/replace lane
  if (sub <= 83) return SIMD.NONE;
  if (sub <= 91) return SIMD.MEMARG_LANE; // load/store lane
  if (sub <= 93) return SIMD.MEMARG; // load32_zero, load64_zero
  if (sub <= 255) return SIMD.NONE;
  return SIMD.BAD;
}

/** Value types the rewriter accepts in locals, globals, block types and `select t*`. */
export function isSupportedValType(b: number): boolean {
  return b === 0x7f || b === 0x7e || b === 0x7d || b === 0x7c || b === 0x7b || b === 0x70 || b === 0x6f;
}

/** The reason a value type byte is refused. */
export function valTypeReason(b: number): string {
  return b === 0x63 || b === 0x64 ? "typed function references" : `value type 0x${b.toString(16)}`;
}
