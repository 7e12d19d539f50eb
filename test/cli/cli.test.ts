/**
 * The built CLI, run as a user runs it: dry runs, cluster commands, and a
 * table of bad inputs that must each end with exit 2 and one line that says
 * how to fix it, never a stack trace.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderScript } from "../../src/render/render.js";
import { BUILTIN_LIST, builtin, ROOT, requestFor, runCli, tempDir, writeFiles } from "../helpers.js";

const VERA_JUPYTER = [
  "jupyter",
  "--cluster",
  "vera",
  "--gpus",
  "1",
  "--account",
  "C3SE2024-1-2",
  "--image",
  "/cephyr/users/me/Vera/pytorch.sif",
  "--dry-run",
];
const PENN_BATCH = [
  "batch",
  "--cluster",
  "penn",
  "--gpus",
  "1",
  "--account",
  "lab",
  "--image",
  "/abs/img.sqsh",
  "--dry-run",
  "train.py",
  "--epochs",
  "3",
];
const STAMP = /\d{8}-\d{6}/g;

describe("dry runs", () => {
  it("prints a ready-to-submit Jupyter script for Vera and touches nothing", () => {
    const home = tempDir();
    const r = runCli(VERA_JUPYTER, { home });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/bash\n#SBATCH --account=C3SE2024-1-2\n/);
    expect(r.stdout).toContain("#SBATCH --gpus-per-node=1\n");
    expect(r.stdout).toContain(`#SBATCH --output=${home}/.hpcjob/runs/`);
    expect(r.stdout).toContain("apptainer exec --nv");
    expect(existsSync(join(home, ".hpcjob"))).toBe(false);
  });

  it("works on a computer without Slurm, saying that the paths are this computer's", () => {
    const r = runCli([...VERA_JUPYTER], { env: { PATH: "/nonexistent" } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/bash\n/);
    expect(r.stderr).toBe(
      "hpcjob: dry run on a computer without Slurm: paths are this computer's; a real submission runs in your cluster home (or --workdir)\n",
    );
    const noLogin = writeFiles(tempDir(), {
      "site.yaml": "name: site\nslurm:\n  partition: p\n  partitions: [{name: p, maxTime: '1-00:00:00'}]\ncontainer: {runtime: none}\n",
    });
    const r2 = runCli(["batch", "--cluster", "site", "--dry-run", "run.sh"], { env: { PATH: "/nonexistent", HPCJOB_CLUSTERS: noLogin } });
    expect(r2.stderr).toBe("");
    expect(r2.status).toBe(0);
  });

  it("prints a batch script for penn with the program's arguments", () => {
    const r = runCli(PENN_BATCH);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("#SBATCH --gres=gpu:1\n");
    expect(r.stdout).toContain("--container-image=/abs/img.sqsh");
    expect(r.stdout).toMatch(/HPCJOB_COMMAND=\(\n {2}python\n {2}train\.py\n {2}--epochs\n {2}3\n\)/);
  });

  it("the bundle renders exactly what the source renders", async () => {
    const home = tempDir();
    const r = runCli(VERA_JUPYTER, { home });
    const req = requestFor(
      await builtin("vera"),
      { gpus: "1", account: "C3SE2024-1-2", image: "/cephyr/users/me/Vera/pytorch.sif" },
      { kind: "jupyter" },
      home,
    );
    const fromSource = renderScript(req, `${home}/.hpcjob/runs/STAMP-jupyter`);
    expect(r.stdout.replace(STAMP, "STAMP")).toBe(fromSource.replace(STAMP, "STAMP"));
  });

  it("a program after -- runs as given, even when an option's value is the same word", () => {
    const r = runCli(["batch", "--cluster", "vera", "-A", "x", "-i", "/i.sif", "--name", "python", "--dry-run", "--", "python", "x.py"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("#SBATCH --job-name=python\n");
    expect(r.stdout).toMatch(/HPCJOB_COMMAND=\(\n {2}python\n {2}x\.py\n\)/);
  });

  it("options after the script belong to the program, -- runs a command as given", () => {
    const r = runCli(["batch", "--cluster", "vera", "-A", "x", "-i", "/i.sif", "--dry-run", "train.py", "--gpus", "7", "--dry-run"]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("gpus-per-node");
    expect(r.stdout).toMatch(/train\.py\n {2}--gpus\n {2}7\n {2}--dry-run\n\)/);
    const dashed = runCli(["batch", "--cluster", "vera", "-A", "x", "-i", "/i.sif", "--dry-run", "--", "./sim", "-n", "1"]);
    expect(dashed.stdout).toMatch(/HPCJOB_COMMAND=\(\n {2}\.\/sim\n {2}-n\n {2}1\n\)/);
  });

  it("reads the user config and the project's hpcjob.yaml", () => {
    const home = tempDir();
    mkdirSync(join(home, ".config", "hpcjob"), { recursive: true });
    writeFileSync(join(home, ".config", "hpcjob", "config.yaml"), "cluster: vera\nclusters:\n  vera: {account: C3SE2025-1-1}\n");
    const project = writeFiles(tempDir(), {
      "hpcjob.yaml": "image: /cephyr/p.sif\nenv: {WANDB_MODE: offline}\nresources: {gpus: 'A100:2', time: '2:00:00'}\n",
    });
    const r = runCli(["jupyter", "--dry-run"], { home, cwd: project });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("#SBATCH --account=C3SE2025-1-1\n");
    expect(r.stdout).toContain("#SBATCH --gpus-per-node=A100:2\n");
    expect(r.stdout).toContain("#SBATCH --time=02:00:00\n");
    expect(r.stdout).toContain("export WANDB_MODE=offline\n");
    expect(r.stdout).toContain(" /cephyr/p.sif ");
  });
});

describe("version and help", () => {
  it("--version prints the version and the commit", () => {
    const r = runCli(["--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^hpcjob \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}(-dirty)?|unknown\)\n$/);
  });

  it.each(["jupyter", "batch", "init", "clusters list", "clusters show", "clusters validate", "clusters schema"])(
    "%s --help shows examples",
    (cmd) => {
      const r = runCli([...cmd.split(" "), "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Example/);
    },
  );

  it("the questions of init (@inquirer/prompts) are a chunk of their own, in no chunk every command loads", () => {
    const chunk = (name: string) => readFileSync(join(ROOT, "dist", `${name}.cjs`), "utf8");
    expect(chunk("prompts")).toContain("@inquirer");
    for (const name of ["hpcjob", "commands", "files"]) expect(chunk(name), name).not.toMatch(/@inquirer|createPrompt/);
  });

  it("init with no terminal says to use --yes or detect, exit 2, before reaching any cluster", () => {
    const r = runCli(["init"], { env: { HOME: "/nonexistent" } });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "hpcjob: init asks questions on a terminal; use --yes to take the detected defaults, or hpcjob clusters detect -o FILE\n",
    );
  });

  it("--help works with no config at all", () => {
    const r = runCli(["--help"], { env: { HOME: "/nonexistent" } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/jupyter.*\n.*batch/s);
  });
});

describe("clusters", () => {
  it("list shows every built-in cluster with its runtime and GPUs", () => {
    const r = runCli(["clusters", "list"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^NAME +RUNTIME +GPUS +SOURCE +TITLE/);
    expect(r.stdout).toMatch(/\nvera +apptainer +A40,A100,H100 +built-in +Chalmers C3SE Vera/);
    expect(r.stdout).toMatch(/\npenn +pyxis +B200 +built-in/);
  });

  it("list marks a broken profile instead of failing", () => {
    const dir = writeFiles(tempDir(), { "bad.yaml": "name: bad\nslurm: {}\n" });
    const r = runCli(["clusters", "list"], { env: { HPCJOB_CLUSTERS: dir } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\nbad .*INVALID: .*bad\.yaml:2 slurm\.partition: is required/);
  });

  it("show summarises partitions, GPUs and limits", () => {
    const r = runCli(["clusters", "show", "vera"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("GPUs:       --gpus-per-node=TYPE:N");
    expect(r.stdout).toMatch(/vera \(default\) +max 7-00:00:00 +GPUs per node: A40 x4, A100 x4, H100 x4/);
  });

  it("show --raw prints the file with its comments, as a starting point", () => {
    const r = runCli(["clusters", "show", "custom", "--raw"]);
    expect(r.stdout).toMatch(/^# yaml-language-server/);
    expect(r.stdout).toContain("# A starting point for any other Slurm site.");
  });

  it("show --json gives the resolved profile", () => {
    const r = runCli(["clusters", "show", "penn", "--json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: "penn", container: { runtime: "pyxis" }, origin: "builtin" });
  });

  it("validate says ok for a good file", () => {
    const r = runCli(["clusters", "show", "custom", "--raw"]);
    const dir = writeFiles(tempDir(), { "custom.yaml": r.stdout });
    const v = runCli(["clusters", "validate", join(dir, "custom.yaml")]);
    expect(v.stdout).toMatch(/custom\.yaml: ok \(cluster custom, apptainer, 2 partition\(s\)\)/);
    expect(v.status).toBe(0);
  });

  it("custom.yaml's commented Charliecloud example, uncommented, is a valid profile, and show says what it does", () => {
    const raw = runCli(["clusters", "show", "custom", "--raw"]).stdout;
    const mine = raw
      .replace(/^name: custom$/m, "name: mysite")
      .replace(/^ {2}runtime: apptainer /m, "  runtime: charliecloud")
      .replace(/^ {2}binds: \[\].*\n/m, "")
      .replace(/^ {2}# {3}binds:/m, "  binds:")
      .replace(/^ {2}# charliecloud:/m, "  charliecloud:")
      .replace(/^ {2}# {3}fromhostNvidia:/m, "    fromhostNvidia:");
    const dir = writeFiles(tempDir(), { "mysite.yaml": mine });
    const v = runCli(["clusters", "validate", join(dir, "mysite.yaml")]);
    expect(v.stdout, v.stderr).toMatch(/mysite\.yaml: ok \(cluster mysite, charliecloud, 2 partition\(s\)\)/);
    const shown = runCli(["clusters", "show", "mysite"], { env: { HPCJOB_CLUSTERS: dir } });
    expect(shown.stdout).toContain(
      "runtime:    charliecloud, images in $HOME/.hpcjob/images; GPU jobs run ch-fromhost --nvidia on the image first",
    );
    expect(shown.stdout).toContain("binds:      /scratch:/mnt/0");
  });

  it("schema prints a JSON Schema", () => {
    const r = runCli(["clusters", "schema"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ $schema: expect.stringContaining("json-schema.org"), type: "object" });
  });

  it("validate DIR checks every profile in a folder, extends between them included", () => {
    const base =
      "name: base\nslurm:\n  partition: gpu\n  partitions:\n    - {name: gpu, maxTime: '1-00:00:00'}\ncontainer:\n  runtime: none\n";
    const dir = writeFiles(tempDir(), {
      "base.yaml": base,
      "child.yml": "name: child\nextends: base\ntitle: Child\n",
      "notes.txt": "not a profile",
    });
    const r = runCli(["clusters", "validate", dir]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      `${dir}/base.yaml: ok (cluster base, none, 1 partition(s))\n${dir}/child.yml: ok (cluster child, none, 1 partition(s))\nall 2 profiles in ${dir} are valid\n`,
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(runCli(["clusters", "validate", dir, "--json"]).stdout)).toMatchObject({
      ok: true,
      files: [{ name: "base" }, { name: "child" }],
    });
  });

  it("validate DIR lists each broken file on its own line and exits 2", () => {
    const dir = writeFiles(tempDir(), {
      "good.yaml": "name: good\nextends: vera\n",
      "bad.yaml": "name: bad\nslurm: {}\n",
      "typo.yaml": "name: typo\nextends: vera\ntitel: x\n",
      "good.yml": "name: good\nextends: vera\n",
    });
    const r = runCli(["clusters", "validate", dir]);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`hpcjob: 3 of 4 profiles in ${dir} are broken; fix each line below and run hpcjob clusters validate again`);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}\S+\/bad\.yaml:2 slurm\.partition: is required/),
      expect.stringMatching(/^ {2}\S+\/good\.yml:1 name: \S+\/good\.yaml is also profile good, and only one of them is used; keep one$/),
      expect.stringMatching(/^ {2}\S+\/typo\.yaml:3 titel: unknown key "titel"; did you mean "title"\?$/),
    ]);
    expect(r.status).toBe(2);
  });

  it("validate DIR counts in words that agree", () => {
    const dir = writeFiles(tempDir(), { "one.yaml": "name: one\nextends: vera\n" });
    expect(runCli(["clusters", "validate", dir]).stdout).toMatch(new RegExp(`\nthe 1 profile in ${dir} is valid\n$`));
    writeFiles(dir, { "one.yaml": "name: two\nextends: vera\n" });
    expect(runCli(["clusters", "validate", dir]).stderr).toMatch(new RegExp(`^hpcjob: 1 of 1 profile in ${dir} is broken; `));
  });

  it("an empty folder is not a valid profile repository", () => {
    const r = runCli(["clusters", "validate", tempDir()]);
    expect(r.stderr).toMatch(/^hpcjob: \S+ has no \.yaml or \.yml files; give a folder of profiles or a profile file\n$/);
    expect(r.status).toBe(2);
  });

  it("list reports an HPCJOB_CLUSTERS entry that is a file or missing, and lists the rest", () => {
    const file = join(writeFiles(tempDir(), { "x.yaml": "name: x\n" }), "x.yaml");
    const good = writeFiles(tempDir(), { "mine.yaml": "name: mine\nextends: vera\ntitle: Mine\n" });
    const r = runCli(["clusters", "list"], { env: { HPCJOB_CLUSTERS: `${file}:/nonexistent/profiles:${good}` } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\nmine +apptainer .* Mine\n/);
    expect(r.stdout).toMatch(/\nvera +apptainer/);
    expect(r.stderr).toBe(
      `hpcjob: HPCJOB_CLUSTERS names ${file}, which is a file, not a folder; list folders of profiles there, separated by ':'\n` +
        "hpcjob: HPCJOB_CLUSTERS names a folder that cannot be used: /nonexistent/profiles does not exist; fix HPCJOB_CLUSTERS\n",
    );
  });

  it("other commands warn about a bad HPCJOB_CLUSTERS entry and carry on", () => {
    const r = runCli([...VERA_JUPYTER], { env: { HPCJOB_CLUSTERS: "/nonexistent/profiles" } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/bash\n/);
    expect(r.stderr).toMatch(/^hpcjob: HPCJOB_CLUSTERS names a folder that cannot be used: \/nonexistent\/profiles does not exist/);
    const unknown = runCli([...VERA_JUPYTER, "--cluster", "nope"], { env: { HPCJOB_CLUSTERS: "/nonexistent/profiles" } });
    expect(unknown.stderr).toMatch(new RegExp(`unknown cluster "nope"; known clusters: ${BUILTIN_LIST}`));
    expect(unknown.stderr).not.toMatch(/unexpected error/);
    expect(unknown.status).toBe(2);
  });

  it("a copy of the CLI without its clusters/ folder still answers an unknown cluster in one line, exit 2", () => {
    const copy = tempDir("hpcjob-copy-");
    for (const part of ["bin", "dist", "package.json"]) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
    const r = spawnSync(process.execPath, [join(copy, "bin", "hpcjob.cjs"), "jupyter", "--cluster", "nope", "--dry-run"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tempDir("hpcjob-home-") },
      encoding: "utf8",
    });
    expect(r.stderr).toMatch(/^hpcjob: unknown cluster "nope"; known clusters: /);
    expect(r.status).toBe(2);
  });
});

describe("what hpcjob needs from the environment", () => {
  it("works with USER unset: a dry run, and ps asks squeue for the account's own name", () => {
    const bin = tempDir();
    const log = join(bin, "squeue.args");
    // A stand-in squeue that records its arguments and lists no job.
    writeFileSync(join(bin, "squeue"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${log}\n`, { mode: 0o755 });
    writeFileSync(join(bin, "sbatch"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    expect(runCli(VERA_JUPYTER, { env }).status).toBe(0);
    const ps = runCli(["ps"], { env });
    expect(ps.stderr).toBe("");
    expect(ps.stdout).toBe("no hpcjob jobs\n");
    expect(readFileSync(log, "utf8")).toContain(`--user=${userInfo().username}\n`);
    // Set but empty is as good as unset.
    expect(runCli(["ps"], { env: { ...env, USER: "" } }).stdout).toBe("no hpcjob jobs\n");
    expect(readFileSync(log, "utf8")).toContain(`--user=${userInfo().username}\n`);
  });
});

const JUP = ["jupyter", "--cluster", "vera", "--account", "C3SE2024-1-2", "--image", "/x.sif", "--dry-run"];
const BAT = ["batch", "--cluster", "vera", "--account", "C3SE2024-1-2", "--image", "/x.sif", "--dry-run"];
const PENN = ["jupyter", "--cluster", "penn", "-A", "x", "-i", "/x.sqsh", "--gpus", "1", "--dry-run"];
const BROKEN =
  "name: broken\nslurm:\n  partition: gpu\n  partitions:\n    - {name: gpu, maxTime: '1:00:00'}\ncontainer:\n  runtime: podman\n";
const TYPO =
  "name: typo\nslurm:\n  partition: gpu\n  partitions:\n    - {name: gpu, maxTime: '1:00:00'}\ncontainer:\n  runtme: apptainer\n";
/** A valid profile `name` with `extra` lines after `slurm:`'s partitions (indent them as top-level keys). */
const site = (name: string, extra = "", gpus = "[{type: A40, perNode: 2}]") =>
  `name: ${name}\nslurm:\n  partition: gpu\n  partitions:\n    - {name: gpu, maxTime: '1:00:00', gpus: ${gpus}}\ncontainer:\n  runtime: none\n${extra}`;
