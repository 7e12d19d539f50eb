/**
 * How each command's result reads as text. Commands return data (which
 * --json prints as it is, or as `json` below shapes it); these turn the same
 * data into what a person reads. Types only are imported from commands/, so
 * this costs nothing until a command has run.
 */
import type { BatchResult } from "../commands/batch.js";
import type { ClusterRow, ShownProfile, Validated, ValidProfile } from "../commands/clusters.js";
import type { JupyterConnection } from "../commands/connect.js";
import type { Converted } from "../commands/imageConvert.js";
import type { ImageDef } from "../commands/imageDef.js";
import type { ImageList, ImagesRemoved } from "../commands/images.js";
import type { Cancelled, JobRow } from "../commands/jobs.js";
import type { HeldTunnel, JupyterResult } from "../commands/jupyter.js";
import type { Installed } from "../commands/remote.js";
import { quote } from "../core/quote.js";
import type { ImageFile } from "../image/folder.js";
import type { LoadedProfile } from "../profile/load.js";

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
  if (jobs.length === 0) return "no hpcjob jobs in the queue";
  const rows = jobs.map((j) => [j.jobId, j.name, j.state, j.time, j.where, j.runDir ?? "-"]);
  return table([["JOBID", "NAME", "STATE", "TIME", "NODE", "RUN DIRECTORY"], ...rows]);
}

/** `cancel`. */
export function cancelledText(c: Cancelled): string {
  return `cancelled job ${c.jobId} (${c.runDir})`;
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
