import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { loadProfile } from "../../src/profile/load.js";
import type { ProjectFile } from "../../src/profile/schema.js";
import { buildRequest, chooseCluster, type ProjectSource, type RequestFlags } from "../../src/request/build.js";
import { builtin, ROOT, requestFor } from "../helpers.js";

const JUPYTER = { kind: "jupyter" } as const;
const batch = (...argv: string[]) => ({ kind: "batch", argv, explicit: false }) as const;
const VERA = { account: "C3SE2024-1-2", image: "/cephyr/img.sif" };

async function vera(flags: RequestFlags, payload: Parameters<typeof requestFor>[2] = JUPYTER) {
  return requestFor(await builtin("vera"), { ...VERA, ...flags }, payload);
}

/** The Charliecloud test profile (test/fixtures/clusters/rt-charliecloud.yaml). */
function charliecloud() {
  return loadProfile(
    { env: { HPCJOB_CLUSTERS: join(ROOT, "test", "fixtures", "clusters") }, home: "/nonexistent-home" },
    "rt-charliecloud",
  );
}

function project(p: Partial<ProjectFile>): ProjectSource {
  const file = "/home/alice/project/hpcjob.yaml";
  return { file, project: { binds: [], env: {}, resources: {}, sbatch: [], ...p }, where: (path) => `${file}:9 ${path.join(".")}:` };
}

describe("resources", () => {
  it("scales CPUs with GPUs from the profile's defaults", async () => {
    const r = await vera({ gpus: "A40:2" });
    expect(r.gpus).toEqual({ type: "A40", count: 2 });
    expect(r.cpus).toBe(32);
  });

  it("a count alone asks for the profile's defaults.gpuType where the partition offers it, any type elsewhere", async () => {
    const loaded = await builtin("vera");
    const withType = { ...loaded, profile: { ...loaded.profile, defaults: { ...loaded.profile.defaults, gpuType: "H100" } } };
    expect(requestFor(withType, { ...VERA, gpus: "2" }, JUPYTER).gpus).toEqual({ type: "H100", count: 2 });
    expect(requestFor(withType, { ...VERA, gpus: "A40:1" }, JUPYTER).gpus).toEqual({ type: "A40", count: 1 });
    const elsewhere = { ...withType.profile, defaults: { ...withType.profile.defaults, gpuType: "B200" } };
    expect(requestFor({ ...loaded, profile: elsewhere }, { ...VERA, gpus: "1" }, JUPYTER).gpus).toEqual({ count: 1 });
  });

  it("uses the profile's spelling of a GPU type", async () => {
    expect((await vera({ gpus: "a40:1" })).gpus.type).toBe("A40");
  });

  it("scales memory per GPU where the site takes --mem", async () => {
    const r = requestFor(await builtin("penn"), { account: "lab", image: "/x.sqsh", gpus: "2" }, JUPYTER);
    expect(r.mem).toBe("400G");
    expect(r.cpus).toBe(56);
  });

  it("refuses --mem where the site gives memory with CPUs, saying what to do", async () => {
    await expect(vera({ mem: "64G" })).rejects.toThrow(
      /--mem "64G" cannot be used: cluster vera does not take --mem .*ask for more --cpus/,
    );
  });

  it("uses Jupyter's own default time for notebooks and the profile's for batch jobs", async () => {
    expect((await vera({})).time).toBe("04:00:00");
    expect((await vera({}, batch("train.py"))).time).toBe("01:00:00");
  });

  it("normalizes every Slurm time format", async () => {
    expect((await vera({ time: "90" })).time).toBe("01:30:00");
    expect((await vera({ time: "2-12" })).time).toBe("2-12:00:00");
  });
});

