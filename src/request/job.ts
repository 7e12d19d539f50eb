/**
 * A job request: the one merge of profile, user config, project file and
 * flags, validated once (build.ts makes it); everything after trusts it.
 * Its fields are declared once, in schema.ts (imported here for the type
 * only, so a dry run does not load zod).
 */
import type { z } from "zod";
import type { Runtime } from "../runtime/index.js";
import type { RequestSchema } from "./schema.js";

/** A complete, validated job: everything the renderer and submitter need (the fields: schema.ts), and the runtime its profile names. */
export type JobRequest = z.infer<typeof RequestSchema> & { runtime: Runtime };

/** A request bound to its site: the folder it runs in, and an absolute image path. */
export type SitedRequest = JobRequest & { workdir: string };
