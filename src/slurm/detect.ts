/**
 * What a Slurm cluster is, read from the text its own commands print: one
 * probe script run once on the login node (sections marked by a line hpcjob
 * prints), then one script of `sbatch --test-only` requests built from what
 * the first found. Pure: the scripts are data, the parsers take their text,
 * and `ClusterFacts` is the value that detect (and later init and doctor)
 * builds a profile from. Text formats only: `--json` shapes change between
 * Slurm versions, `sinfo -o` and `scontrol show config` have not.
 */

import { quote } from "../core/quote.js";
import { formatSlurmTime, isName, parseSlurmTime } from "../core/values.js";
import { parseShowConfig } from "./config.js";

/** The container runtimes hpcjob can run, in the order detect prefers them. */
export const RUNTIME_PREFERENCE = ["apptainer", "singularity", "pyxis", "enroot", "charliecloud"] as const;
/** One of them. */
export type DetectedRuntimeName = (typeof RUNTIME_PREFERENCE)[number];

/** How the cluster asks for GPUs, in the order detect prefers them (the per-node count is what a profile states). */
export const GPU_FORMS = ["gpus-per-node", "gres", "gpus"] as const;
/** One of them: the profile's slurm.gpuDirective. */
export type GpuForm = (typeof GPU_FORMS)[number];

/** One GPU model on a node and how many the node has. */
export interface NodeGpu {
  /** The GRES type (A40); undefined when the site names none (`gpu:4`). */
  type?: string;
  count: number;
}

/** A group of identical nodes of a partition, as one `sinfo -o` line gives it. */
export interface NodeGroup {
  cpus: number;
  /** RealMemory of a node, in MB. */
  memoryMb: number;
  gpus: NodeGpu[];
  /** The GRES as sinfo printed it, for the profile's comments. */
  gres: string;
}

/** One partition the user may submit to. */
export interface DetectedPartition {
  name: string;
  isDefault: boolean;
  /** MaxTime as a Slurm time ("UNLIMITED" for infinite). */
  maxTime: string;
  /** DefaultTime, undefined when the partition has none (sinfo's "n/a"). */
  defaultTime?: string;
  available: boolean;
  nodes: NodeGroup[];
}

/** A container runtime found on the login node, and how. */
export interface FoundRuntime {
  name: DetectedRuntimeName;
  /** "path": the program is on PATH; "module": `module -t avail` lists it; "srun": srun --help has --container-image. */
  via: "path" | "module" | "srun";
  /** The program's path and version line, the module's name, or srun's help line. */
  detail: string;
}

/** What one `sbatch --test-only` said about a request. */
export interface TestOnly {
  accepted: boolean;
  /** sbatch's own words (stderr). */
  said: string;
}

/** What the cluster is: everything detect read, before any choice is made from it. */
export interface ClusterFacts {
  slurmVersion?: string;
  clusterName?: string;
  /** `hostname -f` on the login node. */
  loginHost?: string;
  partitions: DetectedPartition[];
  maxArraySize?: number;
  preemptType?: string;
  preemptMode?: string;
  /** JobRequeue: true when batch jobs are requeued by default. */
  jobRequeue?: boolean;
  runtimes: FoundRuntime[];
  /** The partition and GPU type the GPU forms were tried with; undefined when no partition has GPUs. */
  gpuProbe?: { partition: string; type?: string };
  /** Each GPU form tried, by form. */
  gpuForms: Partial<Record<GpuForm, TestOnly>>;
  /** `--mem` tried with test-only; undefined when it was not tried. */
  mem?: TestOnly;
}

/** The line that starts a section of the probe's output, then its name. */
const SECTION = "@@hpcjob-detect";
/** The line that ends one, then its exit status. */
const SECTION_END = "@@hpcjob-detect-exit";

/** The sinfo format: one line per partition and node kind, `|` between fields (no field can hold one). */
export const SINFO_FORMAT = "%P|%l|%L|%c|%m|%G|%a";

/** The tools found on PATH, the runtime each means, and how it says its version (enroot has a subcommand). */
const TOOLS: [string, DetectedRuntimeName, string][] = [
  ["apptainer", "apptainer", "--version"],
  ["singularity", "singularity", "--version"],
  ["enroot", "enroot", "version"],
  ["ch-run", "charliecloud", "--version"],
];

/** A shell line that prints `name`'s section: its marker, the command's output (stderr too) and its exit status. */
export function section(name: string, command: string): string {
  return `printf '\\n%s %s\\n' ${SECTION} ${quote(name)}; { ${command}; } 2>&1; printf '\\n%s %s\\n' ${SECTION_END} "$?"`;
}

