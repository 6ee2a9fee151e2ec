/**
 * A small, strict reader of a component's binary structure that bounds its type
 * complexity *before* any code generation (jco's `componentWit`, `transpile`).
 *
 * Stops: a component of a few hundred bytes whose types expand to millions of
 * nodes (a type `t(n) = tuple<t(n-1), t(n-1)>` doubles at every level; jco writes
 * lifting/lowering code for the expanded type) — measured at 38 MB of glue, 1 GiB
 * of RSS and seconds of main-thread stall before this check existed.
 *
 * It reads sections, nested components, type definitions (value, function,
 * instance, component and core types), imports, exports, aliases and the import
 * section of every core module; every other section is skipped by its length.
 * Time is linear in the bytes: each type's expanded size and nesting depth are
 * computed once from the already computed values of the types it refers to (types
 * only refer to earlier indices). Recursion happens only into nested components
 * and nested instance/component type declarations, and both are capped
 * (`maxComponentNesting`, `maxTypeDepth`) before they are entered.
 */
import { WitOptionsError, WitValidationError } from "./errors.js";

/** Limits of {@link scanComponent}; each is counted over the whole binary, nested components included. */
export interface ComponentLimits {
  /**
   * Deepest nesting of defined types: value types (tuple, record, list, variant,
   * option, result …) inside each other, and instance/component type declarations.
   * @default 32
   */
  maxTypeDepth?: number;
  /**
   * Largest expanded size of one type (every node counted as often as it is
   * referred to: a `tuple<t, t>` counts `t` twice).
   * @default 4096
   */
  maxTypeSize?: number;
  /**
   * Sum of the expanded sizes of every type definition and every use of a type
   * by an import, export or declaration (what generated code grows with).
   * @default 65536
   */
  maxTotalTypeSize?: number;
  /** Type definitions (component and core, all scopes). @default 4096 */
  maxTypes?: number;
  /** Nested components (inside each other). @default 8 */
  maxComponentNesting?: number;
  /** Components in the binary, the outer one included. @default 64 */
  maxComponents?: number;
  /** Core modules. @default 32 */
  maxCoreModules?: number;
  /** Core instances (instantiations and bundles of exports). @default 256 */
  maxCoreInstances?: number;
  /** Component instances. @default 256 */
  maxComponentInstances?: number;
  /** Imports of components and component/instance types (core module imports not counted). @default 1024 */
  maxImports?: number;
  /** Exports of components and component/instance types. @default 2048 */
  maxExports?: number;
}

export type ResolvedComponentLimits = Readonly<Required<ComponentLimits>>;

/**
 * Defaults, with a wide margin over what real plugins need. Measured: the
 * componentize-qjs JS example (the largest) has depth 9, largest type 152, total
 * type size 4,488, 462 type definitions, 25 components nested 3 deep, 11 core
 * modules, 50 core instances, 24 component instances, 115 imports, 218 exports;
 * the WAT fixtures (wit-component output, as wit-bindgen's) depth 2, largest type
 * 77, total ~250, 30 types, 3 core modules.
 */
export const DEFAULT_COMPONENT_LIMITS: ResolvedComponentLimits = Object.freeze({
  maxTypeDepth: 32,
  maxTypeSize: 4096,
  maxTotalTypeSize: 65_536,
  maxTypes: 4096,
  maxComponentNesting: 8,
  maxComponents: 64,
  maxCoreModules: 32,
  maxCoreInstances: 256,
  maxComponentInstances: 256,
  maxImports: 1024,
  maxExports: 2048,
});

/** What {@link scanComponent} counted. */
export interface ComponentScan {
  readonly maxTypeDepth: number;
  readonly maxTypeSize: number;
  readonly totalTypeSize: number;
  readonly types: number;
  readonly componentNesting: number;
  readonly components: number;
  readonly coreModules: number;
  readonly coreInstances: number;
  readonly componentInstances: number;
  readonly imports: number;
  readonly exports: number;
  /** The functions of the outer component's `host` instance import, by name (empty when it imports no `host`). */
  readonly hostImportFunctions: readonly string[];
  /** Every core module's imports from the module `host` (`host/log`), over all core modules. */
  readonly coreHostImports: readonly string[];
}

