/**
 * Every command of hpcjob as data: its words, arguments, options, help,
 * what it runs (from the commands chunk, loaded on first use) and how its
 * result reads as text and as --json. program.ts turns this into commander.
 */
import type { Context, Done } from "../commands/context.js";
import { terminalQuestions } from "./questions.js";
import * as views from "./views.js";

/** One option: commander's spelling of its flags, its help, and how it takes values. */
export interface OptionSpec {
  flags: string;
  help: string;
  /** Given several times, the values add up (--bind, --env, --sbatch). */
  repeatable?: boolean;
  default?: string;
  /** Taken but not listed in --help (an option of another command, refused with a reason). */
  hidden?: boolean;
}

/** The parsed words of one command line. */
export interface Invocation {
  /** Positional arguments, a variadic one spread out (batch's program and its words). */
  args: string[];
  // biome-ignore lint/suspicious/noExplicitAny: commander's parsed options, each command reads its own.
  flags: Record<string, any>;
  /** True when `--` came before the program (batch runs it as given). */
  explicit: boolean;
}

/** The commands module, loaded on first use (a chunk of its own in the bundle). */
export type Commands = typeof import("../commands/index.js");

/** One command: where it sits, what it takes, what it does and how its result reads. */
export interface CommandSpec<T = unknown> {
  /** ["jupyter"], or ["clusters", "list"] for a subcommand. */
  path: string[];
  description: string;
  /** commander's argument specs with their help: ["<job>", "job id or run directory name"]. */
  args?: [string, string][];
  options: OptionSpec[];
  /** Help after the options: notes, then examples. */
  help: string;
  /** The words after the program go to it unchanged (batch). */
  passThrough?: boolean;
  run: (commands: Commands, input: Invocation, ctx: Context) => Promise<Done<T>>;
  /** The result as text; undefined prints nothing (a followed log was the output). */
  text: (data: T) => string | undefined;
  /** The result for --json; the data as it is unless given; undefined falls back to the text. */
  json?: (data: T) => unknown;
}

/** A spec with its result type checked against its views. */
function command<T>(spec: CommandSpec<T>): CommandSpec {
  return spec as unknown as CommandSpec;
}

const JSON_OUT: OptionSpec = { flags: "--json", help: "print the result as JSON (progress goes to stderr)" };

/** The options every job-submitting command takes. */
const REQUEST: OptionSpec[] = [
  { flags: "-c, --cluster <name>", help: "cluster profile (see: hpcjob clusters list)" },
  { flags: "-g, --gpus <n|type:n>", help: "GPUs: a count (1) or type and count (A40:2)" },
  { flags: "--cpus <n>", help: "CPUs per task (default: the profile's CPUs per GPU x GPUs)" },
  { flags: "--mem <size>", help: "memory, in Slurm units (32G, 8000M)" },
  { flags: "-t, --time <limit>", help: "time limit: M, H:M:S, D-H, D-H:M:S ..." },
  { flags: "-p, --partition <name>", help: "partition (default: the profile's)" },
  { flags: "-A, --account <name>", help: "account to charge" },
  { flags: "-i, --image <image>", help: "container image (.sif, .sqsh, or docker:// for Apptainer)" },
  { flags: "--bind <src[:dst[:ro]]>", help: "bind a host path into the container (repeatable)", repeatable: true },
  { flags: "-e, --env <NAME=VALUE>", help: "set a variable in the job (repeatable)", repeatable: true },
  { flags: "--sbatch <option>", help: "add a raw sbatch option, e.g. --sbatch=--constraint=MEM512 (repeatable)", repeatable: true },
  { flags: "-n, --name <name>", help: "job name (letters, digits, . _ -)" },
  { flags: "--workdir <dir>", help: "where the job runs on the cluster (default: here on a login node, your cluster home from a laptop)" },
  { flags: "--dry-run", help: "print the sbatch script and submit nothing" },
];

