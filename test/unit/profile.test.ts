import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProfileError } from "../../src/core/errors.js";
import { deepMerge, knownNames, loadProfile, loadProfilePath, profileFiles, searchPathProblems } from "../../src/profile/load.js";
import { profileJsonSchema } from "../../src/profile/schema.js";
import { BUILTIN_CLUSTERS, BUILTIN_LIST, BUILTIN_ONLY, ROOT, tempDir, writeFiles } from "../helpers.js";

const MINIMAL = `name: mini
slurm:
  partition: gpu
  partitions:
    - name: gpu
      maxTime: "1-00:00:00"
      gpus: [{type: A40, perNode: 2}]
container:
  runtime: apptainer
`;

/** An environment whose HPCJOB_CLUSTERS holds exactly these files. */
function withProfiles(files: Record<string, string>) {
  const dir = writeFiles(tempDir(), files);
  return { dir, e: { env: { HPCJOB_CLUSTERS: dir }, home: tempDir() } };
}

/** The one-line message of the ProfileError a load throws. */
async function loadError(files: Record<string, string>, name: string): Promise<string> {
  const { e } = withProfiles(files);
  try {
    await loadProfile(e, name);
  } catch (err) {
    expect(err).toBeInstanceOf(ProfileError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected the profile to be refused");
}

describe("built-in profiles", () => {
  it.each(BUILTIN_CLUSTERS)("%s loads and validates", async (name) => {
    const l = await loadProfile(BUILTIN_ONLY, name);
    expect(l.profile.name).toBe(name);
    expect(l.origin).toBe("builtin");
  });

  it("vera asks for GPUs as --gpus-per-node and needs an account with the projinfo hint", async () => {
    const { profile } = await loadProfile(BUILTIN_ONLY, "vera");
    expect(profile.container.runtime).toBe("apptainer");
    expect(profile.slurm.gpuDirective).toBe("gpus-per-node");
    expect(profile.slurm.account).toMatchObject({ required: true, hint: expect.stringContaining("projinfo") });
  });

  it("penn runs pyxis and asks for GPUs with --gres", async () => {
    const { profile } = await loadProfile(BUILTIN_ONLY, "penn");
    expect(profile.container.runtime).toBe("pyxis");
    expect(profile.slurm.gpuDirective).toBe("gres");
  });

  it("an unknown cluster lists the known ones and how to add one", async () => {
    await expect(loadProfile(BUILTIN_ONLY, "nope")).rejects.toThrow(
      new RegExp(`unknown cluster "nope"; known clusters: ${BUILTIN_LIST}; to add one, add .*nope.yaml`),
    );
  });
});

describe("search path", () => {
  it("HPCJOB_CLUSTERS comes before the user folder and the built-ins", async () => {
    const { dir, e } = withProfiles({ "vera.yaml": MINIMAL.replace("name: mini", "name: vera") });
    const l = await loadProfile(e, "vera");
    expect(l.file).toBe(join(dir, "vera.yaml"));
    expect(l.profile.slurm.partition).toBe("gpu");
  });

  it("reads the user folder ~/.config/hpcjob/clusters", async () => {
    const home = tempDir();
    const dir = join(home, ".config", "hpcjob", "clusters");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true });
    writeFiles(dir, { "mini.yaml": MINIMAL });
    const l = await loadProfile({ env: {}, home }, "mini");
    expect(l.origin).toBe("user");
    expect(knownNames({ env: {}, home })).toEqual([...BUILTIN_CLUSTERS, "mini"].sort());
  });

  it("takes several colon-separated folders in order", () => {
    const a = writeFiles(tempDir(), { "mini.yaml": MINIMAL });
    const b = writeFiles(tempDir(), { "mini.yaml": MINIMAL, "other.yaml": MINIMAL.replace("mini", "other") });
    const files = profileFiles({ env: { HPCJOB_CLUSTERS: `${a}:${b}` }, home: tempDir() });
    expect(files.filter((f) => f.name === "mini").map((f) => f.file)).toEqual([join(a, "mini.yaml"), join(b, "mini.yaml")]);
  });
});

