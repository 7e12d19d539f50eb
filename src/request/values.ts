/**
 * Parsers for the values a user types: Slurm times, memory sizes, GPU
 * requests, binds, environment pairs and raw sbatch options. Pure; each
 * returns a normalized value or throws a UsageError that says what a valid
 * value looks like.
 */
import { UsageError } from "../errors.js";

const TIME_FORMATS = "M, M:S, H:M:S, D-H, D-H:M or D-H:M:S (e.g. 90, 04:00:00, 2-00:00:00)";

/** Seconds in a Slurm time string; Infinity for UNLIMITED/INFINITE. */
export function parseSlurmTime(text: string, what = "time"): number {
  const t = text.trim();
  if (/^(unlimited|infinite)$/i.test(t)) return Number.POSITIVE_INFINITY;
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
  if (!m) throw new UsageError(`${what} "${text}" is not a Slurm time; use ${TIME_FORMATS}`);
  const [, d, a, b, c] = m;
  let seconds: number;
  if (d !== undefined) {
    // D-H, D-H:M, D-H:M:S
    seconds = Number(d) * 86400 + Number(a) * 3600 + Number(b ?? 0) * 60 + Number(c ?? 0);
  } else if (c !== undefined) {
    seconds = Number(a) * 3600 + Number(b) * 60 + Number(c); // H:M:S
  } else if (b !== undefined) {
    seconds = Number(a) * 60 + Number(b); // M:S
  } else {
    seconds = Number(a) * 60; // M
  }
  if (seconds <= 0) throw new UsageError(`${what} "${text}" must be longer than zero`);
  return seconds;
}

/** Slurm's canonical `[D-]HH:MM:SS` for a number of seconds. */
export function formatSlurmTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return "UNLIMITED";
  const days = Math.floor(seconds / 86400);
  let rest = seconds % 86400;
  const h = Math.floor(rest / 3600);
  rest %= 3600;
  const pad = (n: number) => String(n).padStart(2, "0");
  const hms = `${pad(h)}:${pad(Math.floor(rest / 60))}:${pad(rest % 60)}`;
  return days > 0 ? `${days}-${hms}` : hms;
}

const MEM_UNITS: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** Mebibytes in a Slurm memory size such as 32G, 8000 (MB) or 512M. */
export function parseMemory(text: string, what = "memory"): number {
  const m = /^(\d+)([KMGT])?B?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${what} "${text}" is not a Slurm size; use a number with K, M, G or T, e.g. 32G`);
  const unit = (m[2] ?? "M").toUpperCase();
  return Number(m[1]) * (MEM_UNITS[unit] ?? 1);
}

/** The shortest exact Slurm size for a number of mebibytes (64G, 1536M). */
export function formatMemory(mebibytes: number): string {
  if (mebibytes % (1024 * 1024) === 0 && mebibytes > 0) return `${mebibytes / (1024 * 1024)}T`;
  if (mebibytes % 1024 === 0 && mebibytes > 0) return `${mebibytes / 1024}G`;
  if (Number.isInteger(mebibytes)) return `${mebibytes}M`;
  return `${Math.ceil(mebibytes * 1024)}K`;
}

/** A GPU request: how many, and of which type when the user named one. */
export interface GpuRequest {
  type?: string;
  count: number;
}

/** `N` or `TYPE:N` (e.g. 2, A40:1) as a GpuRequest. */
export function parseGpus(text: string): GpuRequest {
  const m = /^(?:([A-Za-z0-9][A-Za-z0-9_.-]*):)?(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--gpus "${text}" is not a GPU request; use N or TYPE:N, e.g. --gpus 1 or --gpus A40:2`);
  return m[1] ? { type: m[1], count: Number(m[2]) } : { count: Number(m[2]) };
}

/** A positive whole number given on the command line (e.g. --cpus). */
export function parseCount(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new UsageError(`${what} "${text}" must be a whole number of at least 1, e.g. ${what} 8`);
  }
  return Number(text);
}

/** A host path made visible inside the container. */
export interface Bind {
  src: string;
  dst: string;
  readOnly: boolean;
}

