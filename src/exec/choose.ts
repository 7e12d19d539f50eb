/**
 * Which Executor a command gets: local on a machine with Slurm's commands
 * (the login node), SSH to the profile's login host elsewhere (a laptop).
 * --local and --remote [USER@]HOST force either.
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import type { Profile } from "../profile/schema.js";
import type { Reporter } from "../session/events.js";
import type { Executor } from "./executor.js";
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

/** Local or SSH, and to where; a UsageError when neither can work. */
export function executorKind(
  flags: ConnectionFlags,
  profile: Profile | undefined,
  env: Record<string, string | undefined>,
): { kind: "local" } | { kind: "ssh"; destination: string } {
  if (flags.local && flags.remote) throw new UsageError("--local and --remote contradict each other; give one");
  if (flags.local) return { kind: "local" };
  if (flags.remote) return { kind: "ssh", destination: flags.remote };
  if (hasLocalSlurm(env)) return { kind: "local" };
  if (profile?.login.host) return { kind: "ssh", destination: profile.login.host };
  const which = profile ? `cluster ${profile.name} has no login.host` : "no cluster was chosen";
  throw new UsageError(
    `Slurm's commands are not on this computer and ${which}; pass --remote USER@LOGIN-HOST, --cluster NAME, or run hpcjob on the login node`,
  );
}

/** Make the Executor for a command (SSH code is loaded only when needed). */
export async function makeExecutor(
  flags: ConnectionFlags,
  profile: Profile | undefined,
  ctx: { env: Record<string, string | undefined>; home: string; prompter: Prompter; report: Reporter },
): Promise<Executor> {
  const choice = executorKind(flags, profile, ctx.env);
  if (choice.kind === "local") {
    const { LocalExecutor } = await import("./local.js");
    return new LocalExecutor(ctx.env as NodeJS.ProcessEnv);
  }
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
