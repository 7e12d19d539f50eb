/**
 * SSH from the laptop as OpenSSH does it, against the real sshds of the
 * loopback cluster and compared with the real ssh client: host keys (login2
 * on 127.0.0.1:2223 offers ECDSA and ed25519 keys), the whole ~/.ssh/config
 * (Include, ProxyCommand, UserKnownHostsFile, resolved by `ssh -G`), a
 * laptop without ssh, and a login node without SFTP (login2 again), where a
 * whole Jupyter job runs over one connection. As alice; they fail, never
 * skip, without the cluster. Jobs run inside the real test image: Jupyter
 * reads a file only the image has, a batch job's Python sees it too.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  aliceLogins,
  cancelAll,
  hpcjob,
  imagePaths,
  jobState,
  jupyterFile,
  laptopEnv,
  markerLink,
  NODE,
  requireCluster,
  runAs,
  STAGE,
  stage,
  type TestImages,
  testImages,
  throughTunnel,
  until,
} from "./harness.js";

const CLUSTER = "/tmp/hpcjob-cluster";
const SSHD_LOG = `${CLUSTER}/sshd.log`;
const SSHD2_LOG = `${CLUSTER}/sshd2.log`;
const IMAGE = imagePaths("alice").sif;
const KH = "/home/alice/kh";
const REMOTE = ["--cluster", "loopback-remote"];
const LOGIN2 = ["--cluster", "loopback-login2"];

const SSH_CONFIG = `# written by test/e2e/ssh.e2e.test.ts
Include ~/.ssh/hpcjob-e2e.d/*.conf

Host hpcjob-login
  HostName 127.0.0.1
  Port 2222
  User alice
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes

# The login node without SFTP (its host keys are in ~/.ssh/known_hosts, from start.sh).
Host hpcjob-login2
  HostName 127.0.0.1
  Port 2223
  User alice
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes

# ssh follows this ProxyCommand; hpcjob without ssh ignores it (and says so).
Host hpcjob-nossh
  HostName 127.0.0.1
  Port 2222
  User alice
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes
  ProxyCommand ssh -W %h:%p hpcjob-login

# Host key cases: each alias has its own known_hosts file, ~/kh/ALIAS.
Host kh-*
  HostName 127.0.0.1
  User alice
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile ~/kh/%n
Host kh-2222-acceptnew
  StrictHostKeyChecking accept-new
Host kh-2222-*
  Port 2222
Host kh-2223-*
  Port 2223
`;

const INCLUDED = `# written by test/e2e/ssh.e2e.test.ts: the login node without SFTP, through a ProxyCommand
Host hpcjob-proxied
  HostName 127.0.0.1
  Port 2223
  User alice
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile ~/kh/login2
  ProxyCommand ssh -W %h:%p hpcjob-login
Host hpcjob-badproxy
  HostName 127.0.0.1
  Port 2223
  ProxyCommand sh -c 'echo "no route to the cluster" >&2; exit 1'
`;

/** The key line (type and base64) of a public key file. */
function keyLine(pubFile: string): string {
  return readFileSync(pubFile, "utf8").split(" ").slice(0, 2).join(" ");
}

/** The SHA256 fingerprint ssh-keygen gives a public key file. */
function fingerprintOf(pubFile: string): string {
  return spawnSync("ssh-keygen", ["-lf", pubFile], { encoding: "utf8" }).stdout.split(" ")[1] as string;
}

/** hpcjob on the laptop, as alice (with ssh on PATH unless `ssh: false`). */
function laptop(args: string[], opts: { ssh?: boolean } = {}) {
  return hpcjob("alice", args, { env: laptopEnv("/home/alice", opts) });
}

