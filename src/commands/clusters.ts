/**
 * `hpcjob clusters list | show | validate | schema`: what each cluster
 * offers, and exactly what is wrong with a profile.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { isHpcjobError, ProfileError } from "../core/errors.js";
import { parseName } from "../core/values.js";
import { isProfileFileName, type LoadedProfile, loadProfile, loadProfileFile, loadProfilePath, profileFiles } from "../profile/load.js";
import type { Profile } from "../profile/schema.js";
import { unreadable } from "../profile/userFile.js";
import { noteSearchPath } from "../request/sources.js";
import type { Context, Output } from "./context.js";

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
  // A bad folder on the search path is reported on stderr; the profiles in the others are still listed.
  noteSearchPath(ctx);
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
  parseName(name, "cluster");
  noteSearchPath(ctx);
  if (flags.raw) {
    const pf = profileFiles(ctx).find((p) => p.name === name);
    if (pf) return { text: pf.read().trimEnd() };
  }
  const l = await loadProfile(ctx, name);
  if (flags.json) return { json: { ...l.profile, file: l.file, origin: l.origin } };
  if (flags.yaml) return { text: (await import("../profile/files.js")).toYaml(l.profile).trimEnd() };
  return { text: describe(l) };
}

/** One profile file's check: schema, extends, cross-field rules; a summary line. */
async function checkFile(file: string, ctx: Context): Promise<{ ok: true; file: string; name: string; text: string }> {
  const p = (await loadProfilePath(ctx, file)).profile;
  const text = `${file}: ok (cluster ${p.name}, ${p.container.runtime}, ${p.slurm.partitions.length} partition(s))`;
  return { ok: true, file, name: p.name, text };
}

/** "1 profile", "3 profiles". */
function profiles(n: number): string {
  return `${n} profile${n === 1 ? "" : "s"}`;
}

/**
 * Check a profile file, or every profile in a folder (what a group's shared
 * profile repository runs in CI): exit 0 when all hold, else exit 2 with one
 * line per broken file.
 */
export async function validate(target: string, flags: { json?: boolean }, ctx: Context): Promise<Output> {
  noteSearchPath(ctx);
  let isDir: boolean;
  try {
    const st = statSync(target);
    if (!st.isFile() && !st.isDirectory()) {
      throw new ProfileError(`${target} is neither a file nor a folder; give a profile .yaml file or a folder of them`);
    }
    isDir = st.isDirectory();
  } catch (e) {
    if (isHpcjobError(e)) throw e;
    const why = unreadable(target, e) ?? `${target} cannot be read (${(e as Error).message})`;
    throw new ProfileError(`${why}; give a profile .yaml file or a folder of them`);
  }
  if (!isDir) {
    const r = await checkFile(target, ctx);
    return flags.json ? { json: { ok: true, file: r.file, name: r.name } } : { text: r.text };
  }
  const files = readdirSync(target).filter(isProfileFileName).sort();
  if (files.length === 0) throw new ProfileError(`${target} has no .yaml or .yml files; give a folder of profiles or a profile file`);
  const ok: Awaited<ReturnType<typeof checkFile>>[] = [];
  const broken: string[] = [];
  const byName = new Map<string, string>();
  for (const f of files) {
    const file = join(target, f);
    const name = basename(f, extname(f));
    const twin = byName.get(name);
    byName.set(name, file);
    if (twin) {
      broken.push(`${file}:1 name: ${twin} is also profile ${name}, and only one of them is used; keep one`);
      continue;
    }
    try {
      ok.push(await checkFile(file, ctx));
    } catch (e) {
      if (!isHpcjobError(e)) throw e;
      broken.push(e.message);
    }
  }
  if (broken.length > 0) {
    throw new ProfileError(
      `${broken.length} of ${profiles(files.length)} in ${target} ${broken.length === 1 ? "is" : "are"} broken; fix each line below and run hpcjob clusters validate again`,
      broken,
    );
  }
  const summary = files.length === 1 ? `the 1 profile in ${target} is valid` : `all ${profiles(files.length)} in ${target} are valid`;
  return flags.json
    ? { json: { ok: true, dir: target, files: ok.map((r) => ({ file: r.file, name: r.name })) } }
    : { text: [...ok.map((r) => r.text), summary].join("\n") };
}

/** `clusters schema`: the JSON Schema on stdout. */
export async function schema(): Promise<Output> {
  const { profileJsonSchema } = await import("../profile/files.js");
  return { text: JSON.stringify(profileJsonSchema(), null, 2) };
}
