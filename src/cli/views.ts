/**
 * How each command's result reads as text. Commands return data (which
 * --json prints as it is, or as `json` below shapes it); these turn the same
 * data into what a person reads. Types only are imported from commands/, so
 * this costs nothing until a command has run.
 */
import type { BatchResult } from "../commands/batch.js";
import type { ClusterRow, ShownProfile, Validated, ValidProfile } from "../commands/clusters.js";
import type { JupyterConnection } from "../commands/connect.js";
import type { Detected } from "../commands/detect.js";
import type { Doctored } from "../commands/doctor.js";
import type { Converted } from "../commands/imageConvert.js";
import type { ImageDef } from "../commands/imageDef.js";
import type { ImageList, ImagesRemoved } from "../commands/images.js";
import type { Initialized } from "../commands/init.js";
import type { Cancelled, JobRow } from "../commands/jobs.js";
import type { HeldTunnel, JupyterResult } from "../commands/jupyter.js";
import type { Installed } from "../commands/remote.js";
import type { RerunResult, ShownRun } from "../commands/runs.js";
import { quote } from "../core/quote.js";
import { formatBind } from "../core/values.js";
import type { ImageFile } from "../image/folder.js";
import type { LoadedProfile } from "../profile/load.js";
import type { RunRecord } from "../runs/record.js";

/** Fixed-width columns for a small table; the last column runs free. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")).join("\n");
}

/** A dry run's script as it is, or the view of the real result. */
function scriptOr<T extends object>(view: (data: T) => string | undefined) {
  return (data: { script: string } | T): string | undefined => ("script" in data ? data.script : view(data as T));
}

/** The tunnel, the URL and how to stop: what `jupyter` and `attach` print. */
export function connectionText(c: JupyterConnection): string {
  return [
    `Jupyter is running on ${c.node} (job ${c.jobId} on ${c.cluster}; files in ${c.runDir}).`,
    "On your computer, open the tunnel:",
    `  ${c.tunnel}`,
    "then open:",
    `  ${c.url}`,
    `Stop it with: hpcjob cancel ${c.jobId}`,
  ].join("\n");
}

/** `jupyter`: the script of a dry run, or the connection. */
export const jupyterText = scriptOr<JupyterConnection>(connectionText);

/** `jupyter --tunnel`: the local URL of the tunnel hpcjob holds. */
export function heldTunnelText(t: HeldTunnel): string {
  return `Jupyter is running on ${t.node} (job ${t.jobId}); hpcjob holds the tunnel. Open:\n  ${t.url}\nCtrl-C closes the tunnel and ${t.keep ? "leaves the job running" : "cancels the job"}.`;
}

/** `jupyter --tunnel --json`: the connection through the local port (what it prints, without `keep`). */
export function heldTunnelJson({ keep: _keep, ...t }: HeldTunnel): unknown {
  return t;
}

/** `jupyter`'s result as text: the held tunnel (shown while it runs) or the connection. */
export function jupyterResultText(data: JupyterResult | HeldTunnel): string | undefined {
  return "localPort" in data ? heldTunnelText(data) : jupyterText(data);
}

/** `jupyter --json`: the connection, or the held tunnel without its text-only field. */
export function jupyterResultJson(data: JupyterResult | HeldTunnel): unknown {
  if ("script" in data) return undefined;
  return "localPort" in data ? heldTunnelJson(data) : data;
}

/** `batch`: the script of a dry run, or the submitted job and how to follow it (nothing after --follow: the log was the output). */
export const batchText = scriptOr<Exclude<BatchResult, { script: string }>>((j) =>
  j.arrays
    ? sweepText(j.points ?? 0, j.arrays, j.runDir)
    : j.state === undefined
      ? `submitted job ${j.jobId}\n  run directory: ${j.runDir}\n  log: ${j.log}\nFollow it with: hpcjob logs -f ${j.jobId}`
      : undefined,
);