export function resolveComponentLimits(limits: ComponentLimits = {}): ResolvedComponentLimits {
  if (typeof limits !== "object" || limits === null) throw new WitOptionsError("limits must be an object");
  const out: Record<string, number> = { ...DEFAULT_COMPONENT_LIMITS };
  for (const [key, value] of Object.entries(limits)) {
    if (!(key in DEFAULT_COMPONENT_LIMITS)) throw new WitOptionsError(`limits.${key} is not a known limit`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new WitOptionsError(`limits.${key} must be a positive integer`);
    out[key] = value as number;
  }
  return Object.freeze(out) as ResolvedComponentLimits;
}

/** Expanded sizes saturate here (a doubling type would overflow doubles otherwise). */
const SATURATED = 2 ** 40;

/** One entry of a type index space: how deep and how large it is once expanded. */
interface TypeInfo {
  depth: number;
  size: number;
  /** For an instance type: the names of its exported functions. */
  funcExports?: string[];
}

const LEAF: TypeInfo = Object.freeze({ depth: 0, size: 1 });

/** Component-model primitive value types (one negative s33 byte each). */
const PRIMITIVES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x7a, 0x79, 0x78, 0x77, 0x76, 0x75, 0x74, 0x73, 0x64]);

class Malformed extends Error {}

class TooComplex extends Error {
  constructor(readonly what: string, readonly value: number, readonly limit: number, readonly option: string) {
    super(`${what} ${value} exceeds ${limit} (${option})`);
  }
}

/** A cursor over one byte range; every read is bounds-checked. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new Malformed("unexpected end of data");
    return this.bytes[this.pos++] as number;
  }

  peek(): number {
    if (this.pos >= this.end) throw new Malformed("unexpected end of data");
    return this.bytes[this.pos] as number;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      if (shift === 28 && (b & 0x70) !== 0) throw new Malformed("integer too large");
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 28) throw new Malformed("integer too long");
    }
  }

  /** Skips a LEB128 integer of up to 64 bits (core limits may be memory64). */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new Malformed("integer too long");
  }

  skip(n: number): void {
    if (n > this.end - this.pos) throw new Malformed("length past the end of its section");
    this.pos += n;
  }

  string(): string {
    const n = this.u32();
    const start = this.pos;
    this.skip(n);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, n).toString("utf8");
  }

  skipString(): void {
    this.skip(this.u32());
  }

  /** A sub-reader over the next `n` bytes (this cursor moves past them). */
  sub(n: number): Reader {
    const start = this.pos;
    this.skip(n);
    return new Reader(this.bytes, start, start + n);
  }
}

/** One scope with its own type index space (a component, an instance or component type). */
interface Scope {
  types: TypeInfo[];
  coreTypes: number;
}

class Scanner {
  maxDepthSeen = 0;
  maxSizeSeen = 1;
  totalTypeSize = 0;
  types = 0;
  components = 0;
  maxNesting = 0;
  coreModules = 0;
  coreInstances = 0;
  componentInstances = 0;
  imports = 0;
  exports = 0;
  hostImportFunctions: string[] = [];
  readonly coreHostImports = new Set<string>();
  private readonly scopes: Scope[] = [];

  constructor(private readonly limits: ResolvedComponentLimits) {}

  private over(what: string, value: number, key: keyof ResolvedComponentLimits): void {
    if (value > this.limits[key]) throw new TooComplex(what, value, this.limits[key], key);
  }

  private get scope(): Scope {
    return this.scopes[this.scopes.length - 1] as Scope;
  }

  /** Records a newly defined type in the current scope, checking every limit it touches. */
  private define(info: TypeInfo, declarations = false): void {
    this.types++;
    this.over("type definitions", this.types, "maxTypes");
    this.over("type nesting depth", info.depth, "maxTypeDepth");
    if (info.depth > this.maxDepthSeen) this.maxDepthSeen = info.depth;
    if (!declarations) {
      // An instance or component type is a sum of declarations whose sizes are in the total already.
      this.over("expanded type size", info.size, "maxTypeSize");
      this.addTotal(info.size);
      if (info.size > this.maxSizeSeen) this.maxSizeSeen = info.size;
    }
    this.scope.types.push(info);
  }

  /** A type index space entry that defines nothing new (an alias, an imported or exported type). */
  private refer(info: TypeInfo): void {
    this.scope.types.push(info);
  }

  private addTotal(size: number): void {
    this.totalTypeSize = Math.min(SATURATED, this.totalTypeSize + size);
    this.over("total type size", this.totalTypeSize, "maxTotalTypeSize");
  }

  private typeAt(index: number): TypeInfo {
    const info = this.scope.types[index];
    if (info === undefined) throw new Malformed(`type index ${index} out of range`);
    return info;
  }

