/**
 * Images on alice's laptop converted on the loopback cluster over SSH
 * (profile loopback-daemon: loopback-remote with its own image folder): a
 * `docker-archive:` tar (the test image's docker save) and a
 * `docker-daemon:` image (podman plays the laptop's Docker: it is on the
 * laptop's PATH and docker is not), each streamed through the one SSH
 * connection into the cluster's scratch folder and built into a .sif by the
 * Apptainer stand-in; a second run finds the file and sends nothing; a batch
 * job runs in it; the sent file is gone afterwards. And `jupyter --image
 * docker-daemon:` from the laptop: the image converted over the command's one
 * SSH connection, then Jupyter runs inside it. The conversion runs on
 * the login node over SSH, where the stand-ins are not on PATH: the profile's
 * environment.setup puts them first, in the conversion script as in its jobs
 * (as a real cluster's `module load apptainer` would). Needs test/cluster/install.sh, start.sh and images.sh; fails,
 * never skips, without them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  aliceLogins,
  cancelAll,
  hpcjob,
  jupyterFile,
  LOGIN_ALIAS,
  markerLink,
  type PodmanLaptop,
  podmanLaptop,
  requireCluster,
  stage,
  testImages,
  throughTunnel,
} from "./harness.js";

const MANIFEST = "/var/cache/hpcjob-test-images/images.json";
const HOME = "/home/alice";
const IMAGES = `${HOME}/images/daemon-e2e`;
const CLUSTER = ["--cluster", "loopback-daemon"];

interface Converted {
  file: string;
  ref: string;
  digest: string;
  upToDate: boolean;
  runDir?: string;
}

let nojupyter: { dockerArchive: string };
let jupyter: { dockerArchive: string; digest: string };
let marker: string;
/** The image's marker file, linked into alice's home (where a job from the laptop runs) as this name. */
let markerInHome: string;
let laptopBox: PodmanLaptop | undefined;
let env: Record<string, string>;

/** hpcjob on the laptop, as alice, with podman as its Docker. */
function laptop(args: string[]) {
  return hpcjob("alice", args, { env, timeoutMs: 300_000 });
}

/** Files the conversions sent that are still in the scratch folder. */
function sentLeft(): string[] {
  return readdirSync("/tmp").filter((f) => f.startsWith("hpcjob-image."));
}

