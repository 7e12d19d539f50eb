/**
 * request.json, the manifest of a run: the whole resolved request as
 * submitted (request/schema.ts), the profile's hash, the hpcjob that
 * submitted it and the git state of the code it ran, so a run can be
 * understood, shown and submitted again exactly (`hpcjob show`, `hpcjob
 * rerun`), from another computer too. One schema writes and reads it. This
 * module loads zod: commands import it on use, never a dry run.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { UsageError } from "../core/errors.js";
import type { LoginTarget } from "../core/login.js";
import type { Executor } from "../exec/executor.js";
import type { Profile } from "../profile/schema.js";
import type { SitedRequest } from "../request/job.js";
import { SitedRequestSchema } from "../request/schema.js";
import { runtimeOf } from "../runtime/index.js";
import type { GitState } from "./git.js";
import { runFile } from "./store.js";

const GitStateSchema: z.ZodType<GitState> = z.strictObject({
  commit: z.string(),
  branch: z.string().optional(),
  remote: z.string().optional(),
  dirty: z.boolean(),
  untracked: z.array(z.string()).optional(),
  diff: z.string().optional(),
});

const LoginSchema: z.ZodType<LoginTarget> = z.strictObject({
  host: z.string(),
  port: z.int().optional(),
  user: z.string().optional(),
});

/** What request.json holds. */
export const RunRecordSchema = z.strictObject({
  /** `hpcjob VERSION (commit C)` that submitted it. */
  hpcjob: z.string(),
  submittedAt: z.string(),
  login: LoginSchema,
  /** sha256 of the resolved profile (request.profile) as canonical JSON: tells whether the profile changed since. */
  profileSha256: z.string(),
  /** The workdir's repository when it was submitted, where it is one. */
  git: GitStateSchema.optional(),
  /** The run this one submitted again (hpcjob rerun). */
  rerunOf: z.string().optional(),
  /**
   * Every resolved option: rerun needs nothing else. A sweep's table of
   * points is a file of its own in the run directory, beside this one.
   */
  request: SitedRequestSchema,
});

/** What request.json holds. */
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** JSON with every object's keys sorted, so equal values hash equal whatever order they were built in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** sha256 of a resolved profile, hex. */
export function profileSha256(profile: Profile): string {
  return createHash("sha256").update(canonicalJson(profile)).digest("hex");
}

/** The record of `req` submitted at `now` by hpcjob `version`, checked against the schema that reads it back. */
export function runRecord(
  req: SitedRequest,
  login: LoginTarget,
  version: string,
  now: Date,
  extra: { git?: GitState; rerunOf?: string } = {},
): RunRecord {
  const { runtime: _runtime, ...request } = req;
  return RunRecordSchema.parse({
    hpcjob: version,
    submittedAt: now.toISOString(),
    login,
    profileSha256: profileSha256(req.profile),
    ...(extra.git ? { git: extra.git } : {}),
    ...(extra.rerunOf ? { rerunOf: extra.rerunOf } : {}),
    request,
  });
}

/** request.json's text. */
export function recordText(record: RunRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** The request a record holds, ready to render and submit again (its runtime from its profile). */
export function recordedRequest(record: RunRecord): SitedRequest {
  return { ...record.request, runtime: runtimeOf(record.request.profile.container.runtime) };
}

/** request.json of the run in `dir`, parsed as JSON; a UsageError when it is missing or not JSON. */
async function readJson(exec: Executor, dir: string): Promise<{ file: string; json: unknown }> {
  const file = runFile(dir, "request");
  const text = await exec.readFile(file);
  if (text === undefined) throw new UsageError(`${file} does not exist: ${dir} is not a run hpcjob submitted`);
  try {
    return { file, json: JSON.parse(text) };
  } catch {
    throw new UsageError(`${file} is not JSON: it was changed or cut short; a run can only be shown or rerun from its whole request.json`);
  }
}

/**
 * A record read with its schema. One without the whole request (made before
 * hpcjob recorded it) or one this hpcjob cannot read is a UsageError that
 * says which, and what made it.
 */
function parseRecord(file: string, json: unknown): RunRecord {
  const made = json && typeof json === "object" && "hpcjob" in json ? ` (made by ${String(json.hpcjob)})` : "";
  if (!json || typeof json !== "object" || !("request" in json)) {
    throw new UsageError(
      `${file}${made} has no "request": it was made by an older hpcjob, which did not record the whole request; submit the job again with hpcjob batch or hpcjob jupyter`,
    );
  }
  const parsed = RunRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join(".") || "(top)"}: ${issue.message}` : "";
    throw new UsageError(
      `${file}${made} is not a record this hpcjob reads (${where}); it was changed by hand or made by another version of hpcjob: show it with that version, or submit the job again`,
    );
  }
  return parsed.data;
}

/** The record of the run in `dir`, read with its schema (see parseRecord for what it refuses). */
export async function readRecord(exec: Executor, dir: string): Promise<RunRecord> {
  const { file, json } = await readJson(exec, dir);
  return parseRecord(file, json);
}

/** What `attach` needs of a run. */
export interface RunSummary {
  kind: "jupyter" | "batch";
  cluster: string;
  login: LoginTarget;
  command: string[];
}

/** The fields an hpcjob that did not record the whole request wrote at the top of request.json (and attach still reads). */
const OlderRecordSchema = z.object({
  kind: z.enum(["jupyter", "batch"]),
  cluster: z.string(),
  login: LoginSchema,
  command: z.array(z.string()),
});

/**
 * What `attach` needs of the run in `dir`, from a record of any hpcjob: a
 * Jupyter job started before an upgrade is still reached.
 */
export async function readSummary(exec: Executor, dir: string): Promise<RunSummary> {
  const { file, json } = await readJson(exec, dir);
  if (json && typeof json === "object" && !("request" in json)) {
    const older = OlderRecordSchema.safeParse(json);
    if (older.success) return older.data;
  }
  const { request, login } = parseRecord(file, json);
  return { kind: request.kind, cluster: request.cluster, login, command: request.command };
}
