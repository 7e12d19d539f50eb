// Write dist/NAME.cjs.cache for each chunk the training dry runs load: V8's
// compiled code, taken after the runs so it also holds the functions that
// path compiles lazily (see build/training.mjs: a user config.yaml and a
// project hpcjob.yaml, read with YAML and zod and then from the cache of
// validated files). Each run starts from the caches the one before wrote, so
// the last holds what all of them compiled. bin/hpcjob.cjs loads them; a
// cache from another Node version is ignored by V8.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TRAINING_ARGS, TRAINING_RUNS, trainingUser } from "./training.mjs";

const root = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "hpcjob-cache-"));
try {
  const { home, project } = trainingUser(dir);
  for (let run = 0; run < TRAINING_RUNS; run++) {
    execFileSync(process.execPath, [join(root, "bin/hpcjob.cjs"), ...TRAINING_ARGS], {
      env: { PATH: process.env.PATH, HOME: home, HPCJOB_WRITE_CODE_CACHE: "1" },
      cwd: project,
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