beforeAll(() => {
  requireCluster();
  cancelAll();
  stage();
  testImages("alice");
  if (!existsSync(MANIFEST)) throw new Error(`${MANIFEST} is missing: bash test/cluster/images.sh builds the test images`);
  const m = JSON.parse(readFileSync(MANIFEST, "utf8"));
  nojupyter = m.images.nojupyter;
  jupyter = m.images.jupyter;
  marker = m.marker.text;
  markerInHome = markerLink("alice", testImages("alice"), HOME);
  // The laptop: its tools, podman (as Docker) with the test images loaded, and what rootless podman runs; no docker, no Slurm.
  laptopBox = podmanLaptop("daemon-e2e", [nojupyter.dockerArchive, jupyter.dockerArchive]);
  env = laptopBox.env;
  // The alias and a clean image folder.
  const setup = `mkdir -p ~/work && rm -rf "$2" && printf '%s' "$1" > ~/.ssh/config && chmod 600 ~/.ssh/config`;
  expect(spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", setup, "x", LOGIN_ALIAS, IMAGES], { cwd: "/" }).status).toBe(0);
}, 120_000);

afterAll(() => {
  cancelAll();
  laptopBox?.dispose();
});

describe.each([
  ["docker-archive:", () => `docker-archive:${nojupyter.dockerArchive}`, /^archive\+nojupyter\+[0-9a-f]{12}\.sif$/],
  [
    "docker-daemon: (podman as the laptop's Docker)",
    () => "docker-daemon:lab/nojupyter:1",
    /^daemon\+lab\+nojupyter\+1\+[0-9a-f]{12}\.sif$/,
  ],
])("image convert %s from the laptop", (_name, ref, fileName) => {
  let converted: Converted;

  it("streams the image through the one SSH connection and converts it on the login node; the sent file is removed", () => {
    const before = aliceLogins();
    const left = sentLeft();
    const r = laptop(["image", "convert", ref(), ...CLUSTER, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    expect(aliceLogins() - before).toBe(1);
    converted = JSON.parse(r.stdout);
    expect(converted.upToDate).toBe(false);
    expect(converted.file.startsWith(`${IMAGES}/`)).toBe(true);
    expect(converted.file.slice(IMAGES.length + 1)).toMatch(fileName);
    expect(converted.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.stderr).toMatch(/sending .* to \/tmp\/hpcjob-image\.\w+ on the cluster/);
    expect(r.stderr).toMatch(/sent \d+ MiB of /);
    expect(sentLeft()).toEqual(left);
    const record = JSON.parse(readFileSync(`${converted.file}.json`, "utf8"));
    expect(record.digest).toBe(converted.digest);
    expect(record.ref).toBe(converted.ref);
  }, 300_000);

  it("a second run finds the file: nothing sent, one line", () => {
    const before = aliceLogins();
    const r = laptop(["image", "convert", ref(), ...CLUSTER, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    expect(aliceLogins() - before).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ file: converted.file, ref: converted.ref, digest: converted.digest, upToDate: true });
    expect(r.stderr).not.toMatch(/sen[dt]/);
  }, 60_000);

  it("a batch job runs in the file", () => {
    const r = laptop(["batch", ...CLUSTER, "--image", converted.file, "--follow", "--", "cat", "/etc/hpcjob-test-image"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(marker);
  }, 180_000);
});

describe("the same content, two names", () => {
  it("the archive and the daemon's image have the same digest (the config digest, the image ID)", () => {
    const a = JSON.parse(laptop(["image", "convert", `docker-archive:${nojupyter.dockerArchive}`, ...CLUSTER, "--json"]).stdout);
    const d = JSON.parse(laptop(["image", "convert", "docker-daemon:lab/nojupyter:1", ...CLUSTER, "--json"]).stdout);
    expect(a.upToDate && d.upToDate).toBe(true);
    expect(a.digest).toBe(d.digest);
  }, 60_000);
});

describe("jupyter --image docker-daemon: from the laptop", () => {
  it("converts the laptop's image over the command's one SSH connection, then Jupyter runs inside it (a file only the image has, through the tunnel)", async () => {
    const before = aliceLogins();
    const r = laptop(["jupyter", ...CLUSTER, "--image", "docker-daemon:lab/jupyter:1", "--json", "--timeout", "3m"]);
    expect(r.status, r.stderr).toBe(0);
    expect(aliceLogins() - before).toBe(1);
    expect(r.stderr).toMatch(/sending docker-daemon:lab\/jupyter:1 to \/tmp\/hpcjob-image\.\w+ on the cluster/);
    expect(r.stderr).toMatch(/converting docker-daemon:lab\/jupyter:1 \(sha256:[0-9a-f]{64}\) on the login node/);
    const result = JSON.parse(r.stdout) as { jobId: string; port: number; token: string; tunnel: string; runDir: string };
    try {
      const ran = JSON.parse(readFileSync(join(result.runDir, "request.json"), "utf8")).request;
      expect(ran.imageRef).toEqual({ kind: "docker-daemon", name: "lab/jupyter", tag: "1" });
      expect(ran.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(ran.image).toMatch(new RegExp(`^${IMAGES}/daemon\\+lab\\+jupyter\\+1\\+[0-9a-f]{12}\\.sif$`));
      expect(existsSync(ran.image)).toBe(true);
      await throughTunnel("alice", result.tunnel, result.port, result.token, async (api) => {
        expect(await jupyterFile(api, result.token, markerInHome)).toBe(`${marker}\n`);
      });
    } finally {
      laptop(["cancel", result.jobId, ...CLUSTER]);
    }
  }, 300_000);
});
