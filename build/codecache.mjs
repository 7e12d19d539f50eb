// Write dist/hpcjob.cjs.cache: V8's compiled code for the bundle, taken after
// a --dry-run render so it also holds the functions that path compiles
// lazily (with a user config.yaml, so reading YAML is in it too). bin/hpcjob.cjs loads it; a cache from another Node version is
// simply ignored by V8.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "hpcjob-cache-"));
// A user config file, so the cache also holds the YAML and zod code that reads it.
mkdirSync(join(home, ".config", "hpcjob"), { recursive: true });
writeFileSync(join(home, ".config", "hpcjob", "config.yaml"), "cluster: vera\n");
try {
  execFileSync(
    process.execPath,
    [
      join(root, "bin/hpcjob.cjs"),
      "jupyter",
      "--cluster",
      "vera",
      "--gpus",
      "A40:1",
      "--account",
      "C3SE2024-1-2",
      "--image",
      "/cephyr/image.sif",
      "--dry-run",
    ],
    { env: { PATH: process.env.PATH, HOME: home, HPCJOB_WRITE_CODE_CACHE: "1" }, cwd: home, stdio: ["ignore", "ignore", "inherit"] },
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
