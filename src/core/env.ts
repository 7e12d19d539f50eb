/**
 * Environment variables a job may be given (`--env`, hpcjob.yaml's `env`, a
 * profile's `environment.env`): shell names, minus the ones the rendered
 * script, Slurm or the container runtime rely on. This list is the one
 * place that says which names are reserved and why.
 */
import { UsageError } from "./errors.js";
import { subject } from "./values.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A reserved name or family of names, why hpcjob keeps it, and what to do instead. */
interface Reserved {
  /** Exact names; one ending in _ is a prefix. */
  names: string[];
  /** Match the prefix in any case (hpcjob_ and HPCJOB_ alike). */
  anyCase?: boolean;
  why: string;
  fix: (name: string, prefix: string) => string;
}

const PICK_ANOTHER = () => "pick another name";
const VIA_SBATCH = () => "pass Slurm options with --sbatch instead";

const RESERVED: Reserved[] = [
  {
    names: ["JUPYTER_TOKEN"],
    why: "each Jupyter job makes a new token when it starts, and a fixed one would let anyone who knows it into your notebook",
    fix: () => "remove it (hpcjob prints the URL with the token)",
  },
  {
    // The scripts' HPCJOB_RUN_DIR, HPCJOB_NODE, HPCJOB_PORT, HPCJOB_COMMAND ...,
    // their hpcjob_run, hpcjob_status ... and hpcjob's own HPCJOB_CLUSTERS, HPCJOB_DEBUG.
    names: ["HPCJOB_"],
    anyCase: true,
    why: "the job script's own variables (run directory, node, port, command) and hpcjob's settings use these names",
    fix: PICK_ANOTHER,
  },
  {
    // The apptainer template exports APPTAINERENV_NAME="$NAME" for every variable (JUPYTER_TOKEN too).
    names: ["APPTAINERENV_", "SINGULARITYENV_"],
    why: "hpcjob passes every variable into the container itself, under these names",
    fix: (name, prefix) => `set ${name.slice(prefix.length) || "the variable"} instead`,
  },
  {
    names: ["SLURM_", "SLURMD_", "SRUN_"],
    why: "Slurm sets them in the job and srun reads them as options (the script reads SLURM_JOB_ID, SLURM_CPUS_PER_TASK and SLURMD_NODENAME, the node the tunnel goes to)",
    fix: VIA_SBATCH,
  },
  {
    names: ["PATH"],
    why: "the job script finds apptainer, srun and its own tools through it",
    fix: () => "add folders in the cluster profile's environment.setup (export PATH=/my/bin:$PATH)",
  },
  {
    // BASH_ENV and ENV name a file every bash or sh the job starts runs first; IFS, SHELLOPTS,
    // BASHOPTS, POSIXLY_CORRECT and the BASH_ variables change how bash runs the script itself.
    names: ["IFS", "ENV", "SHELLOPTS", "BASHOPTS", "POSIXLY_CORRECT", "BASH_"],
    why: "it changes how bash runs the job script itself",
    fix: () => "put shell settings in the cluster profile's environment.setup, or set them in your program",
  },
  {
    names: ["RANDOM"],
    why: "the Jupyter script picks its port with $RANDOM; setting it makes every job try the same ports",
    fix: PICK_ANOTHER,
  },
  {
    names: ["PWD", "OLDPWD"],
    why: "the shell keeps these itself",
    fix: () => "choose the job's folder with --workdir",
  },
];

/** The reserved entry a name falls under, and the prefix it matched. */
function reservedBy(name: string): { r: Reserved; prefix: string } | undefined {
  for (const r of RESERVED) {
    for (const n of r.names) {
      const spelled = r.anyCase ? name.toUpperCase() : name;
      if (n.endsWith("_") ? spelled.startsWith(n) : spelled === n) return { r, prefix: n };
    }
  }
  return undefined;
}

/** Why `name` cannot be set in a job, with what to do instead; undefined when it can. */
export function envNameProblem(name: string): string | undefined {
  if (!ENV_NAME.test(name)) {
    return `${JSON.stringify(name)} is not a variable name; use letters, digits and _, not starting with a digit`;
  }
  const hit = reservedBy(name);
  return hit ? `${name} is reserved: ${hit.r.why}; ${hit.r.fix(name, hit.prefix)}` : undefined;
}

/** Why `name` cannot name a sweep parameter (the job gets it as HPCJOB_PARAM_NAME); undefined when it can. */
export function paramNameProblem(name: string): string | undefined {
  return ENV_NAME.test(name)
    ? undefined
    : `${JSON.stringify(name)} cannot name a parameter: it becomes the variable HPCJOB_PARAM_${name}; use letters, digits and _, not starting with a digit`;
}

/** `NAME=VALUE` as a pair; the value may hold anything, the name must be a shell name that is not reserved. */
export function parseEnv(text: string, from = "--env"): [string, string] {
  const eq = text.indexOf("=");
  const name = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0 || !ENV_NAME.test(name)) {
    throw new UsageError(
      `${subject(from, text)} must be NAME=VALUE with NAME made of letters, digits and _, e.g. ${from} WANDB_MODE=offline`,
    );
  }
  const problem = envNameProblem(name);
  if (problem) throw new UsageError(`${subject(from, text)}: ${problem}`);
  return [name, text.slice(eq + 1)];
}
