// Public API only: everything here comes from the packages' published names.
export { PluginError, ResourceExhaustedError, WORKER_CHANNEL, type WorkerEvent } from "@clawft/host";
export { SandboxError as SandboxErrorForTests } from "@clawft/sandbox-policy";
