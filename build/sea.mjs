// Build the single executable dist/hpcjob-linux-x64 (and its .sha256) from
// the chunks `npm run build` wrote to dist/: Node's single executable
// application mechanism, i.e. this node binary with a blob injected that holds
// build/sea-main.cjs (the launcher), the chunks, their V8 code caches, and the
// built-in files of templates/ and clusters/.
//
//   1. a blob without code caches goes into a copy of node; that executable
//      runs the training dry runs (build/training.mjs: a user config.yaml and
//      a project hpcjob.yaml, read with YAML and zod, then from the cache of
//      validated files) and writes each chunk's code cache, made by the
//      executable's own V8;
//   2. a blob with those caches goes into a fresh copy of node: the result;
//   3. the result is checked: --version, a dry run that reads the files
//      with every cache accepted, one that takes them from the cache of
//      validated files without loading the files chunk, and a NODE_OPTIONS
//      that would break node.
//
// NODE_OPTIONS: Node 20's single executables honour it (sea-config's
// `"execArgvExtension": "none"`, which turns it off, exists only in later
// Node lines, 22 and 24), so a user's
// NODE_OPTIONS=--require=x.js or a code cache rejected for other flags would
// break or slow the executable. The copy of node therefore gets its one
// C string "NODE_OPTIONS" (the name node's C++ start-up passes to getenv)
// blanked: getenv("") finds nothing, so the executable ignores NODE_OPTIONS,
// while child processes still inherit it. The build fails if that string is not
// found exactly once (another node build); the check in step 3 proves it worked.
//
// Usage (after npm run build): node build/sea.mjs
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { TRAINING_ARGS, TRAINING_RUNS, trainingUser } from "./training.mjs";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");
// Every chunk build/bundle.mjs wrote (hpcjob, commands, files); hpcjob is the entry.
const CHUNKS = existsSync(dist)
  ? readdirSync(dist)
      .filter((f) => /^[\w-]+\.cjs$/.test(f))
      .map((f) => f.slice(0, -".cjs".length))
      .sort()
  : [];
const ASSET_FOLDERS = ["templates", "clusters"];
const MANIFEST_ASSET = "assets-manifest.json"; // as in src/assets.ts
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const name = `hpcjob-${process.platform}-${process.arch}`;
const output = join(dist, name);

class BuildError extends Error {}
function fail(message) {
  throw new BuildError(message);
}

const started = performance.now();
// Neither the blob's maker nor the training run may see the caller's node options.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_OPTIONS"));

/** Every file under `folder` (relative to the repository root), as forward-slash keys. */
function filesUnder(folder) {
  const dir = join(root, folder);
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) =>
      relative(root, join(e.parentPath ?? e.path, e.name))
        .split("\\")
        .join("/"),
    )
    .sort();
}

