export {
  BUILDER_VERSION,
  buildAllFixtures,
  buildFixture,
  buildFixtureCoreModule,
  cacheDir,
  componentFromWat,
  fixtureNames,
  fixturePath,
  fixtureSources,
  worldWitPath,
  withExtraCoreInstances,
  type ExtraCoreInstances,
  type FixtureBuildOptions,
  type FixtureName,
} from "./build.js";
export { runComponent, type TestHost, type TestPlugin } from "./harness.js";
export {
  buildJsExamplePlugin,
  bundleJsExamplePlugin,
  jsExampleManifest,
  jsExamplePluginDir,
  JS_PLUGIN_COMPONENTIZE_OPTIONS,
  type JsExamplePluginOptions,
} from "./js-plugin.js";
