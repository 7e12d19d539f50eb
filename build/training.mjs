// The dry run that trains the V8 code caches (build/codecache.mjs for the
// npm bundle, build/sea.mjs for the single executable): the path whose
// start-up matters most, so its lazily compiled functions are in the cache.
// It runs as most users do: with a config.yaml in the home and an
// hpcjob.yaml in the project folder it runs from, twice: the first run reads
// them with YAML and zod (which trains the files chunk) and fills the cache
// of validated files; the second takes them from that cache, as every later
// run of a user does.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const TRAINING_ARGS = [
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
];

/** How many times the training dry run runs: once reading the files, once from the cache of validated files. */
export const TRAINING_RUNS = 2;

/** Make the training user under `dir`: a home with config.yaml and a project with hpcjob.yaml; returns both folders. */
export function trainingUser(dir) {
  const home = join(dir, "home");
  const project = join(home, "project");
  mkdirSync(join(home, ".config", "hpcjob"), { recursive: true });
  mkdirSync(project, { recursive: true });
  writeFileSync(join(home, ".config", "hpcjob", "config.yaml"), "cluster: vera\naccount: C3SE2024-1-2\n");
  writeFileSync(
    join(project, "hpcjob.yaml"),
    [
      "image: /cephyr/users/alice/Vera/pytorch.sif",
      "binds:",
      "  - /mimer/NOBACKUP/groups/alice-lab",
      "env:",
      '  OMP_NUM_THREADS: "8"',
      "resources:",
      "  gpus: A40:1",
      '  time: "04:00:00"',
      "sbatch:",
      "  - --constraint=MEM512",
      "",
    ].join("\n"),
  );
  return { home, project };
}