const work = mkdtempSync(join(tmpdir(), "hpcjob-sea-"));
try {
  if (process.platform !== "linux") fail(`only Linux executables are built here (this is ${process.platform})`);
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 12))
    fail(`Node.js >= 20.12 is needed for single-executable assets (this is ${process.version})`);
  if (!CHUNKS.includes("hpcjob")) fail("dist/hpcjob.cjs is missing; run npm run build first");

  const builtinKeys = ASSET_FOLDERS.flatMap(filesUnder);
  writeFileSync(join(work, MANIFEST_ASSET), `${JSON.stringify(builtinKeys)}\n`);

  /** The blob's assets; with the chunks' code caches from `cacheDir` when given. */
  function assets(cacheDir) {
    const a = { [MANIFEST_ASSET]: join(work, MANIFEST_ASSET) };
    for (const key of builtinKeys) a[key] = join(root, key);
    for (const c of CHUNKS) {
      a[`chunks/${c}.cjs`] = join(dist, `${c}.cjs`);
      if (cacheDir && existsSync(join(cacheDir, `${c}.cjs.cache`))) a[`chunks/${c}.cjs.cache`] = join(cacheDir, `${c}.cjs.cache`);
    }
    return a;
  }

  /**
   * node with the NODE_OPTIONS name blanked (see the top of this file). The
   * name also occurs in V8's embedded heap snapshot, as string objects whose
   * 32-bit length (12) comes right before the characters; those stay.
   */
  const node = readFileSync(process.execPath);
  const needle = Buffer.from("\0NODE_OPTIONS\0");
  const snapshotString = Buffer.from([12, 0, 0, 0]);
  const cStrings = [];
  for (let at = node.indexOf(needle); at >= 0; at = node.indexOf(needle, at + 1)) {
    if (!node.subarray(at - 3, at + 1).equals(snapshotString)) cStrings.push(at + 1);
  }
  if (cStrings.length !== 1) {
    fail(
      `${process.execPath} holds the C string "NODE_OPTIONS" ${cStrings.length} times, not once; cannot make the executable ignore NODE_OPTIONS`,
    );
  }
  node[cStrings[0]] = 0;

  /** Blob from `config`, injected into a copy of (patched) node at `exe`. */
  function makeExecutable(exe, cacheDir) {
    const blob = join(work, "sea.blob");
    const config = join(work, "sea-config.json");
    writeFileSync(
      config,
      JSON.stringify(
        {
          main: join(root, "build", "sea-main.cjs"),
          output: blob,
          disableExperimentalSEAWarning: true,
          // The launcher is a few dozen lines; a cache of it saves nothing measurable,
          // and a rejected one would print a warning.
          useCodeCache: false,
          assets: assets(cacheDir),
        },
        null,
        2,
      ),
    );
    const made = spawnSync(process.execPath, ["--experimental-sea-config", config], { env: cleanEnv, encoding: "utf8" });
    if (made.status !== 0) fail(`node --experimental-sea-config failed:\n${made.stdout}${made.stderr}`);
    writeFileSync(exe, node);
    chmodSync(exe, 0o755);
    // postject's CLI, not its API: its ELF library prints harmless warnings
    // ("Can't find string offset for section name"), shown only on failure.
    const r = spawnSync(
      process.execPath,
      [join(root, "node_modules", "postject", "dist", "cli.js"), exe, "NODE_SEA_BLOB", blob, "--sentinel-fuse", FUSE],
      {
        env: cleanEnv,
        encoding: "utf8",
      },
    );
    if (r.status !== 0) fail(`postject failed:\n${r.stdout}${r.stderr}`);
  }

  /** Run `exe` with `args` as the training user (build/training.mjs) would, from their project; returns stdout and stderr. */
  const user = trainingUser(work);
  function run(exe, args, env = {}) {
    const r = spawnSync(exe, args, { cwd: user.project, env: { PATH: process.env.PATH, HOME: user.home, ...env }, encoding: "utf8" });
    if (r.status !== 0) fail(`${exe} ${args.join(" ")} exited with ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
    return r;
  }
  /** Forget what the runs so far validated, so the next one reads the files with YAML and zod. */
  const forgetValidated = () => rmSync(join(user.home, ".cache"), { recursive: true, force: true });
  const DRY_RUN = TRAINING_ARGS;

  // 1. Train: the executable writes its own code caches, each run adding to the last one's.
  const trainer = join(work, "trainer");
  makeExecutable(trainer);
  const caches = join(work, "caches");
  mkdirSync(caches);
  for (let i = 0; i < TRAINING_RUNS; i++) run(trainer, DRY_RUN, { HPCJOB_SEA_WRITE_CODE_CACHE: caches });
  // A chunk the dry runs do not load (ssh) ships without a cache.
  const trained = CHUNKS.filter((c) => existsSync(join(caches, `${c}.cjs.cache`)));
  if (!trained.includes("hpcjob")) fail("the training run wrote no code cache");

  // 2. The executable, with the caches; renamed into place only when checked.
  const fresh = join(dist, `.${name}.tmp`);
  makeExecutable(fresh, caches);

  // 3. Checks.
  const report = (r) => JSON.parse(r.stderr.trim().split("\n").pop());
  forgetValidated();
  const states = report(run(fresh, DRY_RUN, { HPCJOB_SEA_CODE_CACHE_REPORT: "1" }));
  for (const c of trained) if (states[c] !== "accepted") fail(`the code cache of ${c} was not used (${JSON.stringify(states)})`);
  const cached = report(run(fresh, DRY_RUN, { HPCJOB_SEA_CODE_CACHE_REPORT: "1" }));
  if (cached.files !== undefined || cached.commands !== "accepted") {
    fail(
      `a dry run with unchanged files loaded ${JSON.stringify(cached)}; the cache of validated files should have spared the files chunk`,
    );
  }
  const version = run(fresh, ["--version"], { NODE_OPTIONS: "--require /nonexistent/hpcjob-sea-check.js --max-old-space-size=16" });
  if (!/^hpcjob \S+ \(commit \S+\)\n$/.test(version.stdout) || version.stderr !== "") {
    fail(`--version with a hostile NODE_OPTIONS printed ${JSON.stringify(version.stdout + version.stderr)}`);
  }

  const hash = createHash("sha256").update(readFileSync(fresh)).digest("hex");
  writeFileSync(`${fresh}.sha256`, `${hash}  ${name}\n`);
  renameSync(fresh, output);
  renameSync(`${fresh}.sha256`, `${output}.sha256`);
  const mb = (statSync(output).size / 1e6).toFixed(1);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`sea: dist/${name} (${mb} MB, ${version.stdout.trim()}, code caches ${JSON.stringify(states)}) in ${seconds} s\n`);
} catch (err) {
  if (!(err instanceof BuildError)) throw err;
  process.stderr.write(`sea: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(join(dist, `.${name}.tmp`), { force: true });
  rmSync(join(dist, `.${name}.tmp.sha256`), { force: true });
}
