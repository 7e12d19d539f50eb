/**
 * request.json: the resolved request as submitted, so a run can be
 * understood, reproduced and re-attached later (from another computer too).
 */

import type { LoginTarget } from "../core/login.js";
import { formatBind } from "../core/values.js";
import { canonicalRef } from "../image/reference.js";
import type { SitedRequest } from "../request/job.js";

/** What request.json holds. */
export interface RunRecord {
  hpcjob: string;
  kind: "jupyter" | "batch";
  cluster: string;
  profileFile: string;
  name: string;
  submittedAt: string;
  login: LoginTarget;
  partition: string;
  account?: string;
  gpus: string;
  cpus: number;
  mem?: string;
  time: string;
  runtime: string;
  image?: string;
  /** The docker:// image the file was converted from, and the digest that ran. */
  imageRef?: string;
  imageDigest?: string;
  binds: string[];
  env: Record<string, string>;
  directives: string[];
  command: string[];
  workdir: string;
  /** batch --requeue, and the signal passed on to the program (SIG@SECONDS). */
  requeue?: boolean;
  signal?: string;
  /** The project's git commit when it was submitted, where the workdir is a repository. */
  git?: { commit: string; dirty: boolean };
}

/** The record of a request submitted at `now` by hpcjob `version`. */
export function runRecord(req: SitedRequest, login: LoginTarget, version: string, now: Date, git?: RunRecord["git"]): RunRecord {
  const g = req.gpus;
  return {
    hpcjob: version,
    kind: req.kind,
    cluster: req.cluster,
    profileFile: req.profileFile,
    name: req.name,
    submittedAt: now.toISOString(),
    login,
    partition: req.partition,
    account: req.account,
    gpus: g.count === 0 ? "0" : g.type ? `${g.type}:${g.count}` : String(g.count),
    cpus: req.cpus,
    mem: req.mem,
    time: req.time,
    runtime: req.runtime.name,
    image: req.image,
    ...(req.imageRef ? { imageRef: canonicalRef(req.imageRef), imageDigest: req.imageDigest } : {}),
    binds: req.binds.map(formatBind),
    env: req.env,
    directives: req.directives.map((d) => (d.value === undefined ? `--${d.key}` : `--${d.key}=${d.value}`)),
    command: req.command,
    workdir: req.workdir,
    ...(req.requeue ? { requeue: true } : {}),
    ...(req.signal ? { signal: `${req.signal.name}@${req.signal.seconds}` } : {}),
    ...(git ? { git } : {}),
  };
}