  /**
   * The type an alias refers to when it cannot be resolved here (an export of an
   * instance): no larger nor deeper than any type defined so far, since every type
   * is defined in the binary before anything can alias it.
   */
  private get unresolved(): TypeInfo {
    return { depth: this.maxDepthSeen, size: this.maxSizeSeen };
  }

  // ---- components -------------------------------------------------------

  component(r: Reader, nesting: number): void {
    this.components++;
    this.over("components", this.components, "maxComponents");
    this.over("component nesting", nesting, "maxComponentNesting");
    if (nesting > this.maxNesting) this.maxNesting = nesting;
    this.scopes.push({ types: [], coreTypes: 0 });
    const outer = nesting === 0;
    while (!r.done) {
      const id = r.byte();
      const body = r.sub(r.u32());
      switch (id) {
        case 0: // custom
        case 8: // canon: defines functions, no types
        case 9: // start
          break;
        case 1:
          this.coreModule(body);
          break;
        case 2:
          this.coreInstances += body.u32();
          this.over("core instances", this.coreInstances, "maxCoreInstances");
          break;
        case 3:
          for (let n = body.u32(); n > 0; n--) this.coreType(body, 1);
          this.end(body);
          break;
        case 4: {
          this.preamble(body);
          this.component(body, nesting + 1);
          break;
        }
        case 5:
          this.componentInstances += body.u32();
          this.over("component instances", this.componentInstances, "maxComponentInstances");
          break;
        case 6:
          for (let n = body.u32(); n > 0; n--) this.alias(body);
          this.end(body);
          break;
        case 7:
          for (let n = body.u32(); n > 0; n--) this.defType(body, 1);
          this.end(body);
          break;
        case 10:
          for (let n = body.u32(); n > 0; n--) this.importItem(body, outer);
          this.end(body);
          break;
        case 11:
          for (let n = body.u32(); n > 0; n--) this.exportItem(body);
          this.end(body);
          break;
        default:
          throw new Malformed(`unknown section id ${id}`);
      }
    }
    this.scopes.pop();
  }

  preamble(r: Reader): void {
    const expected = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    for (const b of expected) if (r.byte() !== b) throw new Malformed("bad component preamble");
  }

  private end(r: Reader): void {
    if (!r.done) throw new Malformed("section longer than its contents");
  }

  private importItem(r: Reader, outer: boolean): void {
    this.imports++;
    this.over("imports", this.imports, "maxImports");
    const name = this.externName(r);
    const described = this.externDesc(r);
    if (outer && name === "host" && described.instance) this.hostImportFunctions = [...(described.instance.funcExports ?? [])];
  }

  private exportItem(r: Reader): void {
    this.exports++;
    this.over("exports", this.exports, "maxExports");
    this.externName(r);
    const sort = this.sort(r);
    const index = r.u32();
    const ascribed = r.byte();
    let described: { type?: TypeInfo } = {};
    if (ascribed === 0x01) described = this.externDesc(r);
    else if (ascribed !== 0x00) throw new Malformed("bad export type ascription");
    if (sort === "type") this.refer(described.type ?? this.typeAt(index));
  }

  /** importname' / exportname': 0x00 name | 0x01 name version-suffix. */
  private externName(r: Reader): string {
    const tag = r.byte();
    const name = r.string();
    if (tag === 0x01) r.skipString();
    else if (tag !== 0x00) throw new Malformed("bad import/export name");
    return name;
  }

  /** sort: a component sort, or 0x00 followed by a core sort. Returns "type" for a component type. */
  private sort(r: Reader): string {
    const s = r.byte();
    if (s === 0x00) {
      const core = r.byte();
      if (![0x00, 0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x12].includes(core)) throw new Malformed("bad core sort");
      return core === 0x10 ? "core-type" : "core";
    }
    if (s < 0x01 || s > 0x05) throw new Malformed("bad sort");
    return s === 0x03 ? "type" : "other";
  }

