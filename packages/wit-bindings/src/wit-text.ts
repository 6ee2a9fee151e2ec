/**
 * A reader for the WIT text that jco's `componentWit()` prints for a component
 * (and for wit/plugin.wit itself): packages, worlds, interfaces and function
 * signatures. Type definitions (records, variants, resources…) are recorded by
 * name only; function types are kept as normalised text (`list<tuple<string, string>>`).
 *
 * It is not a general WIT front end: it reads what wit-component's printer
 * emits, plus comments, `@since`/`@unstable` gates and nested `package x { }`
 * blocks. Anything else is a `WitSyntaxError` naming the line.
 */

export interface WitParam {
  readonly name: string;
  readonly type: string;
}

export interface WitFunction {
  readonly name: string;
  readonly params: readonly WitParam[];
  /** The result type, e.g. `result<string, string>`; undefined when the function returns nothing. */
  readonly result: string | undefined;
  readonly async: boolean;
  /** `func(name: string) -> option<string>` */
  readonly signature: string;
  /** The signature without parameter names (what two functions must share to be the same type): `func(string) -> option<string>` */
  readonly shape: string;
}

export interface WitInterface {
  readonly name: string;
  readonly functions: readonly WitFunction[];
  /** Names of the types the interface defines. */
  readonly types: readonly string[];
}

export type WitWorldItem =
  | {
      readonly direction: "import" | "export";
      readonly kind: "interface";
      /** `host` for an inline interface, `wasi:cli/environment@0.2.3` for a named one. */
      readonly name: string;
      readonly inline: boolean;
      /** The interface's body: inline, or found in the same document; undefined if it is not there. */
      readonly interface: WitInterface | undefined;
    }
  | {
      readonly direction: "import" | "export";
      readonly kind: "function";
      readonly name: string;
      readonly function: WitFunction;
    };

export interface WitWorld {
  readonly name: string;
  readonly items: readonly WitWorldItem[];
}

export interface WitPackage {
  /** `clawft:plugin@0.1.0` */
  readonly name: string;
  readonly interfaces: ReadonlyMap<string, WitInterface>;
  readonly worlds: ReadonlyMap<string, WitWorld>;
}

export interface WitDocument {
  /** The first package is the document's own (`package …;` at the top), then nested `package … { }` blocks. */
  readonly packages: readonly WitPackage[];
}

export class WitSyntaxError extends Error {
  constructor(message: string, line: number) {
    super(`${message} (line ${line})`);
    this.name = "WitSyntaxError";
  }
}

type TokenKind = "ident" | "number" | "version" | "attr" | "punct" | "eof";
interface Token {
  kind: TokenKind;
  text: string;
  line: number;
}

const IDENT_START = /[A-Za-z%_]/;
const IDENT_PART = /[A-Za-z0-9-]/;
const VERSION_PART = /[0-9A-Za-z.+-]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      // WIT block comments nest
      let depth = 0;
      do {
        if (text[i] === "/" && text[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (text[i] === "*" && text[i + 1] === "/") {
          depth--;
          i += 2;
        } else {
          if (text[i] === "\n") line++;
          i++;
        }
      } while (depth > 0 && i < n);
      if (depth > 0) throw new WitSyntaxError("unterminated block comment", line);
      continue;
    }
    if (c === "-" && text[i + 1] === ">") {
      tokens.push({ kind: "punct", text: "->", line });
      i += 2;
      continue;
    }
    if (c === "@") {
      let j = i + 1;
      if (/[0-9]/.test(text[j] ?? "")) {
        while (j < n && VERSION_PART.test(text[j]!)) j++;
        tokens.push({ kind: "version", text: text.slice(i + 1, j), line });
      } else {
        while (j < n && IDENT_PART.test(text[j]!)) j++;
        tokens.push({ kind: "attr", text: text.slice(i + 1, j), line });
      }
      i = j;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(text[j]!)) j++;
      tokens.push({ kind: "ident", text: text.slice(i, j).replace(/^%/, ""), line });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && VERSION_PART.test(text[j]!)) j++;
      tokens.push({ kind: "number", text: text.slice(i, j), line });
      i = j;
      continue;
    }
    if ("{}()<>,;:=/.*".includes(c)) {
      tokens.push({ kind: "punct", text: c, line });
      i++;
      continue;
    }
    throw new WitSyntaxError(`unexpected character ${JSON.stringify(c)}`, line);
  }
  tokens.push({ kind: "eof", text: "", line });
  return tokens;
}

