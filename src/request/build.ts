/**
 * The one merge: built-in profile < user config < project file < flags,
 * validated once. Everything after this trusts a JobRequest.
 */
import { basename, extname, isAbsolute } from "node:path";
import { UsageError } from "../errors.js";
import type { LoadedProfile } from "../profile/load.js";
import { checkGpus, checkTime, partitionOf } from "../profile/rules.js";
import type { Profile, ProjectFile, UserConfig } from "../profile/schema.js";
import { type Runtime, resolveImage, runtimeOf } from "../runtime/index.js";
import {
  type Bind,
  type Directive,
  formatMemory,
  formatSlurmTime,
  type GpuRequest,
  parseBind,
  parseCount,
  parseDirective,
  parseEnv,
  parseGpus,
  parseMemory,
  parseSlurmTime,
} from "./values.js";

/** Flags shared by `jupyter` and `batch`, as commander hands them over. */
export interface RequestFlags {
  cluster?: string;
  partition?: string;
  account?: string;
  gpus?: string;
  cpus?: string;
  mem?: string;
  time?: string;
  image?: string;
  bind?: string[];
  env?: string[];
  sbatch?: string[];
  name?: string;
  workdir?: string;
}

/** What the job should run: Jupyter, or a program with its arguments. */
export type Payload =
  | { kind: "jupyter" }
  | {
      kind: "batch";
      /** The script or program and everything after it, exactly as typed. */
      argv: string[];
      /** True when the user put `--` before the program: run it as given. */
      explicit: boolean;
    };

/** Where the settings come from, before the profile is loaded. */
export interface RequestSources {
  flags: RequestFlags;
  user: UserConfig;
  project?: { file: string; project: ProjectFile };
}

/** Everything the request is built from; the caller has read the files. */
export interface RequestInput extends RequestSources {
  payload: Payload;
  /** The profile of the cluster `chooseCluster` named. */
  loaded: LoadedProfile;
  cwd: string;
}

/** A complete, validated job: everything the renderer and submitter need. */
export interface JobRequest {
  kind: "jupyter" | "batch";
  cluster: string;
  profile: Profile;
  profileFile: string;
  runtime: Runtime;
  name: string;
  partition: string;
  account?: string;
  gpus: GpuRequest;
  cpus: number;
  mem?: string;
  time: string;
  image?: string;
  binds: Bind[];
  env: Record<string, string>;
  directives: Directive[];
  /** The program's argv inside the container (batch) or Jupyter's command. */
  command: string[];
  workdir: string;
  /** The user name on the login node, for the tunnel command. */
  user?: string;
}

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A safe job name from a script path: train.py -> train. */
function nameFromScript(script: string): string {
  const base = basename(script, extname(script))
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "");
  return base.slice(0, 64) || "batch";
}

/** The argv the job runs for a batch payload, chosen by the script's extension. */
function batchCommand(profile: Profile, argv: string[], explicit: boolean): string[] {
  const [program, ...args] = argv;
  if (program === undefined || program === "") {
    throw new UsageError(
      "batch needs a program: hpcjob batch [options] train.py [args...], or hpcjob batch [options] -- COMMAND [args...]",
    );
  }
  if (explicit) return argv;
  const runner = profile.batch.runners[extname(program)];
  if (!runner) {
    const known = Object.keys(profile.batch.runners).join(", ");
    throw new UsageError(
      `hpcjob runs ${known} files by their extension; for "${program}" put the command after --, e.g. hpcjob batch -- ${program}`,
    );
  }
  return [...runner, program, ...args];
}

/** The account to charge: flag, project, per-cluster user setting, user setting, profile default. */
function pickAccount(input: RequestInput, cluster: string, profile: Profile): string | undefined {
  const account =
    input.flags.account ??
    input.project?.project.resources.account ??
    input.user.clusters[cluster]?.account ??
    input.user.account ??
    profile.slurm.account.default;
  if (account === undefined) {
    if (!profile.slurm.account.required) return undefined;
    const hint = profile.slurm.account.hint ? ` (${profile.slurm.account.hint})` : "";
    throw new UsageError(`cluster ${cluster} needs an account${hint}; pass --account NAME or set account: in ~/.config/hpcjob/config.yaml`);
  }
  if (!ACCOUNT.test(account))
    throw new UsageError(`account "${account}" has characters Slurm accounts do not use; pass the name projinfo/sacctmgr shows`);
  return account;
}

