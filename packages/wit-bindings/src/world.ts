import { witSource } from "./generated/wit-source.js";
import { parseWit, type WitFunction, type WitInterface } from "./wit-text.js";

export { witSource };

/** The package, world, and the two interfaces of the world, read from `witSource` (never hand-copied). */
export interface PluginWorld {
  /** `clawft:plugin@0.1.0` */
  readonly package: string;
  /** `plugin` */
  readonly world: string;
  /** The name of the imported interface: `host`. */
  readonly importName: string;
  /** The name of the exported interface: `plugin`. */
  readonly exportName: string;
  readonly hostFunctions: readonly WitFunction[];
  readonly pluginFunctions: readonly WitFunction[];
}

function readWorld(): PluginWorld {
  const doc = parseWit(witSource);
  const pkg = doc.packages[0]!;
  const [worldName, world] = [...pkg.worlds][0]!;
  const imported = world.items.filter((i) => i.direction === "import" && i.kind === "interface");
  const exported = world.items.filter((i) => i.direction === "export" && i.kind === "interface");
  if (imported.length !== 1 || exported.length !== 1) {
    throw new Error("wit/plugin.wit must import one interface and export one interface");
  }
  const imp = imported[0]! as { name: string; interface: WitInterface };
  const exp = exported[0]! as { name: string; interface: WitInterface };
  return Object.freeze({
    package: pkg.name,
    world: worldName,
    importName: imp.name,
    exportName: exp.name,
    hostFunctions: Object.freeze([...imp.interface.functions]),
    pluginFunctions: Object.freeze([...exp.interface.functions]),
  });
}

/** The clawft:plugin world as data, parsed from `witSource`. */
export const pluginWorld: PluginWorld = readWorld();
