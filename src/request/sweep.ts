/**
 * Sweeps: `--sweep NAME=V1,V2`, `--sweep NAME=A..B[..STEP]`, a sweep file and
 * hpcjob.yaml's `sweep:`, each a factor of the grid; the sweep is their cross
 * product, a table of points that the job array runs one task per point.
 * Pure: the files are read by sources.ts.
 */
import { paramNameProblem } from "../core/env.js";
import { UsageError } from "../core/errors.js";
import { parseCount, subject } from "../core/values.js";
import type { SweepSpec } from "../profile/schema.js";

/** How the parameters reach the program besides HPCJOB_PARAM_NAME: `--NAME VALUE`, `NAME=VALUE` (Hydra), or only the variables. */
export const SWEEP_STYLES = ["args", "env", "hydra"] as const;
export type SweepStyle = (typeof SWEEP_STYLES)[number];

/** Points a sweep may have: far more than any cluster runs at once, few enough to hold and write. */
export const MAX_POINTS = 100_000;

/**
 * The file a sweep's job script reads its point from: every point's values in
 * the names' order, each ended by a NUL byte (bash reads that byte for byte
 * with mapfile -d ''; it cannot read the JSON table, points.jsonl).
 */
export const POINT_VALUES_FILE = "points.nul";
/** The folder where each task records its end (tasks/POINT.json), in the run directory. */
export const TASK_RECORDS = "tasks";

/** A table of points: the parameter names, and each point's values in the names' order. */
export interface Sweep {
  names: string[];
  points: string[][];
}

/** A sweep as a job runs it. */
export interface SweepRequest extends Sweep {
  style: SweepStyle;
  /** At most this many tasks of an array run at once (`--array=...%P`). */
  maxParallel?: number;
}

/** A part of a sweep and where it was given, for messages. */
interface Factor extends Sweep {
  from: string;
}

const INT_RANGE = /^(-?\d+)\.\.(-?\d+)(?:\.\.(\d+))?$/;
// Something meant as a range that is not one of whole numbers (1.5..3, 0..+4); a..b is a value.
const RANGE_LIKE = /^[-+\d.]*\.\.[-+\d.]*$/;

/** The values of `A..B` or `A..B..STEP`, both ends included, counting down when A > B. */
function range(said: string, a: number, b: number, step: number): string[] {
  if (step < 1) throw new UsageError(`${said} has a step of 0; give a step of at least 1, e.g. 0..100..10`);
  const count = Math.floor(Math.abs(b - a) / step) + 1;
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || count > MAX_POINTS) {
    throw new UsageError(`${said} has more than ${MAX_POINTS} values; give a larger step or a shorter range`);
  }
  const dir = b < a ? -1 : 1;
  return Array.from({ length: count }, (_, i) => String(a + dir * i * step));
}

/** One `--sweep NAME=V1,V2,...` or `NAME=A..B[..STEP]`. */
export function parseSweepFlag(text: string): Factor {
  const said = subject("--sweep", text);
  const eq = text.indexOf("=");
  const name = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0 || name === "") {
    throw new UsageError(`${said} must be NAME=V1,V2,... or NAME=A..B or NAME=A..B..STEP, e.g. --sweep lr=1e-3,1e-4 --sweep seed=0..4`);
  }
  const problem = paramNameProblem(name);
  if (problem) throw new UsageError(`${said}: ${problem}`);
  const spec = text.slice(eq + 1);
  const r = INT_RANGE.exec(spec);
  let values: string[];
  if (r) values = range(said, Number(r[1]), Number(r[2]), r[3] === undefined ? 1 : Number(r[3]));
  else if (RANGE_LIKE.test(spec)) {
    throw new UsageError(
      `${said}: ranges are of whole numbers, A..B or A..B..STEP (e.g. 0..4 or 0..100..10); list other values with commas`,
    );
  } else {
    values = spec.split(",");
    if (values.some((v) => v === "")) {
      throw new UsageError(
        `${said} has an empty value; list values between commas (a value with a comma or an empty one goes in a --sweep-file)`,
      );
    }
  }
  return { from: "--sweep", names: [name], points: values.map((v) => [v]) };
}

