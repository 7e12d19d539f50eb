import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isHpcjobError } from "../../src/core/errors.js";
import {
  canonicalRef,
  type DockerRef,
  dockerUri,
  enrootFileName,
  enrootUri,
  fileStem,
  type ImageRef,
  isLatest,
  parseImage,
} from "../../src/image/reference.js";

const HEX = "0123456789abcdef".repeat(4);
const D1 = `sha256:${HEX}`;
const D2 = `sha256:${"f".repeat(64)}`;

function docker(text: string): DockerRef {
  const ref = parseImage(text);
  if (ref.kind !== "docker") throw new Error(`${text} is not a docker ref`);
  return ref;
}

/** A reference hpcjob converts (not a file). */
function convertible(text: string): Exclude<ImageRef, { kind: "file" }> {
  const ref = parseImage(text);
  if (ref.kind === "file") throw new Error(`${text} is a file`);
  return ref;
}

/** The UsageError parseImage throws: its message and exit code. */
function refused(text: string, from?: string): { message: string; exitCode: number } {
  try {
    parseImage(text, from);
  } catch (e) {
    if (!isHpcjobError(e)) throw e;
    return { message: e.message, exitCode: e.exitCode };
  }
  throw new Error(`${text} was accepted`);
}

describe("docker:// references are normalised by Docker's rules", () => {
  // [typed, canonical, enroot's URI, enroot's default file name]
  it.each([
    ["docker://ubuntu", "docker://docker.io/library/ubuntu:latest", "docker://ubuntu:latest", "ubuntu+latest.sqsh"],
    ["docker://ubuntu:22.04", "docker://docker.io/library/ubuntu:22.04", "docker://ubuntu:22.04", "ubuntu+22.04.sqsh"],
    [
      "docker://pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime",
      "docker://docker.io/pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime",
      "docker://pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime",
      "pytorch+pytorch+2.3.1-cuda12.1-cudnn8-runtime.sqsh",
    ],
    [
      "docker://nvcr.io/nvidia/pytorch:24.01-py3",
      "docker://nvcr.io/nvidia/pytorch:24.01-py3",
      "docker://nvcr.io#nvidia/pytorch:24.01-py3",
      "nvidia+pytorch+24.01-py3.sqsh",
    ],
    [`docker://ghcr.io/org/img@${D1}`, `docker://ghcr.io/org/img@${D1}`, `docker://ghcr.io#org/img@${D1}`, `org+img+${D1}.sqsh`],
    ["docker://localhost:5000/x", "docker://localhost:5000/x:latest", "docker://localhost:5000#x:latest", "x+latest.sqsh"],
    ["docker://localhost/x:1", "docker://localhost/x:1", "docker://localhost#x:1", "x+1.sqsh"],
    [
      "docker://127.0.0.1:5443/lab/jupyter:1",
      "docker://127.0.0.1:5443/lab/jupyter:1",
      "docker://127.0.0.1:5443#lab/jupyter:1",
      "lab+jupyter+1.sqsh",
    ],
    ["docker://docker.io/ubuntu:22.04", "docker://docker.io/library/ubuntu:22.04", "docker://ubuntu:22.04", "ubuntu+22.04.sqsh"],
    ["docker://index.docker.io/library/ubuntu", "docker://docker.io/library/ubuntu:latest", "docker://ubuntu:latest", "ubuntu+latest.sqsh"],
    ["docker://registry-1.docker.io/ubuntu", "docker://docker.io/library/ubuntu:latest", "docker://ubuntu:latest", "ubuntu+latest.sqsh"],
    [
      "docker://NVCR.io/nvidia/cuda:12.1.0-base",
      "docker://nvcr.io/nvidia/cuda:12.1.0-base",
      "docker://nvcr.io#nvidia/cuda:12.1.0-base",
      "nvidia+cuda+12.1.0-base.sqsh",
    ],
    ["docker://a/b/c/d:v1_2", "docker://docker.io/a/b/c/d:v1_2", "docker://a/b/c/d:v1_2", "a+b+c+d+v1_2.sqsh"],
    [
      "docker://my-reg.example.com:8443/team/sub/img:V1.2_3",
      "docker://my-reg.example.com:8443/team/sub/img:V1.2_3",
      "docker://my-reg.example.com:8443#team/sub/img:V1.2_3",
      "team+sub+img+V1.2_3.sqsh",
    ],
    ["docker://foo__bar/a--b.c_d:x", "docker://docker.io/foo__bar/a--b.c_d:x", "docker://foo__bar/a--b.c_d:x", "foo__bar+a--b.c_d+x.sqsh"],
    // Docker reads a lone host:port as a name and a tag (localhost, tag 5000), and so does hpcjob.
    ["docker://localhost:5000", "docker://docker.io/library/localhost:5000", "docker://localhost:5000", "localhost+5000.sqsh"],
  ])("%s", (typed, canonical, enroot, enrootName) => {
    const ref = docker(typed);
    expect(canonicalRef(ref)).toBe(canonical);
    expect(enrootUri(ref)).toBe(enroot);
    expect(enrootFileName(ref)).toBe(enrootName);
    // Normalising is idempotent: the canonical form parses to the same reference.
    expect(parseImage(canonical)).toEqual(ref);
  });

  it("splits registry, repository, tag and digest", () => {
    expect(docker("docker://ubuntu")).toEqual({ kind: "docker", registry: "docker.io", path: "library/ubuntu", tag: "latest" });
    expect(docker("docker://127.0.0.1:5443/lab/jupyter:1")).toEqual({
      kind: "docker",
      registry: "127.0.0.1:5443",
      path: "lab/jupyter",
      tag: "1",
    });
    expect(docker(`docker://ghcr.io/org/img@${D1}`)).toEqual({ kind: "docker", registry: "ghcr.io", path: "org/img", digest: D1 });
    expect(docker(`docker://ubuntu:22.04@${D1}`)).toEqual({
      kind: "docker",
      registry: "docker.io",
      path: "library/ubuntu",
      tag: "22.04",
      digest: D1,
    });
  });

  it("a tag and a digest: the canonical form keeps both, pulls and enroot use the digest alone (skopeo refuses both)", () => {
    const ref = docker(`docker://ubuntu:22.04@${D1}`);
    expect(canonicalRef(ref)).toBe(`docker://docker.io/library/ubuntu:22.04@${D1}`);
    expect(dockerUri(ref)).toBe(`docker://docker.io/library/ubuntu@${D1}`);
    expect(enrootUri(ref)).toBe(`docker://ubuntu@${D1}`);
  });

  it("pins a resolved digest, so that a tag moved after resolving cannot change what is converted", () => {
    const ref = docker("docker://nvcr.io/nvidia/pytorch:24.01-py3");
    expect(dockerUri(ref)).toBe("docker://nvcr.io/nvidia/pytorch:24.01-py3");
    expect(dockerUri(ref, D1)).toBe(`docker://nvcr.io/nvidia/pytorch@${D1}`);
    expect(enrootUri(ref, D1)).toBe(`docker://nvcr.io#nvidia/pytorch@${D1}`);
    expect(enrootUri(docker("docker://pytorch/pytorch:2.3.1"), D1)).toBe(`docker://pytorch/pytorch@${D1}`);
  });
});

