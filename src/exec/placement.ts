/**
 * Where a command's Slurm commands run, decided once per command and purely:
 * here, when this machine is a login node of the profile's cluster, or the
 * profile's login node over SSH (from a laptop, or from another cluster's
 * login node). `--local` and `--remote [USER@]HOST` force either. The one
 * fact that costs a question (which cluster this machine's Slurm is) is asked
 * only when it decides something (needsLocalClusterName).
 */
import { SlurmError, UsageError } from "../core/errors.js";
import type { Reporter } from "../core/events.js";
import type { Profile } from "../profile/schema.js";
import { parseShowConfig, scontrolShowConfigArgv } from "../slurm/config.js";
import type { Executor } from "./executor.js";
import { onPath } from "./local.js";
import type { Prompter } from "./prompt.js";

/** The flags every cluster-touching command takes. */
export interface ConnectionFlags {
  local?: boolean;
  remote?: string;
  acceptNewHost?: boolean;
}

/** Where the commands run, and what the executor needs to get there. */
export type Placement =
  | {
      where: "here";
      /** How the user's computer reaches this login node, for the tunnel: the profile's login host (else this machine's name) and port. */
      loginHost?: string;
      loginPort: number;
    }
  | {
      where: "ssh";
      /** `host`, `user@host[:port]` or a ~/.ssh/config alias. */
      destination: string;
      /** The user name and port from config.yaml or the profile: they lose to the destination and ~/.ssh/config. */
      defaultUser?: string;
      defaultPort?: number;
      acceptNewHost: boolean;
    };

/** What the decision reads besides the flags and the profile. */
export interface PlacementFacts {
  env: Record<string, string | undefined>;
  /** ClusterName of this machine's Slurm: asked only when needsLocalClusterName says it decides something. */
  localCluster?: string;
  /** The user name on the cluster (config.yaml's for the cluster, else its global one, else the profile's login.user). */
  user?: string;
}

/** True when `sbatch` is an executable on PATH: this machine can submit itself. */
export function hasLocalSlurm(env: Record<string, string | undefined>): boolean {
  return onPath(env, "sbatch");
}

/**
 * True when placing needs to know which cluster this machine's Slurm is:
 * sbatch is here, nothing forces the choice, and the profile names its Slurm
 * cluster.
 */
export function needsLocalClusterName(
  flags: ConnectionFlags,
  profile: Profile | undefined,
  env: Record<string, string | undefined>,
): boolean {
  return !flags.local && !flags.remote && profile?.slurm.clusterName !== undefined && hasLocalSlurm(env);
}

/**
 * Here or over SSH, and to where; a UsageError when neither can work. Here
 * only when this machine's Slurm is the profile's cluster: a login node of
 * one cluster must not submit another cluster's jobs to its own.
 */
export function place(flags: ConnectionFlags, profile: Profile | undefined, facts: PlacementFacts): Placement {
  if (flags.local && flags.remote) throw new UsageError("--local and --remote contradict each other; give one");
  const here: Placement = { where: "here", loginHost: profile?.login.host, loginPort: profile?.login.port ?? 22 };
  const ssh = (destination: string): Placement => ({
    where: "ssh",
    destination,
    defaultUser: facts.user,
    defaultPort: profile?.login.port,
    acceptNewHost: Boolean(flags.acceptNewHost),
  });
  if (flags.local) return here;
  if (flags.remote) return ssh(flags.remote);
  const wanted = profile?.slurm.clusterName;
  if (hasLocalSlurm(facts.env)) {
    if (wanted === undefined || wanted === facts.localCluster) return here;
    if (profile?.login.host) return ssh(profile.login.host);
    throw new UsageError(
      `this computer's Slurm is cluster ${facts.localCluster ?? "(unknown)"}, not ${wanted} (slurm.clusterName of profile ${profile?.name}), and the profile has no login.host; run hpcjob on ${wanted}'s login node, pass --remote USER@LOGIN-HOST, or --local to submit here anyway`,
    );
  }
  if (profile?.login.host) return ssh(profile.login.host);
  const which = profile ? `cluster ${profile.name} has no login.host` : "no cluster was chosen";
  throw new UsageError(
    `Slurm's commands are not on this computer and ${which}; pass --remote USER@LOGIN-HOST, --cluster NAME, or run hpcjob on the login node`,
  );
}

/** The ClusterName of the Slurm this machine submits to, asked of its controller. */
export async function localClusterName(env: Record<string, string | undefined>): Promise<string> {
  const { LocalExecutor } = await import("./local.js");
  const r = await new LocalExecutor({ env }).run(scontrolShowConfigArgv());
  const name = r.code === 0 ? parseShowConfig(r.stdout).get("ClusterName") : undefined;
  if (name === undefined) {
    throw new SlurmError(
      "could not ask this computer's Slurm which cluster it is (scontrol show config); pass --local to submit here or --remote USER@LOGIN-HOST",
      r.stderr.trim().split("\n").filter(Boolean),
    );
  }
  return name;
}

/** What an executor is made with besides its placement: the user's environment and outlets. */
export interface ExecutorSetting {
  env: Record<string, string | undefined>;
  home: string;
  cwd: string;
  prompter: Prompter;
  report: Reporter;
}

/** The Executor for a placement (SSH code is loaded only when needed). */
export async function makeExecutor(placement: Placement, setting: ExecutorSetting): Promise<Executor> {
  if (placement.where === "here") {
    const { LocalExecutor } = await import("./local.js");
    return new LocalExecutor({
      env: setting.env,
      home: setting.home,
      cwd: setting.cwd,
      loginHost: placement.loginHost,
      loginPort: placement.loginPort,
    });
  }
  const { SshExecutor } = await import("./ssh/executor.js");
  return new SshExecutor({
    destination: placement.destination,
    defaultUser: placement.defaultUser,
    defaultPort: placement.defaultPort,
    home: setting.home,
    env: setting.env,
    prompter: setting.prompter,
    acceptNewHost: placement.acceptNewHost,
    report: setting.report,
  });
}
