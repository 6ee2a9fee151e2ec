import { parse } from "@bytecodealliance/jco";
import { beforeAll, describe, expect, it } from "vitest";
import { truncateLogMessage } from "@clawft/sandbox-policy";
import { canLowerDirectly, lowerHostImports, type HostFunctions, type HostResult } from "./host-lowering.js";

/** Every function of the world's host interface, as a component importing all of them declares. */
const ALL_DECLARED: ReadonlySet<string> = new Set(["http-request", "read-file", "write-file", "get-env", "log"]);

/**
 * A core module shaped like a guest's bindings: it imports the five host
 * functions, exports its memory and a bump `cabi_realloc` (which grows the memory
 * when it runs out, to prove the lowering re-reads the buffer), and exports thin
 * wrappers so a test can call each import with any arguments, hostile ones too.
 */
const GUEST = `(module
  (import "host" "http-request" (func $http (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "host" "read-file" (func $read (param i32 i32 i32)))
  (import "host" "write-file" (func $write (param i32 i32 i32 i32 i32)))
  (import "host" "get-env" (func $env (param i32 i32 i32)))
  (import "host" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (global $bad (mut i32) (i32.const 0))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (if (global.get $bad) (then (return (i32.const 0x7ffffff0))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.div_u (local.get 3) (i32.const 65536)) (i32.const 1))))))
    (local.get $p))
  (func (export "set-heap") (param i32) (global.set $heap (local.get 0)))
  (func (export "set-bad-realloc") (param i32) (global.set $bad (local.get 0)))
  (func (export "http") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (call $http (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9)))
  (func (export "read") (param i32 i32 i32) (call $read (local.get 0) (local.get 1) (local.get 2)))
  (func (export "write") (param i32 i32 i32 i32 i32) (call $write (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "env") (param i32 i32 i32) (call $env (local.get 0) (local.get 1) (local.get 2)))
  (func (export "log") (param i32 i32 i32) (call $log (local.get 0) (local.get 1) (local.get 2))))`;

type Fn = (...args: number[]) => void;
interface Guest {
  memory: WebAssembly.Memory;
  call(name: string, ...args: number[]): void;
  /** Writes UTF-8 at `at`; returns [ptr, len]. */
  put(at: number, s: string): [number, number];
  u8(at: number): number;
  u32(at: number): number;
  str(ptr: number, len: number): string;
}

let guestModule: WebAssembly.Module;
beforeAll(async () => {
  guestModule = new WebAssembly.Module((await parse(GUEST)) as Uint8Array<ArrayBuffer>);
});

function instantiate(fns: Partial<HostFunctions>): Guest {
  const all: HostFunctions = {
    httpRequest: () => ({ tag: "ok", val: "" }),
    readFile: () => ({ tag: "ok", val: "" }),
    writeFile: () => ({ tag: "ok", val: undefined }),
    getEnv: () => undefined,
    log: () => undefined,
    refuse: () => "refused",
    ...fns,
  };
  // What jco would hand the module: placeholders that must be replaced.
  const jco: WebAssembly.ModuleImports = {};
  for (const name of ["http-request", "read-file", "write-file", "get-env", "log"]) {
    jco[name] = () => {
      throw new Error(`jco trampoline ${name} was used`);
    };
  }
  const lowered = lowerHostImports(guestModule, { host: jco }, all, ALL_DECLARED);
  if (!lowered) throw new Error("expected the direct lowering");
  const instance = new WebAssembly.Instance(guestModule, lowered.imports);
  lowered.attach(instance);
  const memory = instance.exports.memory as WebAssembly.Memory;
  const bytes = (): Buffer => Buffer.from(memory.buffer);
  return {
    memory,
    call: (name, ...args) => (instance.exports[name] as Fn)(...args),
    put(at, s) {
      const n = bytes().write(s, at, "utf8");
      return [at, n];
    },
    u8: (at) => bytes()[at] as number,
    u32: (at) => bytes().readUInt32LE(at),
    str: (ptr, len) => bytes().toString("utf8", ptr, ptr + len),
  };
}

const RET = 64;

