/**
 * Raw sbatch options (`--sbatch`, hpcjob.yaml's `sbatch`, a profile's
 * `slurm.directives`): read as sbatch reads them (any unambiguous prefix of a
 * long option, short options), kept as the option's long name, and refused
 * when hpcjob sets the option itself, when it would stop hpcjob's submission,
 * or when sbatch refuses it next to another option of the job.
 */
import { UsageError } from "../core/errors.js";
import { closest } from "../core/suggest.js";
import { subject } from "../core/values.js";
import { exclusive, longOption, longOptionNames, type OptionArg, shortOption } from "./options.js";

/** One sbatch option by its long name: `--key` or `--key=value`. */
export interface Directive {
  key: string;
  value?: string;
}

const JOB_LOG = "hpcjob writes the job's output to job.log in its run directory";

/** Options hpcjob writes itself from its own flags, and the fix; a raw option may not set them, or the two would disagree. */
const MANAGED = new Map<string, string>([
  ["job-name", "use hpcjob's --name instead"],
  ["output", JOB_LOG],
  ["error", JOB_LOG],
  ["open-mode", "hpcjob appends to job.log so that a requeued job keeps its earlier output"],
  ["chdir", "use hpcjob's --workdir instead"],
  ["time", "use hpcjob's --time instead"],
  ["partition", "use hpcjob's --partition instead"],
  ["account", "use hpcjob's --account instead"],
  ["gres", "use hpcjob's --gpus instead"],
  ["gpus", "use hpcjob's --gpus instead"],
  ["gpus-per-node", "use hpcjob's --gpus instead"],
  ["cpus-per-task", "use hpcjob's --cpus instead"],
  ["mem", "use hpcjob's --mem instead"],
  ["comment", "hpcjob tags its jobs with --comment to find them again"],
  ["requeue", "use hpcjob batch --requeue instead (it also passes Slurm's signal on to the program)"],
  ["signal", "use hpcjob batch --signal SIG@SECONDS instead (the batch shell gets it and passes it on to the program)"],
]);

/** Options that would stop sbatch from submitting the script as hpcjob expects, and the fix. */
const BLOCKING = new Map<string, string>([
  ["wrap", "hpcjob writes the job script; put the command after hpcjob batch"],
  ["wait", "use hpcjob batch --follow to wait for the job"],
  ["test-only", "use --dry-run to see the script without submitting it"],
  ["help", "run sbatch --help yourself"],
  ["usage", "run sbatch --usage yourself"],
  ["version", "run sbatch --version yourself"],
]);

/** The option a spelling names, as sbatch's getopt_long reads it; throws with the fix when it names none. */
function optionNamed(spelled: string, dashes: string, said: string): { name: string; arg: OptionArg } {
  if (dashes === "-") {
    const short = shortOption(spelled);
    if (!short) throw new UsageError(`${said}: sbatch has no option -${spelled}; see sbatch --help`);
    return short;
  }
  const found = longOption(spelled);
  if (found.kind === "option") return found;
  if (found.kind === "ambiguous") {
    const names = [...found.candidates].sort().map((c) => `--${c}`);
    throw new UsageError(`${said}: --${spelled} could be ${names.join(", ")}; write the option in full`);
  }
  const guess = closest(spelled, longOptionNames());
  throw new UsageError(`${said}: sbatch has no option --${spelled}; ${guess ? `did you mean --${guess}?` : "see sbatch --help"}`);
}

/**
 * A raw sbatch option as a Directive under its long name. Takes what an
 * #SBATCH line takes: `--constraint=MEM512`, `--constraint MEM512`,
 * `--constr=MEM512`, `-C MEM512`, `-CMEM512`, `--exclusive`, and the long
 * name without dashes (`constraint=MEM512`).
 */
export function parseDirective(text: string, from: string | undefined): Directive {
  const said = subject(from, text);
  const m = /^(-(?=[A-Za-z])|--|)([A-Za-z][A-Za-z0-9-]*)([\s\S]*)$/.exec(text.trim());
  if (!m) throw new UsageError(`${said} is not an sbatch option; write one option, e.g. --constraint=MEM512`);
  const [, dashes = "", spelled = "", rest = ""] = m;
  const short = dashes === "-";
  // A short option's value may follow its letter directly (-CMEM512).
  const letter = short ? spelled.slice(0, 1) : spelled;
  const after = short ? spelled.slice(1) + rest : rest;
  const option = optionNamed(letter, dashes, said);
  const key = option.name;
  const instead = MANAGED.get(key);
  if (instead) throw new UsageError(`${said} sets --${key}, which hpcjob manages; ${instead}`);
  const blocking = BLOCKING.get(key);
  if (blocking) throw new UsageError(`${said} sets --${key}, which stops hpcjob from submitting the job; ${blocking}`);
  let value: string | undefined;
  let spaced = false;
  if (/^\s/.test(after)) {
    value = after.trim();
    spaced = true;
  } else if (!short && after.startsWith("=")) value = after.slice(1);
  else if (short && !after.startsWith("=")) value = after === "" ? undefined : after;
  else if (after !== "") {
    throw new UsageError(`${said} is not an sbatch option; write one option, e.g. --${key}=VALUE or -${letter} VALUE`);
  }

  if (option.arg === "none" && value !== undefined) {
    throw new UsageError(`${said}: --${key} takes no value; write --${key} on its own`);
  }
  if (option.arg === "required" && value === undefined) {
    throw new UsageError(`${said}: --${key} needs a value, e.g. --${key}=VALUE`);
  }
  if (option.arg === "optional" && spaced) {
    throw new UsageError(`${said}: sbatch reads a value for --${key} only after '=', so write --${key}=${value}`);
  }
  if (value !== undefined && /[\n\r\\]/.test(value)) {
    throw new UsageError(`${said}: sbatch cannot read newlines or backslashes in an option value; remove them`);
  }
  return value === undefined ? { key } : { key, value };
}

/** The long name of an sbatch option, written in full (as `skipDirectives` lists them: mem, not --mem). */
export function parseOptionName(text: string, from: string | undefined): string {
  const found = longOption(text);
  if (found.kind === "option" && found.name === text) return text;
  const guess = found.kind === "option" ? found.name : closest(text, longOptionNames());
  throw new UsageError(
    `${subject(from, text)} is not the long name of an sbatch option; ${guess ? `did you mean ${guess}?` : "write it as sbatch --help does, without dashes, e.g. mem"}`,
  );
}

/** A raw option and how messages name it (`--sbatch "--mem-per-cpu=4G"`). */
export interface RawDirective {
  key: string;
  said: string;
}

/**
 * The first raw option sbatch would refuse next to an option the job sends
 * (`own`: hpcjob's, by long name; or an earlier raw one), as a message with
 * the fix; undefined when there is none.
 */
export function conflict(own: readonly string[], raw: readonly RawDirective[]): string | undefined {
  for (const [i, r] of raw.entries()) {
    const mine = own.find((k) => exclusive(k, r.key));
    if (mine) {
      return `${r.said} cannot go with the --${mine} hpcjob sets (sbatch refuses --${mine} and --${r.key} together); ${MANAGED.get(mine) ?? "remove it"}`;
    }
    const other = raw.slice(0, i).find((o) => exclusive(o.key, r.key));
    if (other) return `${r.said} cannot go with ${other.said} (sbatch refuses --${other.key} and --${r.key} together); keep one`;
  }
  return undefined;
}
