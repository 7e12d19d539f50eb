/**
 * `hpcjob init`: a guided interview on a terminal that writes a working
 * profile and makes it the default cluster. Every default is what `clusters
 * detect` reads of the cluster (or the built-in profile of that cluster), plus
 * the user's Slurm accounts from sacctmgr, all over one connection. The
 * questions are asked through `Questions`, which cli/ implements on the
 * terminal: this file decides what to ask and writes nothing half-done.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { UsageError } from "../core/errors.js";
import { isName, parseAccount, parseClusterFolder, parseName } from "../core/values.js";
import type { InitAnswers } from "../profile/init.js";
import { configDir, loadProfileFile, profileFiles } from "../profile/load.js";
import type { Profile } from "../profile/schema.js";
import { loadUserConfig, userConfigPath } from "../request/sources.js";
import { RUNTIME_NAMES, type RuntimeName } from "../runtime/index.js";
import { accountsScript, parseAccounts, type UserAccounts } from "../slurm/accounts.js";
import type { ClusterFacts, DetectedPartition } from "../slurm/detect.js";
import type { Context, Done } from "./context.js";
import { checkMadeProfile, type DetectFlags, profileName, reached, readCluster } from "./detect.js";
import { writeOutputFile } from "./outputFile.js";

/** The flags of `init`. */
export interface InitFlags extends DetectFlags {
  /** Take every default without asking. */
  yes?: boolean;
}

/** One choice of a select question. */
export interface Choice<T extends string> {
  value: T;
  name: string;
}

/** The questions init asks, answered on the terminal (cli/questions.ts) or by a test. */
export interface Questions {
  /** True when questions can be asked (stdin and stderr are a terminal). */
  readonly available: boolean;
  /** Free text with a default; `check` returns what is wrong with an answer, or undefined. */
  input(message: string, def: string, check?: (answer: string) => string | undefined): Promise<string>;
  /** One of `choices`, `def` preselected. */
  select<T extends string>(message: string, choices: Choice<T>[], def: T): Promise<T>;
  /** Yes or no. */
  confirm(message: string, def: boolean): Promise<boolean>;
}

/** What init did: the profile file, what it extends, config.yaml, the accounts it found, and what it warned of. */
export interface Initialized {
  name: string;
  file: string;
  extends?: string;
  yaml: string;
  config: string;
  accounts: UserAccounts;
  warnings: string[];
}

/** The message when there is nobody to answer. */
export const NO_TERMINAL = "init asks questions on a terminal; use --yes to take the detected defaults, or hpcjob clusters detect -o FILE";

/** The built-in profiles of real clusters (custom.yaml is a template), loaded. */
async function builtins(ctx: Context): Promise<Profile[]> {
  const files = profileFiles(ctx).filter((pf) => pf.origin === "builtin" && pf.name !== "custom");
  return Promise.all(files.map((pf) => loadProfileFile(ctx, pf).then((l) => l.profile)));
}

