/**
 * Parsers for the values a user types: names, counts, Slurm times, memory
 * sizes, GPU requests, accounts, binds and durations. Pure; each returns a
 * normalized value or throws a UsageError that says what a valid value looks
 * like. The same functions check flags and, through the zod schemas, the
 * values in YAML files: `from` names the flag (`--gpus`) or the place in a
 * file (`hpcjob.yaml:3 resources.gpus:`); without it the message starts with
 * the value, and the schema puts `FILE:LINE key:` in front.
 */
import { posix } from "node:path";
import { UsageError } from "./errors.js";
import { MAX_COUNT, MAX_CPUS, MAX_SECONDS } from "./limits.js";

/** A value as messages show it: after where it came from, JSON-quoted so that it stays on one line. */
export function subject(from: string | undefined, value: string | number): string {
  const shown = typeof value === "number" ? String(value) : JSON.stringify(value);
  return from === undefined ? shown : `${from} ${shown}`;
}

/** The characters of names and accounts: letters, digits, '.', '_' and '-', starting with a letter or digit. */
const WORD = "[A-Za-z0-9][A-Za-z0-9_.-]*";
const WORD_ONLY = new RegExp(`^${WORD}$`);

/** The rule for names as a regular expression: a word with no ".." in it (also the JSON Schema's pattern, for editors). */
export const NAME_PATTERN = `^(?!.*\\.\\.)${WORD}$`;
const NAME = new RegExp(NAME_PATTERN);

/** True when `text` is a name (see parseName). */
export function isName(text: string): boolean {
  return NAME.test(text);
}

/**
 * A cluster, partition or GPU type name. A cluster's name is also its file's
 * name (NAME.yaml), so no '/' and no "..": a name cannot reach outside the
 * profile folders.
 */
export function parseName(text: string, from: string | undefined, kind = "cluster"): string {
  if (!isName(text)) {
    const more = kind === "cluster" ? " (see hpcjob clusters list)" : "";
    throw new UsageError(
      `${subject(from, text)} is not a ${kind} name; use letters, digits, '.', '_' and '-', starting with a letter or digit${more}`,
    );
  }
  return text;
}

/** A Slurm account: the same characters as a name. */
export function parseAccount(text: string, from: string | undefined): string {
  if (!WORD_ONLY.test(text)) {
    throw new UsageError(`${subject(from, text)} has characters Slurm accounts do not use; give the name projinfo or sacctmgr shows`);
  }
  return text;
}

/** A job name: the characters of a name, at most 64 of them. */
export function parseJobName(text: string, from = "--name"): string {
  if (!WORD_ONLY.test(text) || text.length > 64) {
    throw new UsageError(
      `${subject(from, text)} may only hold letters, digits, '.', '_' and '-' (at most 64, starting with a letter or digit)`,
    );
  }
  return text;
}

/** A whole number from 1 to `max` (CPUs, GPUs per node), typed (`--cpus 8`) or from a file (`cpus: 8`). */
export function parseCount(value: string | number, from: string | undefined, max: number = MAX_CPUS): number {
  const n = typeof value === "number" ? value : /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${subject(from, value)} must be a whole number of at least 1, e.g. 8`);
  if (n > max) throw new UsageError(`${subject(from, value)} is more than hpcjob can pass to Slurm; ask for at most ${max}`);
  return n;
}

const TIME_FORMATS = "M, M:S, H:M:S, D-H, D-H:M or D-H:M:S (e.g. 90, 04:00:00, 2-00:00:00)";

/** Seconds in a Slurm time string, Infinity for UNLIMITED/INFINITE, undefined when it is none. */
function slurmSeconds(text: string): number | undefined {
  const t = text.trim();
  if (/^(unlimited|infinite)$/i.test(t)) return Number.POSITIVE_INFINITY;
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
  if (!m) return undefined;
  const [, d, a, b, c] = m;
  if (d !== undefined) return Number(d) * 86400 + Number(a) * 3600 + Number(b ?? 0) * 60 + Number(c ?? 0); // D-H, D-H:M, D-H:M:S
  if (c !== undefined) return Number(a) * 3600 + Number(b) * 60 + Number(c); // H:M:S
  if (b !== undefined) return Number(a) * 60 + Number(b); // M:S
  return Number(a) * 60; // M
}

/** Seconds in a Slurm time string; Infinity for UNLIMITED/INFINITE. */
export function parseSlurmTime(text: string, from: string | undefined): number {
  const seconds = slurmSeconds(text);
  if (seconds === undefined) throw new UsageError(`${subject(from, text)} is not a Slurm time; use ${TIME_FORMATS}`);
  if (seconds <= 0) throw new UsageError(`${subject(from, text)} must be longer than zero`);
  if (seconds > MAX_SECONDS && Number.isFinite(seconds)) {
    throw new UsageError(`${subject(from, text)} is longer than sbatch can read; ask for at most ${formatSlurmTime(MAX_SECONDS)}`);
  }
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

/** Mebibytes in a Slurm memory size such as 32G, 8000 (MB) or 512M; 0 is Slurm's "all of a node's memory". */
export function parseMemory(text: string, from: string | undefined): number {
  const m = /^(\d+)([KMGT])?B?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${subject(from, text)} is not a Slurm size; use a number with K, M, G or T, e.g. 32G`);
  const unit = (m[2] ?? "M").toUpperCase();
  const number = Number(m[1]);
  const mebibytes = number * (MEM_UNITS[unit] ?? 1);
  if (number > MAX_COUNT || mebibytes > MAX_COUNT) {
    throw new UsageError(`${subject(from, text)} is more than hpcjob can pass to Slurm; ask for at most ${MAX_COUNT}M`);
  }
  return mebibytes;
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

