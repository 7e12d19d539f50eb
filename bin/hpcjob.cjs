#!/usr/bin/env node
// Launcher for the bundled CLI. The bundle is split into chunks (see
// build/bundle.mjs) that are loaded on first use; each is compiled with its
// V8 code cache (dist/NAME.cjs.cache, made by `npm run build`), which takes a
// large share of start-up time off every command on a busy login node. A
// missing cache, or one made by another Node version, only makes it slower.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

// Module.wrap's wrapper, written out: loading node:module for it costs more than the rest of this file.
const WRAPPER = ["(function (exports, require, module, __filename, __dirname) { ", "\n});"];

const dist = path.join(__dirname, "..", "dist");
// The build runs a dry run with HPCJOB_WRITE_CODE_CACHE=1 so the caches also
// hold the functions it compiles lazily.
const writeCache = process.env.HPCJOB_WRITE_CODE_CACHE === "1";
const chunks = new Map();

/** Load dist/NAME.cjs once, with its code cache, and return its exports. */
function loadChunk(name) {
  const known = chunks.get(name);
  if (known) return known.exports;
  const file = path.join(dist, `${name}.cjs`);
  let source;
  try {
    source = fs.readFileSync(file, "utf8");
  } catch {
    process.stderr.write(`hpcjob: ${file} is missing; run npm run build in the hpcjob folder\n`);
    process.exit(1);
  }
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${file}.cache`);
  } catch {}
  const script = new vm.Script(WRAPPER[0] + source + WRAPPER[1], { filename: file, cachedData });
  const mod = { exports: {}, filename: file, id: file };
  chunks.set(name, { script, file, exports: mod.exports });
  script.runInThisContext().call(mod.exports, mod.exports, require, mod, file, dist);
  chunks.get(name).exports = mod.exports;
  return mod.exports;
}

if (writeCache) {
  process.on("exit", () => {
    for (const { script, file } of chunks.values()) fs.writeFileSync(`${file}.cache`, script.createCachedData());
  });
}
globalThis.__hpcjobLoadChunk = loadChunk;
loadChunk("hpcjob");
