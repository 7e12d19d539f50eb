// Write dist/NAME.cjs.cache for each chunk the training dry run loads: V8's
// compiled code, taken after the run so it also holds the functions that path
// compiles lazily (with a user config.yaml, so reading YAML is in it too).
// bin/hpcjob.cjs loads them; a cache from another Node version is ignored by V8.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TRAINING_ARGS } from "./training.mjs";

const root = new URL("..", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "hpcjob-cache-"));
// A user config file, so the cache also holds the YAML and zod code that reads it.
mkdirSync(join(home, ".config", "hpcjob"), { recursive: true });
writeFileSync(join(home, ".config", "hpcjob", "config.yaml"), "cluster: vera\n");
try {
  execFileSync(process.execPath, [join(root, "bin/hpcjob.cjs"), ...TRAINING_ARGS], {
    env: { PATH: process.env.PATH, HOME: home, HPCJOB_WRITE_CODE_CACHE: "1" },
    cwd: home,
    stdio: ["ignore", "ignore", "inherit"],
  });
} finally {
  rmSync(home, { recursive: true, force: true });
}
