/**
 * THE profile schema. Every key a cluster profile may hold is declared here;
 * types come from z.infer, and unknown keys are errors so typos are caught.
 * The same module holds the schemas of the per-user config and of a
 * project's hpcjob.yaml, which are small and share the value shapes.
 */
import { z } from "zod";

// zod compiles fast paths with `new Function`, which V8's code cache cannot
// keep; for a handful of small files per run, plain interpretation is faster.
z.config({ jitless: true });

const TIME = /^(?:(?:\d+-)?\d+(?::\d+){0,2}|unlimited|UNLIMITED|infinite|INFINITE)$/;
const MEMORY = /^\d+[KMGTkmgt]?[Bb]?$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const BIND = /^\/[^,:\n]*(?::\/[^,:\n]*)?(?::(?:ro|rw))?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const slurmTime = z.string().regex(TIME, { message: "must be a Slurm time such as 04:00:00 or 7-00:00:00" });
const memory = z.string().regex(MEMORY, { message: "must be a Slurm size such as 32G or 8000M" });
const bind = z.string().regex(BIND, { message: 'must be "/src", "/src:/dst" or "/src:/dst:ro" with absolute paths' });
const envMap = z.record(z.string().regex(ENV_NAME, { message: "must be a shell variable name" }), z.string());
const directive = z
  .string()
  .regex(/^--[A-Za-z][A-Za-z0-9-]*(?:=[^\n\\]*)?$/, { message: 'must be a long sbatch option such as "--constraint=MEM512"' });

/** One GPU model a partition offers, and how many a node has. */
export const GpuSchema = z.strictObject({
  type: z.string().regex(NAME),
  perNode: z.int().positive(),
});

/** One Slurm partition users may ask for. */
export const PartitionSchema = z.strictObject({
  name: z.string().regex(NAME),
  maxTime: slurmTime,
  gpus: z.array(GpuSchema).default([]),
});

/** The full cluster profile, as stored in clusters/NAME.yaml. */
export const ProfileSchema = z
  .strictObject({
    $schema: z.string().optional().describe("JSON Schema location, for editors; ignored by hpcjob"),
    name: z.string().regex(NAME).describe("Must match the file name, e.g. vera for vera.yaml"),
    title: z.string().default(""),
    extends: z.string().regex(NAME).optional().describe("Another profile whose keys this one changes"),
    login: z
      .strictObject({
        host: z.string().min(1).optional().describe("ssh target: a host name or a ~/.ssh/config alias"),
        port: z.int().min(1).max(65535).default(22),
        user: z.string().min(1).optional(),
      })
      .default({ port: 22 }),
    slurm: z.strictObject({
      clusterName: z
        .string()
        .regex(NAME)
        .optional()
        .describe("Slurm's ClusterName (scontrol show config): hpcjob runs Slurm locally only on this cluster, else over SSH"),
      partition: z.string().regex(NAME).describe("Default partition"),
      account: z
        .strictObject({
          required: z.boolean().default(false),
          hint: z.string().default(""),
          default: z.string().optional(),
        })
        .default({ required: false, hint: "" }),
      gpuDirective: z.enum(["gres", "gpus", "gpus-per-node"]).default("gres"),
      directives: z.array(directive).default([]),
      skipDirectives: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/)).default([]),
      partitions: z.array(PartitionSchema).min(1),
    }),
    environment: z
      .strictObject({
        modules: z.array(z.string().min(1)).default([]),
        setup: z.array(z.string()).default([]),
        env: envMap.default({}),
      })
      .default({ modules: [], setup: [], env: {} }),
    container: z.strictObject({
      runtime: z.enum(["apptainer", "singularity", "pyxis", "enroot", "none"]),
      imageDir: z.string().default("$HOME/.hpcjob/images"),
      binds: z.array(bind).default([]),
    }),
    jupyter: z
      .strictObject({
        command: z.array(z.string().min(1)).min(1).default(["jupyter", "lab"]),
        time: slurmTime.default("04:00:00"),
      })
      .default({ command: ["jupyter", "lab"], time: "04:00:00" }),
    batch: z
      .strictObject({
        runners: z
          .record(z.string().regex(/^\.[A-Za-z0-9]+$/), z.array(z.string().min(1)).min(1))
          .default({ ".py": ["python"], ".sh": ["bash"] })
          .describe("How a script is run, by file extension"),
      })
      .default({ runners: { ".py": ["python"], ".sh": ["bash"] } }),
    defaults: z
      .strictObject({
        time: slurmTime.default("01:00:00"),
        cpusPerGpu: z.int().positive().default(8),
        memPerGpu: memory.optional(),
        cpus: z.int().positive().default(1).describe("CPUs for a job without GPUs"),
        mem: memory.optional().describe("Memory for a job without GPUs"),
      })
      .default({ time: "01:00:00", cpusPerGpu: 8, cpus: 1 }),
  })
  .describe("An hpcjob cluster profile");

/** A validated cluster profile with every default filled in. */
export type Profile = z.infer<typeof ProfileSchema>;
/** One partition of a profile. */
export type Partition = z.infer<typeof PartitionSchema>;

const accountAndUser = {
  account: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
};

/** ~/.config/hpcjob/config.yaml: one researcher's defaults. */
export const UserConfigSchema = z.strictObject({
  cluster: z.string().regex(NAME).optional(),
  ...accountAndUser,
  clusters: z.record(z.string().regex(NAME), z.strictObject(accountAndUser)).default({}),
});

/** A validated user config. */
export type UserConfig = z.infer<typeof UserConfigSchema>;

/** ./hpcjob.yaml: a project's defaults, checked in beside its code. */
export const ProjectFileSchema = z.strictObject({
  cluster: z.string().regex(NAME).optional(),
  image: z.string().min(1).optional(),
  binds: z.array(z.string()).default([]),
  env: envMap.default({}),
  resources: z
    .strictObject({
      partition: z.string().optional(),
      account: z.string().optional(),
      gpus: z.union([z.string(), z.int().nonnegative()]).optional(),
      cpus: z.int().positive().optional(),
      mem: memory.optional(),
      time: slurmTime.optional(),
    })
    .default({}),
  sbatch: z.array(z.string()).default([]),
});

/** A validated project file. */
export type ProjectFile = z.infer<typeof ProjectFileSchema>;

/** The JSON Schema of a profile (what `hpcjob clusters schema` prints), for editors. */
export function profileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ProfileSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  return { ...schema, title: "hpcjob cluster profile" };
}
