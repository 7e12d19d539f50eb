/**
 * `hpcjob clusters list | show | validate | schema`: what each cluster
 * offers, and exactly what is wrong with a profile.
 */
import type { Context, Output } from "../context.js";
import { isHpcjobError } from "../errors.js";
import { type LoadedProfile, loadProfile, loadProfileFile, loadProfilePath, profileFiles } from "../profile/load.js";
import type { Profile } from "../profile/schema.js";

/** Fixed-width columns for a small table. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")).join("\n");
}

function gpuTypes(p: Profile): string {
  const types = new Set(p.slurm.partitions.flatMap((q) => q.gpus.map((g) => g.type)));
  return [...types].join(",") || "-";
}

function originLabel(l: { origin: string; file: string }): string {
  return l.origin === "builtin" ? "built-in" : l.file;
}

/** Every profile on the search path, the first of each name, with what it offers. */
export async function list(flags: { json?: boolean }, ctx: Context): Promise<Output> {
  const seen = new Set<string>();
  const rows: { name: string; title: string; runtime: string; gpus: string; source: string; error?: string }[] = [];
  for (const pf of profileFiles(ctx)) {
    if (seen.has(pf.name)) continue;
    seen.add(pf.name);
    try {
      const l = await loadProfileFile(ctx, pf);
      rows.push({
        name: pf.name,
        title: l.profile.title,
        runtime: l.profile.container.runtime,
        gpus: gpuTypes(l.profile),
        source: originLabel(l),
      });
    } catch (e) {
      if (!isHpcjobError(e)) throw e;
      rows.push({
        name: pf.name,
        title: "",
        runtime: "?",
        gpus: "?",
        source: pf.origin === "builtin" ? "built-in" : pf.file,
        error: e.message,
      });
    }
  }
  if (flags.json) return { json: rows };
  const lines = rows.map((r) => [r.name, r.runtime, r.gpus, r.source, r.error ? `INVALID: ${r.error}` : r.title]);
  return { text: table([["NAME", "RUNTIME", "GPUS", "SOURCE", "TITLE"], ...lines]) };
}

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
    `  runtime:    ${p.container.runtime}, images in ${p.container.imageDir}`,
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

/** One profile: a summary, the resolved YAML, or the file as written. */
export async function show(name: string, flags: { json?: boolean; yaml?: boolean; raw?: boolean }, ctx: Context): Promise<Output> {
  if (flags.raw) {
    const pf = profileFiles(ctx).find((p) => p.name === name);
    if (pf) return { text: pf.read().trimEnd() };
  }
  const l = await loadProfile(ctx, name);
  if (flags.json) return { json: { ...l.profile, file: l.file, origin: l.origin } };
  if (flags.yaml) return { text: (await import("../profile/files.js")).toYaml(l.profile).trimEnd() };
  return { text: describe(l) };
}

/** Check one profile file: schema, extends, cross-field rules. */
export async function validateFile(file: string, flags: { json?: boolean }, ctx: Context): Promise<Output> {
  const l = await loadProfilePath(ctx, file);
  const p = l.profile;
  const summary = `${file}: ok (cluster ${p.name}, ${p.container.runtime}, ${p.slurm.partitions.length} partition(s))`;
  return flags.json ? { json: { ok: true, file, name: p.name } } : { text: summary };
}

/** `clusters schema`: the JSON Schema on stdout. */
export async function schema(): Promise<Output> {
  const { profileJsonSchema } = await import("../profile/files.js");
  return { text: JSON.stringify(profileJsonSchema(), null, 2) };
}
