/**
 * The one merge: built-in profile < user config < project file < flags,
 * validated once. Everything after this trusts a JobRequest.
 */
import { basename, extname, resolve } from "node:path";
import { parseEnv } from "../core/env.js";
import { UsageError } from "../core/errors.js";
import { MAX_COUNT, MAX_CPUS } from "../core/limits.js";
import {
  type Bind,
  formatMemory,
  formatSlurmTime,
  type GpuRequest,
  parseAccount,
  parseBind,
  parseCount,
  parseGpus,
  parseJobName,
  parseMemory,
  parseName,
  parseSignal,
  parseSlurmTime,
  parseWorkdir,
  type SignalRequest,
  subject,
} from "../core/values.js";
import { type ConvertibleRef, parseImage } from "../image/reference.js";
import type { LoadedProfile } from "../profile/load.js";
import { checkGpus, checkTime, partitionOf } from "../profile/rules.js";
import type { Profile, ProjectFile, SweepSpec, UserConfig } from "../profile/schema.js";
import { checkFromhostImage } from "../runtime/charliecloud.js";
import { bindProblem, envValueProblem, imagePathAt, type Runtime, resolveImage, runtimeOf } from "../runtime/index.js";
import { conflict, type Directive, parseDirective } from "../slurm/directives.js";
import type { JobRequest, SitedRequest } from "./job.js";
import { ownOptions, sentBy } from "./sbatch.js";
import { sweepOf } from "./sweep.js";

/**
 * The image `text` names that hpcjob converts (docker://, or docker-daemon:,
 * docker-archive:, oci-archive: on this computer, an archive's path made
 * absolute against `here`), checked; undefined for anything else (a file, or a
 * URI the runtime reads itself).
 */
function convertibleImage(text: string, from: string, here: string | undefined): ConvertibleRef | undefined {
  if (!/^(docker:\/\/|docker-daemon:|docker-archive:|oci-archive:)/i.test(text)) return undefined;
  const ref = parseImage(text, from);
  if (ref.kind === "file") return undefined;
  return (ref.kind === "docker-archive" || ref.kind === "oci-archive") && here !== undefined
    ? { ...ref, path: resolve(here, ref.path) }
    : ref;
}

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
  /** batch only: let Slurm requeue the job, and pass its signal on to the program. */
  requeue?: boolean;
  /** batch only: SIG@SECONDS, the signal passed on (default: the profile's batch.signal with --requeue). */
  signal?: string;
  /** Sweeps (batch only): `--sweep NAME=VALUES` factors, how parameters reach the program, tasks at once. */
  sweep?: string[];
  sweepStyle?: string;
  maxParallel?: string;
  /** Submit held (sbatch --hold): nothing starts until `scontrol release`. */
  hold?: boolean;
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

/** A project's hpcjob.yaml, validated, and where each of its keys is. */
export interface ProjectSource {
  file: string;
  project: ProjectFile;
  /** `FILE:LINE key:` for a key path, for messages about the value there. */
  where(path: readonly PropertyKey[]): string;
}

/** Where the settings come from, before the profile is loaded. */
export interface RequestSources {
  flags: RequestFlags;
  user: UserConfig;
  project?: ProjectSource;
  /** The `--sweep-file` read, with its name: it replaces hpcjob.yaml's `sweep:`. */
  sweepFile?: { spec: SweepSpec; from: string };
}

/** Everything the request is built from; the caller has read the files. */
export interface RequestInput extends RequestSources {
  payload: Payload;
  /** The profile of the cluster `chooseCluster` named. */
  loaded: LoadedProfile;
  /** Where the job runs when --workdir names no folder: here (on the login node), or undefined for the cluster home (over SSH). */
  workdir?: string;
  /** The folder hpcjob runs in on the user's computer, against which an image archive's relative path is read (else it stays relative, read against the same folder when the image is sent). */
  here?: string;
}

/** `record[key]` when the record has it as its own key ("constructor" is no cluster's settings). */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A value picked from the flags or hpcjob.yaml, and how messages name where it came from. */
interface Picked<T> {
  value: T;
  from: string;
}

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
  const runner = own(profile.batch.runners, extname(program));
  if (!runner) {
    const known = Object.keys(profile.batch.runners).join(", ");
    throw new UsageError(
      `hpcjob runs ${known} files by their extension; for "${program}" put the command after --, e.g. hpcjob batch -- ${program}`,
    );
  }
  return [...runner, program, ...args];
}