describe("direct lowering of the host imports (canonical ABI)", () => {
  it("get-env: some writes tag 1 and a string the guest allocated; none writes tag 0", () => {
    const asked: string[] = [];
    const g = instantiate({ getEnv: (n) => (asked.push(n), n === "SET" ? "välue 😀" : undefined) });
    g.call("env", ...g.put(0, "SET"), RET);
    expect(g.u8(RET)).toBe(1);
    expect(g.str(g.u32(RET + 4), g.u32(RET + 8))).toBe("välue 😀");
    expect(g.u32(RET + 8)).toBe(Buffer.byteLength("välue 😀"));
    g.call("env", ...g.put(0, "UNSET"), RET);
    expect(g.u8(RET)).toBe(0);
    expect(asked).toEqual(["SET", "UNSET"]);
  });

  it("read-file and http-request: ok and err results; headers and an optional body are lifted", () => {
    const seen: unknown[] = [];
    const g = instantiate({
      readFile: (p): HostResult<string> => (p === "a.txt" ? { tag: "ok", val: "contents" } : { tag: "err", val: "filesystem access denied" }),
      httpRequest: (method, url, headers, body) => {
        seen.push({ method, url, headers, body });
        return { tag: "err", val: "host not in network allowlist" };
      },
    });
    g.call("read", ...g.put(0, "a.txt"), RET);
    expect([g.u8(RET), g.str(g.u32(RET + 4), g.u32(RET + 8))]).toEqual([0, "contents"]);
    g.call("read", ...g.put(0, "/etc/passwd"), RET);
    expect([g.u8(RET), g.str(g.u32(RET + 4), g.u32(RET + 8))]).toEqual([1, "filesystem access denied"]);

    // headers: list<tuple<string, string>> at 512 (16 bytes per element), strings at 600…
    const [k1, k1n] = g.put(600, "accept");
    const [v1, v1n] = g.put(620, "text/plain");
    const [k2, k2n] = g.put(640, "x-ü");
    const [v2, v2n] = g.put(660, "");
    const view = Buffer.from(g.memory.buffer);
    [k1, k1n, v1, v1n, k2, k2n, v2, v2n].forEach((v, i) => view.writeUInt32LE(v, 512 + i * 4));
    const [m, mn] = g.put(0, "POST");
    const [u, un] = g.put(16, "https://api.test/x?q=1");
    const [b, bn] = g.put(700, "{\"a\":1}");
    g.call("http", m, mn, u, un, 512, 2, 1, b, bn, RET);
    g.call("http", m, mn, u, un, 512, 0, 0, 0, 0, RET);
    expect(seen).toEqual([
      { method: "POST", url: "https://api.test/x?q=1", headers: [["accept", "text/plain"], ["x-ü", ""]], body: "{\"a\":1}" },
      { method: "POST", url: "https://api.test/x?q=1", headers: [], body: undefined },
    ]);
    expect([g.u8(RET), g.str(g.u32(RET + 4), g.u32(RET + 8))]).toEqual([1, "host not in network allowlist"]);
  });

  it("write-file: ok is tag 0 alone; err carries the message; log gets the u8 level and the text", () => {
    const logs: Array<[number, string]> = [];
    let writes = 0;
    const g = instantiate({
      writeFile: (path, content): HostResult<void> => (writes++, path === "ok" && content === "data" ? { tag: "ok", val: undefined } : { tag: "err", val: "denied" }),
      log: (level, message) => logs.push([level, message]),
    });
    g.call("write", ...g.put(0, "ok"), ...g.put(16, "data"), RET);
    expect(g.u8(RET)).toBe(0);
    g.call("write", ...g.put(0, "no"), ...g.put(16, "data"), RET);
    expect([g.u8(RET), g.str(g.u32(RET + 4), g.u32(RET + 8))]).toEqual([1, "denied"]);
    g.call("log", 2, ...g.put(0, "héllo"));
    g.call("log", 0x103, ...g.put(0, "low byte only"));
    expect(logs).toEqual([
      [2, "héllo"],
      [3, "low byte only"],
    ]);
    expect(writes).toBe(2);
  });

  it("an answer larger than the free memory is written after the guest's allocator grew the memory", () => {
    const big = "x".repeat(200_000);
    const g = instantiate({ readFile: () => ({ tag: "ok", val: big }) });
    const before = g.memory.buffer.byteLength;
    g.call("read", ...g.put(0, "big"), RET);
    expect(g.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(g.u32(RET + 8)).toBe(200_000);
    expect(g.str(g.u32(RET + 4), g.u32(RET + 8))).toBe(big);
  });

  it("hostile pointers, lengths and discriminants trap the guest call; the host function is never reached", () => {
    let reached = 0;
    const g = instantiate({
      getEnv: () => (reached++, "v"),
      readFile: () => (reached++, { tag: "ok", val: "v" }),
      httpRequest: () => (reached++, { tag: "ok", val: "v" }),
    });
    const page = 65536;
    const traps: Array<[() => void, string]> = [
      [() => g.call("env", page - 2, 10, RET), "host call get-env: string outside the guest's memory"],
      [() => g.call("env", -1, 1, RET), "host call get-env: string outside the guest's memory"],
      [() => g.call("read", 0, 1, RET + 1), "host call read-file: return pointer is not aligned to 4"],
      [() => g.call("read", 0, 1, page - 8), "host call read-file: return pointer outside the guest's memory"],
      [() => g.call("http", 0, 1, 0, 1, 513, 1, 0, 0, 0, RET), "host call http-request: header list is not aligned to 4"],
      [() => g.call("http", 0, 1, 0, 1, page - 8, 1, 0, 0, 0, RET), "host call http-request: pointer outside the guest's memory"],
      [() => g.call("http", 0, 1, 0, 1, 0, 0, 2, 0, 0, RET), "host call http-request: invalid option discriminant for the body"],
    ];
    for (const [call, message] of traps) expect(call).toThrow(message);
    // The return area is checked before the host acts.
    expect(() => g.call("env", 0, 1, -4)).toThrow("host call get-env: return pointer outside the guest's memory");
    expect(() => g.call("http", 0, 1, 0, 1, 0, 0, 0, 0, 0, RET + 2)).toThrow("host call http-request: return pointer is not aligned to 4");
    expect(reached).toBe(0);
  });

  it("T49 an argument over its limit is refused from its ABI length: nothing decoded, the host function never reached, err for the guest", () => {
    let reached = 0;
    const refusals: unknown[] = [];
    const g = instantiate({
      getEnv: () => (reached++, "v"),
      readFile: () => (reached++, { tag: "ok", val: "v" }),
      writeFile: () => (reached++, { tag: "ok", val: undefined }),
      httpRequest: () => (reached++, { tag: "ok", val: "v" }),
      refuse: (fn, refusal) => (refusals.push([fn, refusal]), `argument too large: ${refusal.argument}`),
    });
    const errText = (): [number, string] => [g.u8(RET), g.str(g.u32(RET + 4), g.u32(RET + 8))];
    // Lengths far past the memory (1 page): refused from the length alone, never read.
    g.call("read", 0, 4097, RET);
    expect(errText()).toEqual([1, "argument too large: path"]);
    g.call("write", 0, 10, 0, 4 * 1024 * 1024 + 1, RET);
    expect(errText()).toEqual([1, "argument too large: content"]);
    g.call("write", 0, 0x7fffffff, 0, 1, RET);
    expect(errText()).toEqual([1, "argument too large: path"]);
    g.call("http", 0, 17, 0, 1, 0, 0, 0, 0, 0, RET);
    expect(errText()).toEqual([1, "argument too large: method"]);
    g.call("http", 0, 3, 0, 8193, 0, 0, 0, 0, 0, RET);
    expect(errText()).toEqual([1, "argument too large: url"]);
    g.call("http", 0, 3, 0, 1, 8192, 100_000, 0, 0, 0, RET);
    expect(errText()).toEqual([1, "argument too large: headers"]);
    g.call("http", 0, 3, 0, 1, 0, 0, 1, 0, 1024 * 1024 + 1, RET);
    expect(errText()).toEqual([1, "argument too large: body"]);
    // 1000 entries naming 60,000-byte strings (60 MB, not even inside the memory): refused from the sizes.
    const view = Buffer.from(g.memory.buffer);
    for (let i = 0; i < 1000; i++) [70_000, 60_000, 0, 0].forEach((v, k) => view.writeUInt32LE(v, 1024 + i * 16 + k * 4));
    g.call("http", 0, 3, 0, 1, 1024, 1000, 0, 0, 0, RET);
    expect(errText()).toEqual([1, "argument too large: headers"]);
    g.call("env", 0, 0xffffffff, RET);
    expect(g.u8(RET)).toBe(0); // none
    expect(reached).toBe(0);
    expect(refusals).toEqual([
      ["read-file", { argument: "path", size: 4097, limit: 4096, unit: "bytes" }],
      ["write-file", { argument: "content", size: 4 * 1024 * 1024 + 1, limit: 4 * 1024 * 1024, unit: "bytes" }],
      ["write-file", { argument: "path", size: 0x7fffffff, limit: 4096, unit: "bytes" }],
      ["http-request", { argument: "method", size: 17, limit: 16, unit: "bytes" }],
      ["http-request", { argument: "url", size: 8193, limit: 8192, unit: "bytes" }],
      ["http-request", { argument: "headers", size: 100_000, limit: 1024, unit: "entries" }],
      ["http-request", { argument: "body", size: 1024 * 1024 + 1, limit: 1024 * 1024, unit: "bytes" }],
      ["http-request", { argument: "headers", size: 60_000_000, limit: 1024 * 1024, unit: "bytes" }],
      ["get-env", { argument: "name", size: 0xffffffff, limit: 1024, unit: "bytes" }],
    ]);
    // At the limits exactly, the call goes through.
    g.call("read", 0, 4096, RET);
    g.call("http", 0, 16, 0, 8192, 0, 0, 0, 0, 0, RET);
    expect(reached).toBe(2);
  });

  it("T49 a log message: only its first 4100 bytes are decoded, and T35's cut of them equals T35's cut of the whole (invalid UTF-8 too)", () => {
    const logs: Array<[string, number | undefined]> = [];
    const g = instantiate({ log: (_l, m, n) => void logs.push([m, n]) });
    const view = Buffer.from(g.memory.buffer);
    // Deterministic pseudo-random bytes, biased towards multi-byte and invalid sequences.
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    const units = [[0x41], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xff], [0xe2, 0x82], [0xf0, 0x9f], [0x80]];
    for (let round = 0; round < 200; round++) {
      const bytes: number[] = [];
      const target = 4090 + (next() % 40);
      while (bytes.length < target) bytes.push(...(units[next() % units.length] as number[]));
      Buffer.from(bytes).copy(view, 8192);
      logs.length = 0;
      g.call("log", 2, 8192, bytes.length);
      const [message, original] = logs[0] as [string, number | undefined];
      const whole = Buffer.from(bytes).toString("utf8");
      expect(truncateLogMessage(message)).toBe(truncateLogMessage(whole));
      if (bytes.length > 4100) {
        expect(original).toBe(bytes.length);
        expect(Buffer.byteLength(message)).toBeLessThanOrEqual(4100 * 3);
      } else expect(original).toBeUndefined();
    }
    // A 50 KB message: 4100 bytes decoded; one that leaves the memory traps.
    view.fill(0xff, 8192, 8192 + 50_000);
    logs.length = 0;
    g.call("log", 2, 8192, 50_000);
    expect(logs[0]?.[0]).toBe("\ufffd".repeat(4100));
    expect(logs[0]?.[1]).toBe(50_000);
    expect(() => g.call("log", 2, 8192, 0x7fffffff)).toThrow("host call log: string outside the guest's memory");
  });

  it("a cabi_realloc that answers a pointer outside the memory traps instead of writing there", () => {
    const g = instantiate({ getEnv: () => "value" });
    g.call("set-bad-realloc", 1);
    expect(() => g.call("env", ...g.put(0, "X"), RET)).toThrow("host call get-env: cabi_realloc returned memory outside the guest's memory");
  });

  it("an import called before attach (e.g. from a start function) traps with a clear message", () => {
    const lowered = lowerHostImports(guestModule, { host: { "get-env": () => undefined } }, {
      httpRequest: () => ({ tag: "ok", val: "" }),
      readFile: () => ({ tag: "ok", val: "" }),
      writeFile: () => ({ tag: "ok", val: undefined }),
      getEnv: () => "v",
      log: () => undefined,
      refuse: () => "refused",
    }, ALL_DECLARED);
    const getEnv = lowered?.imports.host?.["get-env"] as Fn;
    expect(() => getEnv(0, 1, RET)).toThrow("host call get-env: called before the guest finished instantiating");
  });
});

