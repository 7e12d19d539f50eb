// Bundle the CLI into CommonJS chunks (dist/*.cjs) with esbuild, the
// version and commit stamped in. CommonJS because Node's single-executable
// mechanism runs only CommonJS; few files because resolving hundreds of
// modules is most of a cold start.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/** The commit being built, with -dirty when the tree has changes; "unknown" outside git. */
function commit() {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return "unknown";
  }
}

/**
 * A hash of everything a validated value depends on: hpcjob's sources, the
 * built-in profiles and the locked dependencies (zod, yaml). It keys the
 * cache of validated files (src/profile/cache.ts) with the version and
 * commit, because a build from a changed tree keeps its commit.
 */
function sourcesHash() {
  const root = new URL("..", import.meta.url).pathname;
  const files = ["src", "clusters"]
    .flatMap((d) => readdirSync(join(root, d), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath ?? e.path, e.name)))
    .concat("package-lock.json")
    .sort();
  const hash = createHash("sha256");
  for (const f of files)
    hash
      .update(`${f}\0`)
      .update(readFileSync(join(root, f)))
      .update("\0");
  return hash.digest("hex").slice(0, 16);
}

/** Run `use` on a module of src/, bundled for this step (its packages from node_modules); the same code hpcjob runs. */
async function withSource(entry, use) {
  const step = new URL(`../dist/.prebuild-${entry.replace(/\W/g, "-")}.mjs`, import.meta.url).pathname;
  await build({
    entryPoints: [new URL(`../${entry}`, import.meta.url).pathname],
    outfile: step,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "warning",
  });
  try {
    return await use(await import(step));
  } finally {
    rmSync(step, { force: true });
  }
}

const templatesDir = new URL("../templates", import.meta.url).pathname;

/**
 * Every template under templates/ compiled to a JavaScript function
 * (src/render/codegen.ts), as the source of an object literal by name. A
 * template the compiler does not support fails the build.
 */
function compiledTemplates() {
  const names = readdirSync(templatesDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".njk"));
  const sources = Object.fromEntries(names.map((name) => [name, readFileSync(join(templatesDir, name), "utf8")]));
  return withSource("src/render/codegen.ts", (codegen) => codegen.compileTemplates(sources));
}

/**
 * The built-in profiles that extend nothing, loaded and validated by the same
 * code hpcjob runs. An invalid built-in profile fails the build.
 */
function validatedProfiles() {
  return withSource("src/profile/load.ts", async (load) => {
    const env = { env: {}, home: "/nonexistent" };
    const profiles = {};
    for (const pf of load.profileFiles(env).filter((p) => p.origin === "builtin")) {
      if (/^extends:/m.test(pf.read())) continue;
      profiles[pf.name] = (await load.loadProfileFile(env, pf)).profile;
    }
    return profiles;
  });
}

/** The modules whose `undefined` the build replaces with its data, and that data. */
const buildData = {
  "src/render/compiled.ts": `export const compiledTemplates = ${await compiledTemplates()};\n`,
  "src/profile/builtin.ts": `export const builtinProfiles = ${JSON.stringify(await validatedProfiles())};\n`,
};

/** Swap render/compiled.ts and profile/builtin.ts for the build's data. */
const prebuiltPlugin = {
  name: "prebuilt",
  setup(b) {
    b.onLoad({ filter: /src[\\/](render[\\/]compiled|profile[\\/]builtin)\.ts$/ }, (args) => {
      const key = Object.keys(buildData).find((k) => args.path.endsWith(k));
      return { contents: buildData[key], loader: "js" };
    });
  },
};

/**
 * esbuild hoists every require of a Node built-in to the top of its chunk, so
 * each one is loaded when the chunk is, used or not. These are slow to load
 * and rarely used by a command (crypto for remote install, child_process to
 * run Slurm, readline to ask a passphrase, module (four modules of Node's
 * own) for createRequire ...): hpcjob's own code, and commander for
 * child_process, get a stand-in that loads the built-in on first use.
 * (Libraries such as ssh2 get the real thing.)
 */
