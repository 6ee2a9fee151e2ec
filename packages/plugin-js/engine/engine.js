// The clawft JS engine: a trusted QuickJS component for the clawft:plugin world
// (built once by scripts/build-engine.mjs with componentize-qjs). It holds no
// plugin of its own: the host hands it the plugin's bundled JS once, through
// `load-plugin-source`, before `plugin.init`, and every `plugin` export then
// dispatches to what that JS exported.
//
// The payload is one CommonJS script (what `esbuild --bundle --format=cjs
// --external:host` writes): `require("host")` is the world's `host` import (the
// only capability the engine has) and `module.exports.plugin` is the plugin.
import * as host from "host";

let loaded = false;
/** @type {{ init?: () => void, executeTool: (name: string, params: string) => string, describe: () => string } | undefined} */
let payload;

/** The text of an err from whatever the payload threw (a string stays as it is). */
function errText(thrown) {
  if (typeof thrown === "string") return thrown;
  if (thrown !== null && typeof thrown === "object") {
    if (typeof thrown.payload === "string") return thrown.payload;
    if (typeof thrown.message === "string") return thrown.message;
  }
  return String(thrown);
}

function requireForPayload(name) {
  if (name === "host") return host;
  throw new Error(`js plugin cannot require "${String(name)}": bundle it (only "host" is external)`);
}

export function loadPluginSource(source, fileName) {
  if (loaded) throw "js engine: a plugin is already loaded";
  loaded = true;
  const module = { exports: {} };
  let run;
  try {
    run = new Function("module", "exports", "require", `${source}\n//# sourceURL=${fileName}`);
  } catch (thrown) {
    throw `js plugin does not compile: ${errText(thrown)}`;
  }
  try {
    run(module, module.exports, requireForPayload);
  } catch (thrown) {
    throw `js plugin threw while loading: ${errText(thrown)}`;
  }
  const exported = module.exports !== null && typeof module.exports === "object" ? module.exports.plugin : undefined;
  if (exported === null || typeof exported !== "object" || typeof exported.executeTool !== "function" || typeof exported.describe !== "function") {
    throw "js plugin exports no plugin: module.exports.plugin needs executeTool and describe functions";
  }
  payload = exported;
}

function loadedPayload() {
  if (payload === undefined) throw "js engine: no plugin loaded";
  return payload;
}

export const plugin = {
  init() {
    const current = loadedPayload();
    if (typeof current.init !== "function") return;
    try {
      current.init();
    } catch (thrown) {
      throw errText(thrown);
    }
  },
  executeTool(toolName, paramsJson) {
    const current = loadedPayload();
    let result;
    try {
      result = current.executeTool(toolName, paramsJson);
    } catch (thrown) {
      throw errText(thrown);
    }
    if (typeof result !== "string") throw "js plugin executeTool must return a string";
    return result;
  },
  describe() {
    const current = payload;
    if (current === undefined) return "{}";
    const described = current.describe();
    if (typeof described !== "string") throw "js plugin describe must return a string";
    return described;
  },
};
