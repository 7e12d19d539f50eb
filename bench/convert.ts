/**
 * Benchmark of an up-to-date `hpcjob image convert` on the loopback cluster
 * (test/cluster/start.sh, images.sh), as alice: the real test image
 * (lab/jupyter:1 in the TLS test registry) converted once by the enroot
 * stand-in (profile loopback-convert-bench), then the same command timed with
 * hyperfine while the file is up to date, which is one HEAD to the registry
 * and one stat and one read on the cluster:
 *  - on the login node (local Slurm, no SSH);
 *  - from alice's "laptop" (no Slurm on PATH) over SSH to the login node;
 *  - `node -e 0` in the laptop's environment, for what Node alone costs.
 * Fails when the laptop's mean is over BENCH_MAX_CONVERT_MS (1000; measured
 * once more before failing, as the machine's load comes and goes).
 * Run by `npm run bench` (bench/convert.sh bundles this file and runs it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hpcjob, hpcjobCli, laptopEnv, requireCluster, stage, userArgv, workDir } from "../test/e2e/harness.js";

const CLUSTER = "loopback-convert-bench";
const RUNS = Number(process.env.BENCH_CONVERT_RUNS ?? 10);
const MAX_MS = Number(process.env.BENCH_MAX_CONVERT_MS ?? 1000);
const MANIFEST = process.env.HPCJOB_IMAGES_JSON ?? "/var/cache/hpcjob-test-images/images.json";
const SSHD_LOG = "/tmp/hpcjob-cluster/sshd.log";
const REGISTRY_LOG = "/var/cache/hpcjob-test-images/registry/registry.log";

interface Manifest {
  registry: { caBundle: string };
  images: { jupyter: { ref: string; digest: string } };
}

/** What `image convert --json` prints. */
interface Converted {
  file: string;
  digest: string;
  upToDate: boolean;
}

/** One command's times, in ms. */
interface Timed {
  name: string;
  mean: number;
  min: number;
  max: number;
}

