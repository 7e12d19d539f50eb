import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e tests share one Slurm cluster; they run one file at a time.
    fileParallelism: true,
    reporters: ["default"],
  },
});
