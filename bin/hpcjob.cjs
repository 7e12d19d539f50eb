#!/usr/bin/env node
// Launcher for the bundled CLI. It compiles dist/hpcjob.cjs with V8's code
// cache (dist/hpcjob.cjs.cache, made by `npm run build`), which takes a large
// share of start-up time off every command on a busy login node. If the cache
// is missing or made by another Node version, the bundle is compiled as usual.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const Module = require("node:module");

const bundle = path.join(__dirname, "..", "dist", "hpcjob.cjs");
const cacheFile = `${bundle}.cache`;
let source;
try {
  source = fs.readFileSync(bundle, "utf8");
} catch {
  process.stderr.write("hpcjob: dist/hpcjob.cjs is missing; run npm run build in the hpcjob folder\n");
  process.exit(1);
}
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {}
const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData, importModuleDynamically: undefined });
const mod = new Module(bundle, module);
mod.filename = bundle;
mod.paths = Module._nodeModulePaths(path.dirname(bundle));
const compiled = script.runInThisContext();
// The build runs a few commands with HPCJOB_WRITE_CODE_CACHE=1 so the cache
// also holds the functions they compile lazily.
if (process.env.HPCJOB_WRITE_CODE_CACHE === "1") {
  process.on("exit", () => fs.writeFileSync(cacheFile, script.createCachedData()));
}
compiled.call(mod.exports, mod.exports, (id) => mod.require(id), mod, bundle, path.dirname(bundle));
