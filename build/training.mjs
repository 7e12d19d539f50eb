// The dry run that trains the V8 code caches (build/codecache.mjs for the
// npm bundle, build/sea.mjs for the single executable): the path whose
// start-up matters most, so its lazily compiled functions are in the cache.
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
