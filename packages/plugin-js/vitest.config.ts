import { defineConfig } from "vitest/config";
import { sharedTestConfig } from "@clawft/test-utils/vitest";

export default defineConfig({ test: { ...sharedTestConfig } });