/** A submitted sweep: its arrays and which points each runs, where the table and logs are. */
function sweepText(points: number, arrays: { jobId: string; offset: number; count: number }[], runDir: string): string {
  const rows = arrays.map((a) => `  array ${a.jobId}: points ${a.offset}-${a.offset + a.count - 1} (tasks 0-${a.count - 1})`);
  return [
    `submitted a sweep of ${points} points as ${arrays.length} job ${arrays.length === 1 ? "array" : "arrays"}`,
    ...rows,
    `  run directory: ${runDir} (points.jsonl: the table; arrays.json: the arrays)`,
    `  logs: ${runDir}/logs/ARRAYJOB_TASK.log`,
  ].join("\n");
}

/** `batch --json`: nothing for a dry run (its script is printed), else the job. */
export function batchJson(data: BatchResult): unknown {
  return "script" in data ? undefined : data;
}

/** `ps`: a table of the jobs, or that there are none. */
export function jobsText(jobs: JobRow[]): string {
  if (jobs.length === 0) return "no hpcjob jobs";
  const rows = jobs.map((j) => [j.jobId, j.name, j.state, j.time, j.where, j.runDir ?? "-"]);
  return table([["JOBID", "NAME", "STATE", "TIME", "NODE", "RUN DIRECTORY"], ...rows]);
}

/** `cancel`. */
export function cancelledText(c: Cancelled): string {
  return `cancelled job ${c.jobId} (${c.runDir})`;
}

/** A field of `show`: its label, padded, then the value. */
const field = (label: string, value: string) => `  ${`${label}:`.padEnd(11)} ${value}`;

/** `show`: a run's manifest as a person reads it, each field on one line. */
export function runText({ runDir, jobId, image, record }: ShownRun): string {
  const r = record.request;
  const gpus = r.gpus.count === 0 ? "none" : `${r.gpus.type ? `${r.gpus.type}:` : ""}${r.gpus.count}`;
  const resources = [`partition ${r.partition}`, `GPUs ${gpus}`, `CPUs ${r.cpus}`, `memory ${r.mem ?? "site default"}`, `time ${r.time}`];
  if (r.account) resources.splice(1, 0, `account ${r.account}`);
  const g = record.git;
  const lines = [
    `${r.kind} run ${r.name}${jobId ? ` (job ${jobId})` : " (never submitted)"} on ${r.cluster}`,
    field("directory", runDir),
    field("submitted", `${record.submittedAt} by ${record.hpcjob}`),
    field("command", r.command.map(quote).join(" ")),
    field("workdir", r.workdir),
    field("image", r.image ?? "(none: the runtime runs the command on the node)"),
  ];
  if (image) lines.push(field("from", `${image}${r.imageDigest ? ` at ${r.imageDigest}` : ""}`));
  lines.push(field("resources", resources.join(", ")));
  if (r.binds.length) lines.push(field("binds", r.binds.map(formatBind).join(" ")));
  const env = Object.entries(r.env);
  if (env.length) lines.push(field("env", env.map(([k, v]) => `${k}=${quote(v)}`).join(" ")));
  if (r.directives.length)
    lines.push(field("sbatch", r.directives.map((d) => (d.value === undefined ? `--${d.key}` : `--${d.key}=${d.value}`)).join(" ")));
  lines.push(field("profile", `${r.profileFile} (${r.profile.container.runtime}; sha256 ${record.profileSha256.slice(0, 16)})`));
  if (!g) lines.push(field("git", "(the workdir was no git repository)"));
  else {
    const where = [g.branch && `branch ${g.branch}`, g.remote && `remote ${g.remote}`].filter(Boolean).join(", ");
    lines.push(field("git", `commit ${g.commit}${where ? ` (${where})` : ""}`));
    if (g.dirty) {
      const diff = g.diff ? `uncommitted changes in ${runDir}/${g.diff}` : "uncommitted changes (not saved)";
      const untracked = g.untracked?.length ? `; untracked, not in the diff: ${g.untracked.map(quote).join(" ")}` : "";
      lines.push(field("changes", `${diff}${untracked}`));
    } else lines.push(field("changes", "none: the commit is the code"));
  }
  if (record.rerunOf) lines.push(field("rerun of", record.rerunOf));
  lines.push(`Submit it again: hpcjob rerun ${jobId ?? runDir}`);
  return lines.join("\n");
}

