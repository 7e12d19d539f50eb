// Bundle the CLI into one CommonJS file (dist/hpcjob.cjs) with esbuild, the
// version and commit stamped in. CommonJS because Node's single-executable
// mechanism runs only CommonJS; one file because resolving hundreds of
// modules is most of a cold start.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "esbuild";
import nunjucks from "nunjucks";

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

const templatesDir = new URL("../templates", import.meta.url).pathname;

/** Every .njk file under templates/, as names relative to it. */
function templateNames(dir = templatesDir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? templateNames(join(dir, e.name)) : e.name.endsWith(".njk") ? [relative(templatesDir, join(dir, e.name))] : [],
  );
}

/** Every template compiled to JavaScript, in the form nunjucks's PrecompiledLoader takes; same options as at run time. */
function compiledTemplates() {
  const entries = templateNames().map((name) => {
    const src = readFileSync(join(templatesDir, name), "utf8");
    const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true });
    const code = nunjucks.precompileString(src, { name, env, wrapper: (ts) => ts[0].template });
    return `${JSON.stringify(name)}: (function () {\n${code}\n})()`;
  });
  return `{\n${entries.join(",\n")}\n}`;
}

/**
 * The built-in profiles that extend nothing, loaded and validated by the same
 * code hpcjob runs (bundled from source for this step). An invalid built-in
 * profile fails the build.
 */
async function validatedProfiles() {
  const step = new URL("../dist/.prebuild.mjs", import.meta.url).pathname;
  await build({
    entryPoints: [new URL("../src/profile/load.ts", import.meta.url).pathname],
    outfile: step,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "warning",
  });
  try {
    const load = await import(step);
    const env = { env: {}, home: "/nonexistent" };
    const profiles = {};
    for (const pf of load.profileFiles(env).filter((p) => p.origin === "builtin")) {
      if (/^extends:/m.test(pf.read())) continue;
      profiles[pf.name] = (await load.loadProfileFile(env, pf)).profile;
    }
    return profiles;
  } finally {
    rmSync(step, { force: true });
  }
}

/** src/prebuilt.ts with the build's data in place of `undefined`. */
async function prebuiltModule() {
  return `export const prebuilt = {\ntemplates: ${compiledTemplates()},\nprofiles: ${JSON.stringify(await validatedProfiles())}\n};\n`;
}

const prebuiltSource = await prebuiltModule();

/** Swap the empty prebuilt.ts for the build's data. */
const prebuiltPlugin = {
  name: "prebuilt",
  setup(b) {
    b.onLoad({ filter: /src[\\/]prebuilt\.ts$/ }, () => ({ contents: prebuiltSource, loader: "js" }));
  },
};

await build({
  plugins: [prebuiltPlugin],
  entryPoints: [new URL("../src/main.ts", import.meta.url).pathname],
  outfile: new URL("../dist/hpcjob.cjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: false,
  legalComments: "none",
  // nunjucks only needs these for file watching, which hpcjob never uses.
  external: ["chokidar", "fsevents"],
  define: {
    __HPCJOB_VERSION__: JSON.stringify(pkg.version),
    __HPCJOB_COMMIT__: JSON.stringify(process.env.HPCJOB_COMMIT ?? commit()),
    "import.meta.url": "__hpcjobImportMetaUrl",
  },
  banner: { js: 'const __hpcjobImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
});