/** The factors of a sweep file or hpcjob.yaml's `sweep:` (validated by SweepSchema): one per grid key, or the list of points as one. */
export function specFactors(spec: SweepSpec, from: string): Factor[] {
  if (!Array.isArray(spec)) {
    const names = Object.keys(spec);
    if (names.length === 0) throw new UsageError(`${from} names no parameters; give NAME: [values], or a list of points`);
    return names.map((name) => ({ from, names: [name], points: (spec[name] ?? []).map((v) => [v]) }));
  }
  const names = Object.keys(spec[0] ?? {});
  if (names.length === 0) throw new UsageError(`${from} point 0 names no parameters; give each point NAME: value`);
  const points = spec.map((point, i) => {
    const keys = Object.keys(point);
    const odd = keys.find((k) => !names.includes(k)) ?? names.find((k) => !keys.includes(k));
    if (odd !== undefined) {
      throw new UsageError(
        `${from} point ${i} does not name the same parameters as point 0 (${odd}); give every point ${names.join(", ")}`,
      );
    }
    return names.map((n) => point[n] as string);
  });
  return [{ from, names, points }];
}

/** The cross product of factors, the first varying slowest; a name given twice is refused. */
export function crossProduct(factors: readonly Factor[]): Sweep {
  const seen = new Map<string, string>();
  let total = 1;
  for (const f of factors) {
    for (const name of f.names) {
      const before = seen.get(name);
      if (before !== undefined) {
        throw new UsageError(
          `parameter ${name} is swept twice (${before === f.from ? f.from : `${before} and ${f.from}`}); give each name once`,
        );
      }
      seen.set(name, f.from);
    }
    total *= f.points.length;
    if (total > MAX_POINTS) throw new UsageError(`the sweep has more than ${MAX_POINTS} points; sweep fewer values`);
  }
  let points: string[][] = [[]];
  for (const f of factors) points = points.flatMap((p) => f.points.map((q) => [...p, ...q]));
  return { names: [...seen.keys()], points };
}

/** What a request's sweep is built from: the flags, and the sweep file or hpcjob.yaml's `sweep:` already read. */
export interface SweepInput {
  flags: { sweep?: string[]; sweepStyle?: string; maxParallel?: string };
  /** The sweep file's contents (with its name), or hpcjob.yaml's `sweep:` when no flag sweeps. */
  file?: { spec: SweepSpec; from: string };
}

/**
 * The sweep a batch request runs, or undefined for none: the flags' factors
 * and the file's, crossed. The flags and the sweep file replace hpcjob.yaml's
 * `sweep:` (the caller passes that as `file` only when neither is given).
 */
export function sweepOf(input: SweepInput): SweepRequest | undefined {
  const { flags, file } = input;
  const factors = [...(file ? specFactors(file.spec, file.from) : []), ...(flags.sweep ?? []).map(parseSweepFlag)];
  if (factors.length === 0) {
    for (const [flag, value] of [
      ["--sweep-style", flags.sweepStyle],
      ["--max-parallel", flags.maxParallel],
    ] as const) {
      if (value !== undefined) throw new UsageError(`${flag} is for sweeps; add --sweep NAME=VALUES or --sweep-file FILE, or drop ${flag}`);
    }
    return undefined;
  }
  const style = flags.sweepStyle ?? "args";
  if (!(SWEEP_STYLES as readonly string[]).includes(style)) {
    throw new UsageError(
      `${subject("--sweep-style", style)} is not a style; use args (--NAME VALUE), hydra (NAME=VALUE) or env (variables only)`,
    );
  }
  const maxParallel = flags.maxParallel === undefined ? undefined : parseCount(flags.maxParallel, "--max-parallel");
  return { ...crossProduct(factors), style: style as SweepStyle, ...(maxParallel === undefined ? {} : { maxParallel }) };
}

/** A point's parameters as the program gets them (values quoted by the caller's `show`): for a dry run's list of points. */
export function pointWords(sweep: SweepRequest, point: readonly string[], show: (v: string) => string): string {
  return sweep.names
    .map((name, i) => {
      const v = show(point[i] ?? "");
      if (sweep.style === "args") return `--${name} ${v}`;
      if (sweep.style === "hydra") return `${name}=${v}`;
      return `HPCJOB_PARAM_${name}=${v}`;
    })
    .join(" ");
}
