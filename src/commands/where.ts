/**
 * Where a command's Slurm commands run, decided once per command: the
 * placement (exec/placement.ts) from the flags, the profile and the user's
 * settings, asking this machine's Slurm which cluster it is only when that
 * decides it.
 */
import type { ConnectionFlags, Placement } from "../exec/placement.js";
import { needsLocalClusterName, place } from "../exec/placement.js";
import type { Profile, UserConfig } from "../profile/schema.js";
import { loginUser } from "../request/sources.js";
import type { Context } from "./context.js";

/** The placement for a command about `profile` (undefined: no cluster chosen, which is fine on a login node). */
export async function placementFor(
  flags: ConnectionFlags,
  profile: Profile | undefined,
  user: UserConfig,
  ctx: Context,
): Promise<Placement> {
  const localCluster = needsLocalClusterName(flags, profile, ctx.env) ? await ctx.localClusterName() : undefined;
  return place(flags, profile, { env: ctx.env, localCluster, user: loginUser(user, profile) });
}

/**
 * The placement a dry run assumes, without asking anything: on a machine with
 * Slurm, that it is the profile's cluster. Undefined when a real submission
 * could not be placed at all (a dry run needs no cluster).
 */
export function assumedPlacement(flags: ConnectionFlags, profile: Profile, user: UserConfig, ctx: Context): Placement | undefined {
  try {
    return place(flags, profile, { env: ctx.env, localCluster: profile.slurm.clusterName, user: loginUser(user, profile) });
  } catch {
    return undefined;
  }
}