/** The account the files choose for a cluster: the project's, else config.yaml's for the cluster, else its global one, else the profile's default. */
export function configuredAccount(user: UserConfig, cluster: string, profile: Profile, projectAccount?: string): string | undefined {
  return projectAccount ?? own(user.clusters, cluster)?.account ?? user.account ?? profile.slurm.account.default;
}

/** The account to charge: flag, then what the files choose (configuredAccount). */
function pickAccount(input: RequestInput, cluster: string, profile: Profile): string | undefined {
  // Only the flag needs checking here: the files' accounts were checked with their schemas.
  const account =
    (input.flags.account === undefined ? undefined : parseAccount(input.flags.account, "--account")) ??
    configuredAccount(input.user, cluster, profile, input.project?.project.resources.account);
  if (account === undefined) {
    if (!profile.slurm.account.required) return undefined;
    const hint = profile.slurm.account.hint ? ` (${profile.slurm.account.hint})` : "";
    throw new UsageError(`cluster ${cluster} needs an account${hint}; pass --account NAME or set account: in ~/.config/hpcjob/config.yaml`);
  }
  return account;
}

/** The cluster to use: --cluster, then hpcjob.yaml, then the user config. */
export function chooseCluster(s: RequestSources): string {
  // The files' names were checked with their schemas; a flag's is checked before it names a file.
  const cluster =
    (s.flags.cluster === undefined ? undefined : parseName(s.flags.cluster, "--cluster")) ?? s.project?.project.cluster ?? s.user.cluster;
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
  const inProject = (path: PropertyKey[]) => project?.where(path) ?? `hpcjob.yaml ${path.join(".")}:`;
  /** A resource from its flag, else from hpcjob.yaml's resources. */
  const pick = <T>(flagValue: string | undefined, flag: string, key: keyof typeof res, fileValue: T | undefined) =>
    flagValue !== undefined
      ? ({ value: flagValue, from: flag } as Picked<string>)
      : fileValue !== undefined
        ? ({ value: fileValue, from: inProject(["resources", key]) } as Picked<T>)
        : undefined;

  // Undefined over SSH without --workdir: the cluster home, known once connected (see atSite).
  const workdir =
    flags.workdir !== undefined
      ? parseWorkdir(flags.workdir, "--workdir")
      : input.workdir === undefined
        ? undefined
        : parseWorkdir(input.workdir, "the folder hpcjob runs in");

  const partition = pick(flags.partition, "--partition", "partition", res.partition);
  const part = partitionOf(profile, partition?.value ?? profile.slurm.partition, partition?.from ?? "slurm.partition");
  const gpusPicked = pick(flags.gpus, "--gpus", "gpus", res.gpus);
  const gpusFrom = gpusPicked?.from ?? "--gpus";
  const gpus = parseGpus(String(gpusPicked?.value ?? "0"), gpusFrom);
  const preferred = profile.defaults.gpuType;
  // A count alone asks for the profile's GPU type where this partition offers it (elsewhere: any type).
  if (gpus.type === undefined && gpus.count > 0 && preferred !== undefined) {
    if (part.gpus.some((g) => g.type.toLowerCase() === preferred.toLowerCase())) gpus.type = preferred;
  }
  checkGpus(profile, part, gpus, gpusFrom);
  if (gpus.type !== undefined) {
    // Use the profile's spelling of the type (a40 -> A40): Slurm's GRES types are case-sensitive.
    gpus.type = part.gpus.find((g) => g.type.toLowerCase() === gpus.type?.toLowerCase())?.type ?? gpus.type;
  }

  const cpus = flags.cpus !== undefined ? parseCount(flags.cpus, "--cpus") : (res.cpus ?? defaultCpus(profile, gpus));

  const skipMem = profile.slurm.skipDirectives.includes("mem");
  const memPicked = pick(flags.mem, "--mem", "mem", res.mem);
  if (memPicked !== undefined && skipMem) {
    throw new UsageError(
      `${subject(memPicked.from, memPicked.value)} cannot be used: cluster ${cluster} does not take --mem (memory comes with the CPUs you ask for); drop it and ask for more --cpus instead`,
    );
  }
  let mem: string | undefined;
  if (memPicked !== undefined) mem = formatMemory(parseMemory(memPicked.value, memPicked.from));
  else if (!skipMem) mem = defaultMem(profile, gpus);

  const timePicked = pick(flags.time, "--time", "time", res.time);
  const defaultTime = input.payload.kind === "jupyter" ? "jupyter.time" : "defaults.time";
  const timeText = timePicked?.value ?? (input.payload.kind === "jupyter" ? profile.jupyter.time : profile.defaults.time);
  const timeFrom = timePicked?.from ?? `the default time (${defaultTime} of cluster ${cluster})`;
  const seconds = parseSlurmTime(timeText, timeFrom);
  checkTime(part, seconds, timeFrom);

  const runtime = runtimeOf(profile.container.runtime);
  const image: Picked<string> | undefined =
    flags.image !== undefined
      ? { value: flags.image, from: "--image" }
      : project?.project.image !== undefined
        ? { value: project.project.image, from: inProject(["image"]) }
        : undefined;
  // A docker:// image, or one on the user's computer, is converted on the cluster before the job is submitted (submit stage); the file is known then.
  const imageRef = image && runtime.converter ? convertibleImage(image.value, image.from, input.here) : undefined;
  const imagePath = imageRef ? undefined : resolveImage(runtime, image?.value, cluster, workdir, image?.from ?? "--image");

  if (image !== undefined && gpus.count > 0 && profile.container.charliecloud?.fromhostNvidia) {
    checkFromhostImage(imagePath ?? image.value, image.from, cluster, imageRef !== undefined);
  }

  const binds = [
    ...profile.container.binds.map((b) => bindFor(runtime, b, `cluster ${cluster}'s container.binds:`)),
    ...(project?.project.binds ?? []).map((b, i) => bindFor(runtime, b, inProject(["binds", i]))),
    ...(flags.bind ?? []).map((b) => bindFor(runtime, b, "--bind")),
  ];
  // A Map, not an object: a name such as __proto__ stays a name.
  const envMap = new Map(Object.entries(profile.environment.env));
  for (const [name, value] of Object.entries(project?.project.env ?? {})) {
    envMap.set(name, envValueFor(runtime, value, subject(inProject(["env", name]), value)));
  }
  for (const pair of flags.env ?? []) {
    const [name, value] = parseEnv(pair);
    envMap.set(name, envValueFor(runtime, value, subject("--env", pair)));
  }
  const env = Object.fromEntries(envMap);

  const raw = [
    ...profile.slurm.directives.map((d) => [d, `cluster ${cluster}'s slurm.directives:`] as const),
    ...(project?.project.sbatch ?? []).map((d, i) => [d, inProject(["sbatch", i])] as const),
    ...(flags.sbatch ?? []).map((d) => [d, "--sbatch"] as const),
  ].map(([text, from]) => ({ directive: parseDirective(text, from), said: subject(from, text) }));
  const directives: Directive[] = raw.map((r) => r.directive);

  const payload = input.payload;
  const command = payload.kind === "jupyter" ? [...profile.jupyter.command] : batchCommand(profile, payload.argv, payload.explicit);
  const name =
    flags.name !== undefined
      ? parseJobName(flags.name)
      : payload.kind === "jupyter"
        ? "jupyter"
        : nameFromScript(payload.argv[0] ?? "batch");

  const { requeue, signal } = requeueOf(flags, payload, profile);
  const sweep = payload.kind === "batch" ? sweepOf({ flags, file: sweepSource(input) }) : undefined;
  const array = sweep && raw.find((r) => r.directive.key === "array");
  if (array)
    throw new UsageError(
      `${array.said} sets --array, which a sweep sets itself (a task per point); drop it (--max-parallel limits the tasks at once)`,
    );

  const req: JobRequest = {
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
    image: imagePath,
    ...(imageRef ? { imageRef } : {}),
    binds,
    env,
    directives,
    command,
    requeue,
    ...(signal ? { signal } : {}),
    workdir,
    ...(sweep ? { sweep } : {}),
    ...(flags.hold ? { hold: true } : {}),
  };
  // Checked against what is sent: a site's skipDirectives may drop hpcjob's --mem, and then --mem-per-cpu is fine.
  const sent = sentBy(req);
  const clash = conflict(
    ownOptions(req),
    raw.filter((r) => sent(r.directive)).map((r) => ({ key: r.directive.key, said: r.said })),
  );
  if (clash) throw new UsageError(clash);
  return req;
}

