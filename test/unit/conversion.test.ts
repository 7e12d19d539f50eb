/**
 * A conversion request from a profile: the file's name, the folders (a home
 * folder's path left to the cluster's shell), the room it needs, and the
 * profile keys it reads, each refused with the fix when wrong.
 */
import { describe, expect, it } from "vitest";
import { parseClusterFolder } from "../../src/core/values.js";
import { conversionDirectives, conversionRequest, homeQuotaNote, type ImageToConvert, quotaProblem } from "../../src/image/conversion.js";
import { checkProfile } from "../../src/profile/rules.js";
import { ProfileSchema } from "../../src/profile/schema.js";
import { folderWord } from "../../src/render/convert.js";

const IMAGE: ImageToConvert = {
  ref: "docker://127.0.0.1:5443/lab/jupyter:1",
  source: "docker://127.0.0.1:5443/lab/jupyter:1",
  digest: `sha256:${"a".repeat(64)}`,
  platform: "linux/amd64",
  size: 1000,
  stem: "127.0.0.1+5443+lab+jupyter+1-aaaaaaaaaaaa",
};

/** A profile with `container` (and `slurm`) settings over a minimal valid one. */
function profile(container: Record<string, unknown>, partitions = ["gpu"], slurm: Record<string, unknown> = {}) {
  return ProfileSchema.parse({
    name: "site",
    slurm: { partition: partitions[0], partitions: partitions.map((name) => ({ name, maxTime: "1-00:00:00" })), ...slurm },
    container: { runtime: "apptainer", ...container },
  });
}

describe("parseClusterFolder", () => {
  it.each([
    ["$HOME/.hpcjob/images", { under: "home", path: ".hpcjob/images" }],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${HOME}, as a profile spells it
    ["${HOME}/images/", { under: "home", path: "images" }],
    ["~/images", { under: "home", path: "images" }],
    ["~", { under: "home", path: "" }],
    ["/mimer/NOBACKUP/groups/lab/images/", { under: "root", path: "/mimer/NOBACKUP/groups/lab/images" }],
    ["/", { under: "root", path: "/" }],
  ])("%s", (text, folder) => {
    expect(parseClusterFolder(text, "x:")).toEqual(folder);
  });

  it.each([
    ["images", 'x: "images" must be an absolute path, or start with $HOME/ or ~/'],
    ["$SCRATCH/images", 'x: "$SCRATCH/images" must be an absolute path, or start with $HOME/ or ~/'],
    ["/scratch/$USER", 'x: "/scratch/$USER" may not hold $, a backquote, a newline or ".."; write the folder out'],
    ["$HOME/../other", 'x: "$HOME/../other" may not hold $, a backquote, a newline or ".."; write the folder out'],
  ])("refuses %s", (text, message) => {
    expect(() => parseClusterFolder(text, "x:")).toThrow(message);
  });
});

describe("folderWord", () => {
  it("leaves the home folder to the cluster's shell and quotes the rest once", () => {
    expect(folderWord({ under: "home", path: "my images" })).toBe(`"$HOME"/'my images'`);
    expect(folderWord({ under: "home", path: "" })).toBe(`"$HOME"`);
    expect(folderWord({ under: "root", path: "/data/it's" })).toBe(`'/data/it'\\''s'`);
  });
});

describe("conversionRequest", () => {
  it("names the file by the image and the runtime's extension, in the profile's folders", () => {
    const req = conversionRequest(profile({ imageDir: "/groups/lab/images", tmpDir: "$HOME/tmp" }), IMAGE, false);
    expect(req.fileName).toBe("127.0.0.1+5443+lab+jupyter+1-aaaaaaaaaaaa.sif");
    expect(req.imageDir).toEqual({ under: "root", path: "/groups/lab/images" });
    expect(req.tmpDir).toEqual({ under: "home", path: "tmp" });
    expect(req.cacheDir).toBeUndefined();
    expect(req.converter.tool).toBe("apptainer");
    expect(req.tmpBytes).toBe(3000);
    expect(req.outBytes).toBe(1500);
  });

  it("uses enroot for pyxis and ch-image for Charliecloud", () => {
    expect(conversionRequest(profile({ runtime: "pyxis" }), IMAGE, false).fileName).toMatch(/\.sqsh$/);
    expect(conversionRequest(profile({ runtime: "pyxis" }), IMAGE, false).converter.tool).toBe("enroot");
    expect(conversionRequest(profile({ runtime: "charliecloud" }), IMAGE, true).fileName).toMatch(/\.sqfs$/);
  });

  it("refuses a cluster that runs jobs on the host", () => {
    expect(() => conversionRequest(profile({ runtime: "none" }), IMAGE, false)).toThrow(
      "cluster site runs jobs on the host (container.runtime: none); there is no image to convert for it",
    );
  });
});

