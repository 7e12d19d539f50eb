/**
 * Images on alice's laptop on enroot/pyxis and Charliecloud clusters, whose
 * converters read no archive: hpcjob builds the .sqsh / .sqfs from the
 * image's layers on the loopback cluster's login node (over SSH, profiles
 * loopback-layers-pyxis and loopback-layers-charliecloud). The image is the
 * layered test image (test/cluster/images-layers.sh: the nojupyter image
 * with two more layers: a whiteout of a file of a lower layer and of one of
 * the base layer, an opaque folder, a file added into a read-only folder,
 * one more ENV) as a `docker-archive:` tar and as a `docker-daemon:` image
 * (podman plays the laptop's Docker). Each is sent through the one SSH
 * connection and converted; a second run converts nothing; a batch job runs
 * in the file and sees the files only the image has, not the ones its
 * later layers removed, and the image's ENV. Nothing is left in the scratch
 * folder. With `convertOn: job` (loopback-layers-pyxis-job) the same is
 * built in a Slurm job from the file sent into its run directory. The
 * stand-ins are on the login node's PATH through the profile's
 * environment.setup, which the conversion script runs as its jobs do. Needs
 * test/cluster/install.sh, start.sh and images.sh; fails, never skips,
 * without them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers.js";
import { aliceLogins, cancelAll, hpcjob, LOGIN_ALIAS, type PodmanLaptop, podmanLaptop, requireCluster, stage } from "./harness.js";

const MANIFEST = "/var/cache/hpcjob-test-images/images.json";
const HOME = "/home/alice";

/** What the job prints from inside the image: the layers' files, what the whiteouts removed (nothing, if they worked), the ENV. */
const PROBE = [
  "cat /opt/hpcjob-layers/kept /opt/hpcjob-layers/opaque/new /opt/hpcjob-layers/ro/first /opt/hpcjob-layers/ro/second /etc/hpcjob-test-image",
  'for f in /opt/hpcjob-layers/gone /opt/hpcjob-layers/opaque/old /etc/issue.net; do if [ -e "$f" ]; then echo "still there: $f"; fi; done',
  'echo "HPCJOB_LAYERS=$HPCJOB_LAYERS HPCJOB_TEST_IMAGE=$HPCJOB_TEST_IMAGE"',
].join("; ");

interface Converted {
  file: string;
  ref: string;
  digest: string;
  upToDate: boolean;
  runDir?: string;
}

let archive = "";
let marker = "";
let laptopBox: PodmanLaptop | undefined;
let env: Record<string, string>;

/** hpcjob on the laptop, as alice, with podman as its Docker. */
function laptop(args: string[]) {
  return hpcjob("alice", args, { env, timeoutMs: 300_000 });
}

/** What conversions left in the login node's scratch folder: files sent, roots unpacked. */
function scratchLeft(): string[] {
  return readdirSync("/tmp").filter((f) => f.startsWith("hpcjob-image.") || f.startsWith("hpcjob-unpack."));
}

