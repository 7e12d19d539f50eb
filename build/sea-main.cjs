// Main script of the single executable (dist/hpcjob-linux-x64, made by
// build/sea.mjs). It plays the part bin/hpcjob.cjs plays under node: the
// bundle's chunks (see build/bundle.mjs) are embedded as assets
// "chunks/NAME.cjs", each with a V8 code cache "chunks/NAME.cjs.cache", and
// are compiled on first use. The caches come from training runs of the
// executable itself (same V8, same flags); a missing or rejected cache only
// makes start-up slower.
//
// In a single executable, `require` loads only Node.js built-ins, and so does
// the `require` each chunk gets: everything else is bundled into the chunks.
//
// Two variables exist for build/sea.mjs and test/binary:
//   HPCJOB_SEA_WRITE_CODE_CACHE=DIR  start from DIR/NAME.cjs.cache (if there) and at exit write it for every loaded chunk
//   HPCJOB_SEA_CODE_CACHE_REPORT=1   at exit, print {"NAME": "accepted"|"rejected"|"none"} on stderr
"use strict";
const sea = require("node:sea");
const path = require("node:path");
const vm = require("node:vm");

// Module.wrap's wrapper, written out: node:module costs more start-up time than the rest of this file.
const WRAPPER = ["(function (exports, require, module, __filename, __dirname) { ", "\n});"];

// Where the chunks seem to live: beside the executable, as dist/NAME.cjs is
// beside bin/ in the package. Nothing is read from there (assets come from the
// executable), but stack traces and import.meta.url need a path.
const root = path.dirname(process.execPath);
const dist = path.join(root, "dist");
const writeDir = process.env.HPCJOB_SEA_WRITE_CODE_CACHE;
const report = process.env.HPCJOB_SEA_CODE_CACHE_REPORT === "1";
const chunks = new Map();

/** The error a chunk gets for requiring anything but a built-in. */
function notHere(id) {
  const err = new Error(`Cannot find module '${id}': the hpcjob executable holds only Node.js built-ins and its own chunks`);
  err.code = "MODULE_NOT_FOUND";
  return err;
}

/** require for a chunk: Node.js built-ins only, as `require("x")` or `require("node:x")` (the executable's own require refuses the rest). */
function chunkRequire(id) {
  try {
    return require(id);
  } catch (err) {
    throw err?.code === "ERR_UNKNOWN_BUILTIN_MODULE" ? notHere(id) : err;
  }
}
chunkRequire.resolve = (id) => {
  if (require("node:module").isBuiltin(id)) return id;
  throw notHere(id);
};

/** The embedded code cache of a chunk, or undefined. */
function cacheOf(name) {
  if (writeDir) {
    // Training: start from what an earlier training run wrote (or from nothing),
    // so the caches the last run writes hold what every run compiled.
    try {
      return require("node:fs").readFileSync(path.join(writeDir, `${name}.cjs.cache`));
    } catch {
      return undefined;
    }
  }
  try {
    return Buffer.from(sea.getAsset(`chunks/${name}.cjs.cache`));
  } catch {
    return undefined;
  }
}

/** Load the chunk NAME once, with its code cache, and return its exports. */
function loadChunk(name) {
  const known = chunks.get(name);
  if (known) return known.module.exports;
  let source;
  try {
    source = sea.getAsset(`chunks/${name}.cjs`, "utf8");
  } catch {
    process.stderr.write(`hpcjob: this executable has no chunk "${name}"; it was built wrongly (build/sea.mjs)\n`);
    process.exit(1);
  }
  const file = path.join(dist, `${name}.cjs`);
  const cachedData = cacheOf(name);
  // The name in stack traces: the same in the training run and for every
  // user, since V8 keeps the training run's name in the code cache.
  const script = new vm.Script(WRAPPER[0] + source + WRAPPER[1], { filename: `hpcjob:chunks/${name}.cjs`, cachedData });
  const mod = { exports: {}, filename: file, id: file, loaded: false, children: [], paths: [] };
  chunks.set(name, { script, module: mod, cache: cachedData === undefined ? "none" : script.cachedDataRejected ? "rejected" : "accepted" });
  script.runInThisContext().call(mod.exports, mod.exports, chunkRequire, mod, file, dist);
  mod.loaded = true;
  return mod.exports;
}

if (writeDir || report) {
  process.on("exit", () => {
    const fs = require("node:fs");
    const states = {};
    for (const [name, { script, cache }] of chunks) {
      if (writeDir) fs.writeFileSync(path.join(writeDir, `${name}.cjs.cache`), script.createCachedData());
      states[name] = cache;
    }
    if (report) process.stderr.write(`${JSON.stringify(states)}\n`);
  });
}

globalThis.__hpcjobLoadChunk = loadChunk;
loadChunk("hpcjob");