/**
 * The first round trip: one bash script that prints every fact in sections.
 * `module` is a shell function only a login shell defines, hence bash -lc;
 * Lmod writes `module -t avail` to stderr.
 */
export function probeScript(): string {
  return [
    section("config", "scontrol show config"),
    section("sinfo", `sinfo -h -o ${quote(SINFO_FORMAT)}`),
    section("hostname", "hostname -f || hostname"),
    ...TOOLS.map(([tool, , version]) => section(`path ${tool}`, `command -v ${tool} && ${tool} ${version} | head -n 1`)),
    section("srun", "srun --help | grep -e --container-image"),
    section(
      "modules",
      `timeout 60 bash -lc 'module -t avail' 2>&1 | grep -iE '^(apptainer|singularity|enroot|charliecloud|pyxis)([/@(-]|$)'`,
    ),
  ].join("\n");
}

/** One section of the probe's output: what it printed and its exit status. */
export interface Section {
  text: string;
  code: number;
}

/** The probe's output by section name. */
export function parseSections(stdout: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let name: string | undefined;
  let lines: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (line.startsWith(`${SECTION_END} `) && name !== undefined) {
      // The marker's leading "\n" adds an empty line after output that ended in a newline.
      if (lines.at(-1) === "") lines.pop();
      sections.set(name, { text: lines.join("\n"), code: Number(line.slice(SECTION_END.length + 1)) });
      name = undefined;
    } else if (line.startsWith(`${SECTION} `)) {
      name = line.slice(SECTION.length + 1);
      lines = [];
    } else if (name !== undefined) {
      lines.push(line);
    }
  }
  return sections;
}

/** A time from sinfo (`2-00:00:00`, `1:00:00`, `infinite`) as a Slurm time, or undefined for "n/a" and anything unreadable. */
export function sinfoTime(text: string): string | undefined {
  const t = text.trim();
  if (/^(infinite|unlimited)$/i.test(t)) return "UNLIMITED";
  try {
    return formatSlurmTime(parseSlurmTime(t, undefined));
  } catch {
    return undefined;
  }
}