/** `show --json`: request.json, the run's whole record. */
export function runJson(shown: ShownRun): RunRecord {
  return shown.record;
}

/** `rerun`: the script of a dry run, or the new job and the run it repeats. */
export const rerunText = scriptOr<Exclude<RerunResult, { script: string }>>((j) =>
  [
    `submitted ${j.rerunOf} again as job ${j.jobId}`,
    `  run directory: ${j.runDir}`,
    `  log: ${j.log}`,
    j.kind === "jupyter" ? `Reach Jupyter with: hpcjob attach ${j.jobId}` : `Follow it with: hpcjob logs -f ${j.jobId}`,
  ].join("\n"),
);

/** `rerun --json`: nothing for a dry run (its script is printed), else the job. */
export function rerunJson(data: RerunResult): unknown {
  return "script" in data ? undefined : data;
}

/** `remote install`: what was done, and how to put the folder on PATH when it is not. */
export function installedText(r: Installed): string {
  if (r.modeFixed) return `${r.path} is already this hpcjob; made it executable (mode 0755), nothing copied`;
  if (!r.installed) return `${r.path} is already this hpcjob (sha256 ${r.sha256.slice(0, 16)}…); nothing copied`;
  const said = `installed ${r.path} (sha256 ${r.sha256}, verified on the cluster)`;
  if (r.onPath) return said;
  const dir = r.path.slice(0, r.path.lastIndexOf("/")) || "/";
  // The line for ~/.bashrc and the command that appends it, each word through the one quoting function.
  const line = `export PATH=${quote(dir)}:"$PATH"`;
  return `${said}\n${dir} is not on PATH there; add it: echo ${quote(line)} >> ~/.bashrc`;
}

/** `clusters list`. */
export function clustersText(rows: ClusterRow[]): string {
  const lines = rows.map((r) => [r.name, r.runtime, r.gpus, r.source, r.error ? `INVALID: ${r.error}` : r.title]);
  return table([["NAME", "RUNTIME", "GPUS", "SOURCE", "TITLE"], ...lines]);
}

/** What a cluster offers, in a few lines: login, runtime, account, GPU syntax, defaults, partitions. */
function describe(l: LoadedProfile): string {
  const p = l.profile;
  const s = p.slurm;
  const parts = s.partitions.map((q) => {
    const gpus = q.gpus.length ? q.gpus.map((g) => `${g.type} x${g.perNode}`).join(", ") : "none";
    return [`    ${q.name}${q.name === s.partition ? " (default)" : ""}`, `max ${q.maxTime}`, `GPUs per node: ${gpus}`];
  });
  const gpuSyntax = { gres: "--gres=gpu:TYPE:N", gpus: "--gpus=TYPE:N", "gpus-per-node": "--gpus-per-node=TYPE:N" }[s.gpuDirective];
  const mem = s.skipDirectives.includes("mem")
    ? "not requested (the site gives memory with CPUs)"
    : (p.defaults.memPerGpu ?? "site default");
  const lines = [
    `${p.name}: ${p.title}`,
    `  file:       ${l.chain.join(" extends ")}${l.origin === "builtin" ? " (built-in)" : ""}`,
    `  login:      ${p.login.host ? `${p.login.user ? `${p.login.user}@` : ""}${p.login.host}:${p.login.port}` : "(none: use --remote from a laptop)"}`,
    `  runtime:    ${p.container.runtime}, images in ${p.container.imageDir}${p.container.charliecloud?.fromhostNvidia ? "; GPU jobs run ch-fromhost --nvidia on the image first" : ""}`,
    `  account:    ${s.account.required ? "required" : "optional"}${s.account.hint ? ` (${s.account.hint})` : ""}`,
    `  GPUs:       ${gpuSyntax}`,
    `  defaults:   time ${p.defaults.time}, ${p.defaults.cpusPerGpu} CPUs per GPU, memory per GPU ${mem}`,
    `  jupyter:    ${p.jupyter.command.join(" ")}, time ${p.jupyter.time}`,
  ];
  if (p.container.binds.length) lines.push(`  binds:      ${p.container.binds.join(" ")}`);
  if (s.directives.length) lines.push(`  sbatch:     ${s.directives.join(" ")}`);
  if (s.skipDirectives.length) lines.push(`  never sent: ${s.skipDirectives.map((d) => `--${d}`).join(" ")}`);
  lines.push("  partitions:", table(parts));
  return lines.join("\n");
}

