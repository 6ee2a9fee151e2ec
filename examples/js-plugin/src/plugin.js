// @ts-check
/// <reference types="@clawft/wit-bindings/guest" />
/**
 * An example clawft plugin written in JavaScript: bundled by ../build.mjs into
 * dist/plugin.js, run by the JS engine of @clawft/plugin-js ("runtime": "js"), or
 * built into a full component with componentize-qjs (see ../README.md).
 *
 * It imports the `host` interface of the clawft:plugin world (the only thing a
 * clawft host gives a plugin) and exports the `plugin` interface.
 *
 * Mapping rules (componentize-qjs, the same as jco's):
 *  - a host function returning `result<T, string>` returns T, or throws an Error whose
 *    `payload` is the err string;
 *  - `option<string>`: pass `undefined` (or null) for none; get-env gives null when the
 *    variable is denied or unset (the jco types say `undefined`: test with `??`);
 *  - an exported function returning `result<T, string>` returns T, or THROWS a string for err.
 */
import * as host from "host";

/** @typedef {{ name: string; description: string; parameters: Record<string, unknown> }} ToolSpec */

const LOG = { error: 0, warn: 1, info: 2, debug: 3 };

/** @type {ToolSpec[]} */
const TOOLS = [
  {
    name: "summarize-json",
    description: "Fetches a JSON document over HTTP (GET) and summarises its shape: type, keys, array length, a few sample values.",
    parameters: {
      type: "object",
      properties: { url: { type: "string", description: "http(s) URL of a JSON document" } },
      required: ["url"],
      additionalProperties: false,
    },
  },
  {
    name: "read-file",
    description: "Reads a UTF-8 text file and returns its size in bytes, its line count and its first line.",
    parameters: {
      type: "object",
      properties: { path: { type: "string" } },
      required: ["path"],
      additionalProperties: false,
    },
  },
  {
    name: "write-note",
    description: "Writes a text note to a file (atomically, inside the plugin's filesystem grants).",
    parameters: {
      type: "object",
      properties: { path: { type: "string" }, text: { type: "string" } },
      required: ["path", "text"],
      additionalProperties: false,
    },
  },
  {
    name: "greet",
    description: "Greets someone, with the greeting taken from the EXAMPLE_GREETING environment variable (default \"Hello\").",
    parameters: {
      type: "object",
      properties: { name: { type: "string" } },
      required: ["name"],
      additionalProperties: false,
    },
  },
];

/**
 * @param {string} paramsJson
 * @returns {Record<string, unknown>}
 */
function parseParams(paramsJson) {
  let value;
  try {
    value = JSON.parse(paramsJson);
  } catch {
    throw "invalid params: not JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw "invalid params: expected a JSON object";
  return value;
}

/**
 * @param {Record<string, unknown>} params
 * @param {string} key
 * @returns {string}
 */
function stringParam(params, key) {
  const value = params[key];
  if (typeof value !== "string") throw `invalid params: ${key} must be a string`;
  return value;
}

/** @param {unknown} value */
function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * A short, bounded description of a JSON value.
 * @param {unknown} value
 */
function summarize(value) {
  const type = typeOf(value);
  /** @type {Record<string, unknown>} */
  const summary = { type };
  if (Array.isArray(value)) {
    summary.length = value.length;
    summary.itemTypes = [...new Set(value.map(typeOf))];
    summary.first = value.length > 0 ? preview(value[0]) : null;
  } else if (type === "object" && value !== null) {
    const entries = Object.entries(/** @type {Record<string, unknown>} */ (value));
    summary.keys = entries.length;
    summary.fields = Object.fromEntries(entries.slice(0, 20).map(([k, v]) => [k, preview(v)]));
  } else {
    summary.value = preview(value);
  }
  return summary;
}

/** @param {unknown} value */
function preview(value) {
  const type = typeOf(value);
  if (type === "string") {
    const text = /** @type {string} */ (value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }
  if (type === "array") return `array(${/** @type {unknown[]} */ (value).length})`;
  if (type === "object") return `object(${Object.keys(/** @type {object} */ (value)).length} keys)`;
  return value;
}

/** @type {Record<string, (params: Record<string, unknown>) => string>} */
const handlers = {
  "summarize-json"(params) {
    const url = stringParam(params, "url");
    host.log(LOG.info, `fetching ${url}`);
    // throws "http status 404 ..." or the sandbox's refusal text; we let it through as our err
    const body = host.httpRequest("GET", url, [["accept", "application/json"]], undefined);
    let document;
    try {
      document = JSON.parse(body);
    } catch {
      throw `not JSON: ${url}`;
    }
    return JSON.stringify({ url, bytes: utf8Length(body), summary: summarize(document) });
  },
  "read-file"(params) {
    const path = stringParam(params, "path");
    const text = host.readFile(path);
    const lines = text.split("\n");
    return JSON.stringify({ path, bytes: utf8Length(text), lines: lines.length, firstLine: lines[0] ?? "" });
  },
  "write-note"(params) {
    const path = stringParam(params, "path");
    const text = stringParam(params, "text");
    host.writeFile(path, text.endsWith("\n") ? text : `${text}\n`);
    host.log(LOG.info, `wrote ${path}`);
    return JSON.stringify({ path, written: true });
  },
  greet(params) {
    const name = stringParam(params, "name");
    const greeting = host.getEnv("EXAMPLE_GREETING") ?? "Hello";
    return `${greeting}, ${name}!`;
  },
};

/** @param {string} text */
function utf8Length(text) {
  let bytes = 0;
  for (const ch of text) {
    const cp = /** @type {number} */ (ch.codePointAt(0));
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** @type {import("@clawft/wit-bindings/guest").GuestPlugin} */
export const plugin = {
  /** Called once after instantiation; throwing a string rejects the plugin. */
  init() {
    host.log(LOG.debug, "example-js-plugin ready");
  },

  /**
   * @param {string} toolName
   * @param {string} paramsJson
   * @returns {string}
   */
  executeTool(toolName, paramsJson) {
    const handler = Object.hasOwn(handlers, toolName) ? handlers[toolName] : undefined;
    if (handler === undefined) throw `unknown tool: ${toolName}`;
    try {
      return handler(parseParams(paramsJson));
    } catch (error) {
      // the err of result<string, string> must be a string
      if (typeof error === "string") throw error;
      // a host import's err arrives as an Error whose `payload` is the host's text
      // (e.g. "filesystem access denied"): pass it on unchanged
      if (error instanceof Error && typeof (/** @type {{ payload?: unknown }} */ (error).payload) === "string") {
        throw /** @type {{ payload: string }} */ (/** @type {unknown} */ (error)).payload;
      }
      throw `${toolName} failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  },

  /** @returns {string} */
  describe() {
    return JSON.stringify({
      name: "example-js-plugin",
      version: "0.1.0",
      description: "An example clawft plugin in JavaScript: HTTP + JSON, files, env, logs.",
      tools: TOOLS,
    });
  },
};
