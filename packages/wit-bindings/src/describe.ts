import { DescribeError, WitOptionsError } from "./errors.js";

/** A JSON Schema object (only its being an object is checked, plus `type` when present). */
export type JsonSchemaObject = { readonly [key: string]: unknown };

export interface ToolDescription {
  readonly name: string;
  readonly description: string | undefined;
  /** The tool's parameters as a JSON Schema object (from `parameters`, `input_schema` or `inputSchema`). */
  readonly parameters: JsonSchemaObject;
}

export interface PluginDescription {
  readonly name: string;
  readonly version: string;
  readonly description: string | undefined;
  readonly tools: readonly ToolDescription[];
}

export interface ParseDescribeOptions {
  /**
   * Longest `describe()` text accepted, in UTF-16 code units of the string.
   * @default 1048576 (1 MiB)
   */
  maxLength?: number;
  /**
   * Most tools accepted.
   * @default 256
   */
  maxTools?: number;
}

const NAME_MAX = 128;
const DESCRIPTION_MAX = 4096;
/** Tool names: what LLM function-calling APIs accept, plus `.`. */
const TOOL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const SCHEMA_KEYS = ["parameters", "input_schema", "inputSchema"] as const;
const JSON_SCHEMA_TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

function resolve(options: ParseDescribeOptions = {}) {
  if (typeof options !== "object" || options === null) throw new WitOptionsError("options must be an object");
  const maxLength = options.maxLength ?? 1024 * 1024;
  const maxTools = options.maxTools ?? 256;
  if (!Number.isSafeInteger(maxLength) || maxLength <= 0) throw new WitOptionsError("maxLength must be a positive integer");
  if (!Number.isSafeInteger(maxTools) || maxTools < 0) throw new WitOptionsError("maxTools must be a non-negative integer");
  return { maxLength, maxTools };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(field: string, problem: string): never {
  throw new DescribeError(field, `invalid describe() output: ${field === "" ? "the document" : field} ${problem}`);
}

function text(obj: Record<string, unknown>, key: string, field: string, max: number, required: true): string;
function text(obj: Record<string, unknown>, key: string, field: string, max: number, required: false): string | undefined;
function text(obj: Record<string, unknown>, key: string, field: string, max: number, required: boolean): string | undefined {
  const value = Object.hasOwn(obj, key) ? obj[key] : undefined;
  if (value === undefined || value === null) {
    if (required) fail(field, "is missing");
    return undefined;
  }
  if (typeof value !== "string") fail(field, `must be a string, found ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`);
  if (required && value.trim() === "") fail(field, "must be a non-empty string");
  if (value.length > max) fail(field, `must be at most ${max} characters`);
  return value;
}

/**
 * Reads and checks what a plugin's `describe()` returned. The document is a JSON
 * object with `name` (non-empty, ≤ 128 chars, no control characters), `version`
 * (non-empty string), optional `description`, and `tools`: an array of
 * `{ name, description?, parameters }` where `name` matches
 * `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$` and is unique, and `parameters` is a JSON
 * Schema object. `input_schema` (Anthropic) and `inputSchema` (MCP) are accepted
 * in place of `parameters`; giving more than one is an error. Other keys are ignored.
 *
 * Throws `DescribeError` (code `WIT_INVALID_DESCRIBE`) naming the field.
 * Stops: a plugin feeding the host unbounded or malformed metadata (huge
 * strings, control characters in names shown to users, duplicate tool names
 * that would shadow each other).
 */
export function parseDescribe(json: string, options?: ParseDescribeOptions): PluginDescription {
  const { maxLength, maxTools } = resolve(options);
  if (typeof json !== "string") fail("", "must be a string of JSON");
  if (json.length > maxLength) fail("", `is longer than ${maxLength} characters`);
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (error) {
    throw new DescribeError("", `invalid describe() output: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (!isPlainObject(doc)) fail("", "must be a JSON object");

  const name = text(doc, "name", "name", NAME_MAX, true);
  if (CONTROL.test(name)) fail("name", "must not contain control characters");
  const version = text(doc, "version", "version", 64, true);
  if (CONTROL.test(version)) fail("version", "must not contain control characters");
  const description = text(doc, "description", "description", DESCRIPTION_MAX, false);

  if (!Object.hasOwn(doc, "tools")) fail("tools", "is missing");
  const rawTools = doc.tools;
  if (!Array.isArray(rawTools)) fail("tools", "must be an array");
  if (rawTools.length > maxTools) fail("tools", `must have at most ${maxTools} entries`);

  const seen = new Set<string>();
  const tools = rawTools.map((raw: unknown, index: number): ToolDescription => {
    const at = `tools[${index}]`;
    if (!isPlainObject(raw)) fail(at, "must be an object");
    const toolName = text(raw, "name", `${at}.name`, NAME_MAX, true);
    if (!TOOL_NAME.test(toolName)) fail(`${at}.name`, "must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$");
    if (seen.has(toolName)) fail(`${at}.name`, `repeats the tool name ${JSON.stringify(toolName)}`);
    seen.add(toolName);
    const toolDescription = text(raw, "description", `${at}.description`, DESCRIPTION_MAX, false);
    const present = SCHEMA_KEYS.filter((key) => Object.hasOwn(raw, key));
    if (present.length === 0) fail(`${at}.parameters`, "is missing (a JSON Schema object; input_schema and inputSchema are accepted too)");
    if (present.length > 1) fail(`${at}.${present[1]}`, `must not be given together with ${present[0]}`);
    const key = present[0]!;
    const schema = raw[key];
    if (!isPlainObject(schema)) fail(`${at}.${key}`, "must be a JSON Schema object");
    if (Object.hasOwn(schema, "type")) {
      const type = schema.type;
      const types = Array.isArray(type) ? type : [type];
      if (types.length === 0 || !types.every((t) => typeof t === "string" && JSON_SCHEMA_TYPES.has(t))) {
        fail(`${at}.${key}.type`, "must be a JSON Schema type name or a non-empty array of them");
      }
    }
    return Object.freeze({ name: toolName, description: toolDescription, parameters: schema });
  });

  return Object.freeze({ name, version, description, tools: Object.freeze(tools) });
}