/** `clusters show`: the file as written (--raw), as YAML (--yaml), or a summary. */
export function profileText(shown: ShownProfile): string {
  if ("raw" in shown) return shown.raw.trimEnd();
  return shown.yaml !== undefined ? shown.yaml.trimEnd() : describe(shown);
}

/** `clusters show --json`: the resolved profile, where it comes from. */
export function profileJson(shown: ShownProfile): unknown {
  return "raw" in shown ? undefined : { ...shown.profile, file: shown.file, origin: shown.origin };
}

function validLine(v: ValidProfile): string {
  return `${v.file}: ok (cluster ${v.name}, ${v.runtime}, ${v.partitions} partition(s))`;
}

/** `clusters validate`: one line per valid file, and for a folder a summary. */
export function validatedText(v: Validated): string {
  if ("file" in v) return validLine(v.file);
  const n = v.files.length;
  const summary = n === 1 ? `the 1 profile in ${v.dir} is valid` : `all ${n} profiles in ${v.dir} are valid`;
  return [...v.files.map(validLine), summary].join("\n");
}

/** `clusters validate --json`. */
export function validatedJson(v: Validated): unknown {
  if ("file" in v) return { ok: true, file: v.file.file, name: v.file.name };
  return { ok: true, dir: v.dir, files: v.files.map((f) => ({ file: f.file, name: f.name })) };
}

/** `clusters schema`: the JSON Schema, for editors. */
export function schemaText(schema: Record<string, unknown>): string {
  return JSON.stringify(schema, null, 2);
}

/** `image convert`: the script of a dry run, or the file and what it holds. */
export const convertedText = scriptOr<Converted>((c) =>
  [
    c.upToDate ? `Up to date: ${c.file}` : `Converted: ${c.file}`,
    `  image   ${c.ref}`,
    `  digest  ${c.digest}`,
    `  run it  --image ${quote(c.file)}`,
    ...(c.jobId ? [`  job     ${c.jobId}`] : []),
    ...(c.runDir ? [`  log     ${c.runDir}`] : []),
  ].join("\n"),
);

/** `image def`: the definition itself, or where it was written and how to build it. */
export function imageDefText(d: ImageDef): string {
  if (d.output === undefined) return d.definition;
  const where = d.copies ? ", in the folder that was docker build's context" : "";
  return `wrote ${d.output} (from ${d.from}); build it on the cluster${where}: apptainer build IMAGE.sif ${quote(d.output)}`;
}

/** `clusters detect`: the profile, or where it went and how to check it. */
export function detectedText(d: Detected): string {
  if (d.output === undefined) return d.yaml;
  return `wrote ${d.output}; review it, then check it with: hpcjob clusters validate ${quote(d.output)}`;
}

/** `init`: what was written, and what to run next. */
export function initText(d: Initialized): string {
  return [
    `wrote ${d.file}${d.extends ? ` (extends the built-in profile ${d.extends})` : ""}`,
    `set cluster: ${d.name} in ${d.config}`,
    `check it with: hpcjob clusters validate ${quote(d.file)}`,
    "then try: hpcjob jupyter --gpus 1 --dry-run",
  ].join("\n");
}