/** Requeue on preemption: batch's options; jupyter takes them only to say why not. */
const REQUEUE: OptionSpec[] = [
  {
    flags: "--requeue",
    help: "let Slurm requeue the job (preemption, scontrol requeue) and pass its signal on to the program to checkpoint",
  },
  {
    flags: "--signal <sig@seconds>",
    help: "the signal the program gets that long before the time limit (default: the profile's batch.signal, USR1@120)",
  },
];

/** How a command reaches the cluster: decided by itself unless forced. */
const CONNECTION: OptionSpec[] = [
  { flags: "--local", help: "run Slurm's commands on this machine (the login node)" },
  { flags: "--remote <[user@]host>", help: "reach the cluster over SSH through this host or ~/.ssh/config alias" },
  { flags: "--accept-new-host", help: "add an unknown login node's host key to ~/.ssh/known_hosts (never a changed one)" },
];

/** The options of commands that look at jobs: which cluster, and how to reach it. */
const JOBS: OptionSpec[] = [{ flags: "-c, --cluster <name>", help: "the cluster whose jobs to look at (from a laptop)" }, ...CONNECTION];

/** The words of a subcommand's parent, and what it is for. */
export const GROUPS: Record<string, string> = {
  remote: "set up hpcjob on a cluster's login node",
  clusters: "list, show and check cluster profiles, detect one from a cluster, or check one against it",
  image:
    "Docker images for the cluster: convert them into the file its runtime runs, list and remove those files, or write an Apptainer definition to build them there",
};

