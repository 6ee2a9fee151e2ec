import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DescribeError, parseDescribe, WitOptionsError } from "./index.js";

const valid = {
  name: "weather",
  version: "1.2.0",
  description: "Weather tools",
  tools: [
    { name: "forecast", description: "A forecast", parameters: { type: "object", properties: { city: { type: "string" } } } },
    { name: "alerts", input_schema: { type: ["object", "null"] } },
    { name: "mcp.style", inputSchema: {} },
  ],
};

function errorOf(run: () => unknown): DescribeError {
  try {
    run();
  } catch (error) {
    if (DescribeError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("no error thrown");
}

describe("parseDescribe", () => {
  it("reads a valid document; input_schema and inputSchema become parameters", () => {
    const parsed = parseDescribe(JSON.stringify(valid));
    expect(parsed).toEqual({
      name: "weather",
      version: "1.2.0",
      description: "Weather tools",
      tools: [
        { name: "forecast", description: "A forecast", parameters: valid.tools[0]!.parameters },
        { name: "alerts", description: undefined, parameters: { type: ["object", "null"] } },
        { name: "mcp.style", description: undefined, parameters: {} },
      ],
    });
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(Object.isFrozen(parsed.tools)).toBe(true);
  });

  it("reads every fixture-style describe() (tools may be empty, unknown keys ignored)", () => {
    expect(parseDescribe('{"name":"x","version":"0.1.0","tools":[],"homepage":"h"}').tools).toEqual([]);
  });

  const cases: Array<[string, unknown, string, string]> = [
    ["not JSON", "{", "", "invalid describe() output: not valid JSON"],
    ["an array", [], "", "invalid describe() output: the document must be a JSON object"],
    ["a string", "x", "", "invalid describe() output: the document must be a JSON object"],
    ["no name", { version: "1", tools: [] }, "name", "invalid describe() output: name is missing"],
    ["empty name", { name: " ", version: "1", tools: [] }, "name", "invalid describe() output: name must be a non-empty string"],
    ["numeric name", { name: 3, version: "1", tools: [] }, "name", "invalid describe() output: name must be a string, found number"],
    ["control char in name", { name: "a\u001b[31m", version: "1", tools: [] }, "name", "invalid describe() output: name must not contain control characters"],
    ["long name", { name: "n".repeat(129), version: "1", tools: [] }, "name", "invalid describe() output: name must be at most 128 characters"],
    ["no version", { name: "a", tools: [] }, "version", "invalid describe() output: version is missing"],
    ["description not a string", { name: "a", version: "1", description: 1, tools: [] }, "description", "invalid describe() output: description must be a string, found number"],
    ["no tools", { name: "a", version: "1" }, "tools", "invalid describe() output: tools is missing"],
    ["tools not an array", { name: "a", version: "1", tools: {} }, "tools", "invalid describe() output: tools must be an array"],
    ["a tool not an object", { name: "a", version: "1", tools: ["x"] }, "tools[0]", "invalid describe() output: tools[0] must be an object"],
    ["a tool without a name", { name: "a", version: "1", tools: [{ parameters: {} }] }, "tools[0].name", "invalid describe() output: tools[0].name is missing"],
    ["a tool name with a space", { name: "a", version: "1", tools: [{ name: "a b", parameters: {} }] }, "tools[0].name", "invalid describe() output: tools[0].name must match"],
    [
      "a repeated tool name",
      { name: "a", version: "1", tools: [{ name: "t", parameters: {} }, { name: "t", parameters: {} }] },
      "tools[1].name",
      'invalid describe() output: tools[1].name repeats the tool name "t"',
    ],
    ["no schema", { name: "a", version: "1", tools: [{ name: "t" }] }, "tools[0].parameters", "invalid describe() output: tools[0].parameters is missing"],
    [
      "two schemas",
      { name: "a", version: "1", tools: [{ name: "t", parameters: {}, inputSchema: {} }] },
      "tools[0].inputSchema",
      "invalid describe() output: tools[0].inputSchema must not be given together with parameters",
    ],
    ["a schema that is not an object", { name: "a", version: "1", tools: [{ name: "t", parameters: "object" }] }, "tools[0].parameters", "invalid describe() output: tools[0].parameters must be a JSON Schema object"],
    ["a bad schema type", { name: "a", version: "1", tools: [{ name: "t", input_schema: { type: "dict" } }] }, "tools[0].input_schema.type", "invalid describe() output: tools[0].input_schema.type must be a JSON Schema type name"],
    ["an empty type array", { name: "a", version: "1", tools: [{ name: "t", parameters: { type: [] } }] }, "tools[0].parameters.type", "invalid describe() output: tools[0].parameters.type must be"],
  ];
  for (const [label, doc, field, start] of cases) {
    it(`refuses ${label}, naming ${field || "the document"}`, () => {
      const error = errorOf(() => parseDescribe(typeof doc === "string" && label === "not JSON" ? doc : JSON.stringify(doc)));
      expect(error.code).toBe("WIT_INVALID_DESCRIBE");
      expect(error.field).toBe(field);
      expect(error.message.startsWith(start)).toBe(true);
    });
  }

  it("refuses a non-string, oversized text and too many tools", () => {
    expect(errorOf(() => parseDescribe(42 as unknown as string)).message).toBe("invalid describe() output: the document must be a string of JSON");
    expect(errorOf(() => parseDescribe(JSON.stringify(valid), { maxLength: 10 })).message).toBe(
      "invalid describe() output: the document is longer than 10 characters",
    );
    expect(errorOf(() => parseDescribe(JSON.stringify(valid), { maxTools: 2 })).field).toBe("tools");
  });

  it("does not let a __proto__ key pollute anything", () => {
    const parsed = parseDescribe('{"name":"a","version":"1","tools":[{"name":"t","parameters":{"__proto__":{"polluted":true}}}]}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(parsed.tools[0]!.parameters)).toBe(Object.prototype);
  });

  it("bad options throw naming the field", () => {
    expect(() => parseDescribe("{}", { maxLength: 0 })).toThrow("maxLength must be a positive integer");
    expect(() => parseDescribe("{}", { maxTools: -1 })).toThrow("maxTools must be a non-negative integer");
    try {
      parseDescribe("{}", { maxLength: Number.NaN });
    } catch (error) {
      expect(WitOptionsError.isInstance(error)).toBe(true);
    }
  });

  it("property: any JSON text gives a description or a DescribeError, never another error", () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        try {
          parseDescribe(text);
        } catch (error) {
          expect(DescribeError.isInstance(error)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("property: well-formed documents round-trip", () => {
    const toolName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
    const doc = fc.record({
      name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== "" && !/[\u0000-\u001f\u007f]/.test(s)),
      version: fc.constantFrom("0.1.0", "1.0.0-rc.1", "2"),
      tools: fc.uniqueArray(
        fc.record({ name: toolName, description: fc.string({ maxLength: 50 }), parameters: fc.constant({ type: "object" }) }),
        { selector: (t) => t.name, maxLength: 5 },
      ),
    });
    fc.assert(
      fc.property(doc, (d) => {
        const parsed = parseDescribe(JSON.stringify(d));
        expect(parsed.name).toBe(d.name);
        expect(parsed.tools.map((t) => t.name)).toEqual(d.tools.map((t) => t.name));
        expect(parsed.tools.map((t) => t.description)).toEqual(d.tools.map((t) => t.description));
      }),
      { numRuns: 200 },
    );
  });
});
