/**
 * From the laptop: the same commands over one SSH connection to the login
 * node (the loopback sshd on 127.0.0.1:2222), as alice, with no Slurm command
 * on the laptop side's PATH. They fail, never skip, without the cluster.
 * Jobs run inside the real test image (Apptainer stand-in): Jupyter reads,
 * through the tunnel, a file only the image has; a batch job's Python sees
 * the image's files and ENV; the image without Jupyter fails with
 * Apptainer's message, shown on the laptop.
 * (Host keys, ProxyCommand and login nodes without SFTP: ssh.e2e.test.ts.)
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureExecutable } from "../binary/executable.js";
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
  startHpcjob,
  type TestImages,
  testImages,
  throughTunnel,
  until,
} from "./harness.js";

const IMAGE = imagePaths("alice").sif;
const REMOTE = ["--cluster", "loopback-remote"];
const SSH_CONFIG = `# written by test/e2e/remote.e2e.test.ts
Host hpcjob-login
  HostName 127.0.0.1
  Port 2222
  User alice
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes

Host hpcjob-jump
  HostName 127.0.0.1
  Port 2222
  User alice
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes
  ProxyJump hpcjob-login

# No key file here: ssh-agent is the only way in.
Host hpcjob-agent
  HostName 127.0.0.1
  Port 2222
  User alice
  IdentityFile /nonexistent/no-key

# The same key, encrypted (the passphrase test makes it).
Host hpcjob-passphrase
  HostName 127.0.0.1
  Port 2222
  User alice
  IdentityFile ~/laptop-passphrase/id_ed25519
  IdentitiesOnly yes
`;

/** hpcjob on the laptop, as alice. */
function laptop(args: string[]) {
  return hpcjob("alice", args, { env: laptopEnv() });
}