describe("lowerHostImports binds only the component's own host import", () => {
  it("T60 a core host import the component does not declare keeps jco's (the component's own) function; declared ones are lowered", () => {
    const secrets: string[] = [];
    const own = { "get-env": () => undefined, log: () => undefined };
    const fns: HostFunctions = {
      httpRequest: () => ({ tag: "ok", val: "" }),
      readFile: () => ({ tag: "ok", val: "" }),
      writeFile: () => ({ tag: "ok", val: undefined }),
      getEnv: (name) => (secrets.push(name), "secret"),
      refuse: () => "refused",
      log: () => undefined,
    };
    // Declares only log: get-env stays the component's own stub, log is the host's.
    const onlyLog = lowerHostImports(guestModule, { host: own }, fns, new Set(["log"]));
    expect(onlyLog?.imports.host?.["get-env"]).toBe(own["get-env"]);
    expect(onlyLog?.imports.host?.log).not.toBe(own.log);
    // Declares nothing (imports=[]): nothing of the host reaches it.
    const none = lowerHostImports(guestModule, { host: own }, fns, new Set());
    expect(none?.imports.host).toEqual(own);
    expect(secrets).toEqual([]);
  });
});

describe("canLowerDirectly", () => {
  const core = async (wat: string): Promise<WebAssembly.Module> => new WebAssembly.Module((await parse(wat)) as Uint8Array<ArrayBuffer>);

  it("serves a module with its own memory, or with one imported memory, and an exported cabi_realloc", async () => {
    expect(canLowerDirectly(guestModule)).toBe(true);
    const importedMemory = await core(`(module (import "env" "memory" (memory 1)) (import "host" "log" (func (param i32 i32 i32)))
      (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0)))`);
    expect(canLowerDirectly(importedMemory)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const logs: string[] = [];
    const lowered = lowerHostImports(importedMemory, { env: { memory }, host: { log: () => undefined } }, {
      httpRequest: () => ({ tag: "ok", val: "" }),
      readFile: () => ({ tag: "ok", val: "" }),
      writeFile: () => ({ tag: "ok", val: undefined }),
      getEnv: () => undefined,
      log: (_l, m) => logs.push(m),
      refuse: () => "refused",
    }, ALL_DECLARED);
    if (!lowered) throw new Error("expected the direct lowering");
    lowered.attach(new WebAssembly.Instance(importedMemory, lowered.imports));
    Buffer.from(memory.buffer).write("from the imported memory", 100);
    (lowered.imports.host?.log as Fn)(2, 100, 24);
    expect(logs).toEqual(["from the imported memory"]);
  });

  it("leaves to jco a module without cabi_realloc, without a memory, with an unknown host import, or without host imports", async () => {
    expect(canLowerDirectly(await core(`(module (import "host" "log" (func (param i32 i32 i32))) (memory (export "memory") 1))`))).toBe(false);
    expect(
      canLowerDirectly(
        await core(`(module (import "host" "log" (func (param i32 i32 i32))) (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0)))`),
      ),
    ).toBe(false);
    expect(
      canLowerDirectly(
        await core(`(module (import "host" "spawn" (func (param i32 i32 i32))) (memory (export "memory") 1)
          (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0)))`),
      ),
    ).toBe(false);
    expect(canLowerDirectly(await core(`(module (memory (export "memory") 1) (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0)))`))).toBe(false);
    expect(lowerHostImports(guestModule, {}, {} as HostFunctions, ALL_DECLARED)).toBeUndefined();
  });
});