  /**
   * externdesc. A use of a type (a function, instance or component type) adds its
   * expanded size to the total: generated code grows with every use. An imported
   * or exported type (`type (eq i)` / `(sub resource)`) becomes a type index.
   */
  private externDesc(r: Reader): { type?: TypeInfo; instance?: TypeInfo } {
    const kind = r.byte();
    switch (kind) {
      case 0x00:
        if (r.byte() !== 0x11) throw new Malformed("bad core module extern");
        r.u32();
        return {};
      case 0x01:
      case 0x04:
      case 0x05: {
        const info = this.typeAt(r.u32());
        this.addTotal(info.size);
        return kind === 0x05 ? { instance: info } : {};
      }
      case 0x02: {
        const bound = r.byte();
        if (bound === 0x00) r.u32();
        else if (bound === 0x01) this.addTotal(this.valType(r).size);
        else throw new Malformed("bad value bound");
        return {};
      }
      case 0x03: {
        const bound = r.byte();
        let info: TypeInfo;
        if (bound === 0x00) info = this.typeAt(r.u32());
        else if (bound === 0x01) info = LEAF;
        else throw new Malformed("bad type bound");
        this.refer(info);
        return { type: info };
      }
      default:
        throw new Malformed("bad extern kind");
    }
  }

  private alias(r: Reader): void {
    const sort = this.sort(r);
    const target = r.byte();
    let outer: TypeInfo | undefined;
    if (target === 0x00 || target === 0x01) {
      r.u32();
      r.skipString();
    } else if (target === 0x02) {
      const count = r.u32();
      const index = r.u32();
      if (sort === "type") {
        const scope = this.scopes[this.scopes.length - 1 - count];
        if (scope === undefined) throw new Malformed("outer alias past the outermost component");
        outer = scope.types[index];
        if (outer === undefined) throw new Malformed(`outer type index ${index} out of range`);
      }
    } else {
      throw new Malformed("bad alias target");
    }
    if (sort === "type") this.refer(outer ?? this.unresolved);
    else if (sort === "core-type") this.scope.coreTypes++;
  }

  // ---- types ------------------------------------------------------------

  /** valtype: a primitive (one negative s33 byte) or an index of an earlier type. */
  private valType(r: Reader): TypeInfo {
    const b = r.peek();
    if ((b & 0xc0) === 0x40) {
      r.byte();
      if (!PRIMITIVES.has(b)) throw new Malformed(`bad value type 0x${b.toString(16)}`);
      return LEAF;
    }
    return this.typeAt(r.u32());
  }

  private optValType(r: Reader): TypeInfo | undefined {
    const tag = r.byte();
    if (tag === 0x00) return undefined;
    if (tag === 0x01) return this.valType(r);
    throw new Malformed("bad optional type");
  }

  /** A composite made of `children`: one node deeper and as large as all of them plus itself. */
  private composite(children: Iterable<TypeInfo | undefined>): TypeInfo {
    let depth = 0;
    let size = 1;
    for (const c of children) {
      if (c === undefined) continue;
      if (c.depth > depth) depth = c.depth;
      size = Math.min(SATURATED, size + c.size);
    }
    return { depth: depth + 1, size };
  }

  /** A vector of value-type-bearing items, read one at a time (never a list of unbounded length in memory). */
  private vecComposite(r: Reader, item: () => TypeInfo | undefined): TypeInfo {
    let depth = 0;
    let size = 1;
    for (let n = r.u32(); n > 0; n--) {
      const c = item();
      if (c === undefined) continue;
      if (c.depth > depth) depth = c.depth;
      size = Math.min(SATURATED, size + c.size);
    }
    return { depth: depth + 1, size };
  }

