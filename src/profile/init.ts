/**
 * The profile `hpcjob init` writes: detect's profile (detected.ts) with the
 * user's answers put in, or, on a cluster hpcjob ships a profile for, a
 * profile that `extends:` it and states only what differs. Pure: facts and
 * answers in, a profile value out; every choice init makes is made here.
 */
import { parseClusterFolder } from "../core/values.js";
import type { RuntimeName } from "../runtime/index.js";
import type { ClusterFacts } from "../slurm/detect.js";
import { chosenGpuForm, type DetectChoices, type ProfileInput, profileFromFacts, runtimeModule } from "./detected.js";
import type { Profile } from "./schema.js";

/** What init asks, each with detect's answer (or the built-in profile's) as its default. */
export interface InitAnswers {
  name: string;
  loginHost?: string;
  loginPort?: number;
  /** The account jobs are charged to by default; undefined: none written (Slurm's own default applies). */
  account?: string;
  partition: string;
  /** The GPU type a count alone asks for (defaults.gpuType); undefined: any type. */
  gpuType?: string;
  runtime: RuntimeName;
  imageDir: string;
}

/** Where images go when nobody says otherwise: the schema's default. */
export const DEFAULT_IMAGE_DIR = "$HOME/.hpcjob/images";

/** The built-in profile of the cluster the facts describe: the same Slurm ClusterName, else the same login host; undefined when none is. */
export function matchingBuiltin(facts: ClusterFacts, loginHost: string | undefined, builtins: readonly Profile[]): Profile | undefined {
  const same = (a?: string, b?: string) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
  return (
    builtins.find((b) => same(b.slurm.clusterName, facts.clusterName)) ??
    builtins.find((b) => same(b.login.host, loginHost) || same(b.login.host, facts.loginHost))
  );
}

/** The answers init offers: detect's profile's values, the built-in's where there is one, and the user's default account. */
export function defaultAnswers(
  facts: ClusterFacts,
  choices: DetectChoices,
  accounts: { accounts: string[]; defaultAccount?: string } | undefined,
  builtin?: Profile,
): InitAnswers {
  const detected = profileFromFacts(facts, choices);
  const names = facts.partitions.map((p) => p.name);
  const partition = builtin && names.includes(builtin.slurm.partition) ? builtin.slurm.partition : detected.slurm.partition;
  const found = (r: string) => facts.runtimes.some((f) => f.name === r);
  const runtime = builtin && found(builtin.container.runtime) ? builtin.container.runtime : (detected.container.runtime as RuntimeName);
  const account = accounts?.defaultAccount ?? (accounts?.accounts.length === 1 ? accounts.accounts[0] : undefined);
  return {
    name: builtin?.name ?? choices.name,
    loginHost: builtin?.login.host ?? detected.login?.host,
    loginPort: builtin ? builtin.login.port : detected.login?.port,
    ...(account !== undefined ? { account } : {}),
    partition,
    ...(builtin?.defaults.gpuType !== undefined ? { gpuType: builtin.defaults.gpuType } : {}),
    runtime,
    imageDir: builtin?.container.imageDir ?? DEFAULT_IMAGE_DIR,
  };
}

/** The facts with `partition` as the default one, so the times detect derives from it fit the partition chosen. */
function withDefaultPartition(facts: ClusterFacts, partition: string): ClusterFacts {
  if (!facts.partitions.some((p) => p.name === partition)) return facts;
  return { ...facts, partitions: facts.partitions.map((p) => ({ ...p, isDefault: p.name === partition })) };
}

/** detect's profile for the facts with the answers in it: name, login host, account, default partition, runtime (and its module), image folder. */
export function profileFromAnswers(facts: ClusterFacts, answers: InitAnswers): ProfileInput {
  const base = profileFromFacts(withDefaultPartition(facts, answers.partition), {
    name: answers.name,
    loginHost: answers.loginHost,
    loginPort: answers.loginPort,
  });
  const module = answers.runtime === "none" ? undefined : runtimeModule(facts, answers.runtime);
  // The account right after the partition, where a person reading the file looks for it.
  const { clusterName, partition: _partition, account: detectedAccount, ...slurmRest } = base.slurm;
  const account = answers.account !== undefined ? { ...detectedAccount, default: answers.account } : detectedAccount;
  // Keys in detect's order: name, title, login, slurm, environment, container, jupyter, defaults.
  return {
    name: base.name,
    title: base.title,
    // No login host answered: none, rather than the hostname detect would fall back to.
    ...(base.login && answers.loginHost !== undefined ? { login: base.login } : {}),
    slurm: {
      ...(clusterName !== undefined ? { clusterName } : {}),
      partition: answers.partition,
      ...(account ? { account } : {}),
      ...slurmRest,
    },
    ...(module ? { environment: { modules: [module] } } : {}),
    container: { ...base.container, runtime: answers.runtime, imageDir: answers.imageDir },
    jupyter: base.jupyter,
    defaults: { ...base.defaults, ...(answers.gpuType !== undefined ? { gpuType: answers.gpuType } : {}) },
  };
}