/** The real ssh client as alice, never asking anything. */
function realSsh(args: string[]) {
  return runAs("alice", ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", ...args]);
}

/** Write alice's known_hosts file for one host key case (~/kh/NAME) and return its path. */
function knownHosts(name: string, text: string): string {
  const file = `${KH}/${name}`;
  writeFileSync(file, text);
  spawnSync("chown", ["alice:alice", file]);
  return file;
}

/** The line numbers ssh-keygen -F finds for `name` in `file`. */
function keygenFound(file: string, name: string): number[] {
  const out = spawnSync("ssh-keygen", ["-F", name, "-f", file], { encoding: "utf8" }).stdout;
  return [...out.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

const LOGIN_ED25519 = `${CLUSTER}/ssh_host_ed25519_key.pub`;
const LOGIN2_ECDSA = `${CLUSTER}/ssh_host2_ecdsa_key.pub`;
const LOGIN2_ED25519 = `${CLUSTER}/ssh_host2_ed25519_key.pub`;

beforeAll(() => {
  requireCluster();
  cancelAll();
  stage();
  const setup = [
    `mkdir -p ~/work ~/images ${KH} ~/.ssh/hpcjob-e2e.d`,
    `printf '%s' "$1" > ~/.ssh/config && printf '%s' "$2" > ~/.ssh/hpcjob-e2e.d/login2.conf`,
    "chmod 600 ~/.ssh/config ~/.ssh/hpcjob-e2e.d/login2.conf",
    `printf '[127.0.0.1]:2223 %s\\n' "$3" "$4" > ${KH}/login2`,
  ].join(" && ");
  const args = [SSH_CONFIG, INCLUDED, keyLine(LOGIN2_ECDSA), keyLine(LOGIN2_ED25519)];
  expect(spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", setup, "x", ...args], { cwd: "/" }).status).toBe(0);
  images = testImages("alice");
  marker = markerLink("alice", images, "/home/alice");
});

/** The real images, and the marker link in the cluster home, where jobs from the laptop start. */
let images: TestImages;
let marker: string;
afterAll(() => cancelAll());

describe("host keys as OpenSSH treats them", () => {
  it("a host known only by its ECDSA key connects silently, though the server also offers ed25519", () => {
    const text = `[127.0.0.1]:2223 ${keyLine(LOGIN2_ECDSA)}\n`;
    const file = knownHosts("kh-2223-ecdsa", text);
    const r = laptop(["ps", ...REMOTE, "--remote", "kh-2223-ecdsa", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(readFileSync(file, "utf8")).toBe(text);
    expect(realSsh(["-o", "StrictHostKeyChecking=yes", "kh-2223-ecdsa", "true"]).status).toBe(0);
  });

  it("a recorded key of another type is a changed key: refused like ssh's accept-new refuses it, the file unchanged", () => {
    const text = `[127.0.0.1]:2223 ${readFileSync("test/fixtures/ssh/host_rsa.pub", "utf8").split(" ").slice(0, 2).join(" ")}\n`;
    const file = knownHosts("kh-2223-rsa", text);
    const ssh = realSsh(["-o", "StrictHostKeyChecking=accept-new", "kh-2223-rsa", "true"]);
    expect(ssh.status).toBe(255);
    expect(ssh.stderr).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    // Both were shown the same key: ed25519, as login2 has no RSA key.
    expect(ssh.stderr).toContain(fingerprintOf(LOGIN2_ED25519));
    for (const extra of [[], ["--accept-new-host"]]) {
      const r = laptop(["ps", ...REMOTE, "--remote", "kh-2223-rsa", ...extra]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        `hpcjob: WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for [127.0.0.1]:2223: it shows ssh-ed25519 ${fingerprintOf(LOGIN2_ED25519)}, but ${file} line 1 has another key (ssh-rsa). Someone may be intercepting the connection, or the host was reinstalled: ask the cluster's administrators, and only then remove the old key with: ssh-keygen -R '[127.0.0.1]:2223' -f ${file}\n`,
      );
    }
    expect(readFileSync(file, "utf8")).toBe(text);
  });

  it("a changed key of the same type is always refused, loudly, even with --accept-new-host", () => {
    const other = spawnSync("bash", ["-c", "d=$(mktemp -d) && ssh-keygen -q -t ed25519 -N '' -f $d/k && cat $d/k.pub"], {
      encoding: "utf8",
    });
    const file = knownHosts("kh-2222-changed", `[127.0.0.1]:2222 ${other.stdout.split(" ").slice(0, 2).join(" ")}\n`);
    for (const extra of [[], ["--accept-new-host"]]) {
      const r = laptop(["ps", ...REMOTE, "--remote", "kh-2222-changed", ...extra]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^hpcjob: WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for \[127\.0\.0\.1\]:2222: it shows ssh-ed25519 SHA256:\S+, but \S+ line 1 has another key \(ssh-ed25519\)\. Someone may be intercepting/,
      );
      expect(r.stderr).toContain(`ssh-keygen -R '[127.0.0.1]:2222' -f ${file}\n`);
    }
  });

  it("an unknown host is refused with its fingerprint; --accept-new-host records it where ssh then finds it", () => {
    const file = knownHosts("kh-2222-unknown", "");
    const fp = `ssh-ed25519 ${fingerprintOf(LOGIN_ED25519)}`;
    const r = laptop(["ps", ...REMOTE, "--remote", "kh-2222-unknown"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `hpcjob: the host [127.0.0.1]:2222 is not in ${file}; its key is ${fp}. If that is the key your cluster publishes, accept it with --accept-new-host (or connect once with ssh kh-2222-unknown and answer yes)\n`,
    );
    const accepted = laptop(["ps", ...REMOTE, "--remote", "kh-2222-unknown", "--accept-new-host"]);
    expect(accepted.status, accepted.stderr).toBe(0);
    expect(accepted.stderr).toBe(`hpcjob: added [127.0.0.1]:2222 (${fp}) to ${file}\n`);
    // Hashed, as Debian's /etc/ssh/ssh_config says (HashKnownHosts yes).
    expect(readFileSync(file, "utf8")).toMatch(/^\|1\|\S+ ssh-ed25519 \S+\n$/);
    expect(keygenFound(file, "[127.0.0.1]:2222")).toEqual([1]);
    expect(realSsh(["-o", "StrictHostKeyChecking=yes", "kh-2222-unknown", "true"]).status).toBe(0);
    const again = laptop(["ps", ...REMOTE, "--remote", "kh-2222-unknown"]);
    expect([again.status, again.stderr]).toEqual([0, ""]);
  });

  it("--accept-new-host on a known_hosts whose last line has no newline keeps both lines valid", () => {
    const first = `other.example.org ${keyLine(LOGIN2_ECDSA)}`;
    const file = knownHosts("kh-2222-nonl", first);
    const r = laptop(["ps", ...REMOTE, "--remote", "kh-2222-nonl", "--accept-new-host"]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(file, "utf8").startsWith(`${first}\n`)).toBe(true);
    expect(keygenFound(file, "other.example.org")).toEqual([1]);
    expect(keygenFound(file, "[127.0.0.1]:2222")).toEqual([2]);
    expect(realSsh(["-o", "StrictHostKeyChecking=yes", "kh-2222-nonl", "true"]).status).toBe(0);
  });

  it("StrictHostKeyChecking accept-new in ~/.ssh/config accepts a new host without the flag", () => {
    const file = knownHosts("kh-2222-acceptnew", "");
    const r = laptop(["ps", ...REMOTE, "--remote", "kh-2222-acceptnew"]);
    expect(r.status, r.stderr).toBe(0);
    expect(keygenFound(file, "[127.0.0.1]:2222")).toEqual([1]);
  });
});

describe("the whole ~/.ssh/config", () => {
  it("an alias from an Included file, reached through its ProxyCommand, with its UserKnownHostsFile: ps and a batch job", () => {
    runAs("alice", [
      "bash",
      "-c",
      'printf \'import sys, os\\nprint("cwd:" + os.getcwd())\\nprint("image:" + open("/etc/hpcjob-test-image").read().strip())\\nsys.exit(4)\\n\' > ~/run.py',
    ]);
    const before = [aliceLogins(SSHD_LOG), aliceLogins(SSHD2_LOG)];
    const ps = laptop(["ps", ...REMOTE, "--remote", "hpcjob-proxied", "--json"]);
    expect(ps.status, ps.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(ps.stdout))).toBe(true);
    // One login on login2, and one on the login node the ProxyCommand's ssh -W goes through.
    expect([aliceLogins(SSHD_LOG) - (before[0] as number), aliceLogins(SSHD2_LOG) - (before[1] as number)]).toEqual([1, 1]);

    const r = laptop(["batch", ...REMOTE, "--remote", "hpcjob-proxied", "--image", IMAGE, "--follow", "run.py"]);
    expect(r.stdout).toContain("cwd:/home/alice\n");
    expect(r.stdout).toContain(`image:${images.markerText}\n`);
    expect(r.status, r.stderr).toBe(4);
    // The ProxyCommand ends with hpcjob.
    expect(spawnSync("pgrep", ["-u", "alice", "-f", "ssh -W 127.0.0.1:2223"]).status).toBe(1);
  });

  it("a ProxyCommand that fails: one line, then what the command said", () => {
    const r = laptop(["ps", ...REMOTE, "--remote", "hpcjob-badproxy"]);
    expect(r.status).toBe(1);
    const [first, ...rest] = r.stderr.trimEnd().split("\n");
    expect(first).toMatch(
      /^hpcjob: could not connect to alice@127\.0\.0\.1:2223 \(hpcjob-badproxy\) through its ProxyCommand \(sh -c 'echo "no route to the cluster" >&2; exit 1'\): /,
    );
    expect(rest).toEqual(["  no route to the cluster"]);
  });

  it("without ssh on the laptop: hpcjob reads the file itself, says once what it ignored, and the alias still works", () => {
    const before = aliceLogins(SSHD_LOG);
    const r = laptop(["ps", ...REMOTE, "--remote", "hpcjob-nossh", "--json"], { ssh: false });
    expect(r.status, r.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
    expect(r.stderr).toBe(
      "hpcjob: ssh is not installed here, so hpcjob read ~/.ssh/config itself and ignored: Include ~/.ssh/hpcjob-e2e.d/*.conf; ProxyCommand ssh -W %h:%p hpcjob-login (install OpenSSH's ssh client to have them followed)\n",
    );
    // Straight to the login node: the ProxyCommand was not run.
    expect(aliceLogins(SSHD_LOG) - before).toBe(1);
  });
});

describe("the remote user", () => {
  it("is the account's name when neither destination, config, profile nor USER says (no ssh on the laptop)", () => {
    const env = laptopEnv("/home/alice", { ssh: false });
    const r = runAs(
      "alice",
      ["env", "-u", "USER", "-u", "LOGNAME", "node", `${STAGE}/bin/hpcjob.cjs`, "ps", "--remote", "127.0.0.1:2222", "--json"],
      { env },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
  });
});

describe("a login node without SFTP", () => {
  it("runs a whole Jupyter job from the laptop over one connection, and the printed tunnel reaches Jupyter", async () => {
    const before = aliceLogins(SSHD2_LOG);
    const refusedBefore = (readFileSync(SSHD2_LOG, "utf8").match(/subsystem request for sftp by user alice failed/g) ?? []).length;
    const r = laptop(["jupyter", ...LOGIN2, "--image", IMAGE, "--json", "--timeout", "2m"]);
    expect(r.status, r.stderr).toBe(0);
    expect(aliceLogins(SSHD2_LOG) - before).toBe(1);
    // The server did refuse SFTP: the files went over plain commands.
    const refused = (readFileSync(SSHD2_LOG, "utf8").match(/subsystem request for sftp by user alice failed/g) ?? []).length;
    expect(refused - refusedBefore).toBe(1);
    const result = JSON.parse(r.stdout) as { jobId: string; node: string; port: number; token: string; tunnel: string; runDir: string };
    expect(result.node).toBe(NODE);
    expect(result.runDir).toMatch(/^\/home\/alice\/\.hpcjob\/runs\//);
    expect(statSync(`${result.runDir}/job.sbatch`).mode & 0o777).toBe(0o600);
    expect(result.tunnel).toBe(`ssh -N -L ${result.port}:${NODE}:${result.port} alice@hpcjob-login2`);
    await throughTunnel("alice", result.tunnel, result.port, result.token, async (api) => {
      // Jupyter runs inside the image: it reads the file that only the image has.
      expect(await jupyterFile(api, result.token, marker)).toBe(`${images.markerText}\n`);
    });
    const c = laptop(["cancel", result.jobId, ...LOGIN2]);
    expect(c.status, c.stderr).toBe(0);
    await until("the job to end", () => !/RUNNING/.test(jobState(result.jobId)), 20_000);
  }, 90_000);

  it("finds a run among many over one connection: commands queue within sshd's MaxSessions (10 there)", () => {
    // 40 earlier runs, each with a job.id to read: without SFTP each read is a channel of its own.
    const make =
      'for i in $(seq 1 40); do d=~/.hpcjob/runs/20200101-0000$(printf %02d "$i")-many; mkdir -p "$d" && echo "9900$i" > "$d/job.id" && echo "log $i" > "$d/job.log"; done';
    expect(runAs("alice", ["bash", "-c", make]).status).toBe(0);
    try {
      const before = aliceLogins(SSHD2_LOG);
      const r = laptop(["logs", "990017", ...LOGIN2]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe("log 17\n");
      expect(aliceLogins(SSHD2_LOG) - before).toBe(1);
    } finally {
      runAs("alice", ["bash", "-c", "rm -rf ~/.hpcjob/runs/20200101-*-many"]);
    }
  });

  it("batch --follow streams the program's output and exits with its code", () => {
    runAs("alice", [
      "bash",
      "-c",
      'printf \'import os, sys\\nprint("args:" + repr(sys.argv[1:]))\\nprint("image env:" + os.environ.get("HPCJOB_TEST_IMAGE", "unset"))\\nsys.exit(3)\\n\' > ~/args.py',
    ]);
    const r = laptop(["batch", ...LOGIN2, "--image", IMAGE, "--follow", "args.py", "a b", "$(x)", "é"]);
    expect(r.stdout).toContain("args:['a b', '$(x)', 'é']\n");
    expect(r.stdout).toContain("image env:jupyter\n");
    expect(r.status, r.stderr).toBe(3);
  });

  it("remote install copies, verifies its sha256, and skips an identical second copy", () => {
    const binary = `${STAGE}/fake-hpcjob-login2`;
    writeFileSync(binary, Buffer.concat([Buffer.from("#!/bin/sh\necho fake hpcjob\n"), Buffer.from([0, 1, 2, 255, 254, 128])]));
    spawnSync("chmod", ["a+r", binary]);
    const target = "/home/alice/.local/bin/hpcjob-login2";
    runAs("alice", ["rm", "-f", target]);
    const sha = createHash("sha256").update(readFileSync(binary)).digest("hex");
    const args = ["remote", "install", ...LOGIN2, "--binary", binary, "--path", "~/.local/bin/hpcjob-login2"];
    const first = laptop(args);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`installed ${target} (sha256 ${sha}, verified on the cluster)`);
    expect(statSync(target).mode & 0o777).toBe(0o755);
    expect(createHash("sha256").update(readFileSync(target)).digest("hex")).toBe(sha);
    const second = laptop([...args, "--json"]);
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ path: target, sha256: sha, installed: false });
  });
});
