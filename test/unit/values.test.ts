import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { MAX_CPUS, MAX_SECONDS } from "../../src/core/limits.js";
import {
  formatMemory,
  formatSignal,
  formatSlurmTime,
  isName,
  parseAccount,
  parseBind,
  parseCount,
  parseDuration,
  parseGpus,
  parseJobName,
  parseMemory,
  parseName,
  parseSignal,
  parseSlurmTime,
  subject,
} from "../../src/core/values.js";

describe("how messages name a value", () => {
  it("after its flag, after its place in a file, or alone for a schema to place", () => {
    expect(subject("--gpus", "A40:x")).toBe('--gpus "A40:x"');
    expect(subject("hpcjob.yaml:3 resources.gpus:", "A40:x")).toBe('hpcjob.yaml:3 resources.gpus: "A40:x"');
    expect(subject(undefined, 1.5)).toBe("1.5");
  });
  it("keeps a value with a newline on one line", () => {
    expect(subject("--sbatch", "a\nb")).toBe('--sbatch "a\\nb"');
  });
});

describe("Slurm times", () => {
  it.each([
    ["90", 90 * 60],
    ["90:30", 90 * 60 + 30],
    ["04:00:00", 4 * 3600],
    ["2-12", 2 * 86400 + 12 * 3600],
    ["2-12:30", 2 * 86400 + 12 * 3600 + 30 * 60],
    ["7-00:00:00", 7 * 86400],
    ["1-0:0:5", 86400 + 5],
  ])("reads %s in Slurm's meaning", (text, seconds) => {
    expect(parseSlurmTime(text, "--time")).toBe(seconds);
  });

  it("treats UNLIMITED as no limit", () => {
    expect(parseSlurmTime("UNLIMITED", "--time")).toBe(Number.POSITIVE_INFINITY);
  });

  it.each(["", "1:2:3:4", "abc", "1h", "-5", "0", "1-2-3"])("refuses %j with the formats it accepts", (text) => {
    expect(() => parseSlurmTime(text, "--time")).toThrow(UsageError);
    if (text !== "0") expect(() => parseSlurmTime(text, "--time")).toThrow(/D-H:M:S/);
  });

  it("takes up to the longest time sbatch reads right, 2^31 - 60 seconds, and no more", () => {
    expect(MAX_SECONDS).toBe(2147483588);
    expect(formatSlurmTime(MAX_SECONDS)).toBe("24855-03:13:08");
    expect(parseSlurmTime("24855-03:13:08", "--time")).toBe(MAX_SECONDS);
    expect(parseSlurmTime("35791393", "--time")).toBe(35791393 * 60);
    for (const t of ["24855-03:13:09", "35791394", "99999999999999999999"]) {
      expect(() => parseSlurmTime(t, "--time")).toThrow(`--time "${t}" is longer than sbatch can read; ask for at most 24855-03:13:08`);
    }
  });

  it("writes Slurm's canonical form", () => {
    expect(formatSlurmTime(90 * 60)).toBe("01:30:00");
    expect(formatSlurmTime(7 * 86400 + 61)).toBe("7-00:01:01");
  });
});

describe("memory sizes", () => {
  it("reads units, with megabytes as Slurm's default", () => {
    expect(parseMemory("32G", "--mem")).toBe(32 * 1024);
    expect(parseMemory("8000", "--mem")).toBe(8000);
    expect(parseMemory("512m", "--mem")).toBe(512);
    expect(parseMemory("1T", "--mem")).toBe(1024 * 1024);
  });

  it("writes the shortest exact size", () => {
    expect(formatMemory(64 * 1024)).toBe("64G");
    expect(formatMemory(1536)).toBe("1536M");
    expect(formatMemory(2 * 1024 * 1024)).toBe("2T");
  });

  it.each(["32X", "G", "1.5G", "-1G"])("refuses %j", (t) => {
    expect(() => parseMemory(t, "--mem")).toThrow(/not a Slurm size.*32G/);
  });

  it.each(["99999999999999999999T", "9007199254740992", "8796093022208T", "99999999999999999999K"])(
    "refuses %j, past what it can pass on exactly, rather than writing 1e+23",
    (t) => {
      expect(() => parseMemory(t, "--mem")).toThrow(
        `--mem "${t}" is more than hpcjob can pass to Slurm; ask for at most 9007199254740991M`,
      );
    },
  );

  it("takes the largest it can pass on exactly", () => {
    expect(formatMemory(parseMemory("9007199254740991", "--mem"))).toBe("9007199254740991M");
    expect(formatMemory(parseMemory("8589934591T", "--mem"))).toBe("8589934591T");
  });
});

describe("GPU requests", () => {
  it("reads a count or TYPE:count", () => {
    expect(parseGpus("2", "--gpus")).toEqual({ count: 2 });
    expect(parseGpus("A40:1", "--gpus")).toEqual({ type: "A40", count: 1 });
  });
  it.each(["two", "A40:", ":1", "A40:1:2", "1.5"])("refuses %j with the syntax", (t) => {
    expect(() => parseGpus(t, "--gpus")).toThrow(/use N or TYPE:N/);
  });
  it("refuses a count it cannot pass on exactly", () => {
    expect(() => parseGpus("99999999999999999999", "--gpus")).toThrow(/more GPUs than hpcjob can pass to Slurm/);
  });
  it("names the file and key, not --gpus, when the request came from a file", () => {
    expect(() => parseGpus("A40:x", "hpcjob.yaml:2 resources.gpus:")).toThrow(
      /^hpcjob\.yaml:2 resources\.gpus: "A40:x" is not a GPU request/,
    );
    expect(() => parseGpus("A40:x", undefined)).toThrow(/^"A40:x" is not a GPU request; use N or TYPE:N, e\.g\. 1 or A40:2$/);
  });
});

