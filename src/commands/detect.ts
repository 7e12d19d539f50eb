import { basename, extname, resolve } from "node:path";
import { ProfileError, SlurmError, UsageError } from "../core/errors.js";
import { parseName } from "../core/values.js";
import type { Executor } from "../exec/executor.js";
import type { ConnectionFlags, Placement } from "../exec/placement.js";
import { parseDestination } from "../exec/ssh/destination.js";
import { isProfileFileName } from "../profile/load.js";
import { clusterProfile, loadUserConfig } from "../request/sources.js";
import { type ClusterFacts, parseProbe, probeFailures, probeScript, testOnlyScript, withTestOnly } from "../slurm/detect.js";
import type { Context, Done } from "./context.js";
import { writeOutputFile } from "./outputFile.js";
import { placementFor } from "./where.js";

/** The flags of `clusters detect`. */
export interface DetectFlags extends ConnectionFlags {
  name?: string;
  output?: string;
  force?: boolean;
  cluster?: string;
}

/** What detect found and made: the facts, the profile's YAML, and the file it went to (-o). */
export interface Detected {
  facts: ClusterFacts;
  yaml: string;
  output?: string;
}

/** The profile's name: --name, else the -o file's name, else the cluster's ClusterName. */
export function profileName(flags: DetectFlags, facts?: ClusterFacts): string | undefined {
  const fromFile = flags.output ? basename(flags.output, extname(flags.output)) : undefined;
  if (flags.name !== undefined) {
    parseName(flags.name, "--name");
    if (fromFile !== undefined && fromFile !== flags.name) {
      throw new UsageError(
        `--name ${flags.name} and -o ${flags.output} disagree: a profile's name is its file's name; use -o ${flags.name}.yaml`,
      );
    }
    return flags.name;
  }
  if (fromFile !== undefined) return parseName(fromFile, "-o");
  const cluster = facts?.clusterName
    ?.toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "");
  return cluster || (facts ? "detected" : undefined);
}

/** How the user reached the login node, as a profile's login host and port: the SSH destination without its user (a person's own, for config.yaml). */
export function reached(placement: Placement): { loginHost?: string; loginPort?: number } {
  if (placement.where !== "ssh") return {};
  const d = parseDestination(placement.destination, "--remote");
  return { loginHost: d.host, loginPort: d.port };
}

/** The first round trip (detect's and doctor's): the probe's facts; a SlurmError with Slurm's words when no partition was listed. */
export async function probeFacts(exec: Executor): Promise<ClusterFacts> {
  const probe = await exec.run(["bash", "-c", probeScript()]);
  const facts = parseProbe(probe.stdout);
  if (facts.partitions.length === 0) {
    throw new SlurmError(
      "sinfo listed no partitions you can submit to; check that Slurm's commands work on the login node (sinfo) and that your account may use a partition",
      [...probeFailures(probe.stdout), ...probe.stderr.trim().split("\n").filter(Boolean)].slice(-12),
    );
  }
  return facts;
}

/** Read the cluster: the probe, then the test-only requests it makes possible. */
export async function readCluster(flags: DetectFlags, ctx: Context): Promise<{ facts: ClusterFacts; placement: Placement }> {
  // Only --cluster picks a profile: the default cluster of config.yaml is not the one being detected.
  const { profile, user } =
    flags.cluster === undefined ? { profile: undefined, user: await loadUserConfig(ctx) } : await clusterProfile(ctx, flags.cluster);
  const placement = await placementFor(flags, profile, user, ctx);
  const exec = await ctx.connect(placement);
  let facts = await probeFacts(exec);
  const script = testOnlyScript(facts);
  if (script !== undefined) {
    const tried = await exec.run(["bash", "-c", script]);
    facts = withTestOnly(facts, tried.stdout);
  }
  return { facts, placement };
}

/**
 * Fail with a ProfileError naming each broken key when a profile made from
 * what the cluster said (`what`: detect's, init's) does not hold the schema,
 * rather than write a profile that does not load; `fix` says what to do instead.
 */
export async function checkMadeProfile(profile: unknown, what: string, fix: string): Promise<void> {
  const { ProfileSchema } = await import("../profile/files.js");
  const checked = ProfileSchema.safeParse(profile);
  if (!checked.success) {
    throw new ProfileError(
      `${what} does not hold (${checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}); ${fix}`,
    );
  }
}

/** Detect the cluster and make its profile: printed, or written to -o FILE (whole; an existing file only with --force). */
export async function detect(flags: DetectFlags, ctx: Context): Promise<Done<Detected>> {
  // Bad flags fail before anything touches the cluster.
  profileName(flags);
  if (flags.output !== undefined && !isProfileFileName(basename(flags.output))) {
    throw new UsageError(`-o ${flags.output} is not a .yaml or .yml file; profiles are found by that name, e.g. -o mysite.yaml`);
  }
  const { facts, placement } = await readCluster(flags, ctx);
  const { profileFromFacts, detectedYaml } = await import("../profile/detected.js");
  const name = profileName(flags, facts) ?? "detected";
  const profile = profileFromFacts(facts, { name, ...reached(placement) });
  await checkMadeProfile(profile, "the detected profile", "write one by hand from hpcjob clusters show custom --raw");
  const yaml = detectedYaml(facts, profile);
  if (flags.output !== undefined) writeOutputFile(resolve(ctx.cwd, flags.output), yaml, flags.output, Boolean(flags.force));
  return { data: { facts, yaml, output: flags.output } };
}
