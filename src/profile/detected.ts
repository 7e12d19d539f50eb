/**
 * A cluster profile from what detect read of the cluster (slurm/detect.ts's
 * ClusterFacts): first as a value, every choice made here and nowhere else,
 * then as YAML with a comment on each fact saying which command it came from,
 * so a person can review it before installing it.
 */
import { Document, isCollection, isScalar } from "yaml";
import type { z } from "zod";
import { parseSlurmTime } from "../core/values.js";
import {
  type ClusterFacts,
  type DetectedPartition,
  GPU_FORMS,
  type GpuForm,
  gpuOption,
  isGpuTypeName,
  RUNTIME_PREFERENCE,
  SINFO_FORMAT,
  testPartition,
} from "../slurm/detect.js";
import type { ProfileSchema } from "./schema.js";

/** A profile as written in a file (before defaults are filled in). */
export type ProfileInput = z.input<typeof ProfileSchema>;

/** What the profile needs besides the facts: its name, and how this computer reached the login node. */
export interface DetectChoices {
  name: string;
  /** The login host the user reached the cluster through (--remote or a profile's login.host); hostname -f otherwise. */
  loginHost?: string;
  /** Its port, when the user gave one. */
  loginPort?: number;
}

/** The type a GPU gets in the profile: the site's GRES type, or "gpu" where the site names none. */
const UNTYPED = "gpu";
/** Jupyter's time limit when the partition allows it. */
const JUPYTER_TIME = "04:00:00";
/** A job's time limit when the partition states no DefaultTime. */
const JOB_TIME = "01:00:00";
/** CPUs per GPU at most, when the nodes have more. */
const MAX_CPUS_PER_GPU = 8;

/** The shorter of two Slurm times. */
function shorter(a: string, b: string): string {
  return parseSlurmTime(a, undefined) <= parseSlurmTime(b, undefined) ? a : b;
}

/** Each GPU type of a partition with the most a node has (types the profile cannot name are left out). */
function partitionGpus(p: DetectedPartition): { type: string; perNode: number }[] {
  const most = new Map<string, number>();
  for (const node of p.nodes) {
    for (const g of node.gpus) {
      const type = g.type ?? UNTYPED;
      if (!isGpuTypeName(type)) continue;
      most.set(type, Math.max(most.get(type) ?? 0, g.count));
    }
  }
  return [...most].map(([type, perNode]) => ({ type, perNode }));
}

/** The default partition: Slurm's, else the first. */
function defaultPartition(facts: ClusterFacts): DetectedPartition | undefined {
  return facts.partitions.find((p) => p.isDefault) ?? facts.partitions[0];
}

/** The GPU form the profile uses: the first accepted in GPU_FORMS order; gres when none was tried or none was accepted. */
export function chosenGpuForm(facts: ClusterFacts): GpuForm {
  return GPU_FORMS.find((f) => facts.gpuForms[f]?.accepted) ?? "gres";
}

