/**
 * A job request: the one merge of profile, user config, project file and
 * flags, validated once (build.ts makes it); everything after trusts it.
 */
import type { Bind, GpuRequest } from "../core/values.js";
import type { DockerRef } from "../image/reference.js";
import type { Profile } from "../profile/schema.js";
import type { Runtime } from "../runtime/index.js";
import type { Directive } from "../slurm/directives.js";
import type { SweepRequest } from "./sweep.js";

/** A complete, validated job: everything the renderer and submitter need. */
export interface JobRequest {
  kind: "jupyter" | "batch";
  cluster: string;
  profile: Profile;
  profileFile: string;
  runtime: Runtime;
  name: string;
  partition: string;
  account?: string;
  gpus: GpuRequest;
  cpus: number;
  mem?: string;
  time: string;
  /** The image file the runtime runs (absolute once sited); undefined while `imageRef` is not converted yet. */
  image?: string;
  /** The docker:// image the job runs, converted on the cluster (and `image` set) before it is submitted. */
  imageRef?: DockerRef;
  /** The digest `imageRef` named when it was converted (or found converted) for this job. */
  imageDigest?: string;
  binds: Bind[];
  env: Record<string, string>;
  directives: Directive[];
  /** The program's argv inside the container (batch) or Jupyter's command. */
  command: string[];
  /** The folder the job runs in; undefined until the site is known (over SSH without --workdir: the cluster home). */
  workdir?: string;
  /** A batch job run once per point of this table, as job arrays. */
  sweep?: SweepRequest;
  /** Submitted held (#SBATCH --hold). */
  hold?: boolean;
}

/** A request bound to its site: the folder it runs in, and an absolute image path. */
export type SitedRequest = JobRequest & { workdir: string };