describe("names and the search path", () => {
  it.each(["constructor", "toString", "hasOwnProperty", "valueOf"])("%s is no built-in profile, however objects are made", async (name) => {
    await expect(loadProfile(BUILTIN_ONLY, name)).rejects.toThrow(`unknown cluster "${name}"; known clusters: ${BUILTIN_LIST}`);
  });

  it.each(["__proto__", "../vera", "a/b", "..", "/etc/passwd"])("%j is not looked up at all", async (name) => {
    await expect(loadProfile(BUILTIN_ONLY, name)).rejects.toThrow(/is not a cluster name/);
  });

  it("an HPCJOB_CLUSTERS entry that is a file or missing is reported, and the other folders are still searched", async () => {
    const file = join(writeFiles(tempDir(), { "x.yaml": "name: x\n" }), "x.yaml");
    const good = writeFiles(tempDir(), { "mini.yaml": MINIMAL });
    const e = { env: { HPCJOB_CLUSTERS: `${file}:/nonexistent/p:${good}` }, home: tempDir() };
    expect(searchPathProblems(e)).toEqual([
      `HPCJOB_CLUSTERS names ${file}, which is a file, not a folder; list folders of profiles there, separated by ':'`,
      "HPCJOB_CLUSTERS names a folder that cannot be used: /nonexistent/p does not exist; fix HPCJOB_CLUSTERS",
    ]);
    expect(knownNames(e)).toEqual([...BUILTIN_CLUSTERS, "mini"].sort());
    await expect(loadProfile(e, "mini")).resolves.toMatchObject({ profile: { name: "mini" } });
  });

  it("a missing user folder is fine, one that is a file is reported", () => {
    const home = tempDir();
    expect(searchPathProblems({ env: {}, home })).toEqual([]);
    mkdirSync(join(home, ".config", "hpcjob"), { recursive: true });
    writeFiles(join(home, ".config", "hpcjob"), { clusters: "oops" });
    expect(searchPathProblems({ env: {}, home })).toEqual([
      `${join(home, ".config", "hpcjob", "clusters")} is a file, not a folder; move it away and keep your profiles in a folder of that name`,
    ]);
    expect(knownNames({ env: {}, home })).toEqual(BUILTIN_CLUSTERS);
  });

  it("a profile that is a folder is a one-line error", async () => {
    const { dir, e } = withProfiles({});
    mkdirSync(join(dir, "odd.yaml"));
    await expect(loadProfile(e, "odd")).rejects.toThrow(
      `${join(dir, "odd.yaml")} is a folder, not a file; profiles on the search path must be YAML files; move it away or make it one`,
    );
  });
});

describe("validating a profile by its path", () => {
  it("what it extends is looked for in its own folder first", async () => {
    const dir = writeFiles(tempDir(), {
      "base.yaml": MINIMAL.replace("name: mini", "name: base"),
      "kid.yaml": "name: kid\nextends: base\n",
    });
    const l = await loadProfilePath(BUILTIN_ONLY, join(dir, "kid.yaml"));
    expect(l.profile.slurm.partition).toBe("gpu");
    expect(l.chain).toEqual([join(dir, "kid.yaml"), join(dir, "base.yaml")]);
  });

  it("a file on the search path that extends the profile of its own name finds the next one down", async () => {
    const { dir, e } = withProfiles({ "vera.yaml": "name: vera\nextends: vera\ntitle: Mine\n" });
    const l = await loadProfilePath(e, join(dir, "vera.yaml"));
    expect(l.profile.title).toBe("Mine");
    expect(l.chain).toEqual([join(dir, "vera.yaml"), "clusters/vera.yaml"]);
  });
});

