/**
 * What `clusters doctor` makes of a profile beside the live cluster: one
 * pure function from the profile, detect's ClusterFacts and doctor's own
 * answers (slurm/detect.ts) to a list of checks, each passed or failed with
 * the fix. The command only gathers; every judgement is made here.
 */
import { parseSlurmTime } from "../core/values.js";
import type { UserAccounts } from "../slurm/accounts.js";
import { type ClusterFacts, type DetectedPartition, GPU_FORMS, gpuOption, type DoctorAnswers as LoginAnswers } from "../slurm/detect.js";
import type { Profile } from "./schema.js";

/** What the login node said: doctor's own sections, and the user's accounts (sacctmgr) or why they could not be read. */
export type DoctorAnswers = LoginAnswers & { associations: UserAccounts };

/** What a check is about (the first word of its line). */
export type CheckKind = "partition" | "gpu" | "time" | "gpu-form" | "mem" | "runtime" | "image-dir" | "account" | "job";

/** One check: what was compared, whether it holds, and when not, how to fix it. */
export interface Finding {
  kind: CheckKind;
  ok: boolean;
  /** What was found, in a sentence. */
  text: string;
  /** What to change, when it does not hold. */
  fix?: string;
}

/** The space an image folder should have left: a converted image is a few GB. */
export const IMAGE_ROOM_KB = 5 * 1024 * 1024;

/** What doctor was told besides the facts: the account it tried (from config.yaml or the profile). */
export interface DoctorContext {
  account?: string;
}

/** A finding that holds. */
function pass(kind: CheckKind, text: string): Finding {
  return { kind, ok: true, text };
}

/** A finding that does not, with its fix. */
function fail(kind: CheckKind, text: string, fix: string): Finding {
  return { kind, ok: false, text, fix };
}

/** Seconds of a Slurm time; UNLIMITED is infinite. */
function seconds(time: string): number {
  return parseSlurmTime(time, undefined);
}

/** Each GPU type of a live partition with the most any of its nodes has. */
function liveGpus(p: DetectedPartition): Map<string, number> {
  const most = new Map<string, number>();
  for (const g of p.nodes.flatMap((n) => n.gpus)) most.set(g.type ?? "gpu", Math.max(most.get(g.type ?? "gpu") ?? 0, g.count));
  return most;
}

/** "A40 x2, T4 x1", or "no GPUs". */
function gpuList(gpus: Map<string, number>): string {
  return [...gpus].map(([t, n]) => `${t} x${n}`).join(", ") || "no GPUs";
}

/** The partitions the profile names (its default, each listed one, the conversion partition) checked against the cluster's. */
function partitionFindings(profile: Profile, live: Map<string, DetectedPartition>): Finding[] {
  const names = [...live.keys()].join(", ");
  const out: Finding[] = [];
  const one = (name: string, key: string) => {
    if (live.has(name)) out.push(pass("partition", `${key} ${name} exists`));
    else out.push(fail("partition", `${key} names partition ${name}, which the cluster does not have`, `use one of: ${names}`));
  };
  one(profile.slurm.partition, "slurm.partition");
  profile.slurm.partitions.forEach((p, i) => {
    // The default partition is listed too (a rule of profiles): said once, above.
    if (live.has(p.name) || p.name === profile.slurm.partition) return;
    out.push(
      fail(
        "partition",
        `slurm.partitions[${i}] lists partition ${p.name}, which the cluster does not have`,
        `remove it, or rename it to one of: ${names}`,
      ),
    );
  });
  if (profile.container.convertPartition !== undefined) one(profile.container.convertPartition, "container.convertPartition");
  return out;
}