/** The problem with a parser's verdict on an answer, as the question shows it; undefined when it holds. */
function problem(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** How a runtime was found, in words. */
const FOUND_VIA = { path: "on PATH", module: "as a module", srun: "in srun --help" } as const;

/** A partition as a choice shows it: its name, time limit and GPU types. */
function partitionLabel(p: DetectedPartition): string {
  const types = [...new Set(p.nodes.flatMap((n) => n.gpus.map((g) => g.type ?? "gpu")))];
  return `${p.name} (max ${p.maxTime}${types.length ? `, GPUs ${types.join(" ")}` : ""})`;
}

/** Ask every question, each with its default; say what matters (no accounts, an image folder in home) as it comes. */
async function interview(
  q: Questions,
  ctx: Context,
  facts: ClusterFacts,
  def: InitAnswers,
  accounts: UserAccounts,
  quota: string | undefined,
): Promise<InitAnswers> {
  const { imageDirWarning } = await import("../profile/init.js");
  const name = await q.input("Profile name", def.name, (a) => problem(() => parseName(a, undefined)));
  const loginHost = (await q.input("Login host (ssh target; empty: none)", def.loginHost ?? "")).trim() || undefined;
  let account: string | undefined;
  if ("problem" in accounts) {
    ctx.report({ kind: "note", text: `could not read your Slurm accounts (${accounts.problem}); type one, or leave it empty` });
    account =
      (
        await q.input("Account (empty: Slurm's default)", def.account ?? "", (a) =>
          a ? problem(() => parseAccount(a, undefined)) : undefined,
        )
      ).trim() || undefined;
  } else if (accounts.accounts.length > 0) {
    const none = "";
    const choices = [
      ...accounts.accounts.map((a) => ({ value: a, name: a === accounts.defaultAccount ? `${a} (your default account)` : a })),
      { value: none, name: "none: let Slurm choose" },
    ];
    account = (await q.select("Account to charge", choices, def.account ?? none)) || undefined;
  } else {
    ctx.report({
      kind: "note",
      text: "sacctmgr lists no Slurm account for you; where the site enforces accounts, ask it to add you to one",
    });
  }
  const partition = await q.select(
    "Default partition",
    facts.partitions.map((p) => ({ value: p.name, name: partitionLabel(p) })),
    def.partition,
  );
  const types = [...new Set(facts.partitions.find((p) => p.name === partition)?.nodes.flatMap((n) => n.gpus.map((g) => g.type)) ?? [])];
  const named = types.filter((t): t is string => t !== undefined && isName(t));
  let gpuType: string | undefined;
  if (named.length > 0) {
    const any = "";
    const choices = [{ value: any, name: "any type" }, ...named.map((t) => ({ value: t, name: t }))];
    gpuType =
      (await q.select("GPU type that --gpus N asks for", choices, def.gpuType && named.includes(def.gpuType) ? def.gpuType : any)) ||
      undefined;
  }
  const found = (r: string) => facts.runtimes.filter((f) => f.name === r);
  const runtime = await q.select<RuntimeName>(
    "Container runtime",
    [...RUNTIME_NAMES]
      .sort((a, b) => Number(found(b).length > 0) - Number(found(a).length > 0))
      .map((r) => ({ value: r, name: found(r).length ? `${r} (found ${FOUND_VIA[found(r)[0]?.via ?? "path"]})` : r })),
    def.runtime,
  );
  const imageDir = await q.input("Image folder on the cluster", def.imageDir, (a) => problem(() => parseClusterFolder(a, undefined)));
  // Said at once, while the user can still think of another folder (the answer stands: it is theirs).
  const warning = imageDirWarning(imageDir, quota);
  if (warning) ctx.report({ kind: "note", text: `warning: ${warning}` });
  // The port came with the host it was detected for.
  const loginPort = loginHost === def.loginHost ? def.loginPort : undefined;
  return { ...def, name, loginHost, loginPort, account, partition, gpuType, runtime, imageDir };
}

/** config.yaml with `cluster: NAME`, the rest (comments too) kept, written whole. */
async function setDefault(ctx: Context, name: string): Promise<string> {
  const file = userConfigPath(ctx);
  // A broken config.yaml is reported with its file and line before anything is changed.
  await loadUserConfig(ctx);
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  // A config.yaml kept private (0600) stays so.
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o644;
  const { yamlLibrary } = await import("../profile/files.js");
  // An empty file parses to no contents: start a map.
  const doc = text.trim() ? yamlLibrary.parseDocument(text) : new yamlLibrary.Document({});
  doc.set("cluster", name);
  mkdirSync(dirname(file), { recursive: true });
  writeOutputFile(file, doc.toString({ lineWidth: 0 }), file, true, mode);
  return file;
}

/** Run init: read the cluster, ask (or take the defaults with --yes), write the profile whole and make it the default. */
export async function init(flags: InitFlags, ctx: Context, q: Questions): Promise<Done<Initialized>> {
  if (flags.name !== undefined) parseName(flags.name, "--name");
  if (!flags.yes && !q.available) throw new UsageError(NO_TERMINAL);
  const { facts, placement } = await readCluster(flags, ctx);
  const exec = await ctx.connect(placement);
  const said = await exec.run(["bash", "-c", accountsScript(facts.clusterName)]);
  const accounts = parseAccounts(said.stdout);
  const { defaultAnswers, extendingProfile, imageDirWarning, matchingBuiltin, profileFromAnswers } = await import("../profile/init.js");
  const { detectedYaml } = await import("../profile/detected.js");
  const { yamlLibrary } = await import("../profile/files.js");
  const { deepMerge } = await import("../profile/load.js");
  const where = reached(placement);
  const builtin = matchingBuiltin(facts, where.loginHost, await builtins(ctx));
  const def = defaultAnswers(
    facts,
    { name: flags.name ?? profileName({}, facts) ?? "detected", ...where },
    "problem" in accounts ? undefined : accounts,
    builtin,
  );
  if (flags.name !== undefined) def.name = flags.name;
  const answers = flags.yes ? def : await interview(q, ctx, facts, def, accounts, builtin?.container.homeQuota);
  const warnings: string[] = [];
  if ("problem" in accounts) warnings.push(`could not read your Slurm accounts (${accounts.problem})`);
  const inHome = imageDirWarning(answers.imageDir, builtin?.container.homeQuota);
  if (inHome) warnings.push(inHome);
  // The interview said these as they came up.
  if (flags.yes) for (const text of warnings) ctx.report({ kind: "note", text: `warning: ${text}` });

  let profile: Record<string, unknown>;
  let yaml: string;
  if (builtin) {
    profile = extendingProfile(facts, answers, builtin);
    const doc = new yamlLibrary.Document(profile);
    doc.commentBefore = ` Written by hpcjob init: the built-in profile ${builtin.name} with what differs on this cluster or for you.\n Review it, then check it with: hpcjob clusters validate FILE`;
    yaml = doc.toString({ lineWidth: 0 });
  } else {
    const full = profileFromAnswers(facts, answers);
    profile = full as Record<string, unknown>;
    const notes: [(string | number)[], string][] = [];
    if (answers.account !== undefined) notes.push([["slurm", "account", "default"], "your answer to hpcjob init (sacctmgr show assoc)"]);
    if (answers.partition !== facts.partitions.find((p) => p.isDefault)?.name)
      notes.push([["slurm", "partition"], "your answer to hpcjob init"]);
    if (answers.gpuType !== undefined) notes.push([["defaults", "gpuType"], "your answer to hpcjob init: what --gpus N asks for"]);
    notes.push([["container", "imageDir"], "your answer to hpcjob init"]);
    yaml = detectedYaml(facts, full, { by: "hpcjob init", notes });
  }
  await checkMadeProfile(
    builtin ? deepMerge(builtin, { ...profile, extends: undefined }) : profile,
    "the profile init made",
    "write one with hpcjob clusters detect -o FILE and edit it",
  );

  const file = join(configDir(ctx), "clusters", `${answers.name}.yaml`);
  let replace = Boolean(flags.force);
  if (!replace && existsSync(file)) {
    if (flags.yes || !q.available)
      throw new UsageError(`${file} exists already; review it, then pass --force to replace it, or --name another`);
    replace = await q.confirm(`${file} exists. Replace it?`, false);
    if (!replace) throw new UsageError(`kept ${file} as it was; run hpcjob init --name ANOTHER to write a profile beside it`);
  }
  mkdirSync(dirname(file), { recursive: true });
  writeOutputFile(file, yaml, file, replace);
  const config = await setDefault(ctx, answers.name);
  return { data: { name: answers.name, file, extends: builtin?.name, yaml, config, accounts, warnings } };
}