describe(":latest", () => {
  it.each([
    ["docker://ubuntu", true],
    ["docker://ubuntu:latest", true],
    ["docker://nvcr.io/nvidia/pytorch:latest", true],
    ["docker-daemon:myproject", true],
    ["docker://ubuntu:22.04", false],
    [`docker://ubuntu@${D1}`, false],
    [`docker://ubuntu:latest@${D1}`, false],
    ["docker-daemon:myproject:1.2", false],
    ["docker-archive:img.tar", false],
    ["/images/x.sif", false],
  ])("%s: %s", (typed, latest) => {
    expect(isLatest(parseImage(typed))).toBe(latest);
  });
});

describe("other transports and files", () => {
  it.each<[string, ImageRef, string]>([
    ["docker-daemon:myproject:1.2", { kind: "docker-daemon", name: "myproject", tag: "1.2" }, "docker-daemon:myproject:1.2"],
    ["docker-daemon:myproject", { kind: "docker-daemon", name: "myproject", tag: "latest" }, "docker-daemon:myproject:latest"],
    // Podman names local builds localhost/NAME; the name is kept as typed so that podman save finds it.
    [
      "docker-daemon:localhost/myproject:1",
      { kind: "docker-daemon", name: "localhost/myproject", tag: "1" },
      "docker-daemon:localhost/myproject:1",
    ],
    ["docker-daemon://me/proj:2", { kind: "docker-daemon", name: "me/proj", tag: "2" }, "docker-daemon:me/proj:2"],
    ["docker-archive:img.tar", { kind: "docker-archive", path: "img.tar" }, "docker-archive:img.tar"],
    [
      "docker-archive:/tmp/x/img.tar:lab/img:1",
      { kind: "docker-archive", path: "/tmp/x/img.tar", ref: "lab/img:1" },
      "docker-archive:/tmp/x/img.tar:lab/img:1",
    ],
    ["oci-archive:/data/img.oci.tar", { kind: "oci-archive", path: "/data/img.oci.tar" }, "oci-archive:/data/img.oci.tar"],
    ["oci-archive:img.tar:v1", { kind: "oci-archive", path: "img.tar", ref: "v1" }, "oci-archive:img.tar:v1"],
    ["/proj/images/pytorch.sif", { kind: "file", path: "/proj/images/pytorch.sif" }, "/proj/images/pytorch.sif"],
    // pyxis#67: pyxis reads a relative x.sqsh as an image on Docker Hub. hpcjob reads any value without
    // a transport as a path (made absolute before a runtime sees it), never as a registry name.
    ["pytorch.sqsh", { kind: "file", path: "pytorch.sqsh" }, "pytorch.sqsh"],
    ["./pytorch.sqsh", { kind: "file", path: "./pytorch.sqsh" }, "./pytorch.sqsh"],
    [
      "images/nvidia+pytorch+24.01-py3.sqsh",
      { kind: "file", path: "images/nvidia+pytorch+24.01-py3.sqsh" },
      "images/nvidia+pytorch+24.01-py3.sqsh",
    ],
    ["../my-image.ch", { kind: "file", path: "../my-image.ch" }, "../my-image.ch"],
    ["./odd:name.sqfs", { kind: "file", path: "./odd:name.sqfs" }, "./odd:name.sqfs"],
    // Spaces are a runtime's business (hpcjob quotes every path), not a reason to refuse a file.
    ["/proj/my images/x.sif", { kind: "file", path: "/proj/my images/x.sif" }, "/proj/my images/x.sif"],
  ])("%s", (typed, ref, canonical) => {
    expect(parseImage(typed)).toEqual(ref);
    expect(canonicalRef(ref)).toBe(canonical);
  });
});

