/**
 * Which Executor a command gets: local on a machine with Slurm's commands
 * (the login node) when that Slurm is the profile's cluster, SSH to the
 * profile's login host elsewhere (a laptop, or another cluster's login node).
 * --local and --remote [USER@]HOST force either.
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { SlurmError, UsageError } from "../core/errors.js";
import type { Reporter } from "../core/events.js";
import type { Profile } from "../profile/schema.js";
import { parseShowConfig, scontrolShowConfigArgv } from "../slurm/config.js";
import type { Executor } from "./executor.js";
import type { LocalExecutor } from "./local.js";
import type { Prompter } from "./prompt.js";

/** The flags every cluster-touching command takes. */
export interface ConnectionFlags {
  local?: boolean;
  remote?: string;
  acceptNewHost?: boolean;
}

/** True when `sbatch` is an executable on PATH: this machine can submit itself. */
export function hasLocalSlurm(env: Record<string, string | undefined>): boolean {
  for (const dir of (env.PATH ?? "").split(":")) {
    if (!dir) continue;
    try {
      accessSync(join(dir, "sbatch"), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/**
 * True when choosing needs to know which cluster this machine's Slurm is:
 * sbatch is here, nothing forces the choice, and the profile names its Slurm
 * cluster. Only then is the controller asked (localClusterName).
 */
export function needsLocalClusterName(
  flags: ConnectionFlags,
  profile: Profile | undefined,
  env: Record<string, string | undefined>,
): boolean {
  return !flags.local && !flags.remote && profile?.slurm.clusterName !== undefined && hasLocalSlurm(env);
}

/**
 * Local or SSH, and to where; a UsageError when neither can work. Local only
 * when this machine's Slurm is the profile's cluster (`localCluster`, asked
 * when needsLocalClusterName says so): a login node of one cluster must not
 * submit another cluster's jobs to its own.
 */
export function executorKind(
  flags: ConnectionFlags,
  profile: Profile | undefined,
  env: Record<string, string | undefined>,
  localCluster?: string,
): { kind: "local" } | { kind: "ssh"; destination: string } {
  if (flags.local && flags.remote) throw new UsageError("--local and --remote contradict each other; give one");
  if (flags.local) return { kind: "local" };
  if (flags.remote) return { kind: "ssh", destination: flags.remote };
  const wanted = profile?.slurm.clusterName;
  if (hasLocalSlurm(env)) {
    if (wanted === undefined || wanted === localCluster) return { kind: "local" };
    if (profile?.login.host) return { kind: "ssh", destination: profile.login.host };
    throw new UsageError(
      `this computer's Slurm is cluster ${localCluster ?? "(unknown)"}, not ${wanted} (slurm.clusterName of profile ${profile?.name}), and the profile has no login.host; run hpcjob on ${wanted}'s login node, pass --remote USER@LOGIN-HOST, or --local to submit here anyway`,
    );
  }
  if (profile?.login.host) return { kind: "ssh", destination: profile.login.host };
  const which = profile ? `cluster ${profile.name} has no login.host` : "no cluster was chosen";
  throw new UsageError(
    `Slurm's commands are not on this computer and ${which}; pass --remote USER@LOGIN-HOST, --cluster NAME, or run hpcjob on the login node`,
  );
}

/** The ClusterName of the Slurm this machine submits to, asked of its controller once. */
async function localClusterName(local: Executor): Promise<string> {
  const r = await local.run(scontrolShowConfigArgv());
  const name = r.code === 0 ? parseShowConfig(r.stdout).get("ClusterName") : undefined;
  if (name === undefined) {
    throw new SlurmError(
      "could not ask this computer's Slurm which cluster it is (scontrol show config); pass --local to submit here or --remote USER@LOGIN-HOST",
      r.stderr.trim().split("\n").filter(Boolean),
    );
  }
  return name;
}

/** Make the Executor for a command (SSH code is loaded only when needed). */
export async function makeExecutor(
  flags: ConnectionFlags,
  profile: Profile | undefined,
  ctx: { env: Record<string, string | undefined>; home: string; prompter: Prompter; report: Reporter },
): Promise<Executor> {
  let local: LocalExecutor | undefined;
  const localExecutor = async () => {
    const { LocalExecutor } = await import("./local.js");
    local ??= new LocalExecutor(ctx.env as NodeJS.ProcessEnv);
    return local;
  };
  const localCluster = needsLocalClusterName(flags, profile, ctx.env) ? await localClusterName(await localExecutor()) : undefined;
  const choice = executorKind(flags, profile, ctx.env, localCluster);
  if (choice.kind === "local") return localExecutor();
  const { SshExecutor } = await import("./ssh/executor.js");
  return new SshExecutor({
    destination: choice.destination,
    defaultUser: profile?.login.user,
    defaultPort: profile?.login.port,
    home: ctx.home,
    env: ctx.env,
    prompter: ctx.prompter,
    acceptNewHost: Boolean(flags.acceptNewHost),
    report: ctx.report,
  });
}