describe("extends", () => {
  it("merges maps key by key and replaces lists", () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] } })).toEqual({ a: { b: 1, c: [3] }, d: 1 });
  });

  it("a user's vera.yaml can extend the built-in vera", async () => {
    const { e } = withProfiles({
      "vera.yaml":
        "name: vera\nextends: vera\nslurm:\n  account: {required: true, default: C3SE2024-1-2}\ncontainer:\n  binds: [/mimer/NOBACKUP/groups/mine]\n",
    });
    const { profile, chain } = await loadProfile(e, "vera");
    expect(profile.slurm.account.default).toBe("C3SE2024-1-2");
    expect(profile.slurm.gpuDirective).toBe("gpus-per-node");
    expect(profile.container.binds).toEqual(["/mimer/NOBACKUP/groups/mine"]);
    expect(chain).toHaveLength(2);
  });

  it("a profile can extend another under a new name", async () => {
    const { e } = withProfiles({ "myvera.yaml": "name: myvera\nextends: vera\ntitle: Mine\n" });
    const { profile } = await loadProfile(e, "myvera");
    expect(profile.name).toBe("myvera");
    expect(profile.title).toBe("Mine");
    expect(profile.slurm.partition).toBe("vera");
  });

  it("refuses a loop, naming the files", async () => {
    const msg = await loadError({ "a.yaml": "name: a\nextends: b\n", "b.yaml": "name: b\nextends: a\n" }, "a");
    expect(msg).toMatch(/extend each other in a loop .*a\.yaml -> .*b\.yaml -> .*a\.yaml/);
  });

  it("refuses a missing parent at its line", async () => {
    const msg = await loadError({ "a.yaml": "name: a\ntitle: x\nextends: nothere\n" }, "a");
    expect(msg).toMatch(/a\.yaml:3 extends: no profile named "nothere" to extend; known profiles: .*vera/);
  });
});