/** A folder of alice's with a copy of her key, for the agent and passphrase tests. */
function keyCopy(name: string): string {
  const dir = `/home/alice/${name}`;
  const script = `rm -rf ${dir} && mkdir -p ${dir} && cp ~/.ssh/id_ed25519 ${dir}/ && chmod 700 ${dir}`;
  expect(spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", script]).status).toBe(0);
  return dir;
}

/** The real images, and the marker link in the cluster home, where jobs from the laptop start. */
let images: TestImages;
let marker: string;

beforeAll(() => {
  requireCluster();
  cancelAll();
  stage();
  const setup = `mkdir -p ~/work ~/images && printf '%s' "$1" > ~/.ssh/config && chmod 600 ~/.ssh/config`;
  expect(spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", setup, "x", SSH_CONFIG], { cwd: "/" }).status).toBe(0);
  images = testImages("alice");
  marker = markerLink("alice", images, "/home/alice");
});
afterAll(() => cancelAll());

describe("Jupyter from the laptop", () => {
  let result: { jobId: string; node: string; port: number; token: string; tunnel: string; runDir: string };

  it("runs through an ~/.ssh/config alias, with one SSH connection, and prints a tunnel that reaches Jupyter", async () => {
    const before = aliceLogins();
    const r = laptop(["jupyter", ...REMOTE, "--image", IMAGE, "--json", "--timeout", "2m"]);
    expect(r.status, r.stderr).toBe(0);
    expect(aliceLogins() - before).toBe(1);
    result = JSON.parse(r.stdout);
    expect(result.node).toBe(NODE);
    expect(result.runDir).toMatch(/^\/home\/alice\/\.hpcjob\/runs\//);
    expect(result.tunnel).toBe(`ssh -N -L ${result.port}:${NODE}:${result.port} alice@hpcjob-login`);

    await throughTunnel("alice", result.tunnel, result.port, result.token, async (api) => {
      expect((await fetch(api)).status).toBe(403);
      // Jupyter runs inside the image: it reads the file that only the image has.
      expect(await jupyterFile(api, result.token, marker)).toBe(`${images.markerText}\n`);
    });
  });

  it("ps, attach and cancel work the same from the laptop, one connection each", () => {
    for (const args of [
      ["ps", "--json"],
      ["attach", result.jobId, "--json"],
    ]) {
      const before = aliceLogins();
      const r = laptop([...args, ...REMOTE]);
      expect(r.status, r.stderr).toBe(0);
      expect(aliceLogins() - before).toBe(1);
      if (args[0] === "ps") expect(JSON.parse(r.stdout)).toContainEqual(expect.objectContaining({ jobId: result.jobId, state: "RUNNING" }));
      else expect(JSON.parse(r.stdout)).toMatchObject({ token: result.token, port: result.port });
    }
    const before = aliceLogins();
    const c = laptop(["cancel", result.jobId, ...REMOTE]);
    expect(c.status, c.stderr).toBe(0);
    expect(aliceLogins() - before).toBe(1);
  });

  it("an image without Jupyter: exit 1 within a minute, with Apptainer's message from the job's log", () => {
    const started = Date.now();
    const r = laptop(["jupyter", ...REMOTE, "--image", images.nojupyterSif, "--timeout", "2m"]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hpcjob: job \d+ ended \(FAILED, exit code 1\) before Jupyter was ready/);
    expect(r.stderr).toContain('FATAL:   "jupyter": executable file not found in $PATH');
  });

  it("--tunnel --open holds the tunnel itself, opens the browser, and on Ctrl-C closes it and cancels the job", async () => {
    // A browser opener that records the URL it is given.
    const bin = `${STAGE}/opener`;
    const opened = `${bin}/opened`;
    spawnSync("bash", [
      "-c",
      `mkdir -p ${bin} && printf '#!/bin/sh\\necho "$1" > ${opened}\\n' > ${bin}/xdg-open && chmod 755 ${bin}/xdg-open && chmod 777 ${bin}`,
    ]);
    const env = laptopEnv();
    const run = startHpcjob("alice", ["jupyter", ...REMOTE, "--image", IMAGE, "--tunnel", "--open", "--timeout", "2m"], {
      env: { ...env, PATH: `${bin}:${env.PATH}` },
    });
    await until("the local URL", () => /http:\/\/localhost:\d+\/\?token=\w+/.test(run.stdout()), 60_000);
    const url = /http:\/\/localhost:(\d+)\/\?token=(\w+)/.exec(run.stdout()) as RegExpExecArray;
    const api = `http://127.0.0.1:${url[1]}/api/status`;
    expect((await fetch(`${api}?token=${url[2]}`)).status).toBe(200);
    expect((await fetch(api)).status).toBe(403);
    await until("the browser to be opened", () => existsSync(opened), 10_000);
    expect(readFileSync(opened, "utf8").trim()).toBe(url[0]);
    const jobId = /submitted job (\d+)/.exec(run.stderr())?.[1] as string;
    process.kill(run.pid(), "SIGINT");
    expect(await run.done, run.stderr()).toBe(0);
    expect(run.stderr()).toContain(`tunnel closed; cancelled job ${jobId}`);
    expect(
      await fetch(`${api}?token=${url[2]}`)
        .then((r) => r.status)
        .catch(() => 0),
    ).toBe(0);
    await until("the job to end", () => !/RUNNING/.test(jobState(jobId)), 20_000);
  }, 90_000);
});

describe("batch from the laptop", () => {
  it("--follow streams the program's output and exits with its code, in the cluster home", () => {
    runAs("alice", [
      "bash",
      "-c",
      'printf \'import sys, os\\nprint("cwd:" + os.getcwd())\\nprint("args:" + repr(sys.argv[1:]))\\nprint("image:" + open("/etc/hpcjob-test-image").read().strip())\\nprint("image env:" + os.environ.get("HPCJOB_TEST_IMAGE", "unset"))\\nsys.exit(4)\\n\' > ~/run.py',
    ]);
    const before = aliceLogins();
    const r = laptop(["batch", ...REMOTE, "--image", IMAGE, "--follow", "run.py", "a b", "$(x)"]);
    expect(r.stdout).toContain("cwd:/home/alice\n");
    expect(r.stdout).toContain("args:['a b', '$(x)']\n");
    // The image's Python: it reads the image's marker file and has the image's ENV.
    expect(r.stdout).toContain(`image:${images.markerText}\nimage env:jupyter\n`);
    expect(r.status).toBe(4);
    expect(aliceLogins() - before).toBe(1);
  });
});

describe("ssh-agent", () => {
  it("logs in with a key held by the agent when there is no key file", () => {
    const dir = keyCopy("laptop-agent");
    // Only the agent has the key: the copy is removed after adding it.
    const cmd = [
      "eval $(ssh-agent -s) >/dev/null",
      `ssh-add -q ${dir}/id_ed25519`,
      `rm ${dir}/id_ed25519`,
      `env -i HOME=/home/alice PATH=${laptopEnv().PATH} SLURM_CONF=/nonexistent USER=alice SSH_AUTH_SOCK=$SSH_AUTH_SOCK HPCJOB_CLUSTERS=${STAGE}/clusters node ${STAGE}/bin/hpcjob.cjs ps ${REMOTE.join(" ")} --remote hpcjob-agent --json`,
      "status=$?",
      "ssh-agent -k >/dev/null",
      "exit $status",
    ].join("\n");
    const r = runAs("alice", ["bash", "-c", cmd]);
    expect(r.status, r.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
  });
});

describe("keys with a passphrase", () => {
  it("asks for the passphrase on the terminal, once, and connects", async () => {
    const dir = keyCopy("laptop-passphrase");
    // The same key, encrypted: ssh-keygen -p rewrites it with a passphrase.
    expect(runAs("alice", ["ssh-keygen", "-q", "-p", "-N", "s3cret phrase", "-P", "", "-f", `${dir}/id_ed25519`]).status).toBe(0);
    const env = Object.entries({ ...laptopEnv(), HPCJOB_CLUSTERS: `${STAGE}/clusters`, USER: "alice", TERM: "dumb" })
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(" ");
    // script(1) gives hpcjob a terminal; the answer is typed into it once the question shows.
    const child = spawn(
      "runuser",
      [
        "-u",
        "alice",
        "--",
        "script",
        "-qefc",
        `env -i ${env} node ${STAGE}/bin/hpcjob.cjs ps ${REMOTE.join(" ")} --remote hpcjob-passphrase --json`,
        "/dev/null",
      ],
      {
        cwd: "/",
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    const done = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    await until("the passphrase question", () => out.includes(`Passphrase for ${dir}/id_ed25519: `), 20_000);
    child.stdin.write("s3cret phrase\n");
    expect(await done, out).toBe(0);
    expect(out).not.toContain("s3cret");
    expect(out.split("Passphrase for").length - 1).toBe(1);
    expect(out).toMatch(/\[\s*(\{[\s\S]*\}\s*)?\]/);
  });

  it("without a terminal says to add the key to ssh-agent", () => {
    const r = laptop(["ps", ...REMOTE, "--remote", "hpcjob-passphrase"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /no key or answer was accepted \(tried: .*id_ed25519 \(needs a passphrase; no terminal to ask: add it to ssh-agent\)\)/,
    );
  });
});

describe("ProxyJump", () => {
  it("reaches the login node through a jump host", () => {
    const before = aliceLogins();
    const r = laptop(["ps", "--remote", "hpcjob-jump", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
    expect(aliceLogins() - before).toBe(2);
  });
});

describe("the single executable on the login node", () => {
  it("installed with remote install, runs a real Jupyter job there without Node", async () => {
    const exe = `${STAGE}/hpcjob-linux-x64`;
    copyFileSync(ensureExecutable(), exe);
    chmodSync(exe, 0o755);
    const installed = laptop(["remote", "install", ...REMOTE, "--binary", exe]);
    expect(installed.status, installed.stderr).toBe(0);
    expect(installed.stdout).toMatch(/^installed \/home\/alice\/\.local\/bin\/hpcjob \(sha256 [0-9a-f]{64}, verified on the cluster\)/);

    // On the login node, as its user would: ssh in and run it (Slurm is local there).
    const cmd = `env HPCJOB_CLUSTERS=${STAGE}/clusters ~/.local/bin/hpcjob jupyter --cluster loopback-remote --image ${IMAGE} --json --timeout 2m`;
    const r = runAs("alice", ["ssh", "hpcjob-login", cmd], { env: { PATH: "/usr/bin:/bin" } });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { jobId: string; port: number; token: string; tunnel: string; node: string };
    expect(result.node).toBe(NODE);
    expect(result.tunnel).toBe(`ssh -N -L ${result.port}:${NODE}:${result.port} alice@hpcjob-login`);
    try {
      await throughTunnel("alice", result.tunnel, result.port, result.token, async (api) => {
        expect(await jupyterFile(api, result.token, marker)).toBe(`${images.markerText}\n`);
      });
    } finally {
      spawnSync("scancel", [result.jobId]);
    }
  }, 120_000);
});

describe("remote install", () => {
  it("copies, verifies, and skips an identical second copy", () => {
    const binary = `${STAGE}/fake-hpcjob`;
    writeFileSync(binary, Buffer.concat([Buffer.from("#!/bin/sh\necho fake hpcjob\n"), Buffer.from([0, 1, 2, 255, 254, 128])]));
    spawnSync("chmod", ["a+r", binary]);
    const target = "/home/alice/.local/bin/hpcjob-e2e";
    runAs("alice", ["rm", "-f", target]);
    const sha = createHash("sha256").update(readFileSync(binary)).digest("hex");

    const first = laptop(["remote", "install", ...REMOTE, "--binary", binary, "--path", "~/.local/bin/hpcjob-e2e"]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`installed ${target} (sha256 ${sha}, verified on the cluster)`);
    expect(statSync(target).mode & 0o777).toBe(0o755);
    expect(createHash("sha256").update(readFileSync(target)).digest("hex")).toBe(sha);

    const second = laptop(["remote", "install", ...REMOTE, "--binary", binary, "--path", "~/.local/bin/hpcjob-e2e", "--json"]);
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ path: target, sha256: sha, installed: false });
  });
});
