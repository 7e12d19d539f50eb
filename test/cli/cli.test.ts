/**
 * The built CLI, run as a user runs it: dry runs, cluster commands, and a
 * table of bad inputs that must each end with exit 2 and one line that says
 * how to fix it, never a stack trace.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderScript } from "../../src/render/render.js";
import { builtin, requestFor, runCli, tempDir, writeFiles } from "../helpers.js";

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
    const fromSource = renderScript(req, { runDir: `${home}/.hpcjob/runs/STAMP-jupyter` });
    expect(r.stdout.replace(STAMP, "STAMP")).toBe(fromSource.replace(STAMP, "STAMP"));
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

  it.each(["jupyter", "batch", "clusters list", "clusters show", "clusters validate", "clusters schema"])(
    "%s --help shows examples",
    (cmd) => {
      const r = runCli([...cmd.split(" "), "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Example/);
    },
  );

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

  it("schema prints a JSON Schema", () => {
    const r = runCli(["clusters", "schema"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ $schema: expect.stringContaining("json-schema.org"), type: "object" });
  });
});

const JUP = ["jupyter", "--cluster", "vera", "--account", "C3SE2024-1-2", "--image", "/x.sif", "--dry-run"];
const BAT = ["batch", "--cluster", "vera", "--account", "C3SE2024-1-2", "--image", "/x.sif", "--dry-run"];
const BROKEN =
  "name: broken\nslurm:\n  partition: gpu\n  partitions:\n    - {name: gpu, maxTime: '1:00:00'}\ncontainer:\n  runtime: podman\n";
const TYPO =
  "name: typo\nslurm:\n  partition: gpu\n  partitions:\n    - {name: gpu, maxTime: '1:00:00'}\ncontainer:\n  runtme: apptainer\n";

describe("bad input: exit 2, one line with the fix, no stack trace", () => {
  const cases: [string, string[], RegExp, Record<string, string>?][] = [
    ["unknown option", ["jupyter", "--gpu", "1"], /unknown option '--gpu'; did you mean --gpus\?/],
    ["unknown command", ["jupyterlab"], /unknown command 'jupyterlab'/],
    ["unknown cluster", [...JUP, "--cluster", "nope"], /unknown cluster "nope"; known clusters: custom, penn, vera/],
    ["unknown partition", [...JUP, "-p", "gpu"], /partition "gpu" is not in cluster vera; use --partition with one of: vera/],
    ["unknown GPU type", [...JUP, "--gpus", "V100:1"], /no GPU type "V100"; it offers A40 \(4 per node\)/],
    ["too many GPUs", [...JUP, "--gpus", "A40:8"], /ask for at most 4/],
    ["GPU count in words", [...JUP, "--gpus", "one"], /--gpus "one" is not a GPU request; use N or TYPE:N/],
    ["time past the limit", [...JUP, "--time", "10-00:00:00"], /longer than partition vera allows \(7-00:00:00\)/],
    ["malformed time", [...JUP, "--time", "4h"], /--time "4h" is not a Slurm time; use M, M:S, H:M:S/],
    ["zero CPUs", [...JUP, "--cpus", "0"], /--cpus "0" must be a whole number of at least 1/],
    [
      "malformed memory",
      ["jupyter", "--cluster", "penn", "-A", "x", "-i", "/x.sqsh", "--mem", "lots", "--dry-run"],
      /--mem "lots" is not a Slurm size/,
    ],
    ["memory where the site refuses it", [...JUP, "--mem", "64G"], /cluster vera does not take --mem/],
    ["no account", ["jupyter", "--cluster", "vera", "--image", "/x.sif", "--dry-run"], /needs an account \(run projinfo/],
    ["no image", ["jupyter", "--cluster", "vera", "-A", "x", "--dry-run"], /pass --image/],
    ["a .sif for pyxis", ["jupyter", "--cluster", "penn", "-A", "x", "-i", "/x.sif", "--dry-run"], /must be a \.sqsh file/],
    ["relative bind", [...JUP, "--bind", "data:/data"], /--bind "data:\/data": "data" is not an absolute path/],
    ["bad env", [...JUP, "--env", "1X=2"], /--env "1X=2" must be NAME=VALUE/],
    ["managed sbatch option", [...JUP, "--sbatch=--time=5"], /sets --time, which hpcjob manages; use hpcjob's --time instead/],
    ["unsafe name", [...JUP, "--name", "x;y"], /--name "x;y" may only hold letters/],
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
    ["validate a missing file", ["clusters", "validate", "/nonexistent/x.yaml"], /no such file: \/nonexistent\/x\.yaml/],
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
    if (setup?.CONFIG) {
      mkdirSync(join(home, ".config", "hpcjob"), { recursive: true });
      writeFileSync(join(home, ".config", "hpcjob", "config.yaml"), setup.CONFIG);
    }
    if (setup?.PROJECT) cwd = writeFiles(tempDir(), { "hpcjob.yaml": setup.PROJECT });
    const r = runCli(args, { home, env, cwd });
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^hpcjob: [^\n]+\n$/);
    expect(r.stderr).toMatch(expected);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(2);
  });
});
