/**
 * Type test, checked by `tsc`: the guest declarations (shipped as
 * `@clawft/wit-bindings/guest`) describe the `host` module a JS/TS plugin imports
 * and the `plugin` object it exports.
 */
// the guest declarations are ambient modules (`declare module "host"`), so a reference is the way in
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../src/generated/guest/plugin.d.ts" />
import * as host from "host";
import type * as PluginModule from "plugin";

type GuestPlugin = typeof PluginModule;

export const plugin: GuestPlugin = {
  init(): void {
    host.log(2, "ready");
  },
  executeTool(toolName: string, paramsJson: string): string {
    const value: string | undefined = host.getEnv("HOME");
    const body: string = host.httpRequest("GET", "https://example.com/", [["accept", "application/json"]], undefined);
    host.writeFile("out.txt", body);
    return `${toolName} ${paramsJson} ${value ?? ""} ${host.readFile("in.txt")}`;
  },
  describe: () => "{}",
};

// @ts-expect-error a guest plugin without describe does not compile
export const incomplete: GuestPlugin = { init() {}, executeTool: () => "" };

// @ts-expect-error log takes (level: u8, message: string)
host.log("info");
