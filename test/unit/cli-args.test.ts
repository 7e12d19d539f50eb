import { describe, expect, it } from "vitest";
import { explicitCommand } from "../../src/cli/args.js";
import { buildProgram } from "../../src/cli/program.js";
import type { Context } from "../../src/commands/context.js";

/** The flags of `hpcjob batch` that take a value. */
const BATCH_VALUES = new Set(
  "--cluster -c --gpus -g --cpus --mem --time -t --partition -p --account -A --image -i --bind --env -e --sbatch --name -n --workdir --remote".split(
    " ",
  ),
);

describe("where a batch program's words start", () => {
  it.each([
    [["--name", "python", "--", "python", "x.py"], true],
    [["-n", "python", "--", "python", "x.py"], true],
    [["--sbatch=--qos=x", "--", "./sim", "-n", "1"], true],
    [["--", "--", "x"], true],
    [["--name", "--", "--", "x.py"], true],
    [["--image", "--name", "--", "x.py"], true],
    [["-fn", "x", "--", "x.py"], true],
    [["train.py", "--", "x"], false],
    [["--name", "--", "train.py"], false],
    [["-fn", "--", "train.py"], false],
    [["-fnpy", "--", "train.py"], true],
    [["--dry-run", "train.py"], false],
    [["python"], false],
  ])("%j: %s", (args, explicit) => {
    expect(explicitCommand(args, BATCH_VALUES)).toBe(explicit);
  });
});

/** A batch dry run through the real command line (commander and all), returning the script. */
async function dryRun(args: string[]): Promise<string> {
  const ctx = {
    env: { PATH: "/nonexistent" },
    home: "/nonexistent-home",
    cwd: "/w",
    now: () => new Date(0),
    report: () => {},
    stream: () => {},
    signal: new AbortController().signal,
  } as unknown as Context;
  const rawArgs = ["batch", "--cluster", "vera", "-A", "x", "-i", "/i.sif", "--dry-run", ...args];
  let script = "";
  const commands = await import("../../src/commands/index.js");
  const program = buildProgram(async (spec, input) => {
    script = spec.text((await spec.run(commands, input, ctx)).data) ?? "";
  }, rawArgs);
  await program.parseAsync(["node", "hpcjob", ...rawArgs]);
  return script;
}

describe("hpcjob batch, in process", () => {
  it("--name python -- python x.py runs python x.py as given", async () => {
    const script = await dryRun(["--name", "python", "--", "python", "x.py"]);
    expect(script).toContain("#SBATCH --job-name=python\n");
    expect(script).toMatch(/HPCJOB_COMMAND=\(\n {2}python\n {2}x\.py\n\)/);
  });
  it("train.py without -- runs with the profile's runner, whatever follows", async () => {
    expect(await dryRun(["train.py", "--", "x"])).toMatch(/HPCJOB_COMMAND=\(\n {2}python\n {2}train\.py\n {2}--\n {2}x\n\)/);
  });
});