/** True when two values are the same data (key order aside). */
function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/**
 * A profile named `answers.name` that extends the built-in `builtin` and
 * states only what the answers and the live cluster change: login host,
 * partition, account, runtime, image folder, the partitions when Slurm lists
 * others, the GPU form when the built-in's is refused, mem when sbatch
 * refuses it. What the built-in knows and detect cannot (its Jupyter command,
 * binds, home quota, CPUs per GPU) stays the built-in's.
 */
export function extendingProfile(facts: ClusterFacts, answers: InitAnswers, builtin: Profile): Record<string, unknown> {
  const full = profileFromAnswers(facts, answers);
  const login: Record<string, unknown> = {};
  if (answers.loginHost !== undefined && answers.loginHost !== builtin.login.host) login.host = answers.loginHost;
  if (answers.loginPort !== undefined && answers.loginPort !== builtin.login.port) login.port = answers.loginPort;
  const slurm: Record<string, unknown> = {};
  if (answers.partition !== builtin.slurm.partition) slurm.partition = answers.partition;
  if (answers.account !== undefined && answers.account !== builtin.slurm.account.default) {
    slurm.account = { default: answers.account };
  }
  const form = builtin.slurm.gpuDirective;
  const tried = facts.gpuForms[form];
  if (tried && !tried.accepted && chosenGpuForm(facts) !== form) slurm.gpuDirective = chosenGpuForm(facts);
  if (facts.mem && !facts.mem.accepted && !builtin.slurm.skipDirectives.includes("mem")) {
    slurm.skipDirectives = [...builtin.slurm.skipDirectives, "mem"];
  }
  if (!same(full.slurm.partitions, builtin.slurm.partitions)) slurm.partitions = full.slurm.partitions;
  const container: Record<string, unknown> = {};
  if (answers.runtime !== builtin.container.runtime) container.runtime = answers.runtime;
  if (answers.imageDir !== builtin.container.imageDir) container.imageDir = answers.imageDir;
  const defaults: Record<string, unknown> = {};
  if (answers.gpuType !== undefined && answers.gpuType !== builtin.defaults.gpuType) defaults.gpuType = answers.gpuType;
  const modules = full.environment?.modules;
  const changedModules = container.runtime !== undefined && modules !== undefined && !same(modules, builtin.environment.modules);
  return {
    name: answers.name,
    extends: builtin.name,
    ...(Object.keys(login).length ? { login } : {}),
    ...(Object.keys(slurm).length ? { slurm } : {}),
    ...(changedModules ? { environment: { modules } } : {}),
    ...(Object.keys(container).length ? { container } : {}),
    ...(Object.keys(defaults).length ? { defaults } : {}),
  };
}

/**
 * What to say of an image folder in the home folder ($HOME/..., ~/..., or
 * under `home`, the cluster home when known); `homeQuota` is the built-in
 * profile's container.homeQuota. Undefined when it is elsewhere.
 */
export function imageDirWarning(imageDir: string, homeQuota: string | undefined, home?: string): string | undefined {
  let folder: ReturnType<typeof parseClusterFolder>;
  try {
    folder = parseClusterFolder(imageDir, undefined);
  } catch {
    return undefined;
  }
  const inHome =
    folder.under === "home" || (home !== undefined && (folder.path === home || folder.path.startsWith(`${home.replace(/\/$/, "")}/`)));
  if (!inHome) return undefined;
  const quota = homeQuota ? `has a quota (${homeQuota})` : "has a small quota on most clusters";
  return `the image folder ${imageDir} is in your home folder, which ${quota}, and images take gigabytes each; a project or group folder is better (container.imageDir)`;
}
