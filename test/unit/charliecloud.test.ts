import { describe, expect, it } from "vitest";
import { parseBind } from "../../src/core/values.js";
import { pathThroughBinds } from "../../src/runtime/charliecloud.js";

const binds = (...texts: string[]) => texts.map((t) => parseBind(t, undefined));

describe("the job's folder inside a Charliecloud container", () => {
  it("is reached through the bind whose source holds it, the deepest one", () => {
    const b = binds("/scratch:/mnt/0", "/scratch/lab:/mnt/1", "/data");
    expect(pathThroughBinds(b, "/scratch/alice/proj")).toBe("/mnt/0/alice/proj");
    expect(pathThroughBinds(b, "/scratch/lab/x")).toBe("/mnt/1/x");
    expect(pathThroughBinds(b, "/scratch/lab")).toBe("/mnt/1");
    expect(pathThroughBinds(b, "/data/set")).toBe("/data/set");
  });

  it("is not held by a bind whose source only starts with the same letters, or by none", () => {
    const b = binds("/scratch:/mnt/0");
    expect(pathThroughBinds(b, "/scratch2/x")).toBeUndefined();
    expect(pathThroughBinds(b, "/home/alice")).toBeUndefined();
    expect(pathThroughBinds([], "/scratch/x")).toBeUndefined();
  });

  it("ignores trailing slashes in a bind", () => {
    expect(pathThroughBinds(binds("/scratch/:/mnt/0/"), "/scratch/a")).toBe("/mnt/0/a");
  });
});
