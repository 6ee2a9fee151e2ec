// Written by scripts/build-engine.mjs: the sha256 of engine/clawft-js-engine.wasm.
export const JS_ENGINE_SHA256 = "8d9356fbfecc9d0a30acd425d11a1f8145113a35f18997faf78e4869f2bd5f9b";
/** Its size in bytes. */
export const JS_ENGINE_BYTES = 1100218;