/**
 * Whether the job may be requeued and which signal its program gets: --signal
 * alone passes a signal on without requeueing; --requeue uses the profile's
 * batch.signal unless --signal names one. Jupyter is never requeued: a
 * requeued server would come back on another node and port, with a new token.
 */
function requeueOf(flags: RequestFlags, payload: Payload, profile: Profile): { requeue: boolean; signal?: SignalRequest } {
  if (payload.kind === "jupyter") {
    const given = flags.requeue ? "--requeue" : flags.signal !== undefined ? "--signal" : undefined;
    if (given) {
      throw new UsageError(
        `${given} is for batch jobs: Jupyter jobs are not requeued (it would come back on another node, port and token); drop ${given}, or run your program with hpcjob batch ${given}`,
      );
    }
    return { requeue: false };
  }
  const requeue = Boolean(flags.requeue);
  if (flags.signal !== undefined) return { requeue, signal: parseSignal(flags.signal, "--signal") };
  if (!requeue) return { requeue };
  return { requeue, signal: parseSignal(profile.batch.signal, `cluster ${profile.name}'s batch.signal:`) };
}

/** The sweep file to use: --sweep-file's, else hpcjob.yaml's `sweep:` unless --sweep flags replace it. */
function sweepSource(input: RequestInput): { spec: SweepSpec; from: string } | undefined {
  if (input.sweepFile) return input.sweepFile;
  const spec = input.project?.project.sweep;
  if (spec === undefined || (input.flags.sweep?.length ?? 0) > 0) return undefined;
  return { spec, from: input.project?.where(["sweep"]) ?? "hpcjob.yaml sweep:" };
}

