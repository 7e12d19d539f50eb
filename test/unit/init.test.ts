/**
 * What `hpcjob init` makes, pure: the user's accounts from sacctmgr's output
 * (recorded on the loopback cluster with accounting, and with slurmdbd not
 * answering), and facts + answers -> profile: detect's profile plus the
 * answers, or a profile that extends a built-in and states only what differs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { profileFromFacts } from "../../src/profile/detected.js";
import {
  DEFAULT_IMAGE_DIR,
  defaultAnswers,
  extendingProfile,
  type InitAnswers,
  imageDirWarning,
  matchingBuiltin,
  profileFromAnswers,
} from "../../src/profile/init.js";
import { deepMerge, loadProfile } from "../../src/profile/load.js";
import { checkProfile } from "../../src/profile/rules.js";
import { ProfileSchema } from "../../src/profile/schema.js";
import { accountsScript, parseAccounts } from "../../src/slurm/accounts.js";
import { type ClusterFacts, parseProbe, withTestOnly } from "../../src/slurm/detect.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "slurm");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
/** The loopback cluster as detect reads it on the login node. */
const facts = (): ClusterFacts => withTestOnly(parseProbe(fixture("detect-probe-login.txt")), fixture("detect-testonly.txt"));
const ENV = { env: {}, home: "/nonexistent" };

describe("the user's accounts", () => {
  it("asks sacctmgr for the logged-in user's associations on this cluster, the cluster's name quoted", () => {
    const script = accountsScript("hpcjob-test");
    expect(script).toContain(`sacctmgr -nP show assoc "user=$(id -un)" cluster=hpcjob-test format=account`);
    expect(script).toContain(`sacctmgr -nP show user "$(id -un)" format=defaultaccount`);
    expect(accountsScript("my site")).toContain(`'cluster=my site'`);
    expect(accountsScript()).not.toContain("cluster=");
  });

  it("reads alice's two accounts and her default from the loopback cluster", () => {
    expect(parseAccounts(fixture("init-accounts.txt"))).toEqual({ accounts: ["lab-a", "lab-b"], defaultAccount: "lab-a" });
  });

  it("says what sacctmgr said when the database does not answer", () => {
    expect(parseAccounts(fixture("init-accounts-refused.txt"))).toEqual({
      problem:
        "sacctmgr: error: slurm_persist_conn_open_without_init: failed to open persistent connection to host:vm:1: Connection refused",
    });
    expect(parseAccounts("")).toEqual({ problem: "sacctmgr did not run" });
  });

  it("a user in no account has none, and repeats (one association per partition) count once", () => {
    const out = (text: string) => `\n@@hpcjob-detect assoc\n${text}\n@@hpcjob-detect-exit 0\n`;
    expect(parseAccounts(out(""))).toEqual({ accounts: [] });
    expect(parseAccounts(out("lab-b\nlab-b\nlab-a\n"))).toEqual({ accounts: ["lab-a", "lab-b"] });
  });
});

describe("answers -> profile", () => {
  const answers = (over: Partial<InitAnswers> = {}): InitAnswers => ({
    ...defaultAnswers(facts(), { name: "hpcjob-test" }, { accounts: ["lab-a", "lab-b"], defaultAccount: "lab-a" }),
    ...over,
  });

  it("offers detect's answers and the user's default account", () => {
    const detected = profileFromFacts(facts(), { name: "hpcjob-test" });
    expect(answers()).toEqual({
      name: "hpcjob-test",
      loginHost: "vm",
      loginPort: undefined,
      account: "lab-a",
      partition: "gpu",
      runtime: detected.container.runtime,
      imageDir: DEFAULT_IMAGE_DIR,
    });
    // One account and no default: that one; none known: none.
    expect(defaultAnswers(facts(), { name: "x" }, { accounts: ["solo"] }).account).toBe("solo");
    expect(defaultAnswers(facts(), { name: "x" }, undefined).account).toBeUndefined();
  });

  it("is detect's profile plus the answers given", () => {
    const detected = profileFromFacts(facts(), { name: "mine", loginHost: "login.example.org" });
    const made = profileFromAnswers(
      facts(),
      answers({ name: "mine", loginHost: "login.example.org", account: "lab-b", gpuType: "T4", imageDir: "/proj/lab/images" }),
    );
    expect(made).toEqual({
      ...detected,
      slurm: { ...detected.slurm, account: { default: "lab-b" } },
      container: { ...detected.container, imageDir: "/proj/lab/images" },
      defaults: { ...detected.defaults, gpuType: "T4" },
    });
    const profile = ProfileSchema.parse(made);
    expect(checkProfile(profile, "mine")).toEqual([]);
  });

  it("another partition brings its own limits; another runtime replaces the detected one", () => {
    const made = profileFromAnswers(facts(), answers({ partition: "short", runtime: "enroot", account: undefined }));
    expect(made.slurm.partition).toBe("short");
    expect(made.slurm.account).toBeUndefined();
    // short's MaxTime is one hour: Jupyter's four hours are cut to fit it.
    expect(made.jupyter?.time).toBe("01:00:00");
    expect(made.container).toEqual({ runtime: "enroot", imageDir: DEFAULT_IMAGE_DIR });
    expect(checkProfile(ProfileSchema.parse(made), "hpcjob-test")).toEqual([]);
  });

  it("a GPU type no partition offers is caught by the profile's rules", () => {
    const profile = ProfileSchema.parse(profileFromAnswers(facts(), answers({ gpuType: "H100" })));
    expect(checkProfile(profile, "hpcjob-test")).toEqual([
      { path: ["defaults", "gpuType"], message: `"H100" is offered by no partition (A40, T4); pick one of those or remove it` },
    ]);
  });
});

