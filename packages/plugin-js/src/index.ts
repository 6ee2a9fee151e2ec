export { jsEngine, jsEngineSync, JS_ENGINE_FILE, type JsEngine } from "./engine.js";
export { JS_ENGINE_SHA256, JS_ENGINE_BYTES } from "./engine-digest.js";