describe("invalid references: one line that says what to write, exit 2", () => {
  it.each([
    ["docker://Ubuntu", "has capital letters; repository names are lowercase: write docker://ubuntu"],
    ["docker://MyUser/MyImage:1", "write docker://myuser/myimage:1"],
    ["docker://nvcr.io/NVIDIA/pytorch:24.01-py3", "write docker://nvcr.io/nvidia/pytorch:24.01-py3"],
    ["docker://ubuntu:", 'has an invalid tag ""; a tag has letters, digits'],
    ["docker://ubuntu:.hidden", 'has an invalid tag ".hidden"'],
    [`docker://ubuntu:${"a".repeat(129)}`, "at most 128"],
    ["docker://ubuntu:22.04!", 'has an invalid tag "22.04!"'],
    ["docker://ubuntu@sha256:abc", 'has an invalid digest "sha256:abc"; a digest is sha256: and 64 lowercase hex digits'],
    [`docker://ubuntu@sha256:${HEX.toUpperCase()}`, "64 lowercase hex digits"],
    [`docker://ubuntu@sha512:${HEX}${HEX}`, "has a sha512 digest; hpcjob reads sha256 digests"],
    ["docker://", "names no image; write docker://NAME:TAG, e.g. docker://ubuntu:22.04"],
    ["docker:///ubuntu", "names no image"],
    ["docker://ubuntu/", "names no image"],
    ["docker://-ubuntu", 'has an invalid repository name "-ubuntu"; each part between slashes'],
    ["docker://foo___bar", "has an invalid repository name"],
    ["docker://[::1]:5000/x", "IPv6 addresses are not supported"],
    ["docker://my_host.example.com/x", 'has a registry "my_host.example.com" that is not a host name'],
    ["docker://ubuntu 22.04", "contains white space"],
    ["docker:ubuntu:22.04", "lacks the // of docker://; write docker://ubuntu:22.04"],
    [`docker://${HEX}`, "is an image ID, not a name"],
    [
      "ubuntu:22.04",
      "has no transport; write docker://ubuntu:22.04 for an image in a registry, docker-daemon:ubuntu:22.04 for your Docker's, or ./ubuntu:22.04 for a file",
    ],
    ["nvcr.io/nvidia/pytorch:24.01-py3", "write docker://nvcr.io/nvidia/pytorch:24.01-py3 for an image in a registry"],
    ["oci:/tmp/layout:tag", "is not an image hpcjob converts; it reads docker://, docker-daemon:, docker-archive: or oci-archive:"],
    ["library://alpine:3.18", "is not an image hpcjob converts"],
    ["https://example.com/x.sif", "is not an image hpcjob converts"],
    ["", "is empty"],
    ["docker-archive:", "names no file; write docker-archive:/path/to/image.tar"],
    ["oci-archive:img.tar:", "ends in a colon"],
    ["docker-daemon:Myproject:1", "image names are lowercase: write docker-daemon:myproject:1"],
    [`docker-daemon:sha256:${HEX}`, "is an image ID; give the image's name and tag"],
  ])("%s", (typed, words) => {
    const { message, exitCode } = refused(typed);
    expect(exitCode).toBe(2);
    expect(message).toContain(words);
    expect(message).not.toContain("\n");
  });

  it("names where the value came from", () => {
    expect(refused("docker://Ubuntu", "--image").message).toBe(
      '--image "docker://Ubuntu" has capital letters; repository names are lowercase: write docker://ubuntu',
    );
    expect(refused("ubuntu:22.04", "hpcjob.yaml:3 image:").message).toMatch(/^hpcjob\.yaml:3 image: "ubuntu:22\.04" has no transport; /);
  });
});