const TYPEDEF_BLOCKS = new Set(["record", "variant", "enum", "flags", "resource"]);

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const token = this.peek();
    if (token.kind !== "eof") this.pos++;
    return token;
  }
  private is(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return (token.kind === "punct" || token.kind === "ident") && token.text === text;
  }
  private expect(text: string): Token {
    const token = this.next();
    if (token.text !== text || (token.kind !== "punct" && token.kind !== "ident")) {
      throw new WitSyntaxError(`expected ${JSON.stringify(text)}, found ${JSON.stringify(token.text || "end of text")}`, token.line);
    }
    return token;
  }
  private ident(): string {
    const token = this.next();
    if (token.kind !== "ident") {
      throw new WitSyntaxError(`expected a name, found ${JSON.stringify(token.text || "end of text")}`, token.line);
    }
    return token.text;
  }
  private fail(what: string): never {
    const token = this.peek();
    throw new WitSyntaxError(`${what}, found ${JSON.stringify(token.text || "end of text")}`, token.line);
  }

  /** Skips `@since(...)`, `@unstable(...)`, `@deprecated(...)` gates. */
  private skipAttributes(): void {
    while (this.peek().kind === "attr") {
      this.next();
      if (this.is("(")) this.skipBalanced("(", ")");
    }
  }

  private skipBalanced(open: string, close: string): void {
    this.expect(open);
    let depth = 1;
    while (depth > 0) {
      const token = this.next();
      if (token.kind === "eof") throw new WitSyntaxError(`unbalanced ${open}`, token.line);
      if (token.kind === "punct" && token.text === open) depth++;
      if (token.kind === "punct" && token.text === close) depth--;
    }
  }

  private skipTo(text: string): void {
    while (!this.is(text)) {
      if (this.peek().kind === "eof") this.fail(`expected ${JSON.stringify(text)}`);
      if (this.is("{")) this.skipBalanced("{", "}");
      else this.next();
    }
    this.next();
  }

  /** `ns:pkg@1.0.0` or, with an interface, `ns:pkg/iface@1.0.0` (also a bare `iface`). */
  private path(): { text: string; pkg: string | undefined; iface: string } {
    const first = this.ident();
    if (!this.is(":")) return { text: first, pkg: undefined, iface: first };
    this.expect(":");
    const pkgName = this.ident();
    let iface = "";
    if (this.is("/")) {
      this.next();
      iface = this.ident();
    }
    let version = "";
    if (this.peek().kind === "version") version = this.next().text;
    const pkg = `${first}:${pkgName}${version ? `@${version}` : ""}`;
    const text = `${first}:${pkgName}${iface ? `/${iface}` : ""}${version ? `@${version}` : ""}`;
    return { text, pkg, iface };
  }

  private packageName(): string {
    const { text } = this.path();
    return text;
  }

  type(): string {
    const token = this.next();
    if (token.kind !== "ident") throw new WitSyntaxError(`expected a type, found ${JSON.stringify(token.text || "end of text")}`, token.line);
    if (!this.is("<")) return token.text;
    this.next();
    const args: string[] = [];
    for (;;) {
      if (this.peek().kind === "number") args.push(this.next().text);
      else args.push(this.type());
      if (this.is(",")) {
        this.next();
        continue;
      }
      this.expect(">");
      break;
    }
    return `${token.text}<${args.join(", ")}>`;
  }

  private params(): WitParam[] {
    this.expect("(");
    const params: WitParam[] = [];
    while (!this.is(")")) {
      const name = this.ident();
      this.expect(":");
      params.push({ name, type: this.type() });
      if (this.is(",")) this.next();
      else if (!this.is(")")) this.fail('expected "," or ")"');
    }
    this.expect(")");
    return params;
  }

  /** `[async] func(params) [-> type]` after `name:` */
  private func(name: string): WitFunction {
    let isAsync = false;
    if (this.is("async")) {
      this.next();
      isAsync = true;
    }
    this.expect("func");
    const params = this.params();
    let result: string | undefined;
    if (this.is("->")) {
      this.next();
      if (this.is("(")) {
        // the old named-results form
        const named = this.params();
        result = `(${named.map((p) => `${p.name}: ${p.type}`).join(", ")})`;
      } else {
        result = this.type();
      }
    }
    const prefix = isAsync ? "async func" : "func";
    const tail = result === undefined ? "" : ` -> ${result}`;
    return {
      name,
      params,
      result,
      async: isAsync,
      signature: `${prefix}(${params.map((p) => `${p.name}: ${p.type}`).join(", ")})${tail}`,
      shape: `${prefix}(${params.map((p) => p.type).join(", ")})${tail}`,
    };
  }

  private interfaceBody(name: string): WitInterface {
    this.expect("{");
    const functions: WitFunction[] = [];
    const types: string[] = [];
    for (;;) {
      this.skipAttributes();
      if (this.is("}")) break;
      const token = this.peek();
      if (token.kind === "eof") this.fail('expected "}"');
      if (this.is("use")) {
        this.skipTo(";");
      } else if (this.is("type") && this.peek(1).kind === "ident" && this.is("=", 2)) {
        this.next();
        types.push(this.ident());
        this.skipTo(";");
      } else if (token.kind === "ident" && TYPEDEF_BLOCKS.has(token.text) && this.peek(1).kind === "ident" && !this.is(":", 1)) {
        this.next();
        types.push(this.ident());
        if (this.is(";")) this.next();
        else this.skipBalanced("{", "}");
      } else {
        const fname = this.ident();
        this.expect(":");
        functions.push(this.func(fname));
        this.expect(";");
      }
    }
    this.expect("}");
    return { name, functions, types };
  }

  private world(name: string, lookup: (path: string) => WitInterface | undefined, pending: Array<() => void>): WitWorld {
    this.expect("{");
    const items: WitWorldItem[] = [];
    for (;;) {
      this.skipAttributes();
      if (this.is("}")) break;
      if (this.peek().kind === "eof") this.fail('expected "}"');
      if (this.is("import") || this.is("export")) {
        const direction = this.next().text as "import" | "export";
        // `name: interface {…}` / `name: func(…)` / a path to an interface
        const afterColon = this.peek(2);
        if (
          this.peek().kind === "ident" &&
          this.is(":", 1) &&
          afterColon.kind === "ident" &&
          (afterColon.text === "interface" || afterColon.text === "func" || afterColon.text === "async") &&
          !this.is("/", 3)
        ) {
          const itemName = this.ident();
          this.expect(":");
          if (this.is("interface")) {
            this.next();
            items.push({ direction, kind: "interface", name: itemName, inline: true, interface: this.interfaceBody(itemName) });
            if (this.is(";")) this.next();
          } else {
            items.push({ direction, kind: "function", name: itemName, function: this.func(itemName) });
            this.expect(";");
          }
        } else {
          const { text } = this.path();
          this.expect(";");
          const index = items.length;
          items.push({ direction, kind: "interface", name: text, inline: false, interface: undefined });
          // resolved once the whole document is read (nested packages come later)
          pending.push(() => {
            items[index] = { direction, kind: "interface", name: text, inline: false, interface: lookup(text) };
          });
        }
      } else if (this.is("include") || this.is("use")) {
        this.skipTo(";");
      } else if (this.is("type")) {
        this.skipTo(";");
      } else if (this.peek().kind === "ident" && TYPEDEF_BLOCKS.has(this.peek().text)) {
        this.next();
        this.ident();
        if (this.is(";")) this.next();
        else this.skipBalanced("{", "}");
      } else {
        this.fail("expected import, export, include, use or a type");
      }
    }
    this.expect("}");
    return { name, items };
  }

  document(): WitDocument {
    const packages: Array<{ name: string; interfaces: Map<string, WitInterface>; worlds: Map<string, WitWorld> }> = [];
    const pending: Array<() => void> = [];
    const lookup = (path: string): WitInterface | undefined => {
      // `ns:pkg/iface@ver` → package `ns:pkg@ver`, interface `iface`; a bare name → the top package
      const match = /^([^:/@]+):([^:/@]+)\/([^:/@]+)(?:@(.+))?$/.exec(path);
      if (!match) return packages[0]?.interfaces.get(path);
      const pkgName = `${match[1]}:${match[2]}${match[4] ? `@${match[4]}` : ""}`;
      return packages.find((p) => p.name === pkgName)?.interfaces.get(match[3]!);
    };
    const top = { name: "", interfaces: new Map<string, WitInterface>(), worlds: new Map<string, WitWorld>() };
    packages.push(top);
    const items = (target: typeof top, closing: string | undefined) => {
      for (;;) {
        this.skipAttributes();
        if (closing !== undefined && this.is(closing)) {
          this.next();
          return;
        }
        if (this.peek().kind === "eof") {
          if (closing !== undefined) this.fail(`expected ${JSON.stringify(closing)}`);
          return;
        }
        if (this.is("package")) {
          this.next();
          const name = this.packageName();
          if (this.is(";")) {
            this.next();
            if (target !== top || top.name !== "") this.fail("a `package …;` declaration must come first");
            top.name = name;
          } else {
            if (closing !== undefined) this.fail("packages do not nest");
            this.expect("{");
            const nested = { name, interfaces: new Map<string, WitInterface>(), worlds: new Map<string, WitWorld>() };
            packages.push(nested);
            items(nested, "}");
          }
        } else if (this.is("world")) {
          this.next();
          const name = this.ident();
          target.worlds.set(name, this.world(name, lookup, pending));
        } else if (this.is("interface")) {
          this.next();
          const name = this.ident();
          target.interfaces.set(name, this.interfaceBody(name));
        } else if (this.is("use")) {
          this.skipTo(";");
        } else {
          this.fail("expected package, world, interface or use");
        }
      }
    };
    items(top, undefined);
    for (const resolve of pending) resolve();
    return { packages };
  }
}

/** Reads WIT text into packages, worlds, interfaces and function signatures. */
export function parseWit(text: string): WitDocument {
  return new Parser(tokenize(text)).document();
}

/** Normalises a WIT type's text (`list< tuple<string,string> >` → `list<tuple<string, string>>`). */
export function normalizeWitType(text: string): string {
  const parser = new Parser(tokenize(text));
  return parser.type();
}