/** `init --json`: the files written, the profile's YAML, the accounts found. */
export function initJson(d: Initialized): unknown {
  return d;
}

/** `clusters detect --json`: what the cluster is, and the profile's YAML. */
export function detectedJson(d: Detected): unknown {
  return { facts: d.facts, profile: d.yaml, output: d.output };
}

/**
 * `clusters doctor`: one line per failed check with its fix, then how many
 * failed; when all hold, the jobs' versions (--job) and a one-line summary.
 */
export function doctorText(d: Doctored): string {
  const failed = d.findings.filter((f) => !f.ok);
  const n = d.findings.length;
  if (failed.length === 0) {
    const jobs = d.findings.filter((f) => f.kind === "job").map((f) => `job: ${f.text}`);
    return [...jobs, `${d.cluster}: ${n} check${n === 1 ? "" : "s"} passed`].join("\n");
  }
  return [
    ...failed.map((f) => `${f.kind}: ${f.text}; fix: ${f.fix ?? "see above"}`),
    `${d.cluster}: ${failed.length} of ${n} checks failed`,
  ].join("\n");
}

/** `clusters doctor --json`: every check, passed or not, and whether all passed. */
export function doctorJson(d: Doctored): unknown {
  return { cluster: d.cluster, ok: d.findings.every((f) => f.ok), findings: d.findings };
}

/** A size as people read it: 512 B, 1.5 GiB, 71 MiB (powers of 1024); "-" when unknown. */
export function bytesText(n: number | undefined): string {
  if (n === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  // 9.96 MiB would round to "10.0": past 9.95 it is shown whole.
  const shown = u === 0 || v >= 9.95 ? String(Math.round(v)) : v.toFixed(1);
  return `${shown} ${units[u]}`;
}

/** The 12 hex digits of a digest that file names and messages show. */
function shortDigest(digest: string | undefined): string {
  return digest === undefined ? "-" : digest.slice("sha256:".length, "sha256:".length + 12);
}

/** How many images, and their size together. */
function imagesCount(images: ImageFile[]): string {
  const total = images.reduce((sum, i) => sum + (i.size ?? 0), 0);
  return `${images.length} image${images.length === 1 ? "" : "s"}, ${bytesText(total)}`;
}

/** `image ls`: a table of the images (newest first; files copied in by hand last, "-" for what no record says), or that there are none. */
export function imageListText(l: ImageList): string {
  if (l.images.length === 0) {
    return `no images in ${l.dir}; convert one with: hpcjob image convert docker://IMAGE:TAG --cluster ${l.cluster}`;
  }
  const rows = l.images.map((i) => [
    i.folder ? `${i.name}/` : i.name,
    bytesText(i.size),
    i.date ?? "-",
    shortDigest(i.digest),
    i.ref ?? "-",
  ]);
  return [
    table([["NAME", "SIZE", "CONVERTED", "DIGEST", "IMAGE"], ...rows]),
    `${imagesCount(l.images)} in ${l.dir}; run one with --image ${l.dir}/NAME`,
  ].join("\n");
}

/** `image rm`: what was removed; several images of one reference or digest are each named. */
export function imagesRemovedText(r: ImagesRemoved): string {
  const [only] = r.removed;
  if (r.removed.length === 1 && only) {
    const what = [bytesText(only.size), only.ref, only.digest && `digest ${shortDigest(only.digest)}`].filter(Boolean).join(", ");
    return `removed ${only.path} (${what}) with its record and lock`;
  }
  const rows = r.removed.map((i) => [`  ${i.name}`, bytesText(i.size), shortDigest(i.digest)]);
  return [`${r.what} named ${r.removed.length} images in ${r.dir}; removed them all (${imagesCount(r.removed)}):`, table(rows)].join("\n");
}