describe("checks against the partition", () => {
  it("an unknown GPU type lists what the partition offers", async () => {
    await expect(vera({ gpus: "V200:1" })).rejects.toThrow(
      /partition vera has no GPU type "V200"; it offers A40 \(4 per node\), A100 \(4 per node\), H100 \(4 per node\)/,
    );
  });
  it("more GPUs than a node has", async () => {
    await expect(vera({ gpus: "A40:5" })).rejects.toThrow(/more than a vera node has \(4\); ask for at most 4/);
    await expect(vera({ gpus: "9" })).rejects.toThrow(/more than any vera node has \(at most 4/);
  });
  it("a time past the partition's limit", async () => {
    await expect(vera({ time: "8-00:00:00" })).rejects.toThrow(/--time "8-00:00:00" is longer than partition vera allows \(7-00:00:00\)/);
  });
  it("an unknown partition lists the cluster's partitions", async () => {
    await expect(vera({ partition: "gpu" })).rejects.toThrow(/--partition "gpu" is not a partition of cluster vera; use one of: vera/);
  });
  it("GPUs on a partition without any point to one that has them", async () => {
    const penn = await builtin("penn");
    expect(() => requestFor(penn, { account: "lab", image: "/x.sqsh", gpus: "1", partition: "genoa-std-mem" }, JUPYTER)).toThrow(
      /partition genoa-std-mem has no GPUs; use --partition dgx-b200/,
    );
  });
  it("a missing account says how to find one", async () => {
    const v = await builtin("vera");
    expect(() => requestFor(v, { image: "/x.sif" }, JUPYTER)).toThrow(
      /cluster vera needs an account \(run projinfo on the login node.*\); pass --account NAME/,
    );
  });
});

describe("images per runtime", () => {
  it("Apptainer takes a .sif path, a URI it reads itself, or a docker:// image to convert first", async () => {
    const fromDocker = await vera({ image: "docker://pytorch/pytorch:2.3.1" });
    expect(fromDocker.image).toBeUndefined();
    expect(fromDocker.imageRef).toEqual({ kind: "docker", registry: "docker.io", path: "pytorch/pytorch", tag: "2.3.1" });
    expect((await vera({ image: "oras://ghcr.io/lab/img:1" })).image).toBe("oras://ghcr.io/lab/img:1");
    expect((await vera({ image: "img.sif" })).image).toBe("/home/alice/project/img.sif");
    await expect(vera({ image: "docker://MyLab/Img" })).rejects.toThrow(/^--image "docker:\/\/MyLab\/Img" .*write docker:\/\/mylab\/img/);
  });
  it("pyxis needs a squashfs file, absolute", async () => {
    const penn = await builtin("penn");
    expect(requestFor(penn, { account: "lab", image: "imgs/t.sqsh" }, JUPYTER).image).toBe("/home/alice/project/imgs/t.sqsh");
    expect(() => requestFor(penn, { account: "lab", image: "/x.sif" }, JUPYTER)).toThrow(
      /--image "\/x\.sif" is not a squashfs image: pyxis runs \.sqsh files \(make one with: enroot import/,
    );
    expect(requestFor(penn, { account: "lab", image: "docker://ubuntu" }, JUPYTER).imageRef).toMatchObject({ path: "library/ubuntu" });
    expect(() => requestFor(penn, { account: "lab", image: "oras://ghcr.io/lab/img:1" }, JUPYTER)).toThrow(
      /--image "oras:\/\/ghcr\.io\/lab\/img:1" cannot be run by pyxis/,
    );
  });
  it("Charliecloud takes a SquashFS file or an image directory, and says how to make one for anything else", async () => {
    const ch = await charliecloud();
    expect(requestFor(ch, { image: "imgs/torch.sqfs" }, JUPYTER).image).toBe("/home/alice/project/imgs/torch.sqfs");
    expect(requestFor(ch, { image: "/scratch/torch" }, JUPYTER).image).toBe("/scratch/torch");
    expect(() => requestFor(ch, { image: "/x.sif" }, JUPYTER)).toThrow(
      '--image "/x.sif" is a SIF, which ch-run cannot run: Charliecloud runs a SquashFS file or an image directory (make one with: ch-image pull REF && ch-convert REF /abs/path/image.sqfs)',
    );
    expect(requestFor(ch, { image: "docker://ubuntu:22.04" }, JUPYTER).imageRef).toMatchObject({ path: "library/ubuntu", tag: "22.04" });
    expect(() => requestFor(ch, { image: "https://example.org/torch.sqfs" }, JUPYTER)).toThrow(
      '--image "https://example.org/torch.sqfs" cannot be run by charliecloud: it needs a .sqfs file; convert the image and give its path, e.g. /abs/path/image.sqfs (make one with: ch-image pull REF && ch-convert REF /abs/path/image.sqfs)',
    );
  });
  it("Charliecloud's ch-fromhost --nvidia (rt-charliecloud turns it on) writes into the image: a GPU job needs a directory", async () => {
    const ch = await charliecloud();
    expect(() => requestFor(ch, { image: "/s/torch.sqfs", gpus: "1" }, JUPYTER)).toThrow(
      /^--image "\/s\/torch\.sqfs" is a SquashFS file, but cluster rt-charliecloud runs ch-fromhost --nvidia on the image before a GPU job \(container\.charliecloud\.fromhostNvidia\), which writes into it: give an image directory you can write \(make one with: ch-convert \/s\/torch\.sqfs \/abs\/path\/image-dir\)$/,
    );
    expect(requestFor(ch, { image: "/s/torch", gpus: "1" }, JUPYTER).image).toBe("/s/torch");
    // A docker:// image becomes a .sqfs file, which ch-fromhost cannot write into.
    expect(() => requestFor(ch, { image: "docker://ubuntu:22.04", gpus: "1" }, JUPYTER)).toThrow(
      /^--image "docker:\/\/ubuntu:22\.04" would be converted to a SquashFS file, but cluster rt-charliecloud runs ch-fromhost --nvidia/,
    );
    expect(requestFor(ch, { image: "/s/torch.sqfs" }, JUPYTER).image).toBe("/s/torch.sqfs");
  });
  it("Charliecloud refuses what ch-run cannot do: a read-only bind, a value with a newline", async () => {
    const ch = await charliecloud();
    expect(() => requestFor(ch, { image: "/i.sqfs", bind: ["/data:/mnt/2:ro"] }, JUPYTER)).toThrow(
      '--bind "/data:/mnt/2:ro" is read-only, which ch-run (charliecloud) cannot make: its binds are always read-write; drop ":ro"',
    );
    expect(() => requestFor(ch, { image: "/i.sqfs", env: ["NOTE=a\nb"] }, JUPYTER)).toThrow(
      /^--env "NOTE=a\\nb" has a newline, which ch-run \(charliecloud\) cannot pass into the container/,
    );
    const fromFile = () =>
      buildRequest({
        flags: { image: "/i.sqfs" },
        user: { clusters: {} },
        project: project({ env: { NOTE: "a\nb" }, binds: ["/d:/mnt/2:ro"] }),
        payload: JUPYTER,
        loaded: ch,
        workdir: "/w",
      });
    expect(fromFile).toThrow(/^\/home\/alice\/project\/hpcjob\.yaml:9 binds\.0: "\/d:\/mnt\/2:ro" is read-only/);
    // Other runtimes take both.
    expect(
      requestFor(await builtin("penn"), { account: "l", image: "/i.sqsh", bind: ["/d:/d:ro"], env: ["NOTE=a\nb"] }, JUPYTER).env.NOTE,
    ).toBe("a\nb");
  });
  it("hpcjob.yaml's image: may be a docker:// image, named by its line when it is wrong", async () => {
    const loaded = await builtin("vera");
    const fromProject = (image: string) =>
      buildRequest({
        flags: { account: "x" },
        user: { clusters: {} },
        project: project({ image }),
        payload: JUPYTER,
        loaded,
        workdir: "/w",
      });
    expect(fromProject("docker://nvcr.io/nvidia/pytorch:24.01-py3").imageRef).toEqual({
      kind: "docker",
      registry: "nvcr.io",
      path: "nvidia/pytorch",
      tag: "24.01-py3",
    });
    expect(() => fromProject("docker://NVCR.io/Nvidia/PyTorch:24.01-py3")).toThrow(
      /^\/home\/alice\/project\/hpcjob\.yaml:9 image: "docker:/,
    );
  });
  it("a container cluster without an image says how to give one", async () => {
    const v = await builtin("vera");
    expect(() => requestFor(v, { account: "x" }, JUPYTER)).toThrow(/pass --image \/path\/to\/image\.sif or set image: in hpcjob\.yaml/);
  });
});

describe("batch programs", () => {
  it("runs .py with python and .sh with bash, arguments unchanged", async () => {
    expect((await vera({}, batch("train.py", "--lr", "3e-4"))).command).toEqual(["python", "train.py", "--lr", "3e-4"]);
    expect((await vera({}, batch("run.sh", ""))).command).toEqual(["bash", "run.sh", ""]);
  });
  it("runs anything after -- as given", async () => {
    expect((await vera({}, { kind: "batch", argv: ["./sim", "-n", "3"], explicit: true })).command).toEqual(["./sim", "-n", "3"]);
  });
  it("asks for -- when it cannot tell how to run a file", async () => {
    await expect(vera({}, batch("model.R"))).rejects.toThrow(/for "model.R" put the command after --, e.g. hpcjob batch -- model.R/);
  });
  it("names the job after the script, and refuses unsafe names", async () => {
    expect((await vera({}, batch("my train!.py"))).name).toBe("my-train-");
    await expect(vera({ name: "a b" })).rejects.toThrow(/--name "a b" may only hold letters/);
    await expect(vera({ name: "$(x)" })).rejects.toThrow(UsageError);
  });
});

describe("the merge: profile < user config < project file < flags", () => {
  it("flags beat the project file, which beats the user config, which beats the profile", async () => {
    const loaded = await builtin("vera");
    const user = { cluster: "vera", account: "USER-ACC", clusters: { vera: { account: "VERA-ACC" } } };
    const proj = project({ image: "/p.sif", resources: { time: "02:00:00", account: "PROJ-ACC" }, env: { A: "project", B: "project" } });
    const base = { user, project: proj, payload: JUPYTER, loaded, workdir: "/w" };
    const fromProject = buildRequest({ ...base, flags: {} });
    expect(fromProject).toMatchObject({ account: "PROJ-ACC", time: "02:00:00", image: "/p.sif" });
    const fromFlags = buildRequest({ ...base, flags: { account: "FLAG-ACC", time: "30", env: ["B=flag"] } });
    expect(fromFlags).toMatchObject({ account: "FLAG-ACC", time: "00:30:00", env: { A: "project", B: "flag" } });
    const noProject = buildRequest({ ...base, project: undefined, flags: { image: "/x.sif" } });
    expect(noProject.account).toBe("VERA-ACC");
  });

  it("binds add up: the profile's, the project's, then --bind", async () => {
    const loaded = await builtin("vera");
    const r = buildRequest({
      flags: { ...VERA, bind: ["/scratch:/s:ro"] },
      user: { clusters: {} },
      project: project({ binds: ["/data"] }),
      payload: JUPYTER,
      loaded,
      workdir: "/w",
    });
    expect(r.binds.map((b) => b.src)).toEqual(["/cephyr", "/mimer", "/data", "/scratch"]);
  });

  it("the cluster comes from --cluster, then hpcjob.yaml, then the user config", () => {
    expect(chooseCluster({ flags: { cluster: "a" }, user: { cluster: "c", clusters: {} }, project: project({ cluster: "b" }) })).toBe("a");
    expect(chooseCluster({ flags: {}, user: { cluster: "c", clusters: {} }, project: project({ cluster: "b" }) })).toBe("b");
    expect(chooseCluster({ flags: {}, user: { cluster: "c", clusters: {} } })).toBe("c");
    expect(() => chooseCluster({ flags: {}, user: { clusters: {} } })).toThrow(/no cluster chosen; pass --cluster NAME/);
  });

  it("raw sbatch options come from the profile, the project and --sbatch", async () => {
    const r = await vera({ sbatch: ["--constraint=MEM512", "--exclusive"] });
    expect(r.directives).toEqual([{ key: "constraint", value: "MEM512" }, { key: "exclusive" }]);
  });
});

describe("a value from hpcjob.yaml names the file and key, not a flag", () => {
  const fromProject = async (p: Partial<ProjectFile>, flags: RequestFlags = {}) =>
    buildRequest({
      flags: { ...VERA, ...flags },
      user: { clusters: {} },
      project: project(p),
      payload: JUPYTER,
      loaded: await builtin("vera"),
      workdir: "/w",
    });

  it.each([
    [{ resources: { gpus: "A40:8" } }, /^\/home\/alice\/project\/hpcjob\.yaml:9 resources\.gpus: "A40:8" is more than a vera node has/],
    [{ resources: { time: "9-00:00:00" } }, /hpcjob\.yaml:9 resources\.time: "9-00:00:00" is longer than partition vera allows/],
    [{ resources: { partition: "gpu" } }, /hpcjob\.yaml:9 resources\.partition: "gpu" is not a partition of cluster vera/],
    [{ resources: { mem: "64G" } }, /hpcjob\.yaml:9 resources\.mem: "64G" cannot be used: cluster vera does not take --mem/],
    [{ binds: ["rel"] }, /hpcjob\.yaml:9 binds\.0: "rel" is not an absolute path/],
    [{ sbatch: ["--cpus-per-gpu=2"] }, /hpcjob\.yaml:9 sbatch\.0: "--cpus-per-gpu=2" cannot go with the --cpus-per-task hpcjob sets/],
  ] as const)("%j", async (p, expected) => {
    const err = await fromProject(p as Partial<ProjectFile>).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(expected);
    expect((err as Error).message).not.toMatch(/--gpus|--time "|--partition "|--mem "|--bind|--sbatch/);
  });

  it("an image from hpcjob.yaml is named there too", async () => {
    const loaded = await builtin("penn");
    const build = () =>
      buildRequest({
        flags: { account: "lab" },
        user: { clusters: {} },
        project: project({ image: "/x.sif" }),
        payload: JUPYTER,
        loaded,
        workdir: "/w",
      });
    expect(build).toThrow(/hpcjob\.yaml:9 image: "\/x\.sif" is not a squashfs image/);
  });

  it("the flag still wins, and is what a message then names", async () => {
    await expect(fromProject({ resources: { gpus: "A40:1" } }, { gpus: "A40:9" })).rejects.toThrow(/^--gpus "A40:9" is more than/);
  });
});

describe("raw sbatch options against what hpcjob sends", () => {
  it("refuses --mem-per-cpu where hpcjob sends --mem", async () => {
    const penn = await builtin("penn");
    expect(() => requestFor(penn, { account: "lab", image: "/x.sqsh", gpus: "1", sbatch: ["--mem-per-cpu=4G"] }, JUPYTER)).toThrow(
      /cannot go with the --mem hpcjob sets/,
    );
  });
  it("takes it where the site skips --mem (Vera), since sbatch then sees no --mem", async () => {
    expect((await vera({ sbatch: ["--mem-per-cpu=4G"] })).directives).toEqual([{ key: "mem-per-cpu", value: "4G" }]);
  });
  it("keeps the long name of any spelling", async () => {
    expect((await vera({ sbatch: ["-C MEM512", "--exclus"] })).directives).toEqual([
      { key: "constraint", value: "MEM512" },
      { key: "exclusive" },
    ]);
  });
});

describe("names are looked up as the records' own", () => {
  it("a cluster called constructor has no per-cluster settings it did not set", async () => {
    const loaded = await builtin("vera");
    const user = { clusters: {} as Record<string, { account?: string }> };
    const r = buildRequest({
      flags: { image: "/x.sif", account: "a" },
      user,
      payload: JUPYTER,
      loaded: { ...loaded, profile: { ...loaded.profile, name: "constructor" } },
      workdir: "/w",
    });
    expect(r.account).toBe("a");
  });
  it("--cluster is a name before it names a file", () => {
    expect(() => chooseCluster({ flags: { cluster: "../etc" }, user: { clusters: {} } })).toThrow(
      /--cluster "\.\.\/etc" is not a cluster name/,
    );
  });
  it("a program's extension is a runner only when the profile lists it", async () => {
    await expect(vera({}, batch("x.constructor"))).rejects.toThrow(/put the command after --/);
  });
});

describe("computed values stay within what Slurm takes", () => {
  it("CPUs per GPU times GPUs past 16 bits asks for --cpus", async () => {
    const loaded = await builtin("penn");
    const big = { ...loaded, profile: { ...loaded.profile, defaults: { ...loaded.profile.defaults, cpusPerGpu: 65533 } } };
    expect(() => requestFor(big, { account: "lab", image: "/x.sqsh", gpus: "2" }, JUPYTER)).toThrow(
      /2 GPUs at 65533 CPUs each \(defaults\.cpusPerGpu of cluster penn\) is more CPUs per task than Slurm takes \(at most 65533\); pass --cpus/,
    );
    expect(requestFor(big, { account: "lab", image: "/x.sqsh", gpus: "2", cpus: "8" }, JUPYTER).cpus).toBe(8);
  });
});

describe("requeue", () => {
  it("--requeue takes the profile's batch.signal; --signal names another; --signal alone passes one on without requeueing", async () => {
    const plain = await vera({}, batch("train.py"));
    expect(plain.requeue).toBe(false);
    expect(plain.signal).toBeUndefined();
    const requeued = await vera({ requeue: true }, batch("train.py"));
    expect(requeued).toMatchObject({ requeue: true, signal: { name: "USR1", seconds: 120 } });
    expect(await vera({ requeue: true, signal: "USR2@300" }, batch("train.py"))).toMatchObject({ signal: { name: "USR2", seconds: 300 } });
    expect(await vera({ signal: "TERM@60" }, batch("train.py"))).toMatchObject({ requeue: false, signal: { name: "TERM", seconds: 60 } });
  });
  it("Jupyter jobs are not requeued, and the message says why and what to do", async () => {
    await expect(vera({ requeue: true })).rejects.toThrow(/--requeue is for batch jobs: Jupyter jobs are not requeued/);
    await expect(vera({ signal: "USR1@60" })).rejects.toThrow(/--signal is for batch jobs/);
  });
});
