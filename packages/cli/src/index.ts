export { runCli, EXIT, exitCodeFor, type CliIo } from "./cli.js";
