/**
 * `clusters detect` in process, on the output recorded from the loopback
 * cluster: two round trips, the profile's YAML compared with a saved golden
 * (test/golden/loopback.detected.yaml; UPDATE_GOLDEN=1 rewrites it, read the
 * diff), and the written file checked by `clusters validate` itself.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validate } from "../../src/commands/clusters.js";
import { detect } from "../../src/commands/detect.js";
import { SlurmError, UsageError } from "../../src/core/errors.js";
import { FakeClock, FakeExecutor, ok } from "../fakes.js";
import { ROOT } from "../helpers.js";
import { fakeContext } from "./fakeCluster.js";

const FIXTURES = join(ROOT, "test", "fixtures", "slurm");
const GOLDEN = join(ROOT, "test", "golden", "loopback.detected.yaml");

/** A login node that answers the probe and the test-only script with what the loopback cluster said. */
function loginNode(probe = "detect-probe-login.txt"): FakeExecutor {
  return new FakeExecutor(new FakeClock(), {
    bash: (argv) => ok(readFileSync(join(FIXTURES, argv[2]?.includes("scontrol show config") ? probe : "detect-testonly.txt"), "utf8")),
  });
}

describe("clusters detect", () => {
  it("asks in two round trips and prints the golden profile, which clusters validate accepts unchanged", async () => {
    const exec = loginNode();
    const ctx = fakeContext(exec);
    const done = await detect({ local: true, name: "loopback-detected" }, ctx);
    expect(exec.calls.map((c) => c.argv.slice(0, 2))).toEqual([
      ["bash", "-c"],
      ["bash", "-c"],
    ]);
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, done.data.yaml);
    expect(done.data.yaml).toBe(readFileSync(GOLDEN, "utf8"));
    const dir = mkdtempSync(join(tmpdir(), "hpcjob-detect-"));
    writeFileSync(join(dir, "loopback-detected.yaml"), done.data.yaml);
    const checked = await validate(join(dir, "loopback-detected.yaml"), ctx);
    expect(checked.data).toMatchObject({ file: { name: "loopback-detected", runtime: "apptainer", partitions: 3 } });
  });

  it("writes -o whole, named after the file, and refuses to replace it without --force", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hpcjob-detect-"));
    const ctx = fakeContext(loginNode(), { cwd: dir });
    const done = await detect({ local: true, output: "site.yaml" }, ctx);
    expect(done.data.output).toBe("site.yaml");
    const text = readFileSync(join(dir, "site.yaml"), "utf8");
    expect(text).toMatch(/^name: site /m);
    writeFileSync(join(dir, "site.yaml"), "mine\n");
    await expect(detect({ local: true, output: "site.yaml" }, ctx)).rejects.toThrow(
      new UsageError("site.yaml exists already; review it, then pass --force to replace it, or give -o another file"),
    );
    expect(readFileSync(join(dir, "site.yaml"), "utf8")).toBe("mine\n");
    await detect({ local: true, output: "site.yaml", force: true }, ctx);
    expect(readFileSync(join(dir, "site.yaml"), "utf8")).toBe(text);
    expect(readdirSync(dir)).toEqual(["site.yaml"]);
  });

  it("refuses bad flags before asking the cluster anything", async () => {
    const exec = loginNode();
    const ctx = fakeContext(exec);
    await expect(detect({ local: true, name: "a", output: "b.yaml" }, ctx)).rejects.toThrow(/--name a and -o b.yaml disagree/);
    await expect(detect({ local: true, output: "site.txt" }, ctx)).rejects.toThrow(/is not a .yaml or .yml file/);
    await expect(detect({ local: true, name: "../x" }, ctx)).rejects.toThrow(UsageError);
    await expect(detect({ local: true, output: "/nonexistent/dir/x.yaml" }, ctx)).rejects.toThrow(
      "cannot write /nonexistent/dir/x.yaml: the folder /nonexistent/dir does not exist",
    );
    expect(existsSync("/nonexistent/dir")).toBe(false);
    expect(exec.calls).toHaveLength(2);
  });

  it("from a laptop puts the host it reached as login.host, and names the profile after ClusterName", async () => {
    const ctx = fakeContext(loginNode("detect-probe-ssh.txt"));
    const done = await detect({ remote: "alice@hpcjob-login" }, ctx);
    expect(ctx.placements[0]).toMatchObject({ where: "ssh", destination: "alice@hpcjob-login" });
    expect(done.data.yaml).toMatch(/^name: hpcjob-test /m);
    expect(done.data.yaml).toMatch(/^ {2}host: hpcjob-login # how this computer reached the login node$/m);
    expect(done.data.yaml).toMatch(/^ {2}runtime: charliecloud /m);
    const withPort = await detect({ remote: "alice@login.example.org:2200" }, fakeContext(loginNode("detect-probe-ssh.txt")));
    expect(withPort.data.yaml).toMatch(
      /^login:\n {2}host: login.example.org # how this computer reached the login node\n {2}port: 2200\n/m,
    );
  });

  it("exits 1 with Slurm's own words when sinfo lists no partition", async () => {
    const down = new FakeExecutor(new FakeClock(), {
      bash: () =>
        ok(
          "@@hpcjob-detect config\nslurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)\n@@hpcjob-detect-exit 1\n@@hpcjob-detect sinfo\nslurm_load_partitions: Unable to contact slurm controller (connect failure)\n@@hpcjob-detect-exit 1\n",
        ),
    });
    const e = await detect({ local: true }, fakeContext(down)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SlurmError);
    expect((e as SlurmError).message).toMatch(/^sinfo listed no partitions you can submit to; check/);
    expect((e as SlurmError).evidence).toEqual([
      "sinfo: slurm_load_partitions: Unable to contact slurm controller (connect failure)",
      "scontrol: slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)",
    ]);
  });
});
