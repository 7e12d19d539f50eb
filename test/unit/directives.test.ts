import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { conflict, parseDirective, parseOptionName } from "../../src/slurm/directives.js";
import { exclusive, longOption, longOptionNames, shortOption } from "../../src/slurm/options.js";
import { ROOT } from "../helpers.js";

/** Options the table knows that sbatch 22.05 does not (it accepts a superset, see src/slurm/options.ts). */
const AFTER_22_05 = [
  "autocomplete",
  "container-id",
  "extra",
  "tres-per-task",
  "tres-bind",
  "resv-ports",
  "segment",
  "stepmgr",
  "oom-kill-step",
  "external",
  "consolidate-segments",
  "resources",
  "spread-segments",
];

describe("sbatch's option table", () => {
  // What the real sbatch 22.05.8 said about each one-letter prefix (recorded on the loopback cluster).
  const recorded = readFileSync(join(ROOT, "test", "fixtures", "slurm", "sbatch-long-options.txt"), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split("\t") as [string, string]);

  it.each(recorded)("--%s resolves as sbatch 22.05 resolved it", (letter, said) => {
    const found = longOption(letter);
    const possibilities = [...said.matchAll(/'--([a-z-]+)'/g)].map((m) => m[1]);
    if (said.includes("ambiguous")) {
      expect(found.kind).toBe("ambiguous");
      const candidates = found.kind === "ambiguous" ? found.candidates : [];
      expect(candidates).toEqual(expect.arrayContaining(possibilities));
      expect(candidates.filter((c) => !possibilities.includes(c)).every((c) => AFTER_22_05.includes(c))).toBe(true);
    } else if (said.includes("unrecognized")) {
      expect(found.kind).toBe("unknown");
    } else {
      expect(found).toMatchObject({ kind: "option", name: /--([a-z-]+)/.exec(said)?.[1] });
    }
  });

  it("holds every option sbatch 22.05 listed, and the later ones", () => {
    const all = recorded.flatMap(([, said]) => [...said.matchAll(/'--([a-z-]+)'/g)].map((m) => m[1] as string));
    const names = [...longOptionNames()];
    expect(names).toEqual(expect.arrayContaining([...all, "job-name", "kill-on-invalid-dep", "licenses", ...AFTER_22_05]));
    expect(names).toHaveLength(all.length + 3 + AFTER_22_05.length);
  });

  it("an exact name wins over a longer one it is a prefix of", () => {
    expect(longOption("mem")).toMatchObject({ kind: "option", name: "mem" });
    expect(longOption("gpus")).toMatchObject({ kind: "option", name: "gpus" });
    expect(longOption("cluster")).toMatchObject({ kind: "option", name: "cluster" });
  });

  it("short options, with how they take a value", () => {
    expect(shortOption("e")).toEqual({ name: "error", arg: "required" });
    expect(shortOption("H")).toEqual({ name: "hold", arg: "none" });
    expect(shortOption("k")).toEqual({ name: "no-kill", arg: "optional" });
    expect(shortOption("y")).toBeUndefined();
  });

  it("knows which options sbatch refuses together", () => {
    expect(exclusive("mem", "mem-per-cpu")).toBe(true);
    expect(exclusive("mem-per-gpu", "mem-per-cpu")).toBe(true);
    expect(exclusive("cpus-per-task", "cpus-per-gpu")).toBe(true);
    expect(exclusive("ntasks-per-gpu", "gpus-per-task")).toBe(true);
    expect(exclusive("gpus-per-task", "ntasks-per-node")).toBe(false);
    expect(exclusive("mem", "mem")).toBe(false);
  });
});