/** The module to load for a runtime found only as a module (its name without the version: the site's default). */
export function runtimeModule(facts: ClusterFacts, runtime: string): string | undefined {
  const found = facts.runtimes.filter((r) => r.name === runtime);
  const module = found.every((r) => r.via === "module") ? found[0]?.detail : undefined;
  return module?.split("/")[0]?.replace(/\(.*$/, "");
}

/** sbatch's words when every test-only request was refused for want of an account, else undefined. */
function accountRefusal(facts: ClusterFacts): string | undefined {
  const tried = [...Object.values(facts.gpuForms), ...(facts.mem ? [facts.mem] : [])];
  if (tried.length === 0 || tried.some((t) => t.accepted)) return undefined;
  return tried.find((t) => /account/i.test(t.said))?.said;
}

/** CPUs per GPU the smallest GPU node can give every GPU, at most MAX_CPUS_PER_GPU. */
function cpusPerGpu(facts: ClusterFacts): number {
  const ratios = facts.partitions
    .flatMap((p) => p.nodes)
    .map((n) => ({ cpus: n.cpus, gpus: n.gpus.reduce((s, g) => s + g.count, 0) }))
    .filter((n) => n.gpus > 0 && n.cpus > 0)
    .map((n) => Math.floor(n.cpus / n.gpus));
  return Math.max(1, Math.min(MAX_CPUS_PER_GPU, ...ratios));
}

/**
 * The profile for the facts: every partition with its time limit and GPUs,
 * the default partition, the GPU form and runtime the cluster accepts, a
 * Jupyter and job time within the default partition's limit. Throws nothing:
 * what cannot be known is left to the schema's defaults.
 */
export function profileFromFacts(facts: ClusterFacts, choices: DetectChoices): ProfileInput {
  const def = defaultPartition(facts);
  const runtime = RUNTIME_PREFERENCE.find((r) => facts.runtimes.some((f) => f.name === r)) ?? "none";
  const maxTime = def?.maxTime ?? "UNLIMITED";
  const host = choices.loginHost ?? facts.loginHost;
  const module = runtime === "none" ? undefined : runtimeModule(facts, runtime);
  const refused = accountRefusal(facts);
  const profile: ProfileInput = {
    name: choices.name,
    title: `Slurm cluster ${facts.clusterName ?? choices.name} (detected by hpcjob clusters detect)`,
    ...(host ? { login: { host, ...(choices.loginPort ? { port: choices.loginPort } : {}) } } : {}),
    slurm: {
      ...(facts.clusterName ? { clusterName: facts.clusterName } : {}),
      partition: def?.name ?? "",
      ...(refused ? { account: { required: true, hint: "sbatch refused a job without one; ask your site which account to use" } } : {}),
      gpuDirective: chosenGpuForm(facts),
      ...(facts.mem && !facts.mem.accepted ? { skipDirectives: ["mem"] } : {}),
      partitions: facts.partitions.map((p) => ({ name: p.name, maxTime: p.maxTime, gpus: partitionGpus(p) })),
    },
    ...(module ? { environment: { modules: [module] } } : {}),
    container: { runtime },
    jupyter: {
      // jupyter server serves JupyterLab too where the image has it (its extension is enabled by default), and works where only jupyter_server is installed.
      command: ["jupyter", "server"],
      time: shorter(JUPYTER_TIME, maxTime),
    },
    defaults: {
      time: shorter(def?.defaultTime ?? JOB_TIME, maxTime),
      cpusPerGpu: cpusPerGpu(facts),
      cpus: 1,
    },
  };
  return profile;
}

/** A one-line comment: what the command said, on one line. */
function oneLine(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > 160 ? `${t.slice(0, 157)}...` : t;
}

/** Who wrote a detected profile, and comments on keys that came from someone's answers rather than the cluster (init). */
export interface YamlNotes {
  /** The command named in the header. */
  by?: string;
  /** Comments by key path, put after (and over) the detected ones. */
  notes?: [(string | number)[], string][];
}

/** The YAML of a detected profile, each fact with a comment saying where it came from. */
export function detectedYaml(facts: ClusterFacts, profile: ProfileInput, extra: YamlNotes = {}): string {
  const doc = new Document(profile);
  const note = (path: (string | number)[], comment: string) => {
    const node = doc.getIn(path, true);
    if (isScalar(node)) node.comment = ` ${comment}`;
    else if (isCollection(node)) node.commentBefore = ` ${comment}`;
  };
  const found = facts.runtimes.map((r) => `${r.name} (${r.via}: ${oneLine(r.detail)})`).join("; ") || "none";
  const header = [
    ` Written by ${extra.by ?? "hpcjob clusters detect"} from the cluster's own commands.`,
    ` Review it, then check it with: hpcjob clusters validate FILE`,
    ` Slurm ${facts.slurmVersion ?? "(version unknown)"}  # scontrol show config: SLURM_VERSION`,
    ` Not used by hpcjob yet (scontrol show config): MaxArraySize = ${facts.maxArraySize ?? "?"}, PreemptType = ${facts.preemptType ?? "?"}, PreemptMode = ${facts.preemptMode ?? "?"}, JobRequeue = ${facts.jobRequeue === undefined ? "?" : facts.jobRequeue ? 1 : 0}`,
  ];
  doc.commentBefore = header.join("\n");
  note(["name"], "the file's name: NAME.yaml");
  if (profile.login?.host) {
    note(
      ["login", "host"],
      profile.login.host === facts.loginHost ? "hostname -f on the login node" : "how this computer reached the login node",
    );
  }
  if (profile.slurm.clusterName) note(["slurm", "clusterName"], "scontrol show config: ClusterName");
  note(["slurm", "partition"], `sinfo -o "%P": the partition marked * (Slurm's default)`);
  const probe = facts.gpuProbe;
  const forms = GPU_FORMS.map((f) => {
    const t = facts.gpuForms[f];
    return t ? `${gpuOption(f, probe?.type)} ${t.accepted ? "accepted" : `rejected (${oneLine(t.said)})`}` : undefined;
  }).filter(Boolean);
  note(
    ["slurm", "gpuDirective"],
    probe ? `sbatch --test-only --partition=${probe.partition}: ${forms.join("; ")}` : "no partition has GPUs (sinfo %G): not tested",
  );
  if (facts.mem && !facts.mem.accepted) {
    note(["slurm", "skipDirectives"], `sbatch --test-only --partition=${testPartition(facts)} --mem=100M: ${oneLine(facts.mem.said)}`);
  }
  note(["slurm", "partitions"], `sinfo -h -o "${SINFO_FORMAT}": partition, MaxTime, DefaultTime, CPUs, memory (MB), GRES, state`);
  facts.partitions.forEach((p, i) => {
    note(["slurm", "partitions", i, "maxTime"], `sinfo %l${p.defaultTime ? `; DefaultTime ${p.defaultTime} (%L)` : ""}`);
    const nodes = p.nodes.map((n) => `${n.cpus} CPUs, ${n.memoryMb} MB, GRES ${n.gres}`).join("; ");
    note(["slurm", "partitions", i], `${p.name}: nodes with ${nodes}${p.available ? "" : " (partition not up)"}`);
  });
  if (profile.environment?.modules?.length)
    note(["environment", "modules"], "the runtime is a module (module -t avail), loaded in every job");
  const refused = accountRefusal(facts);
  if (refused) note(["slurm", "account"], `sbatch --test-only: ${oneLine(refused)}`);
  note(["container", "runtime"], `found on the login node: ${found}`);
  note(["jupyter", "command"], "jupyter server also serves JupyterLab where the image has it; jupyter lab needs JupyterLab in every image");
  note(["jupyter", "time"], "at most the default partition's MaxTime");
  note(["defaults", "time"], "the default partition's DefaultTime, else 1 hour, at most its MaxTime");
  note(["defaults", "cpusPerGpu"], "CPUs per GPU of the GPU nodes (sinfo %c, %G), at most 8");
  for (const [path, comment] of extra.notes ?? []) note(path, comment);
  return doc.toString({ lineWidth: 0 });
}