/** Each profile partition's GPUs and time limit against what the cluster's partition of that name has. */
function partitionDetailFindings(profile: Profile, live: Map<string, DetectedPartition>): Finding[] {
  const out: Finding[] = [];
  profile.slurm.partitions.forEach((p, i) => {
    const l = live.get(p.name);
    if (!l) return;
    const has = liveGpus(l);
    const wrong: string[] = [];
    const fixes: string[] = [];
    p.gpus.forEach((g, j) => {
      const n = has.get(g.type);
      if (n === undefined) {
        wrong.push(`type ${g.type}, which its nodes do not have`);
        fixes.push(`slurm.partitions[${i}].gpus[${j}].type: one of ${[...has.keys()].join(", ") || "(none: remove the entry)"}`);
      } else if (n !== g.perNode) {
        wrong.push(`${g.perNode} ${g.type} per node, where its nodes have ${n}`);
        fixes.push(`slurm.partitions[${i}].gpus[${j}].perNode: ${n}`);
      }
    });
    if (wrong.length > 0) {
      out.push(fail("gpu", `partition ${p.name} lists ${wrong.join("; ")} (sinfo: ${gpuList(has)})`, fixes.join("; ")));
    } else if (p.gpus.length > 0) {
      out.push(pass("gpu", `partition ${p.name}: ${p.gpus.map((g) => `${g.type} x${g.perNode}`).join(", ")} as its nodes have`));
    }
    if (seconds(p.maxTime) > seconds(l.maxTime)) {
      out.push(
        fail(
          "time",
          `partition ${p.name}'s maxTime ${p.maxTime} is above the cluster's MaxTime ${l.maxTime}`,
          `slurm.partitions[${i}].maxTime: ${l.maxTime}`,
        ),
      );
    }
  });
  return out;
}

/** The profile's job and Jupyter times against the default partition's MaxTime (Slurm refuses a longer job there). */
function timeFindings(profile: Profile, live: Map<string, DetectedPartition>): Finding[] {
  const def = live.get(profile.slurm.partition);
  if (!def) return [];
  const out: Finding[] = [];
  for (const [key, time] of [
    ["defaults.time", profile.defaults.time],
    ["jupyter.time", profile.jupyter.time],
  ] as const) {
    if (seconds(time) > seconds(def.maxTime)) {
      out.push(
        fail(
          "time",
          `${key} ${time} is above partition ${def.name}'s MaxTime ${def.maxTime}: Slurm keeps such a job pending forever`,
          `${key}: ${def.maxTime}`,
        ),
      );
    } else {
      out.push(pass("time", `${key} ${time} is within partition ${def.name}'s MaxTime ${def.maxTime}`));
    }
  }
  return out;
}

/** The profile's GPU form and --mem against what sbatch --test-only accepted. */
function formFindings(profile: Profile, facts: ClusterFacts): Finding[] {
  const out: Finding[] = [];
  const form = profile.slurm.gpuDirective;
  const tried = facts.gpuForms[form];
  const where = facts.gpuProbe
    ? ` (sbatch --test-only --partition=${facts.gpuProbe.partition} ${gpuOption(form, facts.gpuProbe.type)})`
    : "";
  if (tried?.accepted) out.push(pass("gpu-form", `slurm.gpuDirective ${form} is accepted${where}`));
  else if (tried) {
    const accepted = GPU_FORMS.filter((f) => facts.gpuForms[f]?.accepted);
    out.push(
      fail(
        "gpu-form",
        `slurm.gpuDirective ${form} is refused${where}: ${tried.said}`,
        accepted.length > 0 ? `slurm.gpuDirective: ${accepted[0]}` : "no GPU form was accepted: ask your site how to request GPUs",
      ),
    );
  }
  if (facts.mem && !facts.mem.accepted && !profile.slurm.skipDirectives.includes("mem")) {
    out.push(fail("mem", `sbatch --test-only refuses --mem: ${facts.mem.said}`, 'slurm.skipDirectives: ["mem"]'));
  }
  return out;
}

