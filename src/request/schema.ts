/**
 * THE schema of a job request's data: every field of a JobRequest but its
 * runtime (which the profile names). The request's type comes from it
 * (job.ts), and request.json records and reads the request through it
 * (runs/record.ts), so a field added here is recorded, shown and rerun with
 * no other change. Loaded only where a request is written or read back, not
 * by a dry run (job.ts imports it for its type only).
 */
import { z } from "zod";
import type { Bind, GpuRequest, SignalRequest } from "../core/values.js";
import type { ConvertibleRef, DaemonRef, DockerRef } from "../image/reference.js";
import { ProfileSchema } from "../profile/schema.js";
import type { Directive } from "../slurm/directives.js";
import { SWEEP_STYLES, type SweepRequest } from "./sweep.js";

const GpuRequestSchema: z.ZodType<GpuRequest> = z.strictObject({ type: z.string().optional(), count: z.int().min(0) });

const BindSchema: z.ZodType<Bind> = z.strictObject({ src: z.string(), dst: z.string(), readOnly: z.boolean() });

const DirectiveSchema: z.ZodType<Directive> = z.strictObject({ key: z.string(), value: z.string().optional() });

const DockerRefSchema: z.ZodType<DockerRef> = z.strictObject({
  kind: z.literal("docker"),
  registry: z.string(),
  path: z.string(),
  tag: z.string().optional(),
  digest: z.string().optional(),
});

const DaemonRefSchema: z.ZodType<DaemonRef> = z.strictObject({
  kind: z.literal("docker-daemon"),
  name: z.string(),
  tag: z.string().optional(),
  digest: z.string().optional(),
});

const ArchiveRefSchema = z.strictObject({
  kind: z.enum(["docker-archive", "oci-archive"]),
  path: z.string(),
  ref: z.string().optional(),
});

const ConvertibleRefSchema: z.ZodType<ConvertibleRef> = z.union([DockerRefSchema, DaemonRefSchema, ArchiveRefSchema]);

const SweepRequestSchema: z.ZodType<SweepRequest> = z.strictObject({
  names: z.array(z.string()),
  points: z.array(z.array(z.string())),
  style: z.enum(SWEEP_STYLES),
  maxParallel: z.int().min(1).optional(),
});

const SignalRequestSchema: z.ZodType<SignalRequest> = z.strictObject({ name: z.string(), seconds: z.int().min(0) });

/** A request's data, as the merge made it and request.json holds it. */
export const RequestSchema = z.strictObject({
  kind: z.enum(["jupyter", "batch"]),
  cluster: z.string(),
  /** The resolved profile, whole: a rerun needs no profile file. */
  profile: ProfileSchema,
  profileFile: z.string(),
  name: z.string(),
  partition: z.string(),
  account: z.string().optional(),
  gpus: GpuRequestSchema,
  cpus: z.int().min(1),
  mem: z.string().optional(),
  time: z.string(),
  /** The image file the runtime runs (absolute once sited); undefined while `imageRef` is not converted yet. */
  image: z.string().optional(),
  /** The image the job runs when hpcjob converts it (docker://, or one on the user's computer), converted on the cluster (and `image` set) before it is submitted. */
  imageRef: ConvertibleRefSchema.optional(),
  /** The digest `imageRef` named when it was converted (or found converted) for this job. */
  imageDigest: z.string().optional(),
  binds: z.array(BindSchema),
  env: z.record(z.string(), z.string()),
  directives: z.array(DirectiveSchema),
  /** The program's argv inside the container (batch) or Jupyter's command. */
  command: z.array(z.string()),
  /** Batch --requeue: Slurm may requeue the job (preemption, `scontrol requeue`), and it comes back with SLURM_RESTART_COUNT. */
  requeue: z.boolean(),
  /** The signal Slurm sends the batch shell before the end, which the script passes on to the program (--requeue, --signal). */
  signal: SignalRequestSchema.optional(),
  /** The folder the job runs in; undefined until the site is known (over SSH without --workdir: the cluster home). */
  workdir: z.string().optional(),
  /** A batch job run once per point of this table, as job arrays (the table itself is also in the run directory: points.jsonl). */
  sweep: SweepRequestSchema.optional(),
  /** Submitted held (#SBATCH --hold). */
  hold: z.boolean().optional(),
});

/** A request bound to its site, as request.json records it: the folder it ran in is known. */
export const SitedRequestSchema = RequestSchema.extend({ workdir: z.string() });