/** `SRC[:DST[:ro|rw]]` as a Bind; SRC and DST must be absolute paths. */
export function parseBind(text: string, what = "--bind"): Bind {
  const parts = text.split(":");
  const [src = "", dstPart, mode, ...extra] = parts;
  const hint = `use ${what} SRC[:DST[:ro]] with absolute paths, e.g. ${what} /data:/data:ro`;
  if (extra.length > 0 || (mode !== undefined && mode !== "ro" && mode !== "rw")) {
    throw new UsageError(`${what} "${text}" has too many parts; ${hint}`);
  }
  const dst = dstPart === undefined || dstPart === "" ? src : dstPart;
  for (const p of [src, dst]) {
    if (!p.startsWith("/")) throw new UsageError(`${what} "${text}": "${p}" is not an absolute path; ${hint}`);
    if (/[,\n]/.test(p)) throw new UsageError(`${what} "${text}": paths may not contain commas or newlines; ${hint}`);
  }
  return { src, dst, readOnly: mode === "ro" };
}

/** The `SRC:DST[:ro]` spelling of a Bind, as Apptainer and pyxis both take it. */
export function formatBind(bind: Bind): string {
  return `${bind.src}:${bind.dst}${bind.readOnly ? ":ro" : ""}`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `NAME=VALUE` as a pair; the value may hold anything, the name must be a shell identifier. */
export function parseEnv(text: string): [string, string] {
  const eq = text.indexOf("=");
  const name = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0 || !ENV_NAME.test(name)) {
    throw new UsageError(`--env "${text}" must be NAME=VALUE with NAME made of letters, digits and _, e.g. --env WANDB_MODE=offline`);
  }
  return [name, text.slice(eq + 1)];
}

/** True when a name can be exported as an environment variable. */
export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/** One sbatch option: `--key` or `--key=value`. */
export interface Directive {
  key: string;
  value?: string;
}

/**
 * Options hpcjob writes itself from its own flags; a raw directive may not
 * set them, or the two would disagree about what was asked for.
 */
export const MANAGED_DIRECTIVES: Record<string, string> = {
  "job-name": "--name",
  J: "--name",
  output: "(hpcjob writes job.log in the run directory)",
  o: "(hpcjob writes job.log in the run directory)",
  error: "(hpcjob writes job.log in the run directory)",
  e: "(hpcjob writes job.log in the run directory)",
  chdir: "--workdir",
  D: "--workdir",
  time: "--time",
  t: "--time",
  partition: "--partition",
  p: "--partition",
  account: "--account",
  A: "--account",
  gres: "--gpus",
  gpus: "--gpus",
  G: "--gpus",
  "gpus-per-node": "--gpus",
  "cpus-per-task": "--cpus",
  c: "--cpus",
  mem: "--mem",
  comment: "(hpcjob tags its jobs with --comment)",
};

/**
 * A raw sbatch option (`--constraint=MEM512`, `constraint=MEM512`,
 * `--exclusive`) as a Directive. Refuses options hpcjob manages itself and
 * characters sbatch's own line parser would mangle.
 */
export function parseDirective(text: string, what = "--sbatch"): Directive {
  const m = /^(?:--)?([A-Za-z][A-Za-z0-9-]*)(?:=([\s\S]*))?$/.exec(text.trim());
  if (!m?.[1]) {
    throw new UsageError(`${what} "${text}" is not an sbatch option; write it in long form, e.g. ${what} --constraint=MEM512`);
  }
  const key = m[1];
  const value = m[2];
  const instead = MANAGED_DIRECTIVES[key];
  if (instead) {
    const fix = instead.startsWith("--") ? `use hpcjob's ${instead} instead` : instead;
    throw new UsageError(`${what} "${text}" sets --${key}, which hpcjob manages; ${fix}`);
  }
  if (value !== undefined && /[\n\r\\]/.test(value)) {
    throw new UsageError(`${what} "${text}": sbatch cannot read newlines or backslashes in an option value; remove them`);
  }
  return value === undefined ? { key } : { key, value };
}

/** Milliseconds in a duration: 90s, 10m, 2h, 1d, or any Slurm time (04:00:00). */
export function parseDuration(text: string, what = "--timeout"): number {
  const m = /^(\d+)\s*(s|m|h|d)$/i.exec(text.trim());
  if (m) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s").toLowerCase() as "s" | "m" | "h" | "d"];
    const seconds = Number(m[1]) * unit;
    if (seconds > 0) return seconds * 1000;
  }
  try {
    return parseSlurmTime(text, what) * 1000;
  } catch {
    throw new UsageError(`${what} "${text}" is not a duration; use e.g. 90s, 10m, 2h or 01:30:00`);
  }
}