describe("counts", () => {
  it("takes 1 to the bound, typed or from a file", () => {
    expect(parseCount("8", "--cpus")).toBe(8);
    expect(parseCount(8, undefined)).toBe(8);
    expect(parseCount(String(MAX_CPUS), "--cpus")).toBe(65533);
  });
  it.each([["0"], ["-1"], ["1.5"], ["x"], [0], [1.5], [Number.NaN]])("refuses %j as not a whole number of at least 1", (v) => {
    expect(() => parseCount(v, "--cpus")).toThrow(/must be a whole number of at least 1/);
  });
  it("refuses CPUs past what Slurm's 16 bits hold (65534 and 65535 mean 'not set' and 'infinite')", () => {
    expect(() => parseCount("65534", "--cpus")).toThrow('--cpus "65534" is more than hpcjob can pass to Slurm; ask for at most 65533');
    expect(() => parseCount(1e20, undefined)).toThrow(/^100000000000000000000 is more than/);
  });
});

describe("names", () => {
  it.each(["vera", "my-site_2", "vera.v2", "constructor", "A40"])("%j is a name", (n) => {
    expect(isName(n)).toBe(true);
    expect(parseName(n, "--cluster")).toBe(n);
  });
  it.each(["", "../vera", "a/b", "..", "a..b", "__proto__", "-x", ".hidden", "a b", "a\nb"])("%j is not", (n) => {
    expect(isName(n)).toBe(false);
    expect(() => parseName(n, "--cluster")).toThrow(/is not a cluster name; use letters, digits, '\.', '_' and '-'/);
  });
  it("accounts and job names use the same characters", () => {
    expect(parseAccount("C3SE2024-1-2", "--account")).toBe("C3SE2024-1-2");
    expect(() => parseAccount("a b", "--account")).toThrow(/--account "a b" has characters Slurm accounts do not use/);
    expect(parseJobName("x".repeat(64))).toHaveLength(64);
    expect(() => parseJobName("x".repeat(65))).toThrow(/at most 64/);
  });
});

describe("binds", () => {
  it("reads SRC, SRC:DST and SRC:DST:ro", () => {
    expect(parseBind("/data", "--bind")).toEqual({ src: "/data", dst: "/data", readOnly: false });
    expect(parseBind("/a:/b", "--bind")).toEqual({ src: "/a", dst: "/b", readOnly: false });
    expect(parseBind("/a:/b:ro", "--bind")).toEqual({ src: "/a", dst: "/b", readOnly: true });
  });
  it.each(["data", "/a:b", "/a:/b:rx", "/a:/b:ro:x", "/a,b"])("refuses %j", (t) => {
    expect(() => parseBind(t, "--bind")).toThrow(UsageError);
  });
  it("says when the mode is what is wrong", () => {
    expect(() => parseBind("/a:/b:xx", "--bind")).toThrow(`--bind "/a:/b:xx" has the mode "xx"; the mode after the second ':' is ro or rw`);
  });
});

describe("durations", () => {
  it("reads 90s, 10m, 2h, 1d and Slurm times", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("01:30:00")).toBe(5_400_000);
  });
  it.each(["0s", "soon", "", "UNLIMITED"])("refuses %j", (t) => {
    expect(() => parseDuration(t)).toThrow(/is not a duration; use e\.g\. 90s/);
  });
  it("refuses waits longer than any job can run", () => {
    expect(() => parseDuration("99999999999d")).toThrow(
      '--timeout "99999999999d" is longer than any Slurm job can run; give at most 24855-03:13:08',
    );
    expect(() => parseDuration("24855-03:13:09")).toThrow(/longer than any Slurm job can run/);
    expect(parseDuration("24855-03:13:08")).toBe(MAX_SECONDS * 1000);
  });
});

describe("signals passed on to the program (--signal, batch.signal)", () => {
  it("takes NAME@SECONDS with or without SIG and B:, any case, and writes it for the batch shell", () => {
    expect(parseSignal("USR1@120", "--signal")).toEqual({ name: "USR1", seconds: 120 });
    expect(parseSignal("sigusr2@300", "--signal")).toEqual({ name: "USR2", seconds: 300 });
    expect(parseSignal("B:TERM@0", "--signal")).toEqual({ name: "TERM", seconds: 0 });
    expect(formatSignal({ name: "USR1", seconds: 120 })).toBe("B:USR1@120");
  });
  it.each([
    ["USR1", /is not a signal and time; write NAME@SECONDS, e.g. USR1@120/],
    ["@120", /is not a signal and time/],
    ["USR1@-5", /is not a signal and time/],
    ["KILL@60", /SIGKILL cannot be passed on to the program/],
    ["STOP@60", /SIGSTOP cannot be passed on to the program/],
    ["10@60", /give the signal by name/],
    ["USR1@65536", /Slurm takes at most 65535 seconds/],
  ])("refuses %s, saying how to write it", (text, message) => {
    expect(() => parseSignal(text, "--signal")).toThrow(UsageError);
    expect(() => parseSignal(text, "--signal")).toThrow(message);
  });
});
