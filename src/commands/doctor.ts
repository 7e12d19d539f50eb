/**
 * `hpcjob clusters doctor`: the profile beside the live cluster. It asks
 * what `clusters detect` asks (the same probe and test-only script, one SSH
 * connection from a laptop), plus the account, sacctmgr's associations and
 * the image folder in the second round trip; with --job it runs a tiny job
 * on each GPU partition that prints the runtime's version. profile/doctor.ts
 * judges; this file gathers.
 */
import { posix } from "node:path";
import { isHpcjobError, UsageError } from "../core/errors.js";
import { folderOn, parseClusterFolder } from "../core/values.js";
import type { Executor } from "../exec/executor.js";
import type { ConnectionFlags } from "../exec/placement.js";
import { doctorFindings, type Finding } from "../profile/doctor.js";
import type { Profile } from "../profile/schema.js";
import { renderDoctorJob } from "../render/doctor.js";
import { configuredAccount } from "../request/build.js";
import { clusterProfile } from "../request/sources.js";
import { endState } from "../session/ended.js";
import { sbatchScript } from "../session/sbatch.js";
import { WaitStopped, watchJobs } from "../session/watch.js";
import { accountsScript, parseAccounts } from "../slurm/accounts.js";
import { doctorScript, parseDoctor, testOnlyScript, versionCommand, withTestOnly } from "../slurm/detect.js";
import { baseState, scancelArgv } from "../slurm/index.js";
import type { Context, Done } from "./context.js";
import { probeFacts } from "./detect.js";
import { placementFor } from "./where.js";

/** The flags of `clusters doctor`. */
export interface DoctorFlags extends ConnectionFlags {
  cluster?: string;
  job?: boolean;
}

/** What doctor found: the profile checked, and every check (passed or not). */
export interface Doctored {
  cluster: string;
  findings: Finding[];
}

/** How long a --job job may take from submission to its end (a busy GPU partition may make it wait). */
const JOB_TIMEOUT_MS = 10 * 60_000;

/**
 * --job: one tiny job per GPU partition of the profile that the cluster has,
 * each asking for one GPU the profile's way and printing the runtime's
 * version, watched together by the one job watcher; their folder is removed after.
 */
async function runtimeJobs(
  exec: Executor,
  profile: Profile,
  account: string | undefined,
  live: Set<string>,
  ctx: Context,
): Promise<Finding[]> {
  const runtime = profile.container.runtime;
  const version = versionCommand(runtime) ?? "echo no container runtime";
  const targets = profile.slurm.partitions.filter((p) => live.has(p.name) && p.gpus.length > 0);
  if (targets.length === 0) return [{ kind: "job", ok: true, text: "no GPU partition of the profile to run a job on" }];
  const base = posix.join(await exec.home(), ".hpcjob");
  await exec.mkdir(base, 0o700);
  const dir = posix.join(base, `doctor-${ctx.now().getTime()}-${process.pid}`);
  await exec.createDir(dir, 0o700);
  const jobs = new Map<string, { partition: string; log: string }>();
  const found: Finding[] = [];
  try {
    for (const p of targets) {
      const log = posix.join(dir, `${p.name}.log`);
      const script = posix.join(dir, `${p.name}.sbatch`);
      await exec.writeFile(
        script,
        renderDoctorJob(profile, { partition: p.name, gpuType: p.gpus[0]?.type ?? "gpu", account, log, version }),
        0o700,
      );
      try {
        jobs.set(await sbatchScript(exec, script), { partition: p.name, log });
      } catch (e) {
        if (!isHpcjobError(e)) throw e;
        found.push({
          kind: "job",
          ok: false,
          text: `partition ${p.name}: ${e.message}`,
          fix: "fix the findings above, then run doctor --job again",
        });
      }
    }
    if (jobs.size === 0) return found;
    let left = jobs.size;
    await watchJobs<true>(
      exec,
      {
        jobIds: [...jobs.keys()],
        ended: async ({ jobId, final }) => {
          const job = jobs.get(jobId);
          if (!job) return undefined;
          const end = await endState(exec, jobId, final);
          const out = ((await exec.readFile(job.log)) ?? "").trim().split("\n").filter(Boolean);
          const ok = baseState(end.state) === "COMPLETED" && out.length > 0;
          found.push(
            ok
              ? { kind: "job", ok, text: `partition ${job.partition}: job ${jobId} ran ${version} on a compute node: ${out.at(-1)}` }
              : {
                  kind: "job",
                  ok,
                  text: `partition ${job.partition}: job ${jobId} ${end.text}: ${out.slice(-3).join(" / ") || "(no output)"}`,
                  fix: `make ${runtime} available on the compute nodes (environment.modules or environment.setup in the profile)`,
                },
          );
          left--;
          return left === 0 ? true : undefined;
        },
      },
      { report: ctx.report, signal: ctx.signal, timeoutMs: JOB_TIMEOUT_MS },
    );
    jobs.clear();
    return found;
  } catch (e) {
    if (!(e instanceof WaitStopped) || e.why === "interrupt") throw e;
    // A job that will never start, or not within the time: say so as a finding, like the others.
    return [
      ...found,
      { kind: "job", ok: false, text: e.message, fix: "pick a GPU partition whose nodes are up, or try again when the queue is shorter" },
    ];
  } finally {
    // Jobs still queued (Ctrl-C, a job that cannot start) are cancelled: their folder goes next.
    if (jobs.size > 0) await exec.run(scancelArgv([...jobs.keys()]));
    await exec.run(["rm", "-rf", "--", dir]);
  }
}

/** Check the profile (--cluster, else config.yaml's default) against the live cluster; exit 1 when any check fails. */
export async function doctor(flags: DoctorFlags, ctx: Context): Promise<Done<Doctored>> {
  const { profile, user } = await clusterProfile(ctx, flags.cluster);
  if (!profile) {
    throw new UsageError("no cluster to check: pass --cluster NAME, or set cluster: NAME in ~/.config/hpcjob/config.yaml");
  }
  const imageDir = parseClusterFolder(profile.container.imageDir, `cluster ${profile.name}'s container.imageDir:`);
  const placement = await placementFor(flags, profile, user, ctx);
  const exec = await ctx.connect(placement);
  const probed = await probeFacts(exec);
  const account = configuredAccount(user, profile.name, profile);
  const live = new Set(probed.partitions.map((p) => p.name));
  const partition = live.has(profile.slurm.partition) ? profile.slurm.partition : (probed.partitions[0]?.name ?? profile.slurm.partition);
  const script = [
    testOnlyScript(probed, account),
    doctorScript({ account, partition, imageDir: folderOn(imageDir, await exec.home()) }),
    accountsScript(probed.clusterName),
  ]
    .filter(Boolean)
    .join("\n");
  const answered = await exec.run(["bash", "-c", script]);
  const facts = withTestOnly(probed, answered.stdout);
  const answers = { ...parseDoctor(answered.stdout), associations: parseAccounts(answered.stdout) };
  const findings = doctorFindings(profile, facts, answers, { account });
  if (flags.job) findings.push(...(await runtimeJobs(exec, profile, account, live, ctx)));
  return { data: { cluster: profile.name, findings }, exitCode: findings.some((f) => !f.ok) ? 1 : undefined };
}
