/**
 * Sweeps: the flag syntax, sweep files and hpcjob.yaml's sweep: (one schema,
 * file:line errors), the cross product, how a sweep is split into arrays
 * that fit the cluster, and the table the job script reads byte for byte.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProjectFile, loadSweepFile } from "../../src/request/sources.js";
import { crossProduct, parseSweepFlag, sweepOf } from "../../src/request/sweep.js";
import { arrayScript, pointsJsonl, pointValues, runDirOfScript, scriptArray } from "../../src/runs/sweep.js";
import { arrayLimit, arraySpec, parseShowConfig, splitArrays } from "../../src/slurm/index.js";
import { ROOT, tempDir } from "../helpers.js";

const sweep = (...specs: string[]) => sweepOf({ flags: { sweep: specs } });

describe("--sweep", () => {
  it("lists values, integer ranges with both ends and a step, counting down too", () => {
    expect(parseSweepFlag("lr=1e-3,1e-4").points).toEqual([["1e-3"], ["1e-4"]]);
    expect(parseSweepFlag("seed=0..4").points.flat()).toEqual(["0", "1", "2", "3", "4"]);
    expect(parseSweepFlag("n=0..10..5").points.flat()).toEqual(["0", "5", "10"]);
    expect(parseSweepFlag("n=-2..1").points.flat()).toEqual(["-2", "-1", "0", "1"]);
    expect(parseSweepFlag("n=3..1").points.flat()).toEqual(["3", "2", "1"]);
    expect(parseSweepFlag("path=../data,a..b").points.flat()).toEqual(["../data", "a..b"]);
    expect(parseSweepFlag("msg=it's $HOME ü").points.flat()).toEqual(["it's $HOME ü"]);
  });

  it("crosses repeated flags into a grid, the first varying slowest", () => {
    const s = sweep("lr=1e-3,1e-4", "seed=0..2");
    expect(s?.names).toEqual(["lr", "seed"]);
    expect(s?.points).toEqual([
      ["1e-3", "0"],
      ["1e-3", "1"],
      ["1e-3", "2"],
      ["1e-4", "0"],
      ["1e-4", "1"],
      ["1e-4", "2"],
    ]);
    expect(s?.style).toBe("args");
  });

  it.each([
    ["lr", /^--sweep "lr" must be NAME=V1,V2,\.\.\. or NAME=A\.\.B or NAME=A\.\.B\.\.STEP, e\.g\. --sweep lr=1e-3,1e-4/],
    ["=1,2", /must be NAME=V1,V2/],
    [
      "my-lr=1,2",
      /^--sweep "my-lr=1,2": "my-lr" cannot name a parameter: it becomes the variable HPCJOB_PARAM_my-lr; use letters, digits and _/,
    ],
    ["lr=1,,2", /^--sweep "lr=1,,2" has an empty value; list values between commas/],
    ["lr=", /has an empty value/],
    ["x=1.5..3", /^--sweep "x=1\.5\.\.3": ranges are of whole numbers, A\.\.B or A\.\.B\.\.STEP/],
    ["x=0..4..0", /^--sweep "x=0\.\.4\.\.0" has a step of 0; give a step of at least 1/],
    ["x=0..1000000", /has more than 100000 values/],
  ])("refuses --sweep %s in one line with the fix", (spec, message) => {
    expect(() => sweep(spec)).toThrow(message);
    try {
      sweep(spec);
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(2);
      expect((e as Error).message).not.toContain("\n");
    }
  });

  it("refuses a name swept twice, a grid too large, a bad style, and sweep options without a sweep", () => {
    expect(() => sweep("a=1,2", "a=3")).toThrow("parameter a is swept twice (--sweep); give each name once");
    expect(() => sweep("a=1..1000", "b=1..1000")).toThrow("the sweep has more than 100000 points; sweep fewer values");
    expect(() => sweepOf({ flags: { sweep: ["a=1"], sweepStyle: "yaml" } })).toThrow(
      '--sweep-style "yaml" is not a style; use args (--NAME VALUE), hydra (NAME=VALUE) or env (variables only)',
    );
    expect(() => sweepOf({ flags: { maxParallel: "2" } })).toThrow("--max-parallel is for sweeps; add --sweep NAME=VALUES");
    expect(() => sweepOf({ flags: { sweep: ["a=1"], maxParallel: "0" } })).toThrow(
      '--max-parallel "0" must be a whole number of at least 1',
    );
    expect(sweepOf({ flags: {} })).toBeUndefined();
  });
});

describe("sweep files and hpcjob.yaml's sweep:", () => {
  /** A sweep file with `text`, loaded. */
  const load = (text: string) => {
    const file = join(tempDir(), "sweep.yaml");
    writeFileSync(file, text);
    return { file, spec: loadSweepFile(file) };
  };

  it("reads a grid with every value as written (1e-3 stays 1e-3, 007 stays 007) and crosses it with --sweep", async () => {
    const { file, spec } = load("lr: [1e-3, 0.0001]\nopt: [adam, 'sgd momentum']\nid: [007, true]\n");
    const s = sweepOf({ flags: { sweep: ["seed=0..1"] }, file: { spec: await spec, from: file } });
    expect(s?.names).toEqual(["lr", "opt", "id", "seed"]);
    expect(s?.points.length).toBe(16);
    expect(s?.points[0]).toEqual(["1e-3", "adam", "007", "0"]);
    expect(s?.points[15]).toEqual(["0.0001", "sgd momentum", "true", "1"]);
  });

  it("reads a list of points as given", async () => {
    const { file, spec } = load('- {lr: 1e-3, msg: "it\'s \\"q\\" $x"}\n- {lr: "2", msg: ü}\n');
    expect(sweepOf({ flags: {}, file: { spec: await spec, from: file } })?.points).toEqual([
      ["1e-3", 'it\'s "q" $x'],
      ["2", "ü"],
    ]);
  });

  it.each([
    ["- 3\n", /sweep\.yaml:1 \[0\]: must be a map, not a string/],
    ["3\n", /sweep\.yaml:1 \(top level\): must be a grid \(NAME: \[values\]\) or a list of points/],
    ["lr: 3\n", /sweep\.yaml:1 lr: must be a list, not a string/],
    ["lr: [1, 2]\nbad-name: [1]\n", /sweep\.yaml:2 bad-name: "bad-name" cannot name a parameter/],
    ["lr: [1, 2]\nseed: []\n", /sweep\.yaml:2 seed: must list at least 1 item/],
    ["- lr: 1\n- lr: [1, 2]\n", /sweep\.yaml:2 \[1\]\.lr: must be a string, not a list/],
    ["lr: [1, {a: 1}]\n", /sweep\.yaml:1 lr\[1\]: must be a string, not an object/],
  ])("refuses %j with the file, line and key", async (text, message) => {
    const { spec } = load(text);
    await expect(spec).rejects.toThrow(message);
  });

  it("refuses points that name different parameters, saying which", async () => {
    const { file, spec } = load("- {lr: 1, seed: 0}\n- {lr: 2}\n");
    const loaded = await spec;
    expect(() => sweepOf({ flags: {}, file: { spec: loaded, from: file } })).toThrow(
      `${file} point 1 does not name the same parameters as point 0 (seed); give every point lr, seed`,
    );
  });

  it("hpcjob.yaml's sweep: has the same schema, values as written, and errors at its line", async () => {
    const dir = tempDir();
    const env = { env: {}, home: tempDir() };
    writeFileSync(join(dir, "hpcjob.yaml"), "image: /x.sif\nsweep:\n  lr: [1e-3, 1e-4]\n");
    expect((await loadProjectFile(env, dir))?.project.sweep).toEqual({ lr: ["1e-3", "1e-4"] });
    writeFileSync(join(dir, "hpcjob.yaml"), "image: /x.sif\nsweep:\n  lr: [1e-3]\n  2x: [1]\n");
    await expect(loadProjectFile(env, dir)).rejects.toThrow(`${join(dir, "hpcjob.yaml")}:4 sweep.2x: "2x" cannot name a parameter`);
  });
});

