/**
 * Every argument after the script reaches the program byte for byte, and
 * nothing in it runs. Each rendered batch script (every built-in profile and
 * a test profile per other runtime) is run by bash with the stand-in
 * runtimes from test/standins, which run the program INSIDE the real test
 * image (test/cluster/images.sh; the manifest images.json), and a `python`
 * that records its argv. The recorder lives in the job's folder, which every
 * runtime makes visible inside (Apptainer binds the working folder, pyxis and
 * enroot get it as a mount), and writes next to itself: enroot passes no
 * host environment. Charliecloud has no stand-in: its script runs Debian's
 * ch-run with the real test image, which shares /tmp (and so the job's
 * folder) with the container.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type LoadedProfile, loadProfile } from "../../src/profile/load.js";
import { renderScript } from "../../src/render/render.js";
import { BUILTIN_CLUSTERS, ROOT, RUNTIME_FIXTURES, requestFor, STANDINS, tempDir } from "../helpers.js";

/** The real images' manifest written by test/cluster/images.sh. */
const MANIFEST = process.env.HPCJOB_IMAGES_JSON ?? "/var/cache/hpcjob-test-images/images.json";

const FIXTURES = join(ROOT, "test", "fixtures", "clusters");
const work = tempDir("hpcjob-hostile-");
const MARKER = join(work, "PWNED");
const RECORD = join(work, "argv.bin");
const BIN = join(work, "bin");

/** Arguments that break naive quoting, each of which would create MARKER if it ran. */
const HOSTILE = [
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `; touch ${MARKER}`,
  `&& touch ${MARKER}`,
  `| touch ${MARKER}`,
  `\ntouch ${MARKER}\n`,
  `'; touch ${MARKER}; '`,
  `"; touch ${MARKER}; "`,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${IFS} for the shell, on purpose
  `$(touch${"${IFS}"}${MARKER})`,
  `<(touch ${MARKER})`,
  "",
  " ",
  "\t",
  "a b  c",
  "*",
  "?",
  "[a-z]*",
  "~",
  "~root",
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${HOME} for the shell, on purpose
  "${HOME}",
  "$$",
  "$1",
  "$@",
  "\\",
  "\\n",
  "'",
  '"',
  "''",
  "-",
  "--",
  "--help",
  "-c",
  "{{ 7*7 }}",
  "{% raw %}",
  "{# x #}",
  "%j %x %u",
  "#SBATCH --time=99",
  "!!",
  "a\nb",
  "\r\n",
  "héllo wörld ✓ 日本",
  "=",
  "A=B",
  "}",
  "{a,b}",
];

/** The recording python: writes each argument followed by a NUL, to argv.bin beside its folder. */
const RECORDER = `#!/bin/bash\nprintf '%s\\0' "$@" >"\${0%/bin/*}/argv.bin"\n`;

/** The small real image (Debian, python3, no Jupyter) as .sif, as enroot .sqsh and as Charliecloud SquashFS. */
let sif = "";
let sqsh = "";
let chSqfs = "";

beforeAll(() => {
  if (!existsSync(MANIFEST)) {
    throw new Error(`${MANIFEST} is missing: build the real test images with: sudo bash test/cluster/images.sh`);
  }
  const image = JSON.parse(readFileSync(MANIFEST, "utf8")).images.nojupyter;
  sif = image.sif;
  sqsh = image.enrootSqsh;
  chSqfs = image.charliecloudSqfs;
  mkdirSync(BIN, { recursive: true });
  writeFileSync(join(BIN, "python"), RECORDER);
  chmodSync(join(BIN, "python"), 0o755);
  // A module command for profiles that load modules: accepts and does nothing.
  writeFileSync(join(BIN, "module"), "#!/bin/sh\nexit 0\n");
  chmodSync(join(BIN, "module"), 0o755);
});

const clusters = [...BUILTIN_CLUSTERS, ...RUNTIME_FIXTURES];

/**
 * A profile whose binds are replaced by a folder that exists here (the
 * stand-ins check sources) and whose .py runner is the recorder.
 */
async function testProfile(name: string): Promise<LoadedProfile> {
  const l = await loadProfile({ env: { HPCJOB_CLUSTERS: FIXTURES }, home: "/nonexistent-home" }, name);
  // ch-run binds only onto a folder the image has (the stand-ins create it, as Apptainer and enroot do).
  const bind = l.profile.container.runtime === "charliecloud" ? `${work}:/mnt/0` : `${work}:/data`;
  const container = { ...l.profile.container, binds: l.profile.container.binds.length ? [bind] : [] };
  const batch = { ...l.profile.batch, runners: { ...l.profile.batch.runners, ".py": [join(BIN, "python")] } };
  return { ...l, profile: { ...l.profile, container, batch, environment: { ...l.profile.environment, modules: [] } } };
}

/** Render a batch job running train.py with `args`, run it, and return what python received. */
function runWith(loaded: LoadedProfile, args: string[]): { received: string[]; status: number; stderr: string } {
  const rt = loaded.profile.container.runtime;
  const image = rt === "none" ? undefined : rt === "charliecloud" ? chSqfs : rt === "pyxis" || rt === "enroot" ? sqsh : sif;
  const req = requestFor(
    loaded,
    { image, account: "acct", gpus: "0" },
    { kind: "batch", argv: ["train.py", ...args], explicit: false },
    work,
  );
  const script = join(work, "job.sbatch");
  writeFileSync(script, renderScript(req, join(work, "run")));
  writeFileSync(RECORD, "");
  const r = spawnSync("bash", [script], {
    cwd: work,
    encoding: "utf8",
    env: { PATH: `${BIN}:${STANDINS}:${process.env.PATH}`, HOME: work, ENROOT_DATA_PATH: join(work, "enroot") },
  });
  const raw = readFileSync(RECORD, "utf8");
  const received = raw === "" ? [] : raw.slice(0, -1).split("\0");
  return { received, status: r.status ?? -1, stderr: r.stderr };
}

const arg = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ unit: "binary", maxLength: 30 }).filter((s) => !s.includes("\0") && s.isWellFormed()),
);

// Each run starts a container (and enroot unpacks the image for every job), so these take a while.
describe.each(clusters)("batch script for %s", { timeout: 240_000 }, (cluster) => {
  it("passes the fixed hostile set through unchanged and runs none of it", async () => {
    const loaded = await testProfile(cluster);
    const { received, status, stderr } = runWith(loaded, HOSTILE);
    expect(stderr).not.toMatch(/FATAL|ERROR|pyxis:/);
    expect(status).toBe(0);
    expect(received).toEqual(["train.py", ...HOSTILE]);
    expect(existsSync(MARKER)).toBe(false);
  });

  it("passes any 30+ arguments through unchanged (property)", async () => {
    const loaded = await testProfile(cluster);
    fc.assert(
      fc.property(fc.array(arg, { minLength: 30, maxLength: 45 }), (args) => {
        const { received, status } = runWith(loaded, args);
        expect(status).toBe(0);
        expect(received).toEqual(["train.py", ...args]);
        expect(existsSync(MARKER)).toBe(false);
      }),
      { numRuns: 15 },
    );
  });
});
