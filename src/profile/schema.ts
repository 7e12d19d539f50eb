/**
 * THE profile schema. Every key a cluster profile may hold is declared here;
 * types come from z.infer, and unknown keys are errors so typos are caught.
 * The same module holds the schemas of the per-user config and of a
 * project's hpcjob.yaml, which are small and share the value shapes.
 */
import { z } from "zod";
import { envNameProblem, paramNameProblem } from "../core/env.js";
import { isHpcjobError } from "../core/errors.js";
import { MAX_COUNT, MAX_CPUS } from "../core/limits.js";
import {
  NAME_PATTERN,
  parseAccount,
  parseBind,
  parseClusterFolder,
  parseCount,
  parseGpus,
  parseMemory,
  parseName,
  parseSignal,
  parseSlurmTime,
} from "../core/values.js";
import { RUNTIME_NAMES } from "../runtime/index.js";
import { parseDirective, parseOptionName } from "../slurm/directives.js";

// zod compiles fast paths with `new Function`, which V8's code cache cannot
// keep; for a handful of small files per run, plain interpretation is faster.
z.config({ jitless: true });

/** What one of the CLI's parsers says about a value (its message: what is wrong, and the fix), or undefined when it holds. */
function problemOf(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (e) {
    if (!isHpcjobError(e)) throw e;
    return e.message;
  }
}

/**
 * A zod check that runs one of the parsers the CLI uses for flags, so a
 * value is held to the same rule in a file as on the command line. Given no
 * flag, the parser's message starts with the value; `FILE:LINE key:` goes in front.
 */
function parsedBy<T>(parse: (value: T) => unknown) {
  return (ctx: z.core.ParsePayload<T>) => {
    const message = problemOf(() => parse(ctx.value));
    if (message) ctx.issues.push({ code: "custom", message, input: ctx.value });
  };
}

/** A string held to one of the CLI's parsers. */
function parsedText(parse: (text: string, from: undefined) => unknown) {
  return z.string().check(parsedBy((t: string) => parse(t, undefined)));
}

/** A map whose every key passes `check` (a message, or undefined when fine); each bad key is an issue at that key. */
function keysChecked<V extends z.ZodType>(values: V, check: (key: string) => string | undefined) {
  return z.record(z.string(), values).check((ctx) => {
    for (const key of Object.keys(ctx.value)) {
      const message = check(key);
      if (message) ctx.issues.push({ code: "custom", message, input: key, path: [key] });
    }
  });
}

const name = (kind: string) => parsedText((t) => parseName(t, undefined, kind)).meta({ pattern: NAME_PATTERN });
const clusterName = name("cluster");
const slurmTime = parsedText(parseSlurmTime).describe(
  "A Slurm time: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED, e.g. 04:00:00 or 7-00:00:00",
);
const memory = parsedText(parseMemory).describe("A Slurm size: a number with K, M, G or T, e.g. 32G");
const account = parsedText(parseAccount);
const bind = parsedText(parseBind).describe('"/src", "/src:/dst" or "/src:/dst:ro", absolute paths');
const folder = parsedText(parseClusterFolder).describe('A folder on the cluster: absolute, or "$HOME/..." or "~/..."');
const signal = parsedText(parseSignal);
const directive = parsedText(parseDirective).describe('An sbatch option, e.g. "--constraint=MEM512"');
// The bounds also go into the JSON Schema, for editors.
const count = (max: number) =>
  z
    .number()
    .check(parsedBy((n: number) => parseCount(n, undefined, max)))
    .meta({ type: "integer", minimum: 1, maximum: max });
const envMap = keysChecked(z.string(), envNameProblem).describe("Variables exported in the job (NAME: value)");
const gpus = z
  .union([z.string(), z.number()])
  .check(parsedBy((g: string | number) => parseGpus(String(g), undefined)))
  .describe("N or TYPE:N, e.g. 1 or A40:2");

/**
 * A sweep (`--sweep-file` and hpcjob.yaml's `sweep:`): a grid, `{name: [values]}`,
 * run as every combination, or a list of points, `[{name: value}, ...]`, each
 * naming the same parameters. Values are text as written: sweeps are read
 * with YAML's failsafe schema, so 1e-3 stays 1e-3 and 007 stays 007.
 */
export const SweepSchema = z
  .union([keysChecked(z.array(z.string()).min(1), paramNameProblem), z.array(keysChecked(z.string(), paramNameProblem)).min(1)], {
    error: "must be a grid (NAME: [values]) or a list of points (- NAME: value)",
  })
  .describe("A grid {name: [values]} or a list of points [{name: value}]");

/** A sweep as written in a file, validated. */
export type SweepSpec = z.infer<typeof SweepSchema>;

/** One GPU model a partition offers, and how many a node has. */
export const GpuSchema = z.strictObject({
  type: name("GPU type"),
  perNode: count(MAX_COUNT),
});

/** One Slurm partition users may ask for. */
export const PartitionSchema = z.strictObject({
  name: name("partition"),
  maxTime: slurmTime,
  gpus: z.array(GpuSchema).default([]),
});