/** Split at commas outside parentheses: `gpu:a100:4(S:0,1),gpu:t4:1`. */
function topLevelItems(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth = Math.max(0, depth - 1);
    else if (c === "," && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items.map((s) => s.trim()).filter(Boolean);
}

/**
 * The GPUs in a node's GRES as sinfo prints it: `gpu:A40:2,gpu:T4:1`,
 * `gpu:a100:4(S:0-1)`, `gpu:4`, `(null)`. Other GRES (shard, mps) are not GPUs.
 */
export function parseGres(gres: string): NodeGpu[] {
  const gpus: NodeGpu[] = [];
  for (const item of topLevelItems(gres.trim() === "(null)" ? "" : gres)) {
    const parts = item.replace(/\(.*\)$/, "").split(":");
    if (parts[0] !== "gpu") continue;
    const last = parts.at(-1) ?? "";
    const count = /^\d+$/.test(last) ? Number(last) : 1;
    const type = parts.length >= 3 || (parts.length === 2 && !/^\d+$/.test(last)) ? parts[1] : undefined;
    if (count > 0) gpus.push({ type, count });
  }
  return gpus;
}

/** A number from sinfo that may end in "+" (nodes of a group differ: the smallest is shown). */
function sinfoNumber(text: string): number {
  const n = Number.parseInt(text, 10);
  return Number.isFinite(n) ? n : 0;
}

/** The partitions in `sinfo -h -o SINFO_FORMAT` output, in sinfo's order, each with its kinds of nodes. */
export function parseSinfo(stdout: string): DetectedPartition[] {
  const byName = new Map<string, DetectedPartition>();
  for (const line of stdout.split(/\r?\n/)) {
    const f = line.trim().split("|");
    if (f.length !== 7) continue;
    const [rawName = "", max = "", def = "", cpus = "", mem = "", gres = "", avail = ""] = f;
    const isDefault = rawName.endsWith("*");
    const name = isDefault ? rawName.slice(0, -1) : rawName;
    if (!name) continue;
    const p = byName.get(name) ?? {
      name,
      isDefault,
      maxTime: sinfoTime(max) ?? "UNLIMITED",
      defaultTime: sinfoTime(def),
      available: avail === "up",
      nodes: [],
    };
    byName.set(name, p);
    p.nodes.push({ cpus: sinfoNumber(cpus), memoryMb: sinfoNumber(mem), gpus: parseGres(gres), gres });
  }
  return [...byName.values()];
}

/** The runtimes on the login node: on PATH, in srun's help (pyxis), or as modules; in RUNTIME_PREFERENCE order. */
export function parseRuntimes(sections: Map<string, Section>): FoundRuntime[] {
  const found: FoundRuntime[] = [];
  for (const [tool, name] of TOOLS) {
    const s = sections.get(`path ${tool}`);
    if (s?.code === 0 && s.text.trim()) found.push({ name, via: "path", detail: s.text.trim().split("\n").join(", ") });
  }
  const srun = sections.get("srun");
  if (srun?.code === 0 && srun.text.includes("--container-image")) {
    found.push({ name: "pyxis", via: "srun", detail: srun.text.trim().split("\n")[0] ?? "" });
  }
  for (const line of (sections.get("modules")?.text ?? "").split("\n")) {
    const module = line.trim();
    const m = /^(apptainer|singularity|enroot|charliecloud|pyxis)/i.exec(module);
    const name = m?.[1]?.toLowerCase() as DetectedRuntimeName | undefined;
    if (name && !found.some((r) => r.name === name)) found.push({ name, via: "module", detail: module });
  }
  return found.sort((a, b) => RUNTIME_PREFERENCE.indexOf(a.name) - RUNTIME_PREFERENCE.indexOf(b.name));
}

/** What the probe's sinfo and scontrol printed when they failed: the evidence when no partition was found. */
export function probeFailures(stdout: string): string[] {
  const sections = parseSections(stdout);
  return ["sinfo", "config"].flatMap((name) => {
    const s = sections.get(name);
    return s && s.code !== 0
      ? s.text
          .split("\n")
          .filter(Boolean)
          .map((line) => `${name === "config" ? "scontrol" : name}: ${line}`)
      : [];
  });
}

/** The facts of the probe's output (the GPU forms and --mem come later, from testOnlyScript's). */
export function parseProbe(stdout: string): ClusterFacts {
  const sections = parseSections(stdout);
  const config = parseShowConfig(sections.get("config")?.text ?? "");
  const maxArray = Number(config.get("MaxArraySize"));
  const host = sections.get("hostname");
  const partitions = parseSinfo(sections.get("sinfo")?.text ?? "");
  return {
    slurmVersion: config.get("SLURM_VERSION"),
    clusterName: config.get("ClusterName"),
    loginHost: host?.code === 0 ? host.text.trim().split("\n")[0] || undefined : undefined,
    partitions,
    maxArraySize: Number.isInteger(maxArray) && maxArray > 0 ? maxArray : undefined,
    preemptType: config.get("PreemptType"),
    preemptMode: config.get("PreemptMode"),
    jobRequeue: config.has("JobRequeue") ? config.get("JobRequeue") === "1" : undefined,
    runtimes: parseRuntimes(sections),
    gpuProbe: gpuProbeTarget(partitions),
    gpuForms: {},
  };
}

/** The partition to try GPU requests in: the default one when it has GPUs, else the first that has. */
export function gpuProbeTarget(partitions: DetectedPartition[]): { partition: string; type?: string } | undefined {
  const withGpus = partitions.filter((p) => p.nodes.some((n) => n.gpus.length > 0));
  const p = withGpus.find((q) => q.isDefault) ?? withGpus[0];
  if (!p) return undefined;
  const type = p.nodes.flatMap((n) => n.gpus).find((g) => g.type !== undefined)?.type;
  return { partition: p.name, type };
}

/** The sbatch option of one GPU form for one GPU (of `type` when the site names types). */
export function gpuOption(form: GpuForm, type: string | undefined): string {
  const n = type ? `${type}:1` : "1";
  return form === "gres" ? `--gres=gpu:${n}` : `--${form}=${n}`;
}

/** The partition the requests of testOnlyScript go to: the GPU one, else the default, else the first. */
export function testPartition(facts: ClusterFacts): string | undefined {
  return facts.gpuProbe?.partition ?? (facts.partitions.find((p) => p.isDefault) ?? facts.partitions[0])?.name;
}

/**
 * The second round trip: `sbatch --test-only` (checks a request, submits
 * nothing) of one GPU in each form, and of --mem, in sections named
 * `gpu FORM` and `mem`, charged to `account` when given (a site that
 * requires one refuses every request without it). The cluster's names reach
 * the shell through quote().
 */
export function testOnlyScript(facts: ClusterFacts, account?: string): string | undefined {
  const partition = testPartition(facts);
  if (partition === undefined) return undefined;
  const base = testOnlyBase(partition, account);
  const lines: string[] = [];
  if (facts.gpuProbe) {
    for (const form of GPU_FORMS) lines.push(section(`gpu ${form}`, `${base} ${quote(gpuOption(form, facts.gpuProbe.type))} --wrap=true`));
  }
  lines.push(section("mem", `${base} --mem=100M --wrap=true`));
  return lines.join("\n");
}

/** `sbatch --test-only` of a one-minute job in `partition` (charged to `account` when given), before its own options. */
function testOnlyBase(partition: string, account: string | undefined): string {
  const charged = account === undefined ? "" : ` --account=${quote(account)}`;
  return `sbatch --test-only --partition=${quote(partition)}${charged} --time=1 --job-name=hpcjob-detect --output=/dev/null`;
}

/** One test-only section: accepted when sbatch exited 0 and said when the job would start. */
function testOnly(s: Section | undefined): TestOnly | undefined {
  if (!s) return undefined;
  return { accepted: s.code === 0, said: s.text.trim().split("\n").filter(Boolean).join(" ") };
}

/** The facts with the answers of testOnlyScript's output added. */
export function withTestOnly(facts: ClusterFacts, stdout: string): ClusterFacts {
  const sections = parseSections(stdout);
  const gpuForms: ClusterFacts["gpuForms"] = {};
  for (const form of GPU_FORMS) {
    const t = testOnly(sections.get(`gpu ${form}`));
    if (t) gpuForms[form] = t;
  }
  return { ...facts, gpuForms, mem: testOnly(sections.get("mem")) };
}

/** True when a GPU type can be a profile's GPU type name. */
export function isGpuTypeName(type: string): boolean {
  return isName(type);
}

/** What doctor asks the login node besides detect's questions (all in the second round trip). */
export interface DoctorAsks {
  /** The account to try with test-only (in `partition`), and whose associations to list. */
  account?: string;
  /** The partition the account is tried in: the profile's default when the cluster has it. */
  partition: string;
  /** The image folder, absolute: its nearest existing folder gets a write test and df. */
  imageDir: string;
}

/** What the login node said to doctor's questions. */
export interface DoctorAnswers {
  /** sbatch --test-only --account; undefined when no account was tried. */
  account?: TestOnly;
  /** The image folder: the folder tested (itself, or its nearest existing parent), whether a file could be made there, and the space left. */
  imageDir?: { tested: string; writable: boolean; said: string; availableKb?: number };
}

/**
 * Doctor's sections, run after testOnlyScript's in the same round trip:
 * the account tried with test-only and the image folder's write test (a
 * file made with mktemp and removed at once) and df. The user's accounts are
 * accounts.ts's sections, run in the same round trip.
 */
export function doctorScript(asks: DoctorAsks): string {
  const lines: string[] = [];
  if (asks.account !== undefined) lines.push(section("account", `${testOnlyBase(asks.partition, asks.account)} --wrap=true`));
  // The folder may not exist yet (conversions make it): test the nearest folder that does.
  const dir = quote(asks.imageDir);
  lines.push(
    section(
      "imagedir",
      `d=${dir}; while [ ! -d "$d" ]; do d=$(dirname -- "$d"); done; echo "$d"; f=$(mktemp "$d/.hpcjob-doctor.XXXXXX") && rm -f -- "$f" && echo writable; df -Pk -- "$d" | tail -n 1`,
    ),
  );
  return lines.join("\n");
}

/** The answers in doctorScript's output. */
export function parseDoctor(stdout: string): DoctorAnswers {
  const sections = parseSections(stdout);
  const dir = sections.get("imagedir");
  const [tested = "", ...rest] = (dir?.text ?? "").split("\n");
  const dfLine = rest.find((l) => /^\S+\s+\d+\s+\d+\s+\d+\s+\d+%/.test(l));
  const available = dfLine?.split(/\s+/)[3];
  return {
    account: testOnly(sections.get("account")),
    imageDir: dir
      ? {
          tested,
          writable: rest.includes("writable"),
          said: rest
            .filter((l) => l !== "writable" && l !== dfLine)
            .join(" ")
            .trim(),
          availableKb: available === undefined ? undefined : Number(available),
        }
      : undefined,
  };
}

/** How a runtime's program says its version (what `--job` runs on a compute node); pyxis runs images with enroot. */
export function versionCommand(runtime: string): string | undefined {
  if (runtime === "pyxis") return "enroot version";
  const tool = TOOLS.find(([, name]) => name === runtime);
  return tool ? `${tool[0]} ${tool[2]}` : undefined;
}