const GPUS = new RegExp(`^(?:(${WORD}):)?(\\d+)$`);

/** `N` or `TYPE:N` (e.g. 2, A40:1) as a GpuRequest; N may be 0 (no GPUs). */
export function parseGpus(text: string, from: string | undefined): GpuRequest {
  const m = GPUS.exec(text.trim());
  if (!m) throw new UsageError(`${subject(from, text)} is not a GPU request; use N or TYPE:N, e.g. 1 or A40:2`);
  const count = Number(m[2]);
  if (count > MAX_COUNT) throw new UsageError(`${subject(from, text)} is more GPUs than hpcjob can pass to Slurm; ask for fewer`);
  return m[1] ? { type: m[1], count } : { count };
}

/** A host path made visible inside the container. */
export interface Bind {
  src: string;
  dst: string;
  readOnly: boolean;
}

/** `SRC[:DST[:ro|rw]]` as a Bind; SRC and DST must be absolute paths. */
export function parseBind(text: string, from: string | undefined): Bind {
  const [src = "", dstPart, mode, ...extra] = text.split(":");
  const hint = "use SRC[:DST[:ro]] with absolute paths, e.g. /data:/data:ro";
  if (extra.length > 0) throw new UsageError(`${subject(from, text)} has too many parts; ${hint}`);
  if (mode !== undefined && mode !== "ro" && mode !== "rw") {
    throw new UsageError(`${subject(from, text)} has the mode ${JSON.stringify(mode)}; the mode after the second ':' is ro or rw`);
  }
  const dst = dstPart === undefined || dstPart === "" ? src : dstPart;
  for (const p of [src, dst]) {
    const which = p === text ? "" : `: ${JSON.stringify(p)}`;
    if (!p.startsWith("/")) throw new UsageError(`${subject(from, text)}${which} is not an absolute path; ${hint}`);
    if (/[,\n]/.test(p)) throw new UsageError(`${subject(from, text)}: paths may not contain commas or newlines; ${hint}`);
  }
  return { src, dst, readOnly: mode === "ro" };
}

/** The `SRC:DST[:ro]` spelling of a Bind, as Apptainer and pyxis both take it. */
export function formatBind(bind: Bind): string {
  return `${bind.src}:${bind.dst}${bind.readOnly ? ":ro" : ""}`;
}

/** Milliseconds in a duration: 90s, 10m, 2h, 1d, or a Slurm time (04:00:00); at most the longest Slurm time limit. */
export function parseDuration(text: string, from = "--timeout"): number {
  const m = /^(\d+)\s*(s|m|h|d)$/i.exec(text.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m?.[2] ?? "s").toLowerCase() as "s" | "m" | "h" | "d"];
  const seconds = m ? Number(m[1]) * unit : slurmSeconds(text);
  if (seconds === undefined || !(seconds > 0) || !Number.isFinite(seconds)) {
    throw new UsageError(`${subject(from, text)} is not a duration; use e.g. 90s, 10m, 2h or 01:30:00`);
  }
  // Waiting longer than any job can run is waiting for nothing.
  if (seconds > MAX_SECONDS) {
    throw new UsageError(`${subject(from, text)} is longer than any Slurm job can run; give at most ${formatSlurmTime(MAX_SECONDS)}`);
  }
  return seconds * 1000;
}

