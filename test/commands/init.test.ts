/**
 * `hpcjob init` in process, on the output recorded from the loopback cluster
 * (the probe, the test-only requests, alice's accounts): three round trips on
 * one connection, the questions and their defaults, the profile written whole
 * to the config folder (XDG_CONFIG_HOME respected), config.yaml's cluster:
 * set with the rest kept, an existing profile kept unless asked, no terminal.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validate } from "../../src/commands/clusters.js";
import { type Choice, init, NO_TERMINAL, type Questions } from "../../src/commands/init.js";
import { UsageError } from "../../src/core/errors.js";
import { profileFromFacts } from "../../src/profile/detected.js";
import { parseProbe, withTestOnly } from "../../src/slurm/detect.js";
import { FakeClock, FakeExecutor, ok } from "../fakes.js";
import { ROOT } from "../helpers.js";
import { fakeContext } from "./fakeCluster.js";

const FIXTURES = join(ROOT, "test", "fixtures", "slurm");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

/** A login node answering the probe, the test-only script and the accounts script as the loopback cluster did. */
function loginNode(accounts = "init-accounts.txt"): FakeExecutor {
  return new FakeExecutor(new FakeClock(), {
    bash: (argv) => {
      const script = argv[2] ?? "";
      if (script.includes("scontrol show config")) return ok(fixture("detect-probe-login.txt"));
      if (script.includes("sacctmgr")) return ok(fixture(accounts));
      return ok(fixture("detect-testonly.txt"));
    },
  });
}

/** Questions answered from a script: each answer by its message's first word, the default when none; what was asked is kept. */
function scripted(answers: Record<string, string | boolean> = {}, available = true) {
  const asked: { message: string; def: unknown; choices?: string[] }[] = [];
  const pick = (message: string) => Object.entries(answers).find(([k]) => message.startsWith(k))?.[1];
  const q: Questions = {
    available,
    input: async (message, def, check) => {
      asked.push({ message, def });
      const a = (pick(message) as string | undefined) ?? def;
      const wrong = check?.(a);
      if (wrong) throw new Error(`answer ${a} to "${message}" refused: ${wrong}`);
      return a;
    },
    select: async <T extends string>(message: string, choices: Choice<T>[], def: T) => {
      asked.push({ message, def, choices: choices.map((c) => c.value) });
      const a = (pick(message) as T | undefined) ?? def;
      if (!choices.some((c) => c.value === a)) throw new Error(`${a} is not a choice of "${message}"`);
      return a;
    },
    confirm: async (message, def) => {
      asked.push({ message, def });
      return (pick(message) as boolean | undefined) ?? def;
    },
  };
  return { q, asked };
}

/** A context whose config folder is XDG_CONFIG_HOME in a fresh folder. */
function setting(exec = loginNode()) {
  const xdg = mkdtempSync(join(tmpdir(), "hpcjob-xdg-"));
  const ctx = fakeContext(exec, { env: { XDG_CONFIG_HOME: xdg } });
  return { ctx, exec, dir: join(xdg, "hpcjob") };
}