/** The full cluster profile, as stored in clusters/NAME.yaml. */
export const ProfileSchema = z
  .strictObject({
    $schema: z.string().optional().describe("JSON Schema location, for editors; ignored by hpcjob"),
    name: clusterName.describe("Must match the file name, e.g. vera for vera.yaml"),
    title: z.string().default(""),
    extends: clusterName.optional().describe("Another profile whose keys this one changes"),
    login: z
      .strictObject({
        host: z.string().min(1).optional().describe("ssh target: a host name or a ~/.ssh/config alias"),
        port: z.int().min(1).max(65535).default(22),
        user: z.string().min(1).optional(),
      })
      .default({ port: 22 }),
    slurm: z.strictObject({
      clusterName: name("Slurm cluster")
        .optional()
        .describe("Slurm's ClusterName (scontrol show config): hpcjob runs Slurm locally only on this cluster, else over SSH"),
      partition: name("partition").describe("Default partition"),
      account: z
        .strictObject({
          required: z.boolean().default(false),
          hint: z.string().default(""),
          default: account.optional(),
        })
        .default({ required: false, hint: "" }),
      gpuDirective: z.enum(["gres", "gpus", "gpus-per-node"]).default("gres"),
      directives: z.array(directive).default([]),
      skipDirectives: z.array(parsedText(parseOptionName)).default([]).describe("Long names of sbatch options never sent, e.g. mem"),
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
      runtime: z.enum(RUNTIME_NAMES),
      imageDir: folder
        .default("$HOME/.hpcjob/images")
        .describe("Where converted images are kept (shared with the group when on group storage)"),
      cacheDir: folder
        .optional()
        .describe(
          "The converter's cache of downloaded layers (APPTAINER_CACHEDIR, ENROOT_CACHE_PATH, CH_IMAGE_STORAGE); the tool's default when unset",
        ),
      tmpDir: folder
        .optional()
        .describe(
          "The converter's scratch folder; must hold the unpacked image (APPTAINER_TMPDIR, ENROOT_TEMP_PATH); the tool's default when unset",
        ),
      homeQuota: z
        .string()
        .min(1)
        .optional()
        .describe(
          "The home folder's quota as the site states it (e.g. 30 GB and 60,000 files); when set, a conversion that writes in the home folder says so and names the keys that move it",
        ),
      convertOn: z
        .enum(["login", "job"])
        .default("login")
        .describe("Where images are converted: on the login node, or in a Slurm job where login nodes forbid heavy work"),
      convertPartition: name("partition")
        .optional()
        .describe("The partition conversion jobs run in (convertOn: job); slurm.partition when unset"),
      binds: z.array(bind).default([]),
      charliecloud: z
        .strictObject({
          fromhostNvidia: z
            .boolean()
            .default(false)
            .describe(
              "Before a GPU job, run ch-fromhost --nvidia on the image (copies the node's NVIDIA libraries in; needs an image directory the user can write)",
            ),
        })
        .optional()
        .describe("Settings for container.runtime: charliecloud"),
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
        signal: signal
          .default("USR1@120")
          .describe(
            "batch --requeue's signal: SIG@SECONDS, sent to the job that long before its time limit (and at preemption) and passed on to the program, e.g. USR1@120 or USR2@300",
          ),
      })
      .default({ runners: { ".py": ["python"], ".sh": ["bash"] }, signal: "USR1@120" }),
    defaults: z
      .strictObject({
        time: slurmTime.default("01:00:00"),
        cpusPerGpu: count(MAX_CPUS).default(8),
        memPerGpu: memory.optional(),
        gpuType: name("GPU type")
          .optional()
          .describe("The GPU type a count alone (--gpus 1) asks for where the partition offers it, e.g. A40; any type when unset"),
        cpus: count(MAX_CPUS).default(1).describe("CPUs for a job without GPUs"),
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
  account: account.optional(),
  user: z.string().min(1).optional(),
};

/** ~/.config/hpcjob/config.yaml: one researcher's defaults. */
export const UserConfigSchema = z.strictObject({
  cluster: clusterName.optional(),
  ...accountAndUser,
  clusters: keysChecked(z.strictObject(accountAndUser), (k) => problemOf(() => parseName(k, undefined))).default({}),
});

/** A validated user config. */
export type UserConfig = z.infer<typeof UserConfigSchema>;

/** ./hpcjob.yaml: a project's defaults, checked in beside its code. */
export const ProjectFileSchema = z.strictObject({
  cluster: clusterName.optional(),
  image: z.string().min(1).optional(),
  binds: z.array(bind).default([]),
  env: envMap.default({}),
  resources: z
    .strictObject({
      partition: name("partition").optional(),
      account: account.optional(),
      gpus: gpus.optional(),
      cpus: count(MAX_CPUS).optional(),
      mem: memory.optional(),
      time: slurmTime.optional(),
    })
    .default({}),
  sbatch: z.array(directive).default([]),
  sweep: SweepSchema.optional().describe("hpcjob batch runs every point as a task of a job array"),
});

/** A validated project file. */
export type ProjectFile = z.infer<typeof ProjectFileSchema>;

/** The JSON Schema of a profile (what `hpcjob clusters schema` prints), for editors. */
export function profileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ProfileSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  return { ...schema, title: "hpcjob cluster profile" };
}