  /** deftype of a component type section or declaration; `depth` is the declaration nesting. */
  private defType(r: Reader, depth: number): void {
    this.over("type nesting depth", depth, "maxTypeDepth");
    const code = r.byte();
    switch (code) {
      case 0x72: // record
        this.define(this.vecComposite(r, () => (r.skipString(), this.valType(r))));
        return;
      case 0x71: // variant
        this.define(
          this.vecComposite(r, () => {
            r.skipString();
            const t = this.optValType(r);
            const refines = r.byte();
            if (refines === 0x01) r.u32();
            else if (refines !== 0x00) throw new Malformed("bad variant case");
            return t;
          }),
        );
        return;
      case 0x70: // list
      case 0x6b: // option
        this.define(this.composite([this.valType(r)]));
        return;
      case 0x67: // fixed-size list
        this.define(this.composite([this.valType(r)]));
        r.u32();
        return;
      case 0x6f: // tuple
        this.define(this.vecComposite(r, () => this.valType(r)));
        return;
      case 0x6e: // flags
      case 0x6d: // enum
        for (let n = r.u32(); n > 0; n--) r.skipString();
        this.define({ depth: 1, size: 1 });
        return;
      case 0x6a: // result
        this.define(this.composite([this.optValType(r), this.optValType(r)]));
        return;
      case 0x69: // own
      case 0x68: // borrow
        this.typeAt(r.u32());
        this.define({ depth: 1, size: 1 });
        return;
      case 0x66: // stream
      case 0x65: // future
        this.define(this.composite([this.optValType(r)]));
        return;
      case 0x40: // function
      case 0x43: // async function
        this.define(this.funcType(r));
        return;
      case 0x41: // component type
      case 0x42: // instance type
        // Its declarations added their own sizes to the total already.
        this.define(this.declarations(r, depth, code === 0x41), true);
        return;
      case 0x3f: // resource (sync destructor)
        if (r.byte() !== 0x7f) throw new Malformed("bad resource representation");
        if (this.optIndex(r)) r.u32();
        this.define({ depth: 1, size: 1 });
        return;
      case 0x3e: // resource (async destructor)
        if (r.byte() !== 0x7f) throw new Malformed("bad resource representation");
        if (this.optIndex(r)) r.u32();
        if (this.optIndex(r)) r.u32();
        this.define({ depth: 1, size: 1 });
        return;
      default:
        if (PRIMITIVES.has(code)) {
          this.define(LEAF);
          return;
        }
        throw new Malformed(`unknown type form 0x${code.toString(16)}`);
    }
  }

  private optIndex(r: Reader): boolean {
    const tag = r.byte();
    if (tag !== 0x00 && tag !== 0x01) throw new Malformed("bad optional index");
    return tag === 0x01;
  }

  private funcType(r: Reader): TypeInfo {
    const params = this.vecComposite(r, () => (r.skipString(), this.valType(r)));
    const tag = r.byte();
    let results: TypeInfo | undefined;
    if (tag === 0x00) results = this.valType(r);
    else if (tag === 0x01) results = this.vecComposite(r, () => (r.skipString(), this.valType(r)));
    else throw new Malformed("bad function results");
    // A function is not a value type: its depth is its deepest parameter or result.
    const depth = Math.max(params.depth - 1, results.depth - (tag === 0x01 ? 1 : 0));
    return { depth, size: Math.min(SATURATED, params.size + results.size) };
  }

  /** The declarations of an instance or component type, in a scope of their own. */
  private declarations(r: Reader, depth: number, component: boolean): TypeInfo {
    this.scopes.push({ types: [], coreTypes: 0 });
    const funcExports: string[] = [];
    const before = this.totalTypeSize;
    for (let n = r.u32(); n > 0; n--) {
      const kind = r.byte();
      if (kind === 0x00) this.coreType(r, depth + 1);
      else if (kind === 0x01) this.defType(r, depth + 1);
      else if (kind === 0x02) this.alias(r);
      else if (kind === 0x03 && component) {
        this.imports++;
        this.over("imports", this.imports, "maxImports");
        this.externName(r);
        this.externDesc(r);
      } else if (kind === 0x04) {
        this.exports++;
        this.over("exports", this.exports, "maxExports");
        const name = this.externName(r);
        const isFunc = r.peek() === 0x01;
        this.externDesc(r);
        if (isFunc && !component) funcExports.push(name);
      } else throw new Malformed("bad declaration");
    }
    this.scopes.pop();
    return { depth, size: Math.min(SATURATED, 1 + (this.totalTypeSize - before)), funcExports };
  }

  /** core:deftype: a function type or a module type (core GC types are refused: no plugin toolchain emits them). */
  private coreType(r: Reader, depth: number): void {
    this.over("type nesting depth", depth, "maxTypeDepth");
    let code = r.byte();
    if (code === 0x00) {
      code = r.byte();
      if (code !== 0x50) throw new Malformed("bad core type");
    }
    if (code === 0x60) {
      for (let n = r.u32(); n > 0; n--) this.coreValType(r);
      for (let n = r.u32(); n > 0; n--) this.coreValType(r);
    } else if (code === 0x50) {
      this.scopes.push({ types: [], coreTypes: 0 });
      for (let n = r.u32(); n > 0; n--) {
        const kind = r.byte();
        if (kind === 0x00) {
          r.skipString();
          r.skipString();
          this.coreImportDesc(r);
        } else if (kind === 0x01) {
          this.coreType(r, depth + 1);
        } else if (kind === 0x02) {
          // core:alias: sort, then an outer target (0x01 count index)
          r.byte();
          if (r.byte() !== 0x01) throw new Malformed("bad core alias");
          r.u32();
          r.u32();
        } else if (kind === 0x03) {
          r.skipString();
          this.coreImportDesc(r);
        } else throw new Malformed("bad module declaration");
      }
      this.scopes.pop();
    } else {
      throw new Malformed(`unsupported core type form 0x${code.toString(16)}`);
    }
    this.types++;
    this.over("type definitions", this.types, "maxTypes");
    this.scope.coreTypes++;
  }