/** The cluster to use: --cluster, then hpcjob.yaml, then the user config. */
export function chooseCluster(s: RequestSources): string {
  const cluster = s.flags.cluster ?? s.project?.project.cluster ?? s.user.cluster;
  if (!cluster) {
    throw new UsageError(
      "no cluster chosen; pass --cluster NAME (see hpcjob clusters list) or set cluster: in ~/.config/hpcjob/config.yaml",
    );
  }
  return cluster;
}

/** Build and validate the JobRequest; pure; throws UsageError with the fix. */
export function buildRequest(input: RequestInput): JobRequest {
  const { flags, project, loaded } = input;
  const res = project?.project.resources ?? {};
  const profile = loaded.profile;
  const cluster = profile.name;

  const workdir = flags.workdir ?? input.cwd;
  if (!isAbsolute(workdir)) throw new UsageError(`--workdir "${workdir}" must be an absolute path on the cluster`);
  if (/[\n\r,:]/.test(workdir))
    throw new UsageError(
      `working directory "${workdir}" has a newline, comma or colon, which container mounts cannot take; run from another folder or pass --workdir`,
    );

  const part = partitionOf(profile, flags.partition ?? res.partition ?? profile.slurm.partition);
  const gpus = parseGpus(String(flags.gpus ?? res.gpus ?? "0"));
  checkGpus(profile, part, gpus);
  if (gpus.type !== undefined) {
    // Use the profile's spelling of the type (a40 -> A40): Slurm's GRES types are case-sensitive.
    gpus.type = part.gpus.find((g) => g.type.toLowerCase() === gpus.type?.toLowerCase())?.type ?? gpus.type;
  }

  const cpus =
    flags.cpus !== undefined
      ? parseCount(flags.cpus, "--cpus")
      : (res.cpus ?? (gpus.count > 0 ? profile.defaults.cpusPerGpu * gpus.count : profile.defaults.cpus));

  const skipMem = profile.slurm.skipDirectives.includes("mem");
  const memText = flags.mem ?? res.mem;
  if (memText !== undefined && skipMem) {
    throw new UsageError(
      `cluster ${cluster} does not take --mem (memory comes with the CPUs you ask for); drop --mem and ask for more --cpus instead`,
    );
  }
  let mem: string | undefined;
  if (memText !== undefined) mem = formatMemory(parseMemory(memText, "--mem"));
  else if (!skipMem && gpus.count > 0 && profile.defaults.memPerGpu)
    mem = formatMemory(parseMemory(profile.defaults.memPerGpu) * gpus.count);
  else if (!skipMem && gpus.count === 0 && profile.defaults.mem) mem = formatMemory(parseMemory(profile.defaults.mem));

  const timeText = flags.time ?? res.time ?? (input.payload.kind === "jupyter" ? profile.jupyter.time : profile.defaults.time);
  const seconds = parseSlurmTime(timeText, "--time");
  checkTime(part, seconds);

  const runtime = runtimeOf(profile.container.runtime);
  const image = resolveImage(runtime, flags.image ?? project?.project.image, cluster, workdir);

  const binds = [
    ...profile.container.binds.map((b) => parseBind(b, "container.binds")),
    ...(project?.project.binds ?? []).map((b) => parseBind(b, "hpcjob.yaml binds")),
    ...(flags.bind ?? []).map((b) => parseBind(b)),
  ];
  const env: Record<string, string> = { ...profile.environment.env, ...(project?.project.env ?? {}) };
  for (const pair of flags.env ?? []) {
    const [k, v] = parseEnv(pair);
    env[k] = v;
  }
  const directives = [
    ...profile.slurm.directives.map((d) => parseDirective(d, "slurm.directives")),
    ...(project?.project.sbatch ?? []).map((d) => parseDirective(d, "hpcjob.yaml sbatch")),
    ...(flags.sbatch ?? []).map((d) => parseDirective(d)),
  ];

  const payload = input.payload;
  const command = payload.kind === "jupyter" ? [...profile.jupyter.command] : batchCommand(profile, payload.argv, payload.explicit);
  const name = flags.name ?? (payload.kind === "jupyter" ? "jupyter" : nameFromScript(payload.argv[0] ?? "batch"));
  if (!JOB_NAME.test(name)) {
    throw new UsageError(`--name "${name}" may only hold letters, digits, '.', '_' and '-' (at most 64, starting with a letter or digit)`);
  }

  return {
    kind: payload.kind,
    cluster,
    profile,
    profileFile: loaded.file,
    runtime,
    name,
    partition: part.name,
    account: pickAccount(input, cluster, profile),
    gpus,
    cpus,
    mem,
    time: formatSlurmTime(seconds),
    image,
    binds,
    env,
    directives,
    command,
    workdir,
    user: input.user.clusters[cluster]?.user ?? input.user.user ?? profile.login.user,
  };
}