describe("broken profiles say file, line and key", () => {
  it.each([
    [
      "a YAML syntax error",
      "name: mini\nslurm:\n  partition: [gpu\n",
      /mini\.yaml:3 YAML syntax error: .*; fix the indentation or quoting there/,
    ],
    [
      "a misspelled key",
      MINIMAL.replace("  partition: gpu", "  partiton: gpu"),
      /mini\.yaml:3 slurm\.partiton: unknown key "partiton"; did you mean "partition"\?/,
    ],
    [
      "an unknown key far from any",
      `${MINIMAL}wibble: 1\n`,
      /mini\.yaml:10 wibble: unknown key "wibble"; remove it; profile keys here are: .*slurm/,
    ],
    [
      "a bad runtime",
      MINIMAL.replace("runtime: apptainer", "runtime: docker"),
      /mini\.yaml:9 container\.runtime: must be one of apptainer, singularity, pyxis, enroot, charliecloud, none, not "docker"/,
    ],
    [
      "a bad GPU directive",
      MINIMAL.replace("  partition: gpu", "  partition: gpu\n  gpuDirective: gpu"),
      /mini\.yaml:4 slurm\.gpuDirective: must be one of gres, gpus, gpus-per-node/,
    ],
    [
      "a malformed time",
      MINIMAL.replace('"1-00:00:00"', "forever"),
      /mini\.yaml:6 slurm\.partitions\[0\]\.maxTime: "forever" is not a Slurm time; use M, M:S, H:M:S/,
    ],
    [
      "a GPU count in words",
      MINIMAL.replace("perNode: 2", "perNode: two"),
      /mini\.yaml:7 slurm\.partitions\[0\]\.gpus\[0\]\.perNode: must be a number, not a string/,
    ],
    [
      "a negative GPU count",
      MINIMAL.replace("perNode: 2", "perNode: -1"),
      /mini\.yaml:7 slurm\.partitions\[0\]\.gpus\[0\]\.perNode: -1 must be a whole number of at least 1/,
    ],
    ["a fractional CPU count", `${MINIMAL}defaults: {cpusPerGpu: 1.5}\n`, /mini\.yaml:10 defaults\.cpusPerGpu: .*whole number|int/],
    [
      "a missing runtime",
      MINIMAL.replace("  runtime: apptainer\n", "  binds: []\n"),
      /mini\.yaml:9 container\.runtime: is required: one of apptainer, .*; add it/,
    ],
    [
      "a default partition that is not listed",
      MINIMAL.replace("  partition: gpu", "  partition: cpu"),
      /mini\.yaml:3 slurm\.partition: "cpu" is not in slurm\.partitions \(gpu\); add it there or pick one of those/,
    ],
    [
      "a name that is not the file's",
      MINIMAL.replace("name: mini", "name: maxi"),
      /mini\.yaml:1 name: is "maxi" but the file is mini\.yaml; make them the same/,
    ],
    [
      "a default time past the limit",
      `${MINIMAL}jupyter: {time: "2-00:00:00"}\n`,
      /mini\.yaml:10 jupyter\.time: "2-00:00:00" is longer than partition gpu's limit 1-00:00:00; shorten it/,
    ],
    [
      "a relative bind",
      MINIMAL.replace("  runtime: apptainer", "  runtime: apptainer\n  binds: [data]"),
      /mini\.yaml:10 container\.binds\[0\]: "data" is not an absolute path; use SRC\[:DST\[:ro\]\]/,
    ],
    [
      "a read-only bind on Charliecloud, whose ch-run cannot make one",
      MINIMAL.replace("  runtime: apptainer", "  runtime: charliecloud\n  binds: [/scratch, /data:/mnt/0:ro]"),
      /mini\.yaml:10 container\.binds\[1\]: "\/data:\/mnt\/0:ro" is read-only, which ch-run \(charliecloud\) cannot make: its binds are always read-write; drop ":ro"/,
    ],
    [
      "Charliecloud settings on another runtime",
      MINIMAL.replace("  runtime: apptainer", "  runtime: apptainer\n  charliecloud: {fromhostNvidia: true}"),
      /mini\.yaml:10 container\.charliecloud: is for container\.runtime: charliecloud, but this profile's runtime is apptainer; remove it/,
    ],
    [
      "a variable with a newline on Charliecloud",
      `${MINIMAL.replace("runtime: apptainer", "runtime: charliecloud")}environment:\n  env:\n    NOTE: "two\\nlines"\n`,
      /mini\.yaml:12 environment\.env\.NOTE: the value of NOTE has a newline, which ch-run \(charliecloud\) cannot pass into the container/,
    ],
    [
      "a directive hpcjob manages",
      MINIMAL.replace("  partition: gpu", "  partition: gpu\n  directives: [--time=1:00:00]"),
      /mini\.yaml:4 slurm\.directives\[0\]: "--time=1:00:00" sets --time, which hpcjob manages; use hpcjob's --time instead/,
    ],
    [
      "no GPUs per node",
      MINIMAL.replace("perNode: 2", "perNode: 0"),
      /mini\.yaml:7 slurm\.partitions\[0\]\.gpus\[0\]\.perNode: 0 must be a whole number of at least 1, e\.g\. 8/,
    ],
    [
      "more CPUs per GPU than Slurm takes",
      `${MINIMAL}defaults: {cpusPerGpu: 70000}\n`,
      /mini\.yaml:10 defaults\.cpusPerGpu: 70000 is more than hpcjob can pass to Slurm; ask for at most 65533/,
    ],
    [
      "a time limit sbatch cannot read",
      MINIMAL.replace('"1-00:00:00"', '"30000-00:00:00"'),
      /mini\.yaml:6 slurm\.partitions\[0\]\.maxTime: "30000-00:00:00" is longer than sbatch can read; ask for at most 24855-03:13:08/,
    ],
    [
      "a directive spelled as sbatch's prefix of a managed one",
      MINIMAL.replace("  partition: gpu", "  partition: gpu\n  directives: [-t 60]"),
      /mini\.yaml:4 slurm\.directives\[0\]: "-t 60" sets --time, which hpcjob manages/,
    ],
    [
      "an ambiguous directive",
      MINIMAL.replace("  partition: gpu", "  partition: gpu\n  directives: [--mem-per=1G]"),
      /mini\.yaml:4 slurm\.directives\[0\]: "--mem-per=1G": --mem-per could be --mem-per-cpu, --mem-per-gpu; write the option in full/,
    ],
    [
      "a skipped option that is not an option's long name",
      MINIMAL.replace("  partition: gpu", "  partition: gpu\n  skipDirectives: [--mem]"),
      /mini\.yaml:4 slurm\.skipDirectives\[0\]: "--mem" is not the long name of an sbatch option; did you mean mem\?/,
    ],
    [
      "a reserved variable",
      `${MINIMAL}environment:\n  env:\n    OK: fine\n    JUPYTER_TOKEN: letmein\n`,
      /mini\.yaml:13 environment\.env\.JUPYTER_TOKEN: JUPYTER_TOKEN is reserved: .*; remove it/,
    ],
    [
      "an account Slurm would not have",
      MINIMAL.replace("  partition: gpu", "  partition: gpu\n  account: {default: 'my account'}"),
      /mini\.yaml:4 slurm\.account\.default: "my account" has characters Slurm accounts do not use/,
    ],
    [
      "a partition name with a slash",
      MINIMAL.replace("    - name: gpu", "    - name: gpu/a"),
      /mini\.yaml:5 slurm\.partitions\[0\]\.name: "gpu\/a" is not a partition name/,
    ],
    ["extends with a path", "name: mini\nextends: ../vera\n", /mini\.yaml:2 extends: "\.\.\/vera" is not a cluster name/],
    [
      "a YAML syntax error on its real line",
      `${MINIMAL}jupyter:\n\tcommand: [jupyter]\n`,
      /mini\.yaml:11 YAML syntax error: Tabs are not allowed as indentation/,
    ],
    ["a duplicated key on its real line", `${MINIMAL}title: a\ntitle: b\n`, /mini\.yaml:11 YAML syntax error: Map keys must be unique/],
    [
      "an alias bomb",
      `a: &a [x, x, x, x, x, x, x, x, x, x]\n${"bcdefghij"
        .split("")
        .map((c, i) => `${c}: &${c} [${Array(10).fill(`*${"abcdefghij"[i]}`).join(", ")}]`)
        .join("\n")}\n`,
      /mini\.yaml:2 YAML: its aliases \(\*name\) expand to too much data; write the values out instead of aliasing them/,
    ],
    [
      "an alias to no anchor",
      `${MINIMAL}title: &t x\njupyter: {command: [*t]}\nbatch: {runners: {".py": [*nothing]}}\n`,
      /mini\.yaml:12 YAML: Unresolved alias \(the anchor must be set before the alias\): nothing; define the anchor \(&name\) before using it/,
    ],
    [
      "a duplicated partition",
      MINIMAL.replace("  partitions:\n", '  partitions:\n    - {name: gpu, maxTime: "1:00:00"}\n'),
      /slurm\.partitions\[1\]\.name: partition "gpu" is listed twice; keep one/,
    ],
  ])("%s", async (_what, text, expected) => {
    expect(await loadError({ "mini.yaml": text }, "mini")).toMatch(expected);
  });

  it("an error in a child profile points into the child, not its parent", async () => {
    const msg = await loadError({ "v.yaml": "name: v\nextends: vera\nslurm:\n  gpuDirective: nope\n" }, "v");
    expect(msg).toMatch(/v\.yaml:4 slurm\.gpuDirective: must be one of/);
  });

  it("clusters validate reads a file by path and names it", async () => {
    const dir = writeFiles(tempDir(), { "site.yaml": MINIMAL.replace("name: mini", "name: site") });
    await expect(loadProfilePath(BUILTIN_ONLY, join(dir, "site.yaml"))).resolves.toMatchObject({ profile: { name: "site" } });
    await expect(loadProfilePath(BUILTIN_ONLY, join(dir, "missing.yaml"))).rejects.toThrow(
      /missing\.yaml does not exist; give the path of a profile \.yaml file/,
    );
  });
});

describe("JSON Schema", () => {
  it("schema/profile.schema.json is what `hpcjob clusters schema` prints (regenerate: hpcjob clusters schema > schema/profile.schema.json)", () => {
    const saved = JSON.parse(readFileSync(join(ROOT, "schema", "profile.schema.json"), "utf8"));
    expect(saved).toEqual(profileJsonSchema());
  });

  it("forbids unknown keys, so editors flag typos too", () => {
    const schema = profileJsonSchema() as { additionalProperties?: boolean; required?: string[] };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(["name", "slurm", "container"]));
  });
});