beforeAll(() => {
  requireCluster();
  cancelAll();
  stage();
  if (!existsSync(MANIFEST)) throw new Error(`${MANIFEST} is missing: bash test/cluster/images.sh builds the test images`);
  marker = JSON.parse(readFileSync(MANIFEST, "utf8")).marker.text;
  const made =
    execFileSync("bash", [join(ROOT, "test", "cluster", "images-layers.sh")], { encoding: "utf8" })
      .trim()
      .split("\n")
      .pop() ?? "";
  archive = JSON.parse(readFileSync(made, "utf8")).dockerArchive;
  laptopBox = podmanLaptop("layers-e2e", [archive]);
  env = laptopBox.env;
  const setup = `mkdir -p ~/work && rm -rf ~/images/layers-pyxis-e2e ~/images/layers-pyxis-job-e2e ~/images/layers-ch-e2e && printf '%s' "$1" > ~/.ssh/config && chmod 600 ~/.ssh/config`;
  expect(spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", setup, "x", LOGIN_ALIAS], { cwd: "/" }).status).toBe(0);
}, 300_000);

afterAll(() => {
  cancelAll();
  laptopBox?.dispose();
});

describe.each([
  ["loopback-layers-pyxis", ".sqsh", `${HOME}/images/layers-pyxis-e2e`],
  ["loopback-layers-charliecloud", ".sqfs", `${HOME}/images/layers-ch-e2e`],
])("on %s", (cluster, ext, images) => {
  describe.each([
    ["docker-archive:", () => `docker-archive:${archive}`, "archive+layers+"],
    ["docker-daemon: (podman as the laptop's Docker)", () => "docker-daemon:lab/layers:1", "daemon+lab+layers+1+"],
  ])("image convert %s from the laptop", (_name, ref, prefix) => {
    let converted: Converted;

    it(`sends the image through the one SSH connection and builds the ${ext} from its layers; nothing is left in the scratch folder`, () => {
      const before = aliceLogins();
      const left = scratchLeft();
      const r = laptop(["image", "convert", ref(), "--cluster", cluster, "--json"]);
      expect(r.status, r.stderr).toBe(0);
      expect(aliceLogins() - before).toBe(1);
      converted = JSON.parse(r.stdout);
      expect(converted.upToDate).toBe(false);
      const name = converted.file.slice(images.length + 1);
      expect(converted.file.startsWith(`${images}/`)).toBe(true);
      expect(name.startsWith(prefix) && name.endsWith(ext)).toBe(true);
      expect(r.stderr).toMatch(/sent \d+ MiB of /);
      expect(scratchLeft()).toEqual(left);
      const log = readFileSync(join(converted.runDir ?? "", "job.log"), "utf8");
      expect(log).toContain("hpcjob: applying layer 3 of 3");
      const record = JSON.parse(readFileSync(`${converted.file}.json`, "utf8"));
      expect(record.digest).toBe(converted.digest);
      expect(record.converter).toMatch(/^hpcjob layers, /);
    }, 300_000);

    it("a second run finds the file: nothing sent, nothing converted", () => {
      const r = laptop(["image", "convert", ref(), "--cluster", cluster, "--json"]);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ file: converted.file, ref: converted.ref, digest: converted.digest, upToDate: true });
      expect(r.stderr).not.toMatch(/sen[dt]/);
    }, 60_000);

    it("a batch job runs in the file: the layers' files, not the ones a later layer removed, and the image's ENV", () => {
      const r = laptop(["batch", "--cluster", cluster, "--image", converted.file, "--follow", "--", "sh", "-c", PROBE]);
      expect(r.status, r.stderr).toBe(0);
      for (const text of [
        "kept by layer 3",
        "new in layer 3's opaque folder",
        "first, in a read-only folder",
        "second, added to the read-only folder by layer 3",
        marker,
        "HPCJOB_LAYERS=three HPCJOB_TEST_IMAGE=nojupyter",
      ])
        expect(r.stdout).toContain(text);
      expect(r.stdout).not.toContain("still there");
    }, 180_000);
  });
});

describe("convertOn: job (loopback-layers-pyxis-job)", () => {
  it("builds the .sqsh from the layers in a Slurm job, from the file sent into its run directory; a job runs in it", () => {
    const cluster = "loopback-layers-pyxis-job";
    const left = scratchLeft();
    const r = laptop(["image", "convert", `docker-archive:${archive}`, "--cluster", cluster, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const converted: Converted = JSON.parse(r.stdout);
    expect(converted.upToDate).toBe(false);
    expect(converted.file).toMatch(/\/images\/layers-pyxis-job-e2e\/archive\+layers\+[0-9a-f]{12}\.sqsh$/);
    expect(r.stderr).toMatch(/in a Slurm job in partition cpu/);
    const runDir = converted.runDir ?? "";
    expect(readFileSync(join(runDir, "job.log"), "utf8")).toContain("hpcjob: applying layer 3 of 3");
    expect(readdirSync(runDir).filter((f) => f.startsWith("hpcjob-image.") || f.startsWith("hpcjob-unpack."))).toEqual([]);
    expect(scratchLeft()).toEqual(left);
    const job = laptop(["batch", "--cluster", cluster, "--image", converted.file, "--follow", "--", "sh", "-c", PROBE]);
    expect(job.status, job.stderr).toBe(0);
    expect(job.stdout).toContain("kept by layer 3");
    expect(job.stdout).toContain("HPCJOB_LAYERS=three");
    expect(job.stdout).not.toContain("still there");
  }, 300_000);
});
