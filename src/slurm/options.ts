/**
 * sbatch's options as sbatch itself reads them (getopt_long): the table of
 * long and short names, and the lookup that turns any spelling sbatch
 * accepts (`--err`, `-e`) into the option's long name. Pure data; no I/O.
 *
 * The table is every option of Slurm's src/common/slurm_opt.c that sbatch
 * takes (a `set_func` or `set_func_sbatch`), from Slurm 22.05.8 (checked
 * against that sbatch's own "ambiguous; possibilities" lists) up to 25.11.
 * Options added later than 22.05 are accepted too: they resolve to a name an
 * older sbatch refuses with its own message when the job is submitted, and a
 * prefix is only taken when it is unambiguous across all these versions, so
 * hpcjob never reads a spelling as a different option than sbatch does.
 */

/** How an option takes its value: never, always, or only as `--name=value`. */
export type OptionArg = "none" | "required" | "optional";

/** Options that take a value. Later than 22.05: autocomplete, container-id, extra, tres-per-task (23.02), tres-bind (23.11), segment (24.05), resources (25.11). power was removed in 24.05. */
const REQUIRED =
  "account acctg-freq array autocomplete batch bb bbf begin chdir cluster cluster-constraint clusters comment constraint container container-id context core-spec cores-per-socket cpu-freq cpus-per-gpu cpus-per-task deadline delay-boot dependency distribution error exclude export export-file extra extra-node-info gid gpu-bind gpu-freq gpus gpus-per-node gpus-per-socket gpus-per-task gres gres-flags hint input job-name kill-on-invalid-dep licenses mail-type mail-user mcs-label mem mem-bind mem-per-cpu mem-per-gpu mincpus network nodefile nodelist nodes ntasks ntasks-per-core ntasks-per-gpu ntasks-per-node ntasks-per-socket ntasks-per-tres open-mode output partition power prefer priority profile qos reservation resources segment signal sockets-per-node switches tasks-per-node thread-spec threads-per-core time time-min tmp tres-bind tres-per-task uid wait-all-nodes wckey wrap";
/** Options whose value is optional. Later than 22.05: resv-ports (24.05), oom-kill-step (24.11); requeue takes one since 25.11 and get-user-env none since 25.05. */
const OPTIONAL = "exclusive get-user-env nice no-kill oom-kill-step propagate requeue resv-ports";
/** Options that take no value. Later than 22.05: stepmgr (24.05), external (25.05), consolidate-segments and spread-segments (25.11). */
const NONE =
  "consolidate-segments contiguous external help hold ignore-pbs no-requeue overcommit oversubscribe parsable quiet reboot spread-job spread-segments stepmgr test-only usage use-min-nodes verbose version wait";
/** Short options and their long names (the same in every version above). */
const SHORT =
  "A:account B:extra-node-info C:constraint D:chdir F:nodefile G:gpus H:hold J:job-name L:licenses M:clusters N:nodes O:overcommit Q:quiet S:core-spec V:version W:wait a:array b:begin c:cpus-per-task d:dependency e:error h:help i:input k:no-kill m:distribution n:ntasks o:output p:partition q:qos s:oversubscribe t:time v:verbose w:nodelist x:exclude";

let longTable: Map<string, OptionArg> | undefined;
let shortTable: Map<string, string> | undefined;

/** Every long option and how it takes a value, built on first use. */
function longOptions(): Map<string, OptionArg> {
  if (!longTable) {
    longTable = new Map();
    for (const [words, arg] of [
      [REQUIRED, "required"],
      [OPTIONAL, "optional"],
      [NONE, "none"],
    ] as const) {
      for (const name of words.split(" ")) longTable.set(name, arg);
    }
  }
  return longTable;
}

/** What a spelling of an option means to sbatch. */
export type OptionLookup =
  | { kind: "option"; name: string; arg: OptionArg }
  | { kind: "ambiguous"; candidates: string[] }
  | { kind: "unknown" };

/**
 * A long option as getopt_long reads it: an exact name wins, else a prefix
 * of exactly one name; a prefix of several is ambiguous (every sbatch option
 * has its own value, so glibc lists them all), none is unknown.
 */
export function longOption(spelled: string): OptionLookup {
  const table = longOptions();
  const exact = table.get(spelled);
  if (exact) return { kind: "option", name: spelled, arg: exact };
  const candidates = spelled === "" ? [] : [...table.keys()].filter((n) => n.startsWith(spelled));
  const [only] = candidates;
  if (candidates.length === 1 && only) return { kind: "option", name: only, arg: table.get(only) ?? "required" };
  if (candidates.length > 1) return { kind: "ambiguous", candidates };
  return { kind: "unknown" };
}

/** Every long option's name, for suggestions. */
export function longOptionNames(): Iterable<string> {
  return longOptions().keys();
}

/** A one-letter option (`e` for -e) as its long name and how it takes a value, or undefined. */
export function shortOption(letter: string): { name: string; arg: OptionArg } | undefined {
  if (!shortTable) shortTable = new Map(SHORT.split(" ").map((pair) => [pair.slice(0, 1), pair.slice(2)]));
  const name = shortTable.get(letter);
  return name === undefined ? undefined : { name, arg: longOptions().get(name) ?? "required" };
}

/**
 * Options sbatch refuses to take together, by long name: Slurm 22.05's
 * slurm_opt.c (_validate_memory_options: "--mem, --mem-per-cpu, and
 * --mem-per-gpu are mutually exclusive"; _validate_ntasks_per_gpu;
 * _validate_spec_cores_options) and gres.c ("--cpus-per-gpu is mutually
 * exclusive with --cpus-per-task"). Each group: any two of it conflict,
 * except where `with` names the one the others conflict with.
 */
const EXCLUSIVE: { names: string[]; with?: string }[] = [
  { names: ["mem", "mem-per-cpu", "mem-per-gpu"] },
  { names: ["cpus-per-task", "cpus-per-gpu"] },
  { names: ["gpus-per-task", "gpus-per-socket", "ntasks-per-node"], with: "ntasks-per-gpu" },
  { names: ["core-spec", "thread-spec"] },
];

/** True when sbatch refuses options `a` and `b` (long names) in one job. */
export function exclusive(a: string, b: string): boolean {
  if (a === b) return false;
  return EXCLUSIVE.some((g) =>
    g.with === undefined
      ? g.names.includes(a) && g.names.includes(b)
      : (a === g.with && g.names.includes(b)) || (b === g.with && g.names.includes(a)),
  );
}