/**
 * The folder a job runs in, on the cluster: absolute, and without a newline,
 * comma or colon (container mounts are written as SRC:DST lists). `from` names
 * where it came from (--workdir, or the folder hpcjob was started in).
 */
export function parseWorkdir(text: string, from: string | undefined): string {
  if (!text.startsWith("/")) throw new UsageError(`${subject(from, text)} must be an absolute path on the cluster`);
  if (/[\n\r,:]/.test(text)) {
    throw new UsageError(
      `${subject(from, text)} has a newline, comma or colon, which container mounts cannot take; run from another folder or pass --workdir`,
    );
  }
  return text;
}

/** A folder on the cluster as a profile names it: absolute, or under the user's home there. */
export type ClusterFolder = { under: "home"; path: string } | { under: "root"; path: string };

/**
 * A profile's folder on the cluster: an absolute path, or one under the home
 * folder written `$HOME/...`, `${HOME}/...` or `~/...` (the home is known only
 * on the cluster, so the script expands it). No other variable: a profile is
 * data, and a `$` hpcjob does not expand would reach the shell.
 */
export function parseClusterFolder(text: string, from: string | undefined): ClusterFolder {
  const home = /^(?:\$HOME|\$\{HOME\}|~)(?:\/(.*))?$/.exec(text);
  const rest = home ? (home[1] ?? "") : text;
  if (!home && !text.startsWith("/")) {
    throw new UsageError(`${subject(from, text)} must be an absolute path, or start with $HOME/ or ~/`);
  }
  if (/[$`\n\r]/.test(rest) || rest.split("/").includes("..")) {
    throw new UsageError(`${subject(from, text)} may not hold $, a backquote, a newline or ".."; write the folder out`);
  }
  return home ? { under: "home", path: rest.replace(/\/+$/, "") } : { under: "root", path: text.replace(/(.)\/+$/, "$1") };
}

/** Where a cluster folder is, once the home folder there is known. */
export function folderOn(f: ClusterFolder, home: string): string {
  return f.under === "home" ? posix.join(home, f.path) : f.path;
}

/** A signal Slurm sends the batch shell ahead of the time limit or at preemption (`--signal=B:NAME@SECONDS`). */
export interface SignalRequest {
  /** The name without SIG: USR1. */
  name: string;
  /** How long before the end Slurm sends it (it may come up to 60 s earlier). */
  seconds: number;
}

// Signals a program can catch to checkpoint, which the batch shell can trap
// and pass on. KILL and STOP cannot be caught; Slurm itself sends TERM (then
// KILL) at the time limit and at preemption.
const FORWARDABLE = ["USR1", "USR2", "TERM", "INT", "HUP", "QUIT", "ALRM"];
// Slurm keeps the time in 16 bits (sbatch: "sig_time must be an integer between 0 and 65535").
const MAX_SIGNAL_SECONDS = 65535;

/** A `SIG@SECONDS` such as `USR1@120` (also `SIGUSR1@120`, `B:USR1@120`); throws with the fix. */
export function parseSignal(text: string, from: string | undefined): SignalRequest {
  const m = /^(?:B:)?(?:SIG)?([A-Za-z0-9]+)@(\d{1,6})$/i.exec(text.trim());
  const fix = `write NAME@SECONDS, e.g. USR1@120 (NAME one of ${FORWARDABLE.join(", ")}; SECONDS up to ${MAX_SIGNAL_SECONDS})`;
  if (!m) throw new UsageError(`${subject(from, text)} is not a signal and time; ${fix}`);
  const name = (m[1] ?? "").toUpperCase();
  if (!FORWARDABLE.includes(name)) {
    throw new UsageError(
      `${subject(from, text)}: ${/^\d+$/.test(name) ? "give the signal by name" : `SIG${name} cannot be passed on to the program`}; ${fix}`,
    );
  }
  const seconds = Number(m[2]);
  if (seconds > MAX_SIGNAL_SECONDS)
    throw new UsageError(`${subject(from, text)}: Slurm takes at most ${MAX_SIGNAL_SECONDS} seconds; ${fix}`);
  return { name, seconds };
}

/** The signal as sbatch reads it, to the batch shell only: `B:USR1@120`. */
export function formatSignal(s: SignalRequest): string {
  return `B:${s.name}@${s.seconds}`;
}