describe("arrays that fit the cluster", () => {
  const config = (text: string) => parseShowConfig(text);

  it("reads MaxArraySize and max_array_tasks from scontrol show config", () => {
    const real = config(readFileSync(join(ROOT, "test/fixtures/slurm/scontrol-show-config.txt"), "utf8"));
    expect(arrayLimit(real)).toBe(1001);
    expect(arrayLimit(config("MaxArraySize            = 5000\nSchedulerParameters     = bf_interval=2,max_array_tasks=300\n"))).toBe(300);
    expect(arrayLimit(config("MaxArraySize            = 0\n"))).toBe(0);
    expect(arrayLimit(config("ClusterName = x\n"))).toBe(1001);
  });

  it("splits a sweep into arrays with offsets that cover every point once", () => {
    expect(splitArrays(2500, 1001)).toEqual([
      { offset: 0, count: 1001 },
      { offset: 1001, count: 1001 },
      { offset: 2002, count: 498 },
    ]);
    expect(splitArrays(6, 1001)).toEqual([{ offset: 0, count: 6 }]);
    expect(splitArrays(1001, 1001)).toEqual([{ offset: 0, count: 1001 }]);
    expect(arraySpec({ offset: 1001, count: 498 })).toBe("0-497");
    expect(arraySpec({ offset: 0, count: 6 }, 2)).toBe("0-5%2");
  });
});