describe("raw sbatch options", () => {
  it.each([
    ["--constraint=MEM512", { key: "constraint", value: "MEM512" }],
    ["qos=short", { key: "qos", value: "short" }],
    ["--exclusive", { key: "exclusive" }],
    ["--exclusive=user", { key: "exclusive", value: "user" }],
    ["--constraint MEM512", { key: "constraint", value: "MEM512" }],
    ["--constr=MEM512", { key: "constraint", value: "MEM512" }],
    ["-C MEM512", { key: "constraint", value: "MEM512" }],
    ["-CMEM512", { key: "constraint", value: "MEM512" }],
    ["-H", { key: "hold" }],
    ["--begin=", { key: "begin", value: "" }],
    ["--mail-user=me@example.org", { key: "mail-user", value: "me@example.org" }],
    ["--qos=a b", { key: "qos", value: "a b" }],
  ])("reads %j as sbatch does, under its long name", (text, directive) => {
    expect(parseDirective(text, "--sbatch")).toEqual(directive);
  });

  it("refuses options hpcjob sets from its own flags, however they are spelled, naming the flag to use", () => {
    expect(() => parseDirective("--time=1:00:00", "--sbatch")).toThrow(/sets --time, which hpcjob manages; use hpcjob's --time instead/);
    expect(() => parseDirective("-t 60", "--sbatch")).toThrow(/sets --time, which hpcjob manages/);
    expect(() => parseDirective("--gres=gpu:1", "--sbatch")).toThrow(/--gpus/);
    expect(() => parseDirective("--output=x.log", "--sbatch")).toThrow(/job.log/);
    expect(() => parseDirective("--err=x.log", "--sbatch")).toThrow(/sets --error/);
    expect(() => parseDirective("-ex.log", "--sbatch")).toThrow(/sets --error/);
    expect(() => parseDirective("--open-mode=truncate", "--sbatch")).toThrow(/sets --open-mode.*requeued job keeps its earlier output/);
    expect(() => parseDirective("-J x", "--sbatch")).toThrow(/use hpcjob's --name instead/);
  });

  it("refuses options that would stop the submission", () => {
    expect(() => parseDirective("--wrap=true", "--sbatch")).toThrow(/stops hpcjob from submitting the job; hpcjob writes the job script/);
    expect(() => parseDirective("-W", "--sbatch")).toThrow(/sets --wait.*--follow/);
    expect(() => parseDirective("--test-only", "--sbatch")).toThrow(/--dry-run/);
  });

  it("refuses what getopt_long would refuse, with the possibilities or a guess", () => {
    expect(() => parseDirective("--par=short", "--sbatch")).toThrow(
      '--sbatch "--par=short": --par could be --parsable, --partition; write the option in full',
    );
    expect(() => parseDirective("--me=1", "--sbatch")).toThrow(/--me could be --mem, --mem-bind, --mem-per-cpu, --mem-per-gpu;/);
    expect(() => parseDirective("--constrant=x", "--sbatch")).toThrow(/sbatch has no option --constrant; did you mean --constraint\?/);
    expect(() => parseDirective("-y", "--sbatch")).toThrow(/sbatch has no option -y/);
    expect(() => parseDirective("--hold=1", "--sbatch")).toThrow(/--hold takes no value/);
    expect(() => parseDirective("-Hx", "--sbatch")).toThrow(/--hold takes no value/);
    expect(() => parseDirective("--constraint", "--sbatch")).toThrow(/--constraint needs a value, e\.g\. --constraint=VALUE/);
    expect(() => parseDirective("--exclusive user", "--sbatch")).toThrow(/only after '=', so write --exclusive=user/);
    expect(() => parseDirective("-C=gpu", "--sbatch")).toThrow(/write one option, e\.g\. --constraint=VALUE or -C VALUE/);
  });

  it("refuses what sbatch's own line parser would mangle", () => {
    expect(() => parseDirective("--mail-user=a\\b", "--sbatch")).toThrow(/backslashes/);
    expect(() => parseDirective("--comment=a\nb", "--sbatch")).toThrow();
    expect(() => parseDirective("", "--sbatch")).toThrow(/is not an sbatch option/);
    expect(() => parseDirective("C gpu", "--sbatch")).toThrow(/sbatch has no option --C/);
  });

  it("without a flag, the message starts with the value, for a file's FILE:LINE key to go in front", () => {
    expect(() => parseDirective("--time=1", undefined)).toThrow(/^"--time=1" sets --time/);
  });

  it("skipDirectives names options by their long name", () => {
    expect(parseOptionName("mem", undefined)).toBe("mem");
    expect(() => parseOptionName("--mem", undefined)).toThrow(/"--mem" is not the long name of an sbatch option; did you mean mem\?/);
    expect(() => parseOptionName("me", undefined)).toThrow(/did you mean/);
  });
});

describe("options sbatch refuses together", () => {
  const raw = (key: string) => ({ key, said: `--sbatch "--${key}=1"` });
  it("refuses a raw option next to one hpcjob sends, with hpcjob's flag as the fix", () => {
    expect(conflict(["mem", "cpus-per-task"], [raw("mem-per-cpu")])).toBe(
      `--sbatch "--mem-per-cpu=1" cannot go with the --mem hpcjob sets (sbatch refuses --mem and --mem-per-cpu together); use hpcjob's --mem instead`,
    );
    expect(conflict(["cpus-per-task"], [raw("cpus-per-gpu")])).toMatch(/use hpcjob's --cpus instead/);
  });
  it("lets it through when hpcjob does not send the other (a site that skips --mem)", () => {
    expect(conflict(["cpus-per-task"], [raw("mem-per-cpu")])).toBeUndefined();
  });
  it("refuses two raw options that exclude each other", () => {
    expect(conflict([], [raw("mem-per-cpu"), raw("constraint"), raw("mem-per-gpu")])).toBe(
      `--sbatch "--mem-per-gpu=1" cannot go with --sbatch "--mem-per-cpu=1" (sbatch refuses --mem-per-cpu and --mem-per-gpu together); keep one`,
    );
  });
});