/** The profile's runtime against what the login node has (on PATH, as a module, pyxis in srun). */
function runtimeFindings(profile: Profile, facts: ClusterFacts): Finding[] {
  const runtime = profile.container.runtime;
  if (runtime === "none") return [];
  const found = facts.runtimes.find((r) => r.name === runtime);
  if (found) return [pass("runtime", `container.runtime ${runtime} is on the login node (${found.via}: ${found.detail})`)];
  const others = facts.runtimes.map((r) => r.name);
  return [
    fail(
      "runtime",
      `container.runtime ${runtime} is not on the login node (not on PATH, not a module${runtime === "pyxis" ? ", not in srun --help" : ""})`,
      others.length > 0
        ? `container.runtime: ${others[0]} (found: ${others.join(", ")})`
        : "ask your site which container runtime it offers",
    ),
  ];
}

/** The image folder: a file can be made there, and it has room for an image. */
function imageDirFindings(profile: Profile, answers: DoctorAnswers): Finding[] {
  const d = answers.imageDir;
  if (!d) return [];
  const fix = "set container.imageDir to a folder you can write with room for images (project or group storage)";
  const at = d.tested === "" ? profile.container.imageDir : d.tested;
  if (!d.writable)
    return [
      fail("image-dir", `container.imageDir ${profile.container.imageDir}: cannot write in ${at}${d.said ? ` (${d.said})` : ""}`, fix),
    ];
  if (d.availableKb !== undefined && d.availableKb < IMAGE_ROOM_KB) {
    return [
      fail(
        "image-dir",
        `container.imageDir ${profile.container.imageDir}: ${at} has only ${Math.floor(d.availableKb / 1024)} MB free (df)`,
        fix,
      ),
    ];
  }
  const room = d.availableKb === undefined ? "" : `, ${Math.floor(d.availableKb / 1024 / 1024)} GB free`;
  return [pass("image-dir", `container.imageDir ${profile.container.imageDir}: writable${room}`)];
}

/** The account: accepted by sbatch --test-only, else the user's own accounts as the fix. */
function accountFindings(profile: Profile, answers: DoctorAnswers, context: DoctorContext): Finding[] {
  const assoc = answers.associations;
  const yours =
    "accounts" in assoc ? `yours: ${assoc.accounts.join(", ") || "none"}` : `your accounts could not be read (${assoc.problem})`;
  if (context.account === undefined) {
    if (!profile.slurm.account.required) return [];
    const hint = profile.slurm.account.hint ? ` (${profile.slurm.account.hint})` : "";
    return [
      fail("account", `the cluster needs an account and none is set${hint}; ${yours}`, "set account: in ~/.config/hpcjob/config.yaml"),
    ];
  }
  const t = answers.account;
  if (!t) return [];
  if (t.accepted) return [pass("account", `account ${context.account} is accepted (sbatch --test-only)`)];
  const member = "accounts" in assoc ? assoc.accounts.includes(context.account) : undefined;
  const why = member === false ? "you are not in it" : `sbatch refused it: ${t.said}`;
  return [
    fail(
      "account",
      `account ${context.account}: ${why}; ${yours}`,
      "accounts" in assoc && assoc.accounts.length > 0
        ? `set account: ${assoc.accounts[0]} (one of yours) in ~/.config/hpcjob/config.yaml or the profile's slurm.account.default`
        : "ask your site which account to use",
    ),
  ];
}

/** Every check of the profile against the cluster, in the order they are printed. */
export function doctorFindings(profile: Profile, facts: ClusterFacts, answers: DoctorAnswers, context: DoctorContext = {}): Finding[] {
  const live = new Map(facts.partitions.map((p) => [p.name, p]));
  return [
    ...partitionFindings(profile, live),
    ...partitionDetailFindings(profile, live),
    ...timeFindings(profile, live),
    // sbatch refuses every request charged to an account the user is not in: the GPU form and --mem are then unknown, not wrong.
    ...(answers.account?.accepted === false ? [] : formFindings(profile, facts)),
    ...runtimeFindings(profile, facts),
    ...imageDirFindings(profile, answers),
    ...accountFindings(profile, answers, context),
  ];
}