describe("the table", () => {
  const s = crossProduct([
    { from: "x", names: ["msg"], points: [['it\'s "q" $HOME `x` ü 🎉'], ["a\nb"], [""]] },
    { from: "x", names: ["n"], points: [["1"], ["2"]] },
  ]);

  it("points.jsonl: one JSON line per point, index and parameters", () => {
    const lines = pointsJsonl(s).trimEnd().split("\n");
    expect(lines.length).toBe(6);
    expect(JSON.parse(lines[3] ?? "")).toEqual({ index: 3, params: { msg: "a\nb", n: "2" } });
  });

  it("points.nul: bash's mapfile reads each point's values back byte for byte", () => {
    const file = join(tempDir(), "points.nul");
    writeFileSync(file, pointValues(s));
    for (let point = 0; point < s.points.length; point++) {
      const script = `mapfile -d '' -s $(( $2 * 2 )) -n 2 v < "$1"; printf '%s\\0' "\${v[@]}"`;
      const r = spawnSync("bash", ["-c", script, "x", file, String(point)], { encoding: "utf8" });
      expect(r.stdout.split("\0").slice(0, -1)).toEqual(s.points[point]);
    }
  });
});

describe("the run of a job's script (ps)", () => {
  it("is the folder of a run's job.sbatch or a sweep's job-OFFSET.sbatch, and nothing else", () => {
    expect(runDirOfScript("/home/a/.hpcjob/runs/r/job.sbatch")).toBe("/home/a/.hpcjob/runs/r");
    expect(runDirOfScript(arrayScript("/home/a/.hpcjob/runs/r", 1001))).toBe("/home/a/.hpcjob/runs/r");
    expect(scriptArray(arrayScript("/r", 7, 2))).toEqual({ runDir: "/r", offset: 7, round: 2 });
    expect(scriptArray("/r/job.sbatch")).toEqual({ runDir: "/r", offset: 0 });
    for (const other of ["/home/a/train.sbatch", "/home/a/job-x.sbatch", "/home/a/job-007.sbatch", "/home/a/job-r1.sbatch", undefined])
      expect(runDirOfScript(other)).toBeUndefined();
  });
});
