import { describe, expect, it } from "vitest";
import { envNameProblem, parseEnv } from "../../src/core/env.js";

describe("environment pairs", () => {
  it("keeps everything after the first = as the value", () => {
    expect(parseEnv("A=b=c")).toEqual(["A", "b=c"]);
    expect(parseEnv("EMPTY=")).toEqual(["EMPTY", ""]);
  });
  it.each(["A", "1A=x", "A-B=x", "=x"])("refuses %j", (t) => {
    expect(() => parseEnv(t)).toThrow(/NAME=VALUE/);
  });
});

describe("reserved names", () => {
  it.each([
    ["JUPYTER_TOKEN", /a fixed one would let anyone who knows it into your notebook; remove it/],
    ["HPCJOB_RUN_DIR", /the job script's own variables/],
    ["HPCJOB_CLUSTERS", /hpcjob's settings/],
    ["hpcjob_status", /the job script's own variables/],
    ["Hpcjob_x", /the job script's own variables/],
    ["APPTAINERENV_JUPYTER_TOKEN", /passes every variable into the container itself.*; set JUPYTER_TOKEN instead/],
    ["SINGULARITYENV_FOO", /; set FOO instead/],
    ["SLURM_JOB_ID", /Slurm sets them in the job.*; pass Slurm options with --sbatch instead/],
    ["SLURMD_NODENAME", /the node the tunnel goes to/],
    ["SRUN_CPUS_PER_TASK", /srun reads them as options/],
    ["PATH", /finds apptainer, srun.*environment\.setup/],
    ["IFS", /changes how bash runs the job script/],
    ["BASH_ENV", /changes how bash runs the job script/],
    ["BASH_XTRACEFD", /changes how bash runs the job script/],
    ["ENV", /changes how bash runs the job script/],
    ["SHELLOPTS", /changes how bash runs the job script/],
    ["POSIXLY_CORRECT", /changes how bash runs the job script/],
    ["RANDOM", /picks its port with \$RANDOM/],
    ["PWD", /--workdir/],
  ])("%s is reserved, with the reason and the fix", (name, why) => {
    const problem = envNameProblem(name);
    expect(problem).toMatch(new RegExp(`^${name} is reserved: `));
    expect(problem).toMatch(why);
    expect(() => parseEnv(`${name}=x`)).toThrow(`--env "${name}=x": ${problem}`);
  });

  it.each([
    "WANDB_MODE",
    "HF_HOME",
    "OMP_NUM_THREADS",
    "LD_LIBRARY_PATH",
    "APPTAINER_CACHEDIR",
    "slurm_x",
    "jupyter_token",
    "PATHS",
    "HOME",
    "CUDA_VISIBLE_DEVICES",
  ])("%s is the user's", (name) => {
    expect(envNameProblem(name)).toBeUndefined();
    expect(parseEnv(`${name}=1`)).toEqual([name, "1"]);
  });

  it("says what a name must look like", () => {
    expect(envNameProblem("1X")).toBe('"1X" is not a variable name; use letters, digits and _, not starting with a digit');
  });
});