/** A bind given as `text` (with `from`), refused where the runtime cannot make it. */
function bindFor(rt: Runtime, text: string, from: string): Bind {
  const bind = parseBind(text, from);
  const problem = bindProblem(rt, bind);
  if (problem) throw new UsageError(`${subject(from, text)} ${problem}`);
  return bind;
}

/** A variable's value, refused where the runtime cannot pass it into the container (`said` names where it was given). */
function envValueFor(rt: Runtime, value: string, said: string): string {
  const problem = envValueProblem(rt, value);
  if (problem) throw new UsageError(`${said} ${problem}`);
  return value;
}

/** CPUs per task when none are asked for: the profile's per GPU, or for a job without GPUs. */
function defaultCpus(profile: Profile, gpus: GpuRequest): number {
  if (gpus.count === 0) return profile.defaults.cpus;
  const cpus = profile.defaults.cpusPerGpu * gpus.count;
  if (cpus > MAX_CPUS) {
    throw new UsageError(
      `${gpus.count} GPUs at ${profile.defaults.cpusPerGpu} CPUs each (defaults.cpusPerGpu of cluster ${profile.name}) is more CPUs per task than Slurm takes (at most ${MAX_CPUS}); pass --cpus`,
    );
  }
  return cpus;
}

/** Memory when none is asked for: the profile's per GPU, or for a job without GPUs; undefined for Slurm's default. */
function defaultMem(profile: Profile, gpus: GpuRequest): string | undefined {
  const per = gpus.count > 0 ? profile.defaults.memPerGpu : profile.defaults.mem;
  if (per === undefined) return undefined;
  const mebibytes = parseMemory(per, undefined) * Math.max(gpus.count, 1);
  if (mebibytes > MAX_COUNT) {
    throw new UsageError(
      `${gpus.count} GPUs at ${per} each (defaults.memPerGpu of cluster ${profile.name}) is more memory than hpcjob can pass to Slurm; pass --mem`,
    );
  }
  return formatMemory(mebibytes);
}

/**
 * The request bound to its site, once the executor says where jobs run when
 * no folder is named (the cluster home over SSH): the folder, checked like
 * any other, and the image path from it.
 */
export function atSite(req: JobRequest, defaultWorkdir: string): SitedRequest {
  const workdir = req.workdir ?? parseWorkdir(defaultWorkdir, "your cluster home");
  return { ...req, workdir, image: imagePathAt(req.runtime, req.image, workdir) };
}
