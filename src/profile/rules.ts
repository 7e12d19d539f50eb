/**
 * Cross-field checks a schema cannot express: the default partition exists,
 * names are unique, default times fit the partition. And the checks of a
 * request against its partition (GPU type offered, count, time limit).
 */
import { UsageError } from "../core/errors.js";
import { formatSlurmTime, type GpuRequest, parseBind, parseSlurmTime, subject } from "../core/values.js";
import { bindProblem, envValueProblem, runtimeOf } from "../runtime/index.js";
import type { Partition, Profile } from "./schema.js";
import type { PathIssue } from "./yamlFile.js";

/** Problems in a schema-valid profile, each at the key path to fix. */
export function checkProfile(p: Profile, fileName: string): PathIssue[] {
  const issues: PathIssue[] = [];
  if (p.name !== fileName) {
    issues.push({ path: ["name"], message: `is "${p.name}" but the file is ${fileName}.yaml; make them the same` });
  }
  const names = p.slurm.partitions.map((q) => q.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i)
      issues.push({ path: ["slurm", "partitions", i, "name"], message: `partition "${n}" is listed twice; keep one` });
  });
  const def = p.slurm.partitions.find((q) => q.name === p.slurm.partition);
  if (!def) {
    issues.push({
      path: ["slurm", "partition"],
      message: `"${p.slurm.partition}" is not in slurm.partitions (${names.join(", ")}); add it there or pick one of those`,
    });
  }
  p.slurm.partitions.forEach((q, i) => {
    const types = q.gpus.map((g) => g.type);
    types.forEach((t, j) => {
      if (types.indexOf(t) !== j)
        issues.push({ path: ["slurm", "partitions", i, "gpus", j, "type"], message: `GPU type "${t}" is listed twice; keep one` });
    });
  });
  if (def) {
    const max = parseSlurmTime(def.maxTime, undefined);
    for (const [path, t] of [
      [["defaults", "time"], p.defaults.time],
      [["jupyter", "time"], p.jupyter.time],
    ] as const) {
      if (parseSlurmTime(t, undefined) > max)
        issues.push({ path: [...path], message: `"${t}" is longer than partition ${def.name}'s limit ${def.maxTime}; shorten it` });
    }
  }
  const gpuType = p.defaults.gpuType;
  if (gpuType !== undefined && !p.slurm.partitions.some((q) => q.gpus.some((g) => g.type.toLowerCase() === gpuType.toLowerCase()))) {
    const types = [...new Set(p.slurm.partitions.flatMap((q) => q.gpus.map((g) => g.type)))];
    issues.push({
      path: ["defaults", "gpuType"],
      message: `"${gpuType}" is offered by no partition (${types.length ? types.join(", ") : "none lists GPUs"}); pick one of those or remove it`,
    });
  }
  const convertIn = p.container.convertPartition;
  if (convertIn !== undefined && !names.includes(convertIn)) {
    issues.push({
      path: ["container", "convertPartition"],
      message: `"${convertIn}" is not in slurm.partitions (${names.join(", ")}); add it there or pick one of those`,
    });
  }
  issues.push(...containerIssues(p));
  return issues;
}

/** What the profile's runtime cannot do that the profile asks of it. */
function containerIssues(p: Profile): PathIssue[] {
  const issues: PathIssue[] = [];
  const rt = runtimeOf(p.container.runtime);
  if (p.container.charliecloud !== undefined && rt.name !== "charliecloud") {
    issues.push({
      path: ["container", "charliecloud"],
      message: `is for container.runtime: charliecloud, but this profile's runtime is ${rt.name}; remove it`,
    });
  }
  p.container.binds.forEach((text, i) => {
    const problem = bindProblem(rt, parseBind(text, undefined));
    if (problem) issues.push({ path: ["container", "binds", i], message: `"${text}" ${problem}` });
  });
  for (const [name, value] of Object.entries(p.environment.env)) {
    const problem = envValueProblem(rt, value);
    if (problem) issues.push({ path: ["environment", "env", name], message: `the value of ${name} ${problem}` });
  }
  return issues;
}

/** The partition called `name` (given with `from`), or a UsageError listing the ones the profile offers. */
export function partitionOf(p: Profile, name: string, from: string): Partition {
  const part = p.slurm.partitions.find((q) => q.name === name);
  if (!part) {
    const names = p.slurm.partitions.map((q) => q.name).join(", ");
    throw new UsageError(`${subject(from, name)} is not a partition of cluster ${p.name}; use one of: ${names}`);
  }
  return part;
}

/** What a partition's GPUs look like in a message: "A40 (4 per node), H100 (4 per node)". */
function offered(part: Partition): string {
  return part.gpus.map((g) => `${g.type} (${g.perNode} per node)`).join(", ");
}

/** Check a GPU request (given with `from`) against a partition: the type is offered and the count fits one node. */
export function checkGpus(p: Profile, part: Partition, gpus: GpuRequest, from: string): void {
  if (gpus.count === 0) return;
  if (part.gpus.length === 0) {
    const withGpus = p.slurm.partitions.filter((q) => q.gpus.length > 0).map((q) => q.name);
    const hint = withGpus.length ? `use --partition ${withGpus.join(" or ")}` : "this cluster's profile lists no GPUs";
    throw new UsageError(`partition ${part.name} has no GPUs; ${hint}`);
  }
  if (gpus.type !== undefined) {
    const g = part.gpus.find((x) => x.type.toLowerCase() === gpus.type?.toLowerCase());
    if (!g) throw new UsageError(`partition ${part.name} has no GPU type "${gpus.type}"; it offers ${offered(part)}`);
    if (gpus.count > g.perNode) {
      throw new UsageError(
        `${subject(from, `${g.type}:${gpus.count}`)} is more than a ${part.name} node has (${g.perNode}); ask for at most ${g.perNode}`,
      );
    }
    return;
  }
  const most = Math.max(...part.gpus.map((g) => g.perNode));
  if (gpus.count > most) {
    throw new UsageError(
      `${subject(from, String(gpus.count))} is more than any ${part.name} node has (at most ${most}: ${offered(part)}); ask for at most ${most}`,
    );
  }
}

/** Check a time limit (given with `from`) against the partition's maximum. */
export function checkTime(part: Partition, seconds: number, from: string): void {
  const max = parseSlurmTime(part.maxTime, undefined);
  if (seconds > max) {
    throw new UsageError(
      `${subject(from, formatSlurmTime(seconds))} is longer than partition ${part.name} allows (${part.maxTime}); ask for at most ${part.maxTime}`,
    );
  }
}