/** Lines in `file` so far that match `re` (0 when it cannot be read). */
function count(file: string, re: RegExp): number {
  try {
    return (readFileSync(file, "utf8").match(re) ?? []).length;
  } catch {
    return 0;
  }
}
const sshLogins = () => count(SSHD_LOG, /Accepted publickey for alice /g);
const registryRequests = () => count(REGISTRY_LOG, /"(?:HEAD|GET) \/v2\//g);

/** `image convert --json` as alice with `env`; its result, the SSH logins and registry requests it made, its time. */
function convertOnce(ref: string, env: Record<string, string>, timeoutMs = 60_000) {
  const [logins, requests, start] = [sshLogins(), registryRequests(), Date.now()];
  const r = hpcjob("alice", ["image", "convert", `docker://${ref}`, "--cluster", CLUSTER, "--json"], { env, timeoutMs });
  const ms = Date.now() - start;
  if (r.status !== 0) throw new Error(`hpcjob image convert failed (exit ${r.status}):\n${r.stderr}`);
  return {
    result: JSON.parse(r.stdout) as Converted,
    ms,
    logins: sshLogins() - logins,
    requests: registryRequests() - requests,
  };
}

/** hyperfine (--shell=none) over `commands` (name, argv), run from alice's work folder; mean, min and max of each. */
function hyperfine(commands: [string, string[]][], runs: number): Timed[] {
  const dir = mkdtempSync(join(tmpdir(), "hpcjob-bench-"));
  try {
    const json = join(dir, "times.json");
    const args = ["--shell=none", "--warmup", "2", "--runs", String(runs), "--export-json", json];
    for (const [name, argv] of commands) {
      const word = argv.find((w) => /\s/.test(w));
      if (word !== undefined) throw new Error(`hyperfine splits commands at spaces: ${word}`);
      args.push("-n", name, argv.join(" "));
    }
    const r = spawnSync("hyperfine", args, { cwd: workDir("alice"), stdio: ["ignore", 2, 2] });
    if (r.status !== 0) throw new Error(`hyperfine failed (exit ${r.status ?? r.signal})`);
    const { results } = JSON.parse(readFileSync(json, "utf8")) as {
      results: { command: string; mean: number; min: number; max: number }[];
    };
    return results.map((t) => ({ name: t.command, mean: t.mean * 1000, min: t.min * 1000, max: t.max * 1000 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  if (spawnSync("hyperfine", ["--version"]).status !== 0) throw new Error("hyperfine is not installed (apt-get install hyperfine)");
  requireCluster();
  stage();
  spawnSync("runuser", ["-u", "alice", "--", "mkdir", "-p", workDir("alice")], { cwd: "/", stdio: "inherit" });
  const m = JSON.parse(readFileSync(MANIFEST, "utf8")) as Manifest;
  const ref = m.images.jupyter.ref;
  const ca = m.registry.caBundle;
  // hpcjob trusts the test CA through NODE_EXTRA_CA_CERTS; enroot's curl (converting on the login node) through SSL_CERT_FILE.
  const login = { NODE_EXTRA_CA_CERTS: ca, SSL_CERT_FILE: ca };
  const laptop = { ...laptopEnv(), NODE_EXTRA_CA_CERTS: ca };

  // Setup, not timed by hyperfine: the real conversion when the file is not there yet (once per machine and image content).
  const first = convertOnce(ref, login, 600_000);
  if (first.result.digest !== m.images.jupyter.digest) {
    throw new Error(`converted ${first.result.digest}, the registry has ${m.images.jupyter.digest}`);
  }
  // Both sides find it up to date, and what each asks of the registry and SSH.
  const here = convertOnce(ref, login);
  const away = convertOnce(ref, laptop);
  for (const [side, r] of [
    ["login node", here],
    ["laptop", away],
  ] as const) {
    if (!r.result.upToDate || r.result.file !== first.result.file) {
      throw new Error(`on the ${side}, image convert did not find ${first.result.file} up to date: ${JSON.stringify(r.result)}`);
    }
  }

  const args = hpcjobCli(["image", "convert", `docker://${ref}`, "--cluster", CLUSTER]);
  const laptopName = "from the laptop, over SSH";
  const measure = () =>
    hyperfine(
      [
        ["on the login node", userArgv("alice", args, login)],
        [laptopName, userArgv("alice", args, laptop)],
        ["node -e 0, in the laptop's environment", userArgv("alice", ["node", "-e", "0"], laptop)],
      ],
      RUNS,
    );
  let times = measure();
  const laptopMean = () => (times.find((t) => t.name === laptopName) as Timed).mean;
  if (laptopMean() > MAX_MS) {
    console.error(
      `bench: the laptop's up-to-date image convert took ${laptopMean().toFixed(0)} ms on average, over the ${MAX_MS} ms limit; measuring once more`,
    );
    times = measure();
  }

  console.log(`\nup-to-date image convert docker://${ref}, as alice (${RUNS} runs each)`);
  console.log(`${"".padEnd(44)} mean ms   min ms   max ms`);
  for (const t of times) {
    const limit = t.name === laptopName ? `   (limit ${MAX_MS} ms on the mean)` : "";
    const ms = [t.mean, t.min, t.max].map((v) => v.toFixed(0).padStart(7)).join("  ");
    console.log(`${t.name.padEnd(44)} ${ms}${limit}`);
  }
  console.log(
    `setup: ${first.result.upToDate ? "the file was there already" : "converted"} in ${(first.ms / 1000).toFixed(1)} s (${first.result.file})`,
  );
  console.log(
    `per up-to-date run: login node ${here.requests} registry request(s), ${here.logins} SSH login(s); laptop ${away.requests} registry request(s), ${away.logins} SSH login(s)`,
  );
  if (laptopMean() > MAX_MS) {
    console.error(
      `bench: an up-to-date image convert from the laptop took ${laptopMean().toFixed(0)} ms on average, over the ${MAX_MS} ms limit`,
    );
    process.exit(1);
  }
}

try {
  main();
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
}