  private coreValType(r: Reader): void {
    const b = r.byte();
    // i32 i64 f32 f64 v128 funcref externref
    if (![0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f].includes(b)) throw new Malformed(`unsupported core value type 0x${b.toString(16)}`);
  }

  private coreLimits(r: Reader): void {
    const flags = r.byte();
    if (flags > 0x07) throw new Malformed("bad limits");
    r.skipLeb();
    if (flags & 0x01) r.skipLeb();
  }

  private coreImportDesc(r: Reader): void {
    const kind = r.byte();
    switch (kind) {
      case 0x00: // function
        r.u32();
        return;
      case 0x01: // table
        this.coreValType(r);
        this.coreLimits(r);
        return;
      case 0x02: // memory
        this.coreLimits(r);
        return;
      case 0x03: // global
        this.coreValType(r);
        if (r.byte() > 1) throw new Malformed("bad global mutability");
        return;
      case 0x04: // tag
        if (r.byte() !== 0x00) throw new Malformed("bad tag");
        r.u32();
        return;
      default:
        throw new Malformed("bad core import");
    }
  }

  // ---- core modules -----------------------------------------------------

  /** A core module: counted, its import section read (for the `host` wiring check); the rest is metering's and V8's. */
  private coreModule(r: Reader): void {
    this.coreModules++;
    this.over("core modules", this.coreModules, "maxCoreModules");
    const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    for (const b of magic) if (r.byte() !== b) throw new Malformed("bad core module preamble");
    while (!r.done) {
      const id = r.byte();
      const body = r.sub(r.u32());
      if (id !== 2) continue;
      for (let n = body.u32(); n > 0; n--) {
        const module = body.string();
        const name = body.string();
        this.coreImportDesc(body);
        if (module === "host") this.coreHostImports.add(name);
      }
      this.end(body);
    }
  }
}

/**
 * Reads a component's structure and refuses it, before any code generation, when
 * its types or its structure go over `limits`: `WIT_TOO_COMPLEX`, whose message
 * names what was over (`component too complex: type nesting depth 40 exceeds 32
 * (maxTypeDepth)`). Bytes it cannot read are `WIT_INVALID_COMPONENT`; a core
 * module or garbage is `WIT_NOT_A_COMPONENT`. Linear in the bytes.
 */
export function scanComponent(bytes: Uint8Array, limits?: ComponentLimits): ComponentScan {
  const resolved = resolveComponentLimits(limits);
  if (!(bytes instanceof Uint8Array)) throw new WitValidationError("WIT_NOT_A_COMPONENT", "not a WebAssembly component: expected a Uint8Array");
  const scanner = new Scanner(resolved);
  const r = new Reader(bytes, 0, bytes.length);
  try {
    scanner.preamble(r);
  } catch {
    throw new WitValidationError("WIT_NOT_A_COMPONENT", "not a WebAssembly component: no component preamble (\\0asm, version 0x0d, layer 1)");
  }
  try {
    scanner.component(r, 0);
  } catch (error) {
    if (error instanceof TooComplex) {
      throw new WitValidationError("WIT_TOO_COMPLEX", `component too complex: ${error.message}`, { cause: error });
    }
    if (error instanceof Malformed) {
      throw new WitValidationError("WIT_INVALID_COMPONENT", `invalid component: ${error.message}`, { cause: error });
    }
    throw error;
  }
  return Object.freeze({
    maxTypeDepth: scanner.maxDepthSeen,
    maxTypeSize: scanner.maxSizeSeen,
    totalTypeSize: scanner.totalTypeSize,
    types: scanner.types,
    componentNesting: scanner.maxNesting,
    components: scanner.components,
    coreModules: scanner.coreModules,
    coreInstances: scanner.coreInstances,
    componentInstances: scanner.componentInstances,
    imports: scanner.imports,
    exports: scanner.exports,
    hostImportFunctions: Object.freeze([...scanner.hostImportFunctions]),
    coreHostImports: Object.freeze([...scanner.coreHostImports].sort()),
  });
}