describe("init", () => {
  it("asks with detect's answers as defaults, offers alice's two accounts, and writes detect's profile plus the answers", async () => {
    const { ctx, exec, dir } = setting();
    const { q, asked } = scripted({ Account: "lab-b", "GPU type": "T4" });
    const done = await init({ local: true }, ctx, q);
    expect(exec.calls).toHaveLength(3);
    expect(asked.map((a) => [a.message, a.def, a.choices])).toEqual([
      ["Profile name", "hpcjob-test", undefined],
      ["Login host (ssh target; empty: none)", "vm", undefined],
      ["Account to charge", "lab-a", ["lab-a", "lab-b", ""]],
      ["Default partition", "gpu", ["gpu", "short", "cpu"]],
      ["GPU type that --gpus N asks for", "", ["", "A40", "T4"]],
      ["Container runtime", "apptainer", ["apptainer", "singularity", "enroot", "charliecloud", "pyxis", "none"]],
      ["Image folder on the cluster", "$HOME/.hpcjob/images", undefined],
    ]);
    const file = join(dir, "clusters", "hpcjob-test.yaml");
    expect(done.data).toMatchObject({ name: "hpcjob-test", file, config: join(dir, "config.yaml") });
    expect(done.data.extends).toBeUndefined();

    const { parseYaml } = await import("../../src/profile/files.js");
    const written = parseYaml(file, readFileSync(file, "utf8")).data;
    const facts = withTestOnly(parseProbe(fixture("detect-probe-login.txt")), fixture("detect-testonly.txt"));
    const detected = profileFromFacts(facts, { name: "hpcjob-test" });
    expect(written).toEqual({
      ...detected,
      slurm: { ...detected.slurm, account: { default: "lab-b" } },
      container: { ...detected.container, imageDir: "$HOME/.hpcjob/images" },
      defaults: { ...detected.defaults, gpuType: "T4" },
    });
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toBe("cluster: hpcjob-test\n");
    const checked = await validate(file, ctx);
    expect(checked.data).toMatchObject({ file: { name: "hpcjob-test", partitions: 3 } });
    // The image folder in home was warned of as it was answered.
    expect(ctx.events).toContainEqual({ kind: "note", text: expect.stringMatching(/^warning: the image folder \$HOME/) });
  });

  it("--yes takes every default without a question, with no terminal", async () => {
    const { ctx, dir } = setting();
    const { q, asked } = scripted({}, false);
    const done = await init({ local: true, yes: true }, ctx, q);
    expect(asked).toEqual([]);
    const text = readFileSync(join(dir, "clusters", "hpcjob-test.yaml"), "utf8");
    expect(text).toMatch(/^ {4}default: lab-a # your answer to hpcjob init/m);
    expect(done.data.warnings).toHaveLength(1);
  });

  it("with no terminal and no --yes says what to do and asks the cluster nothing", async () => {
    const { ctx, exec } = setting();
    await expect(init({ local: true }, ctx, scripted({}, false).q)).rejects.toThrow(new UsageError(NO_TERMINAL));
    expect(exec.calls).toEqual([]);
  });

  it("where sacctmgr cannot reach the database, says so, asks for an account as text, and still writes the profile", async () => {
    const { ctx, dir } = setting(loginNode("init-accounts-refused.txt"));
    const { q, asked } = scripted({ "Account (empty": "" });
    const done = await init({ local: true }, ctx, q);
    expect(asked.find((a) => a.message.startsWith("Account"))).toEqual({ message: "Account (empty: Slurm's default)", def: "" });
    expect(ctx.events).toContainEqual({
      kind: "note",
      text: expect.stringMatching(/^could not read your Slurm accounts \(sacctmgr: error: .*Connection refused\)/),
    });
    expect(done.data.accounts).toHaveProperty("problem");
    expect(readFileSync(join(dir, "clusters", "hpcjob-test.yaml"), "utf8")).not.toContain("account:");
  });

  it("an empty login host leaves the profile without one", async () => {
    const { ctx, dir } = setting();
    await init({ local: true }, ctx, scripted({ "Login host": "" }).q);
    expect(readFileSync(join(dir, "clusters", "hpcjob-test.yaml"), "utf8")).not.toMatch(/^login:/m);
  });

  it("a user in no account is told so, and no account question is asked", async () => {
    const none = "\n@@hpcjob-detect assoc\n\n@@hpcjob-detect-exit 0\n";
    const exec = new FakeExecutor(new FakeClock(), {
      bash: (argv) => {
        const script = argv[2] ?? "";
        if (script.includes("scontrol show config")) return ok(fixture("detect-probe-login.txt"));
        return ok(script.includes("sacctmgr") ? none : fixture("detect-testonly.txt"));
      },
    });
    const { ctx } = setting(exec);
    const { q, asked } = scripted();
    await init({ local: true }, ctx, q);
    expect(asked.map((a) => a.message)).not.toContainEqual(expect.stringMatching(/^Account/));
    expect(ctx.events).toContainEqual({ kind: "note", text: expect.stringMatching(/^sacctmgr lists no Slurm account for you/) });
  });

  it("keeps the rest of config.yaml, comments included", async () => {
    const { ctx, dir } = setting();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.yaml"), "# my settings\ncluster: vera # the old one\naccount: C3SE2024-1-2\n", { mode: 0o600 });
    await init({ local: true, yes: true, name: "site" }, ctx, scripted().q);
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toBe("# my settings\ncluster: site # the old one\naccount: C3SE2024-1-2\n");
    expect(statSync(join(dir, "config.yaml")).mode & 0o777).toBe(0o600);
  });

  it("never replaces a profile without asking; --yes without --force refuses, --force replaces", async () => {
    const { ctx, dir } = setting();
    const file = join(dir, "clusters", "hpcjob-test.yaml");
    mkdirSync(join(dir, "clusters"), { recursive: true });
    writeFileSync(file, "mine\n");
    await expect(init({ local: true, yes: true }, ctx, scripted().q)).rejects.toThrow(/exists already; review it, then pass --force/);
    const no = scripted({ [file]: false });
    await expect(init({ local: true }, ctx, no.q)).rejects.toThrow(`kept ${file} as it was`);
    expect(no.asked.at(-1)).toEqual({ message: `${file} exists. Replace it?`, def: false });
    expect(readFileSync(file, "utf8")).toBe("mine\n");
    expect(existsSync(join(dir, "config.yaml"))).toBe(false);
    await init({ local: true }, ctx, scripted({ [file]: true }).q);
    expect(readFileSync(file, "utf8")).toMatch(/^name: hpcjob-test /m);
    await init({ local: true, yes: true, force: true }, ctx, scripted().q);
    // Written whole: nothing left beside it.
    expect(readdirSync(join(dir, "clusters"))).toEqual(["hpcjob-test.yaml"]);
  });
});