describe("the file stem hpcjob gives a converted image", () => {
  it("keeps the registry, the whole path, the tag and 12 hex digits of the digest", () => {
    expect(fileStem(docker("docker://nvcr.io/nvidia/pytorch:24.01-py3"), D1)).toBe("nvcr.io+nvidia+pytorch+24.01-py3+0123456789ab");
    expect(fileStem(docker("docker://pytorch/pytorch:24.01-py3"), D1)).toBe("docker.io+pytorch+pytorch+24.01-py3+0123456789ab");
    expect(fileStem(docker("docker://ubuntu"), D1)).toBe("docker.io+library+ubuntu+latest+0123456789ab");
    expect(fileStem(docker("docker://127.0.0.1:5443/lab/jupyter:1"), D1)).toBe("127.0.0.1_5443+lab+jupyter+1+0123456789ab");
    expect(fileStem(docker(`docker://ghcr.io/org/img@${D1}`), D1)).toBe("ghcr.io+org+img+0123456789ab");
  });

  it("tells apart what Apptainer's default name (pytorch_24.01-py3.sif) and enroot's (nvidia+pytorch+...) mix up", () => {
    const names = [
      "docker://nvcr.io/nvidia/pytorch:24.01-py3",
      "docker://pytorch/pytorch:24.01-py3",
      "docker://nvidia/pytorch:24.01-py3",
      "docker://ghcr.io/nvidia/pytorch:24.01-py3",
    ].map((r) => fileStem(docker(r), D1));
    expect(new Set(names).size).toBe(4);
    expect(enrootFileName(docker("docker://nvcr.io/nvidia/pytorch:24.01-py3"))).toBe(
      enrootFileName(docker("docker://nvidia/pytorch:24.01-py3")),
    );
  });

  it("a tag moved to other content gets another file", () => {
    const ref = docker("docker://127.0.0.1:5443/lab/moving:1");
    expect(fileStem(ref, D1)).not.toBe(fileStem(ref, D2));
    expect(fileStem(ref, D2)).toBe("127.0.0.1_5443+lab+moving+1+ffffffffffff");
  });

  it("names laptop images and archives by where they came from", () => {
    expect(fileStem(convertible("docker-daemon:myproject:1.2"), D1)).toBe("daemon+myproject+1.2+0123456789ab");
    expect(fileStem(convertible("docker-daemon:localhost/me/proj:2"), D1)).toBe("daemon+localhost+me+proj+2+0123456789ab");
    expect(fileStem(convertible("docker-archive:/home/me/My_Image.tar"), D1)).toBe("archive+My_Image+0123456789ab");
    expect(fileStem(convertible("oci-archive:../.hidden+img.tar"), D1)).toBe("oci-archive+hidden_img+0123456789ab");
    expect(fileStem(convertible("docker-archive:x.tar:lab/img:1"), D1)).toBe("archive+x+lab_img_1+0123456789ab");
  });

  it("stays under 200 characters and unique for very long names", () => {
    const long = (end: string) => docker(`docker://registry.example.com/${"deep/".repeat(30)}img:${"t".repeat(100)}${end}`);
    const a = fileStem(long("a"), D1);
    const b = fileStem(long("b"), D1);
    expect(a.length).toBeLessThanOrEqual(200);
    expect(a).not.toBe(b);
    expect(a).toMatch(/\+[0-9a-f]{8}\+0123456789ab$/);
  });

  it("refuses a digest that is not sha256", () => {
    expect(() => fileStem(docker("docker://ubuntu"), "sha256:abc")).toThrow(/not a sha256 digest/);
  });

  it("any valid reference: safe characters, no leading dot or dash, one stem per (registry, path, tag)", () => {
    const component = fc.stringMatching(/^[a-z0-9]{1,4}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,3}){0,2}$/);
    const registry = fc.constantFrom("docker.io", "nvcr.io", "ghcr.io", "localhost:5000", "127.0.0.1:5443", "my-reg.example.com");
    const tag = fc.stringMatching(/^\w[\w.-]{0,8}$/);
    const ref = fc.tuple(registry, fc.array(component, { minLength: 1, maxLength: 3 }), tag).map(([r, p, t]) => {
      return `docker://${r}/${p.join("/")}:${t}`;
    });
    fc.assert(
      fc.property(ref, ref, (x, y) => {
        const rx = docker(x);
        const ry = docker(y);
        const sx = fileStem(rx, D1);
        expect(sx).toMatch(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/);
        expect(sx).not.toMatch(/\+[.-]/);
        if (canonicalRef(rx) !== canonicalRef(ry)) expect(sx).not.toBe(fileStem(ry, D1));
      }),
      { numRuns: 500 },
    );
  });
});