/** Every command, in the order `hpcjob --help` lists them. */
export const COMMANDS: CommandSpec[] = [
  command({
    path: ["jupyter"],
    description: "start Jupyter on a compute node and print the ssh tunnel and URL",
    options: [
      ...REQUEST,
      ...REQUEUE.map((o) => ({ ...o, hidden: true })),
      ...CONNECTION,
      { flags: "--timeout <duration>", help: "give up (and cancel the job) if Jupyter is not ready in time: 90s, 10m, 2h" },
      { flags: "--keep", help: "on Ctrl-C or --timeout leave the job running (reconnect with hpcjob attach)" },
      { flags: "--tunnel", help: "from your computer: open the tunnel through hpcjob's SSH connection and hold it until Ctrl-C" },
      { flags: "--open", help: "with --tunnel: open Jupyter in the browser" },
      JSON_OUT,
    ],
    help: `
Examples:
  hpcjob jupyter --cluster vera --gpus 1 --account C3SE2024-1-2 --image ~/pytorch.sif
  hpcjob jupyter --gpus A40:1 --time 8:00:00 --timeout 30m --keep
  hpcjob jupyter --cluster vera --gpus 1 --tunnel --open       # from your laptop
  hpcjob jupyter --cluster penn --gpus B200:1 --image /vast/projects/lab/me/torch.sqsh --dry-run`,
    run: (c, { flags }, ctx) => c.jupyter(flags, ctx),
    text: (data) => (data === undefined ? undefined : views.jupyterResultText(data)),
    json: (data) => (data === undefined ? undefined : views.jupyterResultJson(data)),
  }),
  command({
    path: ["batch"],
    description: "run a script or program in the container as a batch job",
    args: [["[program...]", "a .py or .sh script and its arguments, or -- COMMAND ARGS..."]],
    options: [
      ...REQUEST,
      ...REQUEUE,
      ...CONNECTION,
      {
        flags: "-f, --follow",
        help: "stream the job's log and exit with its exit code (a sweep: wait for every task; exit 1 listing the failed points)",
      },
      {
        flags: "--sweep <NAME=VALUES>",
        help: "run once per value, as a job array: NAME=V1,V2,..., NAME=A..B or NAME=A..B..STEP (repeatable: every combination)",
        repeatable: true,
      },
      { flags: "--sweep-file <file>", help: "a YAML sweep: NAME: [values] (every combination) or a list of points (- NAME: value)" },
      {
        flags: "--sweep-style <style>",
        help: "how parameters follow the program's arguments: args (--NAME VALUE, default), hydra (NAME=VALUE) or env (none)",
      },
      { flags: "--max-parallel <n>", help: "with a sweep: at most this many tasks of an array run at once" },
      { flags: "--hold", help: "submit held: nothing starts until scontrol release JOBID" },
      {
        flags: "--resubmit-failed <run>",
        help: "submit again, in the same run, exactly the points of a sweep that did not complete with exit code 0",
      },
      { flags: "--json", help: "print the result as JSON" },
    ],
    passThrough: true,
    help: `
Options go before the program; everything after it is passed to it unchanged.
A .py script runs with python, a .sh script with bash; anything else goes after --.
A sweep runs the program once per point, each as a task of a job array, with
the point's parameters after its arguments and as HPCJOB_PARAM_NAME variables.

Examples:
  hpcjob batch --cluster vera --gpus A40:2 --image ~/pytorch.sif train.py --lr 3e-4
  hpcjob batch --gpus 1 --follow train.py --epochs 1
  hpcjob batch --cluster penn --gpus 1 --image /abs/img.sqsh --dry-run train.py --epochs 3
  hpcjob batch --cluster vera --image ~/tools.sif -- ./simulate --steps 100
  hpcjob batch --requeue --signal USR2@300 train.py --resume   # checkpoint on SIGUSR2, come back after preemption
  hpcjob batch --gpus 1 --sweep lr=1e-3,1e-4 --sweep seed=0..4 train.py --epochs 20`,
    run: (c, { args, flags, explicit }, ctx) => c.batch(args, explicit, flags, ctx),
    text: views.batchText,
    json: views.batchJson,
  }),
  command({
    path: ["ps"],
    description: "the jobs hpcjob started that Slurm still lists (--all: and those that ended this week)",
    options: [
      ...JOBS,
      { flags: "-a, --all", help: "also the jobs that have ended in the last 7 days, from Slurm's accounting (sacct)" },
      { flags: "--json", help: "print the result as JSON" },
    ],
    help: "\nExamples:\n  hpcjob ps\n  hpcjob ps --all",
    run: (c, { flags }, ctx) => c.ps(flags, ctx),
    text: views.jobsText,
  }),
  command({
    path: ["logs"],
    description: "print a job's log, or follow it until the job ends",
    args: [["<job>", "job id or run directory name"]],
    options: [...JOBS, { flags: "-f, --follow", help: "keep printing as the log grows; exit with the job's exit code" }],
    help: "\nExamples:\n  hpcjob logs 4242\n  hpcjob logs -f 4242",
    run: (c, { args, flags }, ctx) => c.logs(args[0] ?? "", flags, ctx),
    text: () => undefined,
  }),
  command({
    path: ["cancel"],
    description: "cancel a job hpcjob started",
    args: [["<job>", "job id or run directory name"]],
    options: [...JOBS, { flags: "--json", help: "print the result as JSON" }],
    help: "\nExample:\n  hpcjob cancel 4242",
    run: (c, { args, flags }, ctx) => c.cancel(args[0] ?? "", flags, ctx),
    text: views.cancelledText,
  }),
  command({
    path: ["attach"],
    description: "print the tunnel and URL of a Jupyter job again (waits if it is not ready yet)",
    args: [["<job>", "job id or run directory name"]],
    options: [
      ...JOBS,
      { flags: "--timeout <duration>", help: "stop waiting after this long (the job keeps running)" },
      { flags: "--json", help: "print the result as JSON" },
    ],
    help: "\nExamples:\n  hpcjob attach 4242\n  hpcjob attach 20261122-101500-jupyter --json",
    run: (c, { args, flags }, ctx) => c.attach(args[0] ?? "", flags, ctx),
    text: views.connectionText,
  }),
  command({
    path: ["show"],
    description: "what a run was: its resolved request, image digest, profile hash, git commit and changes",
    args: [["<run>", "job id, run directory name or run directory path"]],
    options: [...JOBS, { flags: "--json", help: "print request.json, the run's whole record" }],
    help: "\nExamples:\n  hpcjob show 4242\n  hpcjob show 20261122-101500-train --json",
    run: (c, { args, flags }, ctx) => c.showRun(args[0] ?? "", flags, ctx),
    text: views.runText,
    json: views.runJson,
  }),
  command({
    path: ["rerun"],
    description: "submit a run again exactly as it was (same resolved options, same image digest), into a new run directory",
    args: [["<run>", "job id, run directory name or run directory path"]],
    options: [...JOBS, { flags: "--dry-run", help: "print the sbatch script and submit nothing" }, JSON_OUT],
    help: `
Nothing is taken from today's flags, hpcjob.yaml or profiles: the run's
request.json holds every resolved option. A docker:// image runs by the digest
the run ran (converted again from that digest if its file is gone), even if
its tag has moved since. The code is what the workdir holds now: hpcjob warns
when its commit differs from the run's or it has uncommitted changes.

Examples:
  hpcjob rerun 4242
  hpcjob rerun 20261122-101500-train --dry-run`,
    run: (c, { args, flags }, ctx) => c.rerun(args[0] ?? "", flags, ctx),
    text: views.rerunText,
    json: views.rerunJson,
  }),
  command({
    path: ["remote", "install"],
    description: "copy this single executable to the login node (skipped when the same file is there)",
    options: [
      ...CONNECTION,
      { flags: "-c, --cluster <name>", help: "the cluster whose login node to install on" },
      { flags: "--path <path>", help: "where to put it on the cluster", default: "~/.local/bin/hpcjob" },
      { flags: "--binary <file>", help: "the file to copy (default: the hpcjob executable that is running)" },
      { flags: "--json", help: "print the result as JSON" },
    ],
    help: "\nExamples:\n  hpcjob remote install --cluster vera\n  hpcjob remote install --cluster penn --path ~/bin/hpcjob --binary ./hpcjob-linux-x64",
    run: (c, { flags }, ctx) => c.remoteInstall(flags as Parameters<Commands["remoteInstall"]>[0], ctx),
    text: views.installedText,
  }),
  command({
    path: ["image", "convert"],
    description: "convert an image in a registry into the file the cluster's runtime runs (.sif, .sqsh, .sqfs), once per digest",
    args: [["<image>", "docker://REGISTRY/NAME:TAG or docker://NAME@sha256:..."]],
    options: [
      { flags: "-c, --cluster <name>", help: "cluster profile (see: hpcjob clusters list)" },
      { flags: "-A, --account <name>", help: "account to charge where conversions run as Slurm jobs (container.convertOn: job)" },
      { flags: "--force", help: "convert again even when a file of this digest is there" },
      { flags: "--dry-run", help: "print the conversion script instead of running it" },
      ...CONNECTION,
      JSON_OUT,
    ],
    help: `
The digest is asked of the registry first: an image already converted is
not converted again, and a tag that moved to new content is. The file goes to
the profile's container.imageDir, named after the registry, name, tag and
digest; the script and its log stay in a run directory. Where the profile
says container.convertOn: job, the conversion runs as a Slurm job
(container.convertPartition) and hpcjob waits for it.

Examples:
  hpcjob image convert docker://pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime --cluster vera
  hpcjob image convert docker://nvcr.io/nvidia/pytorch:24.01-py3 --cluster penn --dry-run`,
    run: (c, { args, flags }, ctx) => c.imageConvert(args[0] ?? "", flags, ctx),
    text: views.convertedText,
  }),
  command({
    path: ["image", "ls"],
    description: "list the images in the cluster's image folder (container.imageDir), the newest conversion first",
    options: [{ flags: "-c, --cluster <name>", help: "cluster profile (see: hpcjob clusters list)" }, ...CONNECTION, JSON_OUT],
    help: `
Each image with its size and, from the record image convert wrote beside it,
when it was converted, its digest and the reference it came from. Files copied
in by hand are listed too, after the others, with "-" for what no record says;
conversions under way (hidden .part- files), locks and records are not.
--json gives sizes in bytes and the full digests.

Examples:
  hpcjob image ls --cluster vera
  hpcjob image ls --cluster penn --json`,
    run: (c, { flags }, ctx) => c.imageLs(flags, ctx),
    text: views.imageListText,
  }),
  command({
    path: ["image", "rm"],
    description: "remove an image from the cluster's image folder, with its record and lock",
    args: [["<image>", "a file name (or path) in the image folder, a docker:// reference as converted, or a digest"]],
    options: [{ flags: "-c, --cluster <name>", help: "cluster profile (see: hpcjob clusters list)" }, ...CONNECTION, JSON_OUT],
    help: `
A reference removes every image converted from it (a tag converted again after
it moved has one file per content); a digest is sha256: and at least 12 of its
hex digits, or the 12 that image ls shows. Only files in the image folder are
removed. An image a conversion is writing right now is left alone (exit 1).

Examples:
  hpcjob image rm docker.io+pytorch+pytorch+2.3.1-cuda12.1-cudnn8-runtime+9f8e7d6c5b4a.sif --cluster vera
  hpcjob image rm docker://pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime --cluster vera
  hpcjob image rm 9f8e7d6c5b4a --cluster vera`,
    run: (c, { args, flags }, ctx) => c.imageRm(args[0] ?? "", flags, ctx),
    text: views.imagesRemovedText,
  }),
  command({
    path: ["image", "def"],
    description: "write an Apptainer definition file from a Dockerfile, to build the image on the cluster",
    args: [["<dockerfile>", "the Dockerfile to translate (one build stage)"]],
    options: [
      { flags: "-o, --output <file>", help: "write the definition to this file (whole, or not at all) instead of stdout" },
      {
        flags: "--build-arg <name=value>",
        help: "a value for an ARG of the Dockerfile; NAME alone takes it from the environment (repeatable)",
        repeatable: true,
      },
      JSON_OUT,
    ],
    help: `
Each RUN, COPY, ENV, WORKDIR, CMD and ENTRYPOINT keeps its Docker meaning; USER,
EXPOSE, VOLUME and HEALTHCHECK have none in Apptainer and are reported on stderr.
A multi-stage build is refused: build it with Docker, then hpcjob image convert.
Run apptainer build in the folder docker build was given (its build context).

Examples:
  hpcjob image def Dockerfile -o image.def
  hpcjob image def docker/Dockerfile.gpu --build-arg CUDA=12.1 > gpu.def
  # on the cluster, in a copy of the project:  apptainer build image.sif image.def`,
    run: (c, { args, flags }, ctx) => c.imageDef(args[0] ?? "", flags, ctx),
    text: views.imageDefText,
  }),
  command({
    path: ["clusters", "list"],
    description: "every cluster profile hpcjob can find, and where it comes from",
    options: [{ flags: "--json", help: "print the result as JSON" }],
    help: "\nExamples:\n  hpcjob clusters list\n  HPCJOB_CLUSTERS=~/group-profiles hpcjob clusters list --json",
    run: (c, _input, ctx) => c.list(ctx),
    text: views.clustersText,
  }),
  command({
    path: ["clusters", "show"],
    description: "what a cluster offers: partitions, GPUs, limits, runtime",
    args: [["<name>", "cluster profile name"]],
    options: [
      { flags: "--json", help: "print the resolved profile as JSON" },
      { flags: "--yaml", help: "print the resolved profile as YAML" },
      { flags: "--raw", help: "print the profile file as written, comments included" },
    ],
    help: "\nExample:\n  hpcjob clusters show custom --raw > ~/.config/hpcjob/clusters/mysite.yaml",
    run: (c, { args, flags }, ctx) => c.show(args[0] ?? "", flags, ctx),
    text: views.profileText,
    json: views.profileJson,
  }),
  command({
    path: ["clusters", "validate"],
    description: "check a profile file, or every profile in a folder, and say exactly what is wrong",
    args: [["<file|dir>", "a profile .yaml file, or a folder of them (each checked; exit 2 if any is broken)"]],
    options: [{ flags: "--json", help: "print the result as JSON" }],
    help: "\nExamples:\n  hpcjob clusters validate ~/.config/hpcjob/clusters/mysite.yaml\n  hpcjob clusters validate profiles/    # a group's profile repository, e.g. in CI",
    run: (c, { args }, ctx) => c.validate(args[0] ?? "", ctx),
    text: views.validatedText,
    json: views.validatedJson,
  }),
  command({
    path: ["clusters", "detect"],
    description: "write a profile for a cluster from what its own Slurm says (partitions, GPUs, limits, GPU form, runtime)",
    options: [
      { flags: "--name <name>", help: "the profile's name (default: the -o file's name, else Slurm's ClusterName)" },
      { flags: "-o, --output <file>", help: "write the profile to this file (whole, or not at all) instead of stdout" },
      { flags: "--force", help: "with -o: replace a file that exists" },
      { flags: "-c, --cluster <name>", help: "a profile whose login node to ask (from a laptop)" },
      ...CONNECTION,
      JSON_OUT,
    ],
    help: `
Reads scontrol show config, sinfo, hostname -f, the container runtimes on the
login node (PATH, srun --help for pyxis, module -t avail), and tries a GPU
request in each form and --mem with sbatch --test-only (nothing is submitted).
Each fact in the profile has a comment saying which command it came from.

Examples:
  hpcjob clusters detect                                   # on the login node
  hpcjob clusters detect --remote me@login.example.org -o ~/.config/hpcjob/clusters/mysite.yaml
  hpcjob clusters validate ~/.config/hpcjob/clusters/mysite.yaml`,
    run: (c, { flags }, ctx) => c.detect(flags, ctx),
    text: views.detectedText,
    json: views.detectedJson,
  }),
  command({
    path: ["clusters", "doctor"],
    description: "check a profile against the live cluster and say how to fix what no longer matches",
    options: [
      { flags: "-c, --cluster <name>", help: "the profile to check (default: cluster: in ~/.config/hpcjob/config.yaml)" },
      { flags: "--job", help: "also run a tiny job on each GPU partition that prints the container runtime's version" },
      ...CONNECTION,
      JSON_OUT,
    ],
    help: `
Checks that the partitions the profile names exist, that their GPU types and
counts per node and time limits match sinfo, that the GPU form and the account
are accepted (sbatch --test-only: nothing is submitted), that the runtime is on
the login node and that the image folder is writable with room. Prints one
line per failed check with its fix and exits 1; exits 0 with a summary when
all hold. Your accounts come from sacctmgr where the site keeps accounting.

Examples:
  hpcjob clusters doctor                                   # the default cluster
  hpcjob clusters doctor --cluster vera --job              # and prove it with a job`,
    run: (c, { flags }, ctx) => c.doctor(flags, ctx),
    text: views.doctorText,
    json: views.doctorJson,
  }),
  command({
    path: ["init"],
    description: "set up hpcjob for a cluster: a few questions with answers read from the cluster, then a profile that is your default",
    options: [
      { flags: "-y, --yes", help: "take every detected default without asking (no terminal needed)" },
      { flags: "--name <name>", help: "the profile's name (default: the built-in profile of this cluster, else Slurm's ClusterName)" },
      { flags: "--force", help: "replace a profile of that name in your clusters folder without asking" },
      { flags: "-c, --cluster <name>", help: "a profile whose login node to ask (from a laptop)" },
      ...CONNECTION,
      JSON_OUT,
    ],
    help: `
Reads the cluster as hpcjob clusters detect does, and your Slurm accounts
(sacctmgr show assoc), then asks: the profile's name, the login host, the
account, the default partition, the container runtime and the image folder.
Writes ~/.config/hpcjob/clusters/NAME.yaml (a profile that extends the
built-in one on a cluster hpcjob knows) and sets cluster: NAME in
~/.config/hpcjob/config.yaml, keeping the rest of that file.

Examples:
  hpcjob init                                   # on the login node
  hpcjob init --remote me@login.example.org     # from your laptop
  hpcjob init --yes                             # no questions: the detected defaults`,
    run: (c, { flags }, ctx) => c.init(flags, ctx, terminalQuestions()),
    text: views.initText,
    json: views.initJson,
  }),
  command({
    path: ["clusters", "schema"],
    description: "print the JSON Schema of profiles, for editor completion",
    options: [],
    help: "\nExample:\n  hpcjob clusters schema > ~/.config/hpcjob/profile.schema.json\n  # then, first line of a profile: # yaml-language-server: $schema=../profile.schema.json",
    run: (c) => c.schema(),
    text: views.schemaText,
  }),
];