describe("a cluster hpcjob ships a profile for", () => {
  /** The loopback cluster's facts as if it were Vera: its ClusterName, one partition with Vera's GPUs. */
  const veraFacts = (): ClusterFacts => {
    const f = facts();
    const gpu = f.partitions[0];
    if (!gpu) throw new Error("no partition in the fixture");
    return {
      ...f,
      clusterName: "vera",
      partitions: [
        { ...gpu, name: "vera", maxTime: "7-00:00:00", nodes: [{ ...gpu.nodes[0], gpus: [{ type: "A40", count: 4 }] }] as never },
      ],
      runtimes: [{ name: "apptainer", via: "path", detail: "/usr/bin/apptainer" }],
    };
  };

  it("is found by ClusterName, else by login host", async () => {
    const vera = (await loadProfile(ENV, "vera")).profile;
    const penn = (await loadProfile(ENV, "penn")).profile;
    expect(matchingBuiltin(veraFacts(), undefined, [penn, vera])?.name).toBe("vera");
    expect(matchingBuiltin({ ...facts(), clusterName: "x" }, "VERA2.c3se.chalmers.se", [penn, vera])?.name).toBe("vera");
    expect(matchingBuiltin(facts(), "vm", [penn, vera])).toBeUndefined();
  });

  it("extends the built-in and states only what differs: the account, the partitions Slurm lists, the image folder", async () => {
    const vera = (await loadProfile(ENV, "vera")).profile;
    const def = defaultAnswers(veraFacts(), { name: "vera" }, { accounts: ["C3SE2025-2-17"] }, vera);
    expect(def).toMatchObject({ name: "vera", loginHost: "vera2.c3se.chalmers.se", partition: "vera", runtime: "apptainer" });
    const own = extendingProfile(veraFacts(), { ...def, imageDir: "/mimer/NOBACKUP/groups/lab/images" }, vera);
    expect(own).toEqual({
      name: "vera",
      extends: "vera",
      slurm: {
        account: { default: "C3SE2025-2-17" },
        partitions: [{ name: "vera", maxTime: "7-00:00:00", gpus: [{ type: "A40", perNode: 4 }] }],
      },
      container: { imageDir: "/mimer/NOBACKUP/groups/lab/images" },
    });
    // Merged over the built-in it is a valid profile that keeps what only the built-in knows.
    const merged = ProfileSchema.parse(deepMerge(vera, { ...own, extends: undefined }));
    expect(checkProfile(merged, "vera")).toEqual([]);
    expect(merged.container.homeQuota).toBe(vera.container.homeQuota);
    expect(merged.slurm.skipDirectives).toEqual(["mem"]);
  });

  it("with every default and the built-in's partitions, only the account", async () => {
    const vera = (await loadProfile(ENV, "vera")).profile;
    const same = {
      ...veraFacts(),
      partitions: vera.slurm.partitions.map((p) => ({
        ...p,
        isDefault: true,
        available: true,
        nodes: [{ cpus: 64, memoryMb: 512000, gres: "", gpus: p.gpus.map((g) => ({ type: g.type, count: g.perNode })) }],
      })),
    };
    const def = defaultAnswers(same, { name: "my-vera" }, { accounts: ["C3SE2025-2-17"] }, vera);
    expect(extendingProfile(same, { ...def, name: "my-vera" }, vera)).toEqual({
      name: "my-vera",
      extends: "vera",
      slurm: { account: { default: "C3SE2025-2-17" } },
    });
  });
});

describe("the image folder", () => {
  it("in the home folder is warned of, with the built-in's quota when it states one", () => {
    expect(imageDirWarning("$HOME/.hpcjob/images", "30 GB and 60,000 files")).toContain("has a quota (30 GB and 60,000 files)");
    expect(imageDirWarning("~/images", undefined)).toContain("has a small quota on most clusters");
    expect(imageDirWarning("/home/alice/images", undefined, "/home/alice")).toContain("is in your home folder");
    expect(imageDirWarning("/proj/lab/images", undefined, "/home/alice")).toBeUndefined();
  });
});