const LAZY_BUILTINS = ["child_process", "crypto", "fs/promises", "module", "net", "os", "readline"];
const lazyBuiltinsPlugin = {
  name: "lazy-builtins",
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join("|").replace("/", "\\/")})$`);
    b.onResolve({ filter }, (args) => {
      // The stand-in's own require of the built-in is the real thing.
      if (args.namespace === "lazy") return { path: args.path, external: true };
      const ours = !args.importer.includes("node_modules");
      const commander = args.importer.includes(`${"node_modules"}/commander/`) && /child_process$/.test(args.path);
      return ours || commander ? { path: args.path.replace(/^node:/, ""), namespace: "lazy" } : undefined;
    });
    // An ES module with one function per function the real module exports
    // (names taken here, at build time) that loads the built-in on its first
    // call: esbuild binds named imports to it directly and drops what is not
    // imported, so a chunk pays nothing for a stand-in until it is used. (A
    // CommonJS stand-in with a getter per export made esbuild's interop copy
    // every one of them when the chunk loaded.) Only functions: importing
    // anything else from these modules fails the build ("No matching export").
    b.onLoad({ filter: /.*/, namespace: "lazy" }, async (args) => {
      const real = await import(`node:${args.path}`);
      const names = Object.keys(real).filter((k) => k !== "default" && typeof real[k] === "function");
      const wrappers = names.map(
        (k) =>
          `export function ${k}(...args) {\n  const f = load().${k};\n  return new.target ? Reflect.construct(f, args, new.target) : f.apply(this, args);\n}`,
      );
      return {
        contents: `let m;\nconst load = () => (m ??= require("node:${args.path}"));\n${wrappers.join("\n")}\n`,
        loader: "js",
      };
    });
  },
};

/**
 * The bundle is three CommonJS chunks, each loaded on first use and each
 * with its own V8 code cache, so a command pays only for what it runs:
 *   hpcjob.cjs    the CLI and commander (all `--version` and `--help` need)
 *   commands.cjs  the commands, profiles, requests, templates (a dry run)
 *   files.cjs     yaml and zod, to read a profile or config file
 *   ssh.cjs       node-ssh and ssh2, to reach a login node from a laptop
 *   site.cjs      clusters detect, clusters doctor and init (read a cluster)
 *   imagedef.cjs  image def: Dockerfile to Apptainer definition
 *   prompts.cjs   @inquirer/prompts, the questions `hpcjob init` asks
 * An import of a chunk's entry from another chunk becomes a call to the
 * launcher's chunk loader (bin/hpcjob.cjs, or the single executable's).
 */
const CHUNKS = {
  hpcjob: { entry: "src/main.ts" },
  commands: { entry: "src/commands/index.ts" },
  files: { entry: "src/profile/files.ts" },
  ssh: { entry: "src/exec/ssh/executor.ts" },
  site: { entry: "src/commands/site.ts" },
  imagedef: { entry: "src/commands/imageDef.ts" },
  prompts: { entry: "src/cli/prompts.ts" },
};

/** The chunk whose entry a relative import resolves to (by the file it names, not how it is spelled). */
function chunkOf(args) {
  if (!args.path.startsWith(".")) return undefined;
  const file = join(args.resolveDir, args.path).replace(/\.js$/, ".ts");
  const rel = relative(new URL("..", import.meta.url).pathname, file);
  return Object.keys(CHUNKS).find((name) => CHUNKS[name].entry === rel);
}

/**
 * The libraries that live in the files chunk only, and the name files.ts
 * exports each as: an import of one from another chunk gets it from there.
 * Without this, a module of the commands chunk that uses zod (the request's
 * schema, request.json's) would bundle a second zod into it and make every
 * dry run read and compile five times as much code.
 */
const FILES_LIBRARIES = { zod: "zodLibrary", yaml: "yamlLibrary" };

/** Route imports of other chunks' entries to the chunk loader. */
function chunkPlugin(self) {
  return {
    name: "chunks",
    setup(b) {
      if (self !== "files") {
        b.onResolve({ filter: /^(zod|yaml)$/ }, (args) => ({ path: args.path, namespace: "files-library" }));
        b.onLoad({ filter: /.*/, namespace: "files-library" }, (args) => ({
          contents: `const load = globalThis.__hpcjobLoadChunk ?? ((n) => require(require("node:path").join(__dirname, n + ".cjs")));\nmodule.exports = load("files").${FILES_LIBRARIES[args.path]};`,
          loader: "js",
        }));
      }
      b.onResolve({ filter: /^\./ }, (args) => {
        const name = chunkOf(args);
        return name && name !== self ? { path: name, namespace: "chunk" } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: "chunk" }, (args) => ({
        // Without the launcher (node dist/hpcjob.cjs), the chunk is required from beside this one.
        contents: `const load = globalThis.__hpcjobLoadChunk ?? ((n) => require(require("node:path").join(__dirname, n + ".cjs")));\nmodule.exports = load(${JSON.stringify(args.path)});`,
        loader: "js",
      }));
    },
  };
}

// V8 accepts a code cache whose source has the same length as the one it
// was made from, so a cache left from an earlier build beside a chunk that
// kept its size (code moved, none added) would run the old functions' byte
// offsets against the new text. Every build starts without caches;
// build/codecache.mjs makes them afresh.
const distDir = new URL("../dist/", import.meta.url);
const sources = sourcesHash();
for (const f of existsSync(distDir) ? readdirSync(distDir).filter((n) => n.endsWith(".cache")) : []) rmSync(new URL(f, distDir));

for (const [name, chunk] of Object.entries(CHUNKS)) {
  await build({
    plugins: [prebuiltPlugin, lazyBuiltinsPlugin, chunkPlugin(name)],
    entryPoints: [new URL(`../${chunk.entry}`, import.meta.url).pathname],
    outfile: new URL(`../dist/${name}.cjs`, import.meta.url).pathname,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    // ssh2's native crypto and cpu-features are optional: ssh2 falls back to
    // Node's own crypto when they cannot be loaded.
    external: ["cpu-features", "*.node"],
    define: {
      __HPCJOB_VERSION__: JSON.stringify(pkg.version),
      __HPCJOB_COMMIT__: JSON.stringify(process.env.HPCJOB_COMMIT ?? commit()),
      __HPCJOB_SOURCES__: JSON.stringify(sources),
      "import.meta.url": "__hpcjobImportMeta.url",
    },
    // A getter: node:url is loaded only by code that asks for import.meta.url
    // (finding built-in files on disk), which a dry run does not.
    banner: { js: 'const __hpcjobImportMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
    logLevel: "warning",
    metafile: Boolean(process.env.HPCJOB_METAFILE),
  }).then((r) => {
    if (r.metafile) writeFileSync(new URL(`../dist/${name}.meta.json`, import.meta.url), JSON.stringify(r.metafile));
  });
}
