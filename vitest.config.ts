import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The e2e files share one Slurm node (some fill it on purpose): one file at a time.
    fileParallelism: false,
    reporters: ["default"],
  },
});