describe("the profile's conversion settings", () => {
  it("defaults to converting on the login node", () => {
    expect(profile({}).container.convertOn).toBe("login");
  });

  it("refuses a folder that is not one, at its key", () => {
    const r = ProfileSchema.safeParse({
      name: "site",
      slurm: { partition: "gpu", partitions: [{ name: "gpu", maxTime: "1:00:00" }] },
      container: { runtime: "apptainer", tmpDir: "scratch" },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["container", "tmpDir"]);
  });

  it("refuses a conversion partition the profile does not have", () => {
    expect(checkProfile(profile({ convertOn: "job", convertPartition: "cpu" }), "site")).toEqual([
      { path: ["container", "convertPartition"], message: '"cpu" is not in slurm.partitions (gpu); add it there or pick one of those' },
    ]);
    expect(checkProfile(profile({ convertOn: "job", convertPartition: "cpu" }, ["gpu", "cpu"]), "site")).toEqual([]);
  });
});

describe("a conversion in a Slurm job (convertOn: job)", () => {
  const LOG = "/home/a/.hpcjob/runs/x-convert/job.log";

  it("runs on the login node unless the profile says job", () => {
    expect(conversionRequest(profile({}), IMAGE, false).job).toBeUndefined();
  });

  it("goes to convertPartition, else the default partition, charged to --account, else the profile's default", () => {
    const p = profile({ convertOn: "job", convertPartition: "cpu" }, ["gpu", "cpu"], { account: { default: "lab1" } });
    expect(conversionRequest(p, IMAGE, false)?.job).toMatchObject({ partition: "cpu", account: "lab1" });
    expect(conversionRequest(p, IMAGE, false, "lab2")?.job?.account).toBe("lab2");
    expect(conversionRequest(profile({ convertOn: "job" }), IMAGE, false).job).toMatchObject({ partition: "gpu", account: undefined });
  });

  it("refuses to submit without an account where the site requires one, with the site's hint", () => {
    const p = profile({ convertOn: "job" }, ["gpu"], { account: { required: true, hint: "projinfo lists yours" } });
    expect(() => conversionRequest(p, IMAGE, false)).toThrow(
      "cluster site converts images in a Slurm job and needs an account for it; add --account NAME (projinfo lists yours)",
    );
    expect(conversionRequest(p, IMAGE, false, "C3SE-1").job?.account).toBe("C3SE-1");
  });

  it("asks for the job's name, log, partition, time and tag (CPUs and memory: the site's defaults), keeps the site's directives and drops what it skips", () => {
    const p = profile({ convertOn: "job" }, ["gpu"], { directives: ["--qos=short", "-C fat"], skipDirectives: ["time"] });
    const job = conversionRequest(p, IMAGE, false).job;
    if (!job) throw new Error("no job");
    expect(conversionDirectives(job, LOG)).toEqual([
      { key: "job-name", value: "hpcjob-convert" },
      { key: "output", value: LOG },
      { key: "partition", value: "gpu" },
      { key: "comment", value: "hpcjob" },
      { key: "qos", value: "short" },
      { key: "constraint", value: "fat" },
    ]);
  });
});

describe("a home folder with a quota (container.homeQuota)", () => {
  it("names what the conversion writes in the home folder and the keys that move it", () => {
    const p = profile({ homeQuota: "30 GB and 60,000 files" });
    expect(homeQuotaNote(conversionRequest(p, IMAGE, false), p)).toBe(
      "cluster site's home folder has a quota (30 GB and 60,000 files) and this conversion writes there: the image folder ($HOME/.hpcjob/images, container.imageDir) and apptainer's cache (~/.apptainer/cache, container.cacheDir unset); point those keys at project or group storage in the profile",
    );
  });

  it("says nothing when the folders are elsewhere, or the profile names no quota", () => {
    const away = profile({ homeQuota: "30 GB", imageDir: "/mimer/lab/images", cacheDir: "/mimer/lab/cache", tmpDir: "/mimer/lab/tmp" });
    expect(homeQuotaNote(conversionRequest(away, IMAGE, false), away)).toBeUndefined();
    const none = profile({});
    expect(homeQuotaNote(conversionRequest(none, IMAGE, false), none)).toBeUndefined();
  });

  it("a scratch folder in the home folder is named too; enroot's cache default is ~/.cache/enroot", () => {
    const p = profile({ runtime: "enroot", homeQuota: "50 GB", imageDir: "/proj/images", tmpDir: "~/tmp" });
    expect(homeQuotaNote(conversionRequest(p, { ...IMAGE, stem: "x" }, false), p)).toBe(
      "cluster site's home folder has a quota (50 GB) and this conversion writes there: enroot's cache (~/.cache/enroot, container.cacheDir unset) and the scratch folder (~/tmp, container.tmpDir); point those keys at project or group storage in the profile",
    );
  });
});

describe("quotaProblem", () => {
  it("reads a quota in a failed conversion's log and names the keys to change", () => {
    const p = profile({});
    const req = conversionRequest(p, IMAGE, false);
    expect(quotaProblem(["INFO: Creating SIF file...", "FATAL: write /home/a/.apptainer/cache/blob: disk quota exceeded"], req)).toBe(
      "a disk quota was exceeded: the home folder on most clusters limits space and the number of files; set container.cacheDir and container.tmpDir (and container.imageDir) in cluster site's profile to project or group storage",
    );
    expect(quotaProblem(["tar: ./usr/lib/x: Cannot open: Disk quota exceeded"], req)).toMatch(/^a disk quota was exceeded/);
    expect(quotaProblem(["FATAL: no space left on device"], req)).toBeUndefined();
  });
});