/** Written as a folder instead of a file, where a file is expected. */
const FOLDER = "<folder>";
/** Ten levels of aliases, each ten times the one before: a "billion laughs" file. */
const ALIAS_BOMB = `a: &a [x, x, x, x, x, x, x, x, x, x]\n${"bcdefghij"
  .split("")
  .map((c, i) => `${c}: &${c} [${Array(10).fill(`*${"abcdefghij"[i]}`).join(", ")}]`)
  .join("\n")}\n`;

/** What a bad-input case needs around it: profiles on HPCJOB_CLUSTERS, a user config, a project file. */
interface Setup {
  BROKEN?: string;
  PROFILES?: Record<string, string>;
  CONFIG?: string;
  PROJECT?: string;
}

describe("bad input: exit 2, one line with the fix, no stack trace", () => {
  const cases: [string, string[], RegExp, Setup?][] = [
    ["unknown option", ["jupyter", "--gpu", "1"], /unknown option '--gpu'; did you mean --gpus\?/],
    ["unknown command", ["jupyterlab"], /unknown command 'jupyterlab'/],
    ["unknown cluster", [...JUP, "--cluster", "nope"], new RegExp(`unknown cluster "nope"; known clusters: ${BUILTIN_LIST}`)],
    ["unknown partition", [...JUP, "-p", "gpu"], /--partition "gpu" is not a partition of cluster vera; use one of: vera/],
    ["unknown GPU type", [...JUP, "--gpus", "V100:1"], /no GPU type "V100"; it offers A40 \(4 per node\)/],
    ["too many GPUs", [...JUP, "--gpus", "A40:8"], /ask for at most 4/],
    ["GPU count in words", [...JUP, "--gpus", "one"], /--gpus "one" is not a GPU request; use N or TYPE:N/],
    ["time past the limit", [...JUP, "--time", "10-00:00:00"], /longer than partition vera allows \(7-00:00:00\)/],
    ["malformed time", [...JUP, "--time", "4h"], /--time "4h" is not a Slurm time; use M, M:S, H:M:S/],
    ["zero CPUs", [...JUP, "--cpus", "0"], /--cpus "0" must be a whole number of at least 1/],
    ["malformed memory", [...PENN, "--mem", "lots"], /--mem "lots" is not a Slurm size/],
    ["memory where the site refuses it", [...JUP, "--mem", "64G"], /--mem "64G" cannot be used: cluster vera does not take --mem/],
    ["no account", ["jupyter", "--cluster", "vera", "--image", "/x.sif", "--dry-run"], /needs an account \(run projinfo/],
    ["no image", ["jupyter", "--cluster", "vera", "-A", "x", "--dry-run"], /pass --image/],
    [
      "a .sif for pyxis",
      ["jupyter", "--cluster", "penn", "-A", "x", "-i", "/x.sif", "--dry-run"],
      /--image "\/x\.sif" is not a squashfs image/,
    ],
    ["relative bind", [...JUP, "--bind", "data:/data"], /--bind "data:\/data": "data" is not an absolute path/],
    ["a bind's mode", [...JUP, "--bind", "/a:/b:xx"], /--bind "\/a:\/b:xx" has the mode "xx"; the mode after the second ':' is ro or rw/],
    ["bad env", [...JUP, "--env", "1X=2"], /--env "1X=2" must be NAME=VALUE/],
    ["managed sbatch option", [...JUP, "--sbatch=--time=5"], /sets --time, which hpcjob manages; use hpcjob's --time instead/],
    ["unsafe name", [...JUP, "--name", "x;y"], /--name "x;y" may only hold letters/],
    // Requeue: batch only, with a signal a program can catch and a time Slurm takes.
    ["requeue for Jupyter", [...JUP, "--requeue"], /--requeue is for batch jobs: Jupyter jobs are not requeued .*; drop --requeue/],
    [
      "a signal that cannot be caught",
      [...BAT, "--requeue", "--signal", "KILL@60", "t.py"],
      /--signal "KILL@60": SIGKILL cannot be passed on to the program; write NAME@SECONDS, e.g. USR1@120/,
    ],
    ["a signal without its time", [...BAT, "--signal", "USR1", "t.py"], /--signal "USR1" is not a signal and time; write NAME@SECONDS/],
    ["a signal time past Slurm's", [...BAT, "--signal", "USR1@70000", "t.py"], /--signal "USR1@70000": Slurm takes at most 65535 seconds/],
    [
      "requeue as a raw sbatch option",
      [...BAT, "--sbatch=--requeue", "t.py"],
      /sets --requeue, which hpcjob manages; use hpcjob batch --requeue instead/,
    ],
    [
      "a profile's bad batch.signal",
      [...BAT, "--cluster", "sigs", "--image", "", "--gpus", "0", "--requeue", "t.py"],
      /sigs\.yaml:\d+ batch\.signal: "USR9@1": SIGUSR9 cannot be passed on to the program; write NAME@SECONDS/,
      { PROFILES: { "sigs.yaml": site("sigs", "batch:\n  signal: USR9@1\n") } },
    ],
    ["no cluster at all", ["jupyter", "--dry-run"], /no cluster chosen; pass --cluster NAME/],
    ["batch without a way to run the file", [...BAT, "model.R"], /put the command after --/],
    [
      "a profile with a bad enum",
      [...JUP, "--cluster", "broken"],
      /broken\.yaml:7 container\.runtime: must be one of apptainer, .* not "podman"/,
      { BROKEN: "1" },
    ],
    [
      "a profile with a typo",
      [...JUP, "--cluster", "typo"],
      /typo\.yaml:7 container\.runtme: unknown key "runtme"; did you mean "runtime"\?/,
      { BROKEN: "1" },
    ],
    [
      "a broken user config",
      [...JUP],
      /config\.yaml:1 clustr: unknown key "clustr"; did you mean "cluster"\?/,
      { CONFIG: "clustr: vera\n" },
    ],
    ["a broken project file", [...JUP], /hpcjob\.yaml:2 resources\.gpus: .*/, { PROJECT: "image: /x.sif\nresources: {gpus: [1]}\n" }],
    ["validate a missing file", ["clusters", "validate", "/nonexistent/x.yaml"], /\/nonexistent\/x\.yaml does not exist; give a profile/],

    // Reserved variable names, from each place a variable can be set.
    [
      "JUPYTER_TOKEN in --env",
      [...JUP, "--env", "JUPYTER_TOKEN=letmein"],
      /--env "JUPYTER_TOKEN=letmein": JUPYTER_TOKEN is reserved: each Jupyter job makes a new token .*; remove it/,
    ],
    [
      "JUPYTER_TOKEN in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:2 env\.JUPYTER_TOKEN: JUPYTER_TOKEN is reserved: .*; remove it/,
      { PROJECT: "image: /x.sif\nenv: {JUPYTER_TOKEN: letmein}\n" },
    ],
    [
      "a Slurm variable in a profile",
      [...JUP, "--cluster", "envy", "--image", "", "--gpus", "0"],
      /envy\.yaml:10 environment\.env\.SLURMD_NODENAME: SLURMD_NODENAME is reserved: Slurm sets them .*; pass Slurm options with --sbatch instead/,
      { PROFILES: { "envy.yaml": site("envy", "environment:\n  env:\n    SLURMD_NODENAME: x\n") } },
    ],
    ["APPTAINERENV_ in --env", [...JUP, "--env", "APPTAINERENV_FOO=1"], /APPTAINERENV_FOO is reserved: .*; set FOO instead/],
    ["the scripts' own names in --env", [...JUP, "--env", "hpcjob_status=0"], /hpcjob_status is reserved: the job script's own/],
    ["PATH in --env", [...JUP, "--env", "PATH=/opt/bin"], /PATH is reserved: .*; add folders in the cluster profile's environment\.setup/],

    // YAML files: the real line; aliases cannot blow up.
    [
      "a YAML syntax error names its line",
      [...JUP],
      /hpcjob\.yaml:3 YAML syntax error: Map keys must be unique; fix the indentation or quoting there/,
      { PROJECT: "image: /x.sif\nenv: {A: b}\nimage: /y.sif\n" },
    ],
    [
      "a YAML alias bomb",
      [...JUP],
      /hpcjob\.yaml:2 YAML: its aliases \(\*name\) expand to too much data; write the values out/,
      { PROJECT: ALIAS_BOMB },
    ],
    ["a YAML alias to nothing", [...JUP], /config\.yaml:1 YAML: Unresolved alias .*; define the anchor/, { CONFIG: "cluster: *nothing\n" }],

    // Numbers past what Slurm takes.
    [
      "CPUs past 16 bits",
      [...JUP, "--cpus", "99999999999999999999"],
      /--cpus "99999999999999999999" is more than hpcjob can pass to Slurm; ask for at most 65533/,
    ],
    ["CPUs just past 16 bits", [...JUP, "--cpus", "65534"], /ask for at most 65533/],
    [
      "memory past 64 bits",
      [...PENN, "--mem", "99999999999999999999T"],
      /--mem "99999999999999999999T" is more than hpcjob can pass to Slurm; ask for at most \d+M/,
    ],
    [
      "a time sbatch cannot read",
      [...JUP, "--time", "24855-03:13:09"],
      /--time "24855-03:13:09" is longer than sbatch can read; ask for at most 24855-03:13:08/,
    ],
    [
      "a GPU count past 64 bits",
      [...JUP, "--gpus", "A40:99999999999999999999"],
      /--gpus "A40:99999999999999999999" is more GPUs than hpcjob can pass to Slurm/,
    ],
    [
      "a timeout past any job",
      [...JUP, "--timeout", "99999999999d"],
      /--timeout "99999999999d" is longer than any Slurm job can run; give at most 24855-03:13:08/,
    ],
    [
      "CPUs past 16 bits in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:1 resources\.cpus: 100000000000000000000 is more than hpcjob can pass to Slurm; ask for at most 65533/,
      { PROJECT: "resources: {cpus: 99999999999999999999}\n" },
    ],
    [
      "perNode: 0",
      [...JUP, "--cluster", "zero", "--image", ""],
      /zero\.yaml:5 slurm\.partitions\[0\]\.gpus\[0\]\.perNode: 0 must be a whole number of at least 1/,
      { PROFILES: { "zero.yaml": site("zero", "", "[{type: A40, perNode: 0}]") } },
    ],

    // Cluster names are names, looked up as a profile's own.
    [
      "--cluster constructor",
      [...JUP, "--cluster", "constructor"],
      new RegExp(`unknown cluster "constructor"; known clusters: ${BUILTIN_LIST}`),
    ],
    ["clusters show toString", ["clusters", "show", "toString"], /unknown cluster "toString"; known clusters/],
    ["--cluster __proto__", [...JUP, "--cluster", "__proto__"], /--cluster "__proto__" is not a cluster name; use letters, digits/],
    ["--cluster with a path", [...JUP, "--cluster", "../../etc/passwd"], /--cluster "\.\.\/\.\.\/etc\/passwd" is not a cluster name/],
    ["--cluster with ..", [...JUP, "--cluster", "a..b"], /--cluster "a\.\.b" is not a cluster name/],
    ["clusters show with a slash", ["clusters", "show", "a/b"], /cluster "a\/b" is not a cluster name/],
    [
      "a project's cluster",
      ["jupyter", "--dry-run"],
      /hpcjob\.yaml:1 cluster: "\.\.\/vera" is not a cluster name/,
      { PROJECT: "cluster: ../vera\n" },
    ],
    [
      "a user config's cluster",
      ["jupyter", "--dry-run"],
      /config\.yaml:1 cluster: "a\/b" is not a cluster name/,
      { CONFIG: "cluster: a/b\n" },
    ],
    [
      "a profile that extends a path",
      [...JUP, "--cluster", "up"],
      /up\.yaml:2 extends: "\.\.\/vera" is not a cluster name/,
      { PROFILES: { "up.yaml": "name: up\nextends: ../vera\n" } },
    ],

    // A folder where a file is expected.
    ["config.yaml is a folder", [...JUP], /config\.yaml is a folder, not a file; hpcjob reads your settings/, { CONFIG: FOLDER }],
    ["hpcjob.yaml is a folder", [...JUP], /hpcjob\.yaml is a folder, not a file; hpcjob reads the project's settings/, { PROJECT: FOLDER }],
    [
      "a profile that is a folder",
      [...JUP, "--cluster", "dir"],
      /dir\.yaml is a folder, not a file; profiles on the search path must be YAML files/,
      { PROFILES: { "dir.yaml": FOLDER } },
    ],
    [
      "validate something that is neither file nor folder",
      ["clusters", "validate", "/dev/null"],
      /\/dev\/null is neither a file nor a folder/,
    ],

    // Raw sbatch options, spelled any way sbatch takes them.
    [
      "--err is --error",
      [...JUP, "--sbatch=--err=x.log"],
      /--sbatch "--err=x\.log" sets --error, which hpcjob manages; hpcjob writes the job's output to job\.log/,
    ],
    ["-e is --error", [...JUP, "--sbatch", "-e x.log"], /--sbatch "-e x\.log" sets --error, which hpcjob manages/],
    ["-eFILE is --error", [...JUP, "--sbatch=-ex.log"], /--sbatch "-ex\.log" sets --error/],
    ["-t is --time", [...JUP, "--sbatch=-t=5"], /--sbatch "-t=5" sets --time, which hpcjob manages/],
    [
      "an ambiguous prefix",
      [...JUP, "--sbatch=--par=short"],
      /--sbatch "--par=short": --par could be --parsable, --partition; write the option in full/,
    ],
    [
      "another ambiguous prefix",
      [...JUP, "--sbatch=--me=1"],
      /--me could be --mem, --mem-bind, --mem-per-cpu, --mem-per-gpu; write the option in full/,
    ],
    ["an unknown option", [...JUP, "--sbatch=--constrant=x"], /sbatch has no option --constrant; did you mean --constraint\?/],
    ["a value for a flag", [...JUP, "--sbatch=--hold=1"], /--sbatch "--hold=1": --hold takes no value; write --hold on its own/],
    ["no value where one is needed", [...JUP, "--sbatch=--qos"], /--sbatch "--qos": --qos needs a value, e\.g\. --qos=VALUE/],
    ["--wait", [...JUP, "--sbatch=--wait"], /sets --wait, which stops hpcjob from submitting the job; use hpcjob batch --follow/],
    [
      "--mem-per-cpu with hpcjob's --mem",
      [...PENN, "--sbatch=--mem-per-cpu=4G"],
      /--sbatch "--mem-per-cpu=4G" cannot go with the --mem hpcjob sets \(sbatch refuses --mem and --mem-per-cpu together\); use hpcjob's --mem instead/,
    ],
    [
      "--mem-per-gpu with hpcjob's --mem",
      [...PENN, "--sbatch=--mem-per-g=4G"],
      /--sbatch "--mem-per-g=4G" cannot go with the --mem hpcjob sets/,
    ],
    [
      "--cpus-per-gpu with hpcjob's --cpus-per-task",
      [...JUP, "--sbatch=--cpus-per-gpu=2"],
      /cannot go with the --cpus-per-task hpcjob sets .*; use hpcjob's --cpus instead/,
    ],
    [
      "two raw options sbatch refuses together",
      [...JUP, "--sbatch=--mem-per-cpu=1G", "--sbatch=--mem-per-gpu=1G"],
      /--sbatch "--mem-per-gpu=1G" cannot go with --sbatch "--mem-per-cpu=1G" \(sbatch refuses --mem-per-cpu and --mem-per-gpu together\); keep one/,
    ],
    [
      "hpcjob.yaml's sbatch names its line",
      [...PENN],
      /hpcjob\.yaml:2 sbatch\[0\]: "--mem-per-gpu=1G" cannot go with the --mem hpcjob sets/,
      { PROJECT: "env: {A: b}\nsbatch: [--mem-per-gpu=1G]\n" },
    ],
    [
      "a profile's directive spelled as a prefix of a managed one",
      [...JUP, "--cluster", "pre", "--image", ""],
      /pre\.yaml:6 slurm\.directives\[0\]: "--parti=gpu" sets --partition, which hpcjob manages/,
      { PROFILES: { "pre.yaml": site("pre").replace("container:", "  directives: [--parti=gpu]\ncontainer:") } },
    ],

    // A bad value in hpcjob.yaml names the file and key, not a flag.
    [
      "a GPU request in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:1 resources\.gpus: "A40:x" is not a GPU request/,
      { PROJECT: "resources: {gpus: 'A40:x'}\n" },
    ],
    [
      "too many GPUs in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:1 resources\.gpus: "A40:8" is more than a vera node has \(4\)/,
      { PROJECT: "resources: {gpus: 'A40:8'}\n" },
    ],
    [
      "a time in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:1 resources\.time: "10-00:00:00" is longer than partition vera allows/,
      { PROJECT: "resources: {time: '10-00:00:00'}\n" },
    ],
    [
      "memory in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:1 resources\.mem: "64G" cannot be used: cluster vera does not take --mem/,
      { PROJECT: "resources: {mem: 64G}\n" },
    ],
    [
      "a partition in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:1 resources\.partition: "gpu" is not a partition of cluster vera/,
      { PROJECT: "resources: {partition: gpu}\n" },
    ],
    [
      "an image in hpcjob.yaml",
      ["jupyter", "--cluster", "penn", "-A", "x", "--dry-run"],
      /hpcjob\.yaml:2 image: "\/x\.sif" is not a squashfs image/,
      { PROJECT: "env: {}\nimage: /x.sif\n" },
    ],
    [
      "a bind in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:1 binds\[0\]: "data" is not an absolute path; use SRC\[:DST\[:ro\]\]/,
      { PROJECT: "binds: [data]\n" },
    ],
    [
      "an account in hpcjob.yaml",
      [...JUP],
      /hpcjob\.yaml:1 resources\.account: "a b" has characters Slurm accounts do not use/,
      { PROJECT: "resources: {account: a b}\n" },
    ],
  ];

  it.each(cases)("%s", (_what, args, expected, setup) => {
    const home = tempDir();
    const env: Record<string, string> = {};
    let cwd = home;
    if (setup?.BROKEN)
      env.HPCJOB_CLUSTERS = writeFiles(tempDir(), {
        "broken.yaml": BROKEN,
        "typo.yaml": TYPO,
        "syntax.yaml": "name: syntax\nslurm:\n  partition: [gpu\n",
      });
    if (setup?.PROFILES) {
      const dir = tempDir();
      for (const [name, text] of Object.entries(setup.PROFILES)) {
        if (text === FOLDER) mkdirSync(join(dir, name));
        else writeFiles(dir, { [name]: text });
      }
      env.HPCJOB_CLUSTERS = dir;
    }
    if (setup?.CONFIG) {
      const config = join(home, ".config", "hpcjob", "config.yaml");
      mkdirSync(join(home, ".config", "hpcjob"), { recursive: true });
      if (setup.CONFIG === FOLDER) mkdirSync(config);
      else writeFileSync(config, setup.CONFIG);
    }
    if (setup?.PROJECT === FOLDER) {
      cwd = tempDir();
      mkdirSync(join(cwd, "hpcjob.yaml"));
    } else if (setup?.PROJECT) cwd = writeFiles(tempDir(), { "hpcjob.yaml": setup.PROJECT });
    const r = runCli(args, { home, env, cwd });
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^hpcjob: [^\n]+\n$/);
    expect(r.stderr).toMatch(expected);
    expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
    expect(r.status).toBe(2);
  });
});
