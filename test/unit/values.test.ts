import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import {
  formatMemory,
  formatSlurmTime,
  parseBind,
  parseDirective,
  parseEnv,
  parseGpus,
  parseMemory,
  parseSlurmTime,
} from "../../src/request/values.js";

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
    expect(parseSlurmTime(text)).toBe(seconds);
  });

  it("treats UNLIMITED as no limit", () => {
    expect(parseSlurmTime("UNLIMITED")).toBe(Number.POSITIVE_INFINITY);
  });

  it.each(["", "1:2:3:4", "abc", "1h", "-5", "0", "1-2-3"])("refuses %j with the formats it accepts", (text) => {
    expect(() => parseSlurmTime(text, "--time")).toThrow(UsageError);
    if (text !== "0") expect(() => parseSlurmTime(text, "--time")).toThrow(/D-H:M:S/);
  });

  it("writes Slurm's canonical form", () => {
    expect(formatSlurmTime(90 * 60)).toBe("01:30:00");
    expect(formatSlurmTime(7 * 86400 + 61)).toBe("7-00:01:01");
  });
});

describe("memory sizes", () => {
  it("reads units, with megabytes as Slurm's default", () => {
    expect(parseMemory("32G")).toBe(32 * 1024);
    expect(parseMemory("8000")).toBe(8000);
    expect(parseMemory("512m")).toBe(512);
    expect(parseMemory("1T")).toBe(1024 * 1024);
  });

  it("writes the shortest exact size", () => {
    expect(formatMemory(64 * 1024)).toBe("64G");
    expect(formatMemory(1536)).toBe("1536M");
    expect(formatMemory(2 * 1024 * 1024)).toBe("2T");
  });

  it.each(["32X", "G", "1.5G", "-1G"])("refuses %j", (t) => {
    expect(() => parseMemory(t, "--mem")).toThrow(/not a Slurm size.*32G/);
  });
});

describe("GPU requests", () => {
  it("reads a count or TYPE:count", () => {
    expect(parseGpus("2")).toEqual({ count: 2 });
    expect(parseGpus("A40:1")).toEqual({ type: "A40", count: 1 });
  });
  it.each(["two", "A40:", ":1", "A40:1:2", "1.5"])("refuses %j with the syntax", (t) => {
    expect(() => parseGpus(t)).toThrow(/use N or TYPE:N/);
  });
});

describe("binds", () => {
  it("reads SRC, SRC:DST and SRC:DST:ro", () => {
    expect(parseBind("/data")).toEqual({ src: "/data", dst: "/data", readOnly: false });
    expect(parseBind("/a:/b")).toEqual({ src: "/a", dst: "/b", readOnly: false });
    expect(parseBind("/a:/b:ro")).toEqual({ src: "/a", dst: "/b", readOnly: true });
  });
  it.each(["data", "/a:b", "/a:/b:rx", "/a:/b:ro:x", "/a,b"])("refuses %j", (t) => {
    expect(() => parseBind(t)).toThrow(UsageError);
  });
});

describe("environment pairs", () => {
  it("keeps everything after the first = as the value", () => {
    expect(parseEnv("A=b=c")).toEqual(["A", "b=c"]);
    expect(parseEnv("EMPTY=")).toEqual(["EMPTY", ""]);
  });
  it.each(["A", "1A=x", "A-B=x", "=x"])("refuses %j", (t) => {
    expect(() => parseEnv(t)).toThrow(/NAME=VALUE/);
  });
});

describe("raw sbatch options", () => {
  it("accepts long options with and without dashes and values", () => {
    expect(parseDirective("--constraint=MEM512")).toEqual({ key: "constraint", value: "MEM512" });
    expect(parseDirective("qos=short")).toEqual({ key: "qos", value: "short" });
    expect(parseDirective("--exclusive")).toEqual({ key: "exclusive" });
  });
  it("refuses options hpcjob sets from its own flags, naming the flag to use", () => {
    expect(() => parseDirective("--time=1:00:00")).toThrow(/use hpcjob's --time instead/);
    expect(() => parseDirective("--gres=gpu:1")).toThrow(/--gpus/);
    expect(() => parseDirective("--output=x.log")).toThrow(/job.log/);
  });
  it("refuses what sbatch's own parser would mangle", () => {
    expect(() => parseDirective("--mail-user=a\\b")).toThrow(/backslashes/);
    expect(() => parseDirective("--comment=a\nb")).toThrow();
    expect(() => parseDirective("-C gpu")).toThrow(/long form/);
  });
});
