/**
 * A Dockerfile's instructions as an Apptainer definition: what each becomes,
 * where ARG and ENV are seen, ENTRYPOINT with CMD, what is refused (with the
 * line and the fix) and what is only warned about.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text, where ${NAME} is Docker's, not a template.
import { describe, expect, it } from "vitest";
import { isHpcjobError } from "../../src/core/errors.js";
import { type Definition, toDefinition } from "../../src/image/definition.js";
import { parseDockerfile } from "../../src/image/dockerfile.js";

/** The definition of `text` (a Dockerfile), with --build-arg values. */
function def(text: string, buildArgs: Record<string, string | undefined> = {}): Definition {
  return toDefinition(parseDockerfile(text, "Dockerfile"), { file: "Dockerfile", buildArgs: new Map(Object.entries(buildArgs)) });
}

/** The lines of one section of a definition. */
function section(d: Definition, name: string): string[] {
  const lines = d.text.split("\n");
  const at = lines.indexOf(name);
  if (at < 0) return [];
  const end = lines.findIndex((l, i) => i > at && /^%\w+$/.test(l));
  return lines
    .slice(at + 1, end < 0 ? undefined : end)
    .filter((l) => l !== "")
    .map((l) => l.replace(/^ {4}/, ""));
}

/** %post without the explanations and helper functions hpcjob puts first. */
function post(d: Definition): string[] {
  const lines = section(d, "%post");
  const end = lines.lastIndexOf("}");
  return lines.slice(end + 1).filter((l) => !l.startsWith("# Each RUN") && !/^# (a cd|its last)/.test(l));
}

/** The message of the error `fn` throws, checking it is an exit-2 error. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!isHpcjobError(e)) throw e;
    expect(e.exitCode).toBe(2);
    return e.message;
  }
  throw new Error("expected an error");
}

const NEEDS_DOCKER =
  "which an Apptainer definition cannot do: build the image with Docker (docker build -t NAME:TAG .), then convert it: hpcjob image convert docker-daemon:NAME:TAG";

describe("the header", () => {
  it("starts with Bootstrap: docker and From:, ARGs before FROM substituted", () => {
    const d = def("ARG TAG=3.10\nFROM python:${TAG}-slim AS base\nRUN true\n");
    expect(d.text.split("\n").slice(0, 2)).toEqual(["Bootstrap: docker", "From: python:3.10-slim"]);
    expect(def("ARG TAG=3.10\nFROM python:${TAG}\n", { TAG: "3.12" }).from).toBe("python:3.12");
    expect(d.from).toBe("python:3.10-slim");
  });

  it("FROM scratch is Bootstrap: scratch", () => {
    expect(def('FROM scratch\nCMD ["/app"]\n').text).toMatch(/^Bootstrap: scratch\n\n/);
  });

  it("refuses a variable in FROM that no ARG before it declares, and a FROM that is not IMAGE [AS NAME]", () => {
    expect(refusal(() => def("FROM python:${TAG}\n"))).toBe(
      "Dockerfile:1 FROM: python:${TAG} uses $TAG, which no ARG before the first FROM declares; add ARG TAG=VALUE above it",
    );
    expect(refusal(() => def("FROM a b\n"))).toBe("Dockerfile:1 FROM: write FROM IMAGE or FROM IMAGE AS NAME");
    expect(refusal(() => def("RUN x\nFROM a\n"))).toBe("Dockerfile:1 RUN comes before FROM, where only ARG may (Docker refuses it too)");
    expect(refusal(() => def("ARG X=1\n"))).toBe("Dockerfile has no FROM; a Dockerfile starts with FROM IMAGE");
  });

  it("warns that --platform is not carried over, unless it is the cluster's", () => {
    expect(def("FROM --platform=linux/arm64 x\n").warnings).toEqual([
      "Dockerfile:1 FROM --platform=linux/arm64 is not carried over: Apptainer pulls the image for the machine it builds on",
    ]);
    expect(def("FROM --platform=$TARGETPLATFORM x\n").warnings).toEqual([]);
  });
});

describe("a multi-stage build", () => {
  it("is refused in one line that says how to build it instead", () => {
    const message = refusal(() => def("FROM a AS build\nRUN make\nFROM b\nCOPY --from=build /out /out\n"));
    expect(message).toBe(`Dockerfile is a multi-stage build (2 FROM lines: 1, 3): it copies between stages, ${NEEDS_DOCKER}`);
    expect(message).not.toContain("\n");
  });

  it("COPY --from and RUN --mount from elsewhere are refused the same way", () => {
    expect(refusal(() => def("FROM a\nCOPY --from=nginx:1 /etc/nginx /etc/nginx\n"))).toBe(
      `Dockerfile:2 COPY --from=nginx:1 copies from another build stage or image, ${NEEDS_DOCKER}`,
    );
    expect(refusal(() => def("FROM a\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n"))).toBe(
      `Dockerfile:2 RUN --mount=type=secret mounts a build secret while RUN runs, ${NEEDS_DOCKER}`,
    );
    expect(post(def("FROM a\nRUN --mount=type=cache,target=/root/.cache pip install x\n"))).toEqual([
      "# Dockerfile:2 RUN",
      "( set +e",
      "pip install x",
      ")",
    ]);
  });
});

describe("RUN", () => {
  it("runs each shell-form RUN in a subshell with set +e, the exec form as it is", () => {
    expect(post(def('FROM a\nRUN cd /tmp && make\nRUN ["pip", "install", "a b"]\n'))).toEqual([
      "# Dockerfile:2 RUN",
      "( set +e",
      "cd /tmp && make",
      ")",
      "# Dockerfile:3 RUN",
      "pip install 'a b'",
    ]);
  });

  it("runs a heredoc alone as the script, and one with a command as the shell reads it", () => {
    expect(post(def("FROM a\nRUN <<EOF\necho 1\n  echo 2\nEOF\n"))).toEqual(["# Dockerfile:2 RUN", "( set +e", "echo 1", "  echo 2", ")"]);
    expect(def("FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\n").text).toContain("    ( set +e\n    python3 <<EOF\nprint(1)\nEOF\n    )\n");
    expect(def("FROM a\nRUN <<-EOF\n\techo tab\n\tEOF\n").text).toContain("    ( set +e\necho tab\n    )\n");
    expect(refusal(() => def("FROM a\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"))).toBe(
      "Dockerfile:2 RUN: <<EOF starts with #!, which Docker runs as a file of its own; write the interpreter after RUN (RUN python3 <<EOF) so that a definition can run it",
    );
  });

  it("runs RUN with the SHELL Docker would, from the SHELL line on", () => {
    const d = def(
      'FROM a\nRUN echo 1\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN set -o | grep pipefail | wc -l\nSHELL ["/bin/sh", "-c"]\nRUN echo 3\n',
    );
    expect(post(d)).toEqual([
      "# Dockerfile:2 RUN",
      "( set +e",
      "echo 1",
      ")",
      '# Dockerfile:3 SHELL ["/bin/bash","-o","pipefail","-c"]: the RUN lines after it run with it, as Docker runs them.',
      "# Dockerfile:4 RUN",
      "/bin/bash -o pipefail -c 'set -o | grep pipefail | wc -l'",
      '# Dockerfile:5 SHELL ["/bin/sh","-c"]: the RUN lines after it run with it, as Docker runs them.',
      "# Dockerfile:6 RUN",
      "( set +e",
      "echo 3",
      ")",
    ]);
    expect(refusal(() => def("FROM a\nSHELL /bin/bash -c\n"))).toBe(
      'Dockerfile:2 SHELL: SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/bash", "-c"]',
    );
  });

  it("refuses a line a definition file would read as a section, and {{ NAME }}, which Apptainer would replace", () => {
    expect(refusal(() => def("FROM a\nRUN <<EOF\nprintf '%s\\n' x\n%post\nEOF\n"))).toBe(
      'Dockerfile:2 RUN: the line "%post" starts with %, which a definition file reads as a new section; change the Dockerfile so that no line of it starts with %',
    );
    expect(refusal(() => def("FROM a\nRUN echo ok\nRUN echo '{{ name }}' > /t\n"))).toBe(
      "Dockerfile:3 {{ name }}: Apptainer (1.2 and later) replaces {{ NAME }} in a definition file with a build argument; change the line so that it does not hold {{ name }} as it is",
    );
    expect(def("FROM a\nRUN echo x # {{ name }}\nRUN docker inspect -f '{{.Id}}' x\n").warnings).toEqual([]);
  });
});

describe("ENV and ARG", () => {
  it("ENV goes to %environment and to %post; the old form takes the rest of the line; quotes and escapes as Docker reads them", () => {
    const d = def("FROM a\nENV A=1 B=\"two words\" C='$lit' D=x\\ y\nENV LEGACY value with spaces\nRUN echo\n");
    expect(section(d, "%environment")).toEqual(["export A=1 B='two words' C='$lit' D='x y'", "export LEGACY='value with spaces'"]);
    expect(post(d).slice(0, 2)).toEqual(section(d, "%environment"));
  });

  it("reads every value of one ENV with the variables from before it; base-image variables are left to the shell", () => {
    const d = def("FROM a\nENV A=old\nENV A=new B=$A PATH=/opt/bin:$PATH\nENV C=${A}-${PATH}\n");
    expect(section(d, "%environment")).toEqual(["export A=old", 'export A=new B=old PATH=/opt/bin:"${PATH}"', 'export C=new-"${PATH}"']);
    expect(section(def("FROM a\nENV H=${HOME:-/root}/x\n"), "%environment")).toEqual(['export H="${HOME:-/root}"/x']);
  });

  it("refuses an ENV name the shell cannot export", () => {
    expect(refusal(() => def("FROM a\nENV my-var=1\n"))).toBe(
      'Dockerfile:2 ENV: "my-var" cannot be a variable of Apptainer\'s %environment (a shell script); use letters, digits and _, not starting with a digit',
    );
  });

  it("scopes ARG as Docker does: an ARG before FROM only in FROM, unless declared again", () => {
    const d = def("ARG V=1\nFROM a\nENV X=v$V\nARG V\nENV Y=v$V\n");
    expect(section(d, "%environment")).toEqual(['export X=v"${V}"', "export Y=v1"]);
  });

  it("takes --build-arg over a default, exports ARGs for RUN only, and ENV over ARG of the same name", () => {
    const d = def("FROM a\nARG V=1 W\nENV E=env\nARG E=arg\nRUN echo $V $W $E\n", { V: "2", W: undefined });
    expect(post(d).slice(0, 2)).toEqual(["export V=2", "export E=env"]);
    expect(section(d, "%environment")).toEqual(["export E=env"]);
    expect(d.warnings).toEqual([]);
  });

  it("gives the platform ARGs for the cluster, and proxies to RUN without an ARG", () => {
    const d = def("FROM a\nARG TARGETARCH\nRUN echo $TARGETARCH\n", { HTTPS_PROXY: "http://proxy:3128" });
    expect(post(d).slice(0, 2)).toEqual(["export HTTPS_PROXY=http://proxy:3128", "export TARGETARCH=amd64"]);
  });

  it("warns about a --build-arg no ARG uses", () => {
    expect(def("FROM a\nRUN true\n", { NOPE: "1" }).warnings).toEqual(["--build-arg NOPE: Dockerfile has no ARG NOPE, so it is not used"]);
  });

  it("refuses a base-image variable where a value is needed now", () => {
    expect(refusal(() => def("FROM a\nENV P=/x:$PATH\nWORKDIR $P\n"))).toBe(
      "Dockerfile:3 WORKDIR: $P uses $P, which no ARG or ENV before this line sets to a value known here (Docker would take it from the base image); write the value instead",
    );
  });
});

describe("WORKDIR", () => {
  it("makes and enters the folder in %post, relative to the last one, and starts %runscript there", () => {
    const d = def('FROM a\nENV BASE=/opt\nWORKDIR $BASE/app\nWORKDIR sub/\nCMD ["x"]\n');
    expect(post(d)).toEqual([
      "export BASE=/opt",
      "mkdir -p /opt/app && cd /opt/app || exit 1",
      "mkdir -p /opt/app/sub && cd /opt/app/sub || exit 1",
    ]);
    expect(section(d, "%runscript")[0]).toBe("cd /opt/app/sub || exit 1");
  });

  it("warns when a path is relative to the base image's working folder, which hpcjob cannot see", () => {
    expect(def("FROM a\nCOPY x .\nWORKDIR w\n").warnings).toEqual([
      "Dockerfile:2 COPY to .: Docker puts it in the base image's working folder, which hpcjob cannot see, so it goes under / here; set a WORKDIR before it to be sure",
      "Dockerfile:3 WORKDIR w is relative to the base image's working folder, which hpcjob cannot see, so it is taken from / here; write an absolute path to be sure",
    ]);
  });
});

describe("COPY and ADD", () => {
  it("stage each source in %files and put it in place in %post, in the Dockerfile's order", () => {
    const d = def("FROM a\nWORKDIR /app\nRUN echo before\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY . .\n");
    expect(section(d, "%files")).toEqual(["requirements.txt /.hpcjob-files/1/requirements.txt", ". /.hpcjob-files/2/context"]);
    expect(post(d)).toEqual([
      "mkdir -p /app && cd /app || exit 1",
      "# Dockerfile:3 RUN",
      "( set +e",
      "echo before",
      ")",
      "# Dockerfile:4 COPY requirements.txt ./",
      "hpcjob_copy /.hpcjob-files/1/requirements.txt /app/",
      "# Dockerfile:5 RUN",
      "( set +e",
      "pip install -r requirements.txt",
      ")",
      "# Dockerfile:6 COPY . .",
      "hpcjob_copy /.hpcjob-files/2/context /app/",
      "rm -rf /.hpcjob-files",
    ]);
  });

  it("reads sources inside the build context, as Docker does: a leading / and .. go no further than its top", () => {
    expect(section(def("FROM a\nCOPY /etc/x ../../y /dst/\n"), "%files")).toEqual(["etc/x /.hpcjob-files/1/x", "y /.hpcjob-files/2/y"]);
  });

  it("stages a wildcard's matches in a folder, quotes names with spaces, and applies --chown and --chmod to what was copied", () => {
    const d = def(
      'FROM a\nCOPY *.py /app/\nCOPY ["my file.txt", "/data/"]\nCOPY --chown=app --chmod=640 s.txt /app/\nCOPY --chown=1000 t /t\n',
    );
    expect(section(d, "%files")).toEqual([
      "*.py /.hpcjob-files/1/",
      '"my file.txt" "/.hpcjob-files/2/my file.txt"',
      "s.txt /.hpcjob-files/3/s.txt",
      "t /.hpcjob-files/4/t",
    ]);
    expect(post(d).filter((l) => !l.startsWith("#"))).toEqual([
      "hpcjob_copy_matches /.hpcjob-files/1 /app/",
      "hpcjob_copy '/.hpcjob-files/2/my file.txt' /data/",
      'chown -R app:"$(id -u app)" /.hpcjob-files/3/s.txt',
      "chmod -R 640 /.hpcjob-files/3/s.txt",
      "hpcjob_copy /.hpcjob-files/3/s.txt /app/",
      "chown -R 1000:1000 /.hpcjob-files/4/t",
      "hpcjob_copy /.hpcjob-files/4/t /t",
      "rm -rf /.hpcjob-files",
    ]);
  });

  it("ADD unpacks a local archive into the destination", () => {
    expect(post(def("FROM a\nADD data.tar.gz /data\n")).filter((l) => !l.startsWith("#"))).toEqual([
      "mkdir -p /.hpcjob-files/1/unpacked && tar -xf /.hpcjob-files/1/data.tar.gz -C /.hpcjob-files/1/unpacked",
      "hpcjob_copy /.hpcjob-files/1/unpacked /data",
      "rm -rf /.hpcjob-files",
    ]);
  });

  it("refuses what %files cannot do, with the fix", () => {
    expect(refusal(() => def("FROM a\nADD https://example.org/x.tgz /x/\n"))).toBe(
      "Dockerfile:2 ADD: https://example.org/x.tgz is downloaded by Docker while it builds, which %files cannot do; download it next to the Dockerfile and COPY it, or fetch it in a RUN (curl, wget, git clone)",
    );
    expect(refusal(() => def("FROM a\nCOPY a b /dst\n"))).toBe(
      "Dockerfile:2 COPY: with more than one source the destination must be a folder and end with / (/dst/), as Docker requires",
    );
    expect(refusal(() => def('FROM a\nCOPY ["a;b", "/x"]\n'))).toBe(
      'Dockerfile:2 COPY: the source "a;b" cannot be named in %files (Apptainer reads it through the shell, and it has ";"); rename it or copy the folder that holds it',
    );
    expect(refusal(() => def("FROM a\nCOPY <<EOF /x\nhi\nEOF\n"))).toBe(
      "Dockerfile:2 COPY: <<EOF (a file written from the Dockerfile) is not translated; put the file next to the Dockerfile and COPY it",
    );
    expect(refusal(() => def("FROM a\nCOPY --exclude=*.md . /x/\n"))).toBe(
      "Dockerfile:2 COPY: --exclude is an option hpcjob does not translate (it knows --chown, --chmod, --link)",
    );
    expect(refusal(() => def("FROM a\nCOPY --chmod=rwx x /x\n"))).toBe("Dockerfile:2 COPY: --chmod=rwx is not a mode (755, or u+x)");
    expect(refusal(() => def("FROM a\nCOPY onlyone\n"))).toBe(
      "Dockerfile:2 COPY: COPY requires at least two arguments (sources, then the destination)",
    );
  });
});

describe("CMD and ENTRYPOINT", () => {
  const runscript = (text: string) => section(def(`FROM a\n${text}`), "%runscript").filter((l) => !l.startsWith("#"));

  it("CMD alone is the default command; arguments to apptainer run replace it", () => {
    expect(runscript('CMD ["jupyter", "lab"]\n')).toEqual(['if [ "$#" -eq 0 ]; then', "    set -- jupyter lab", "fi", 'exec "$@"']);
    expect(runscript("CMD python app.py\n")).toEqual([
      'if [ "$#" -eq 0 ]; then',
      "    set -- /bin/sh -c 'python app.py'",
      "fi",
      'exec "$@"',
    ]);
  });

  it("ENTRYPOINT takes CMD or the arguments after it; a shell-form ENTRYPOINT runs with the shell", () => {
    expect(runscript('ENTRYPOINT ["python", "-m", "app"]\nCMD ["--port", "8888"]\n')).toEqual([
      'if [ "$#" -eq 0 ]; then',
      "    set -- --port 8888",
      "fi",
      'exec python -m app "$@"',
    ]);
    expect(runscript('ENTRYPOINT ["/tini", "--"]\nCMD run.sh --fast\n')).toEqual([
      'if [ "$#" -eq 0 ]; then',
      "    set -- /bin/sh -c 'run.sh --fast'",
      "fi",
      'exec /tini -- "$@"',
    ]);
    expect(runscript("ENTRYPOINT exec serve\n")).toEqual(["exec /bin/sh -c 'exec serve' \"$@\""]);
  });

  it("an ENTRYPOINT drops a CMD only when this stage set none before it; the last of each counts", () => {
    expect(runscript('CMD ["a"]\nENTRYPOINT ["e"]\n')).toEqual(['if [ "$#" -eq 0 ]; then', "    set -- a", "fi", 'exec e "$@"']);
    expect(runscript('ENTRYPOINT ["e"]\nCMD ["b"]\nCMD ["c"]\n')).toEqual(['if [ "$#" -eq 0 ]; then', "    set -- c", "fi", 'exec e "$@"']);
    expect(runscript("ENTRYPOINT []\nCMD []\n")).toEqual([
      'if [ "$#" -eq 0 ]; then',
      '    echo "no command: the image\'s ENTRYPOINT and CMD are empty; give one to apptainer run" >&2',
      "    exit 1",
      "fi",
      'exec "$@"',
    ]);
  });

  it("warns when what looks like JSON is not, as Docker then runs it with the shell", () => {
    const d = def("FROM a\nCMD [python, app.py]\n");
    expect(d.warnings).toEqual([
      "Dockerfile:2 CMD [python, app.py] is not a JSON array, so Docker runs it as a shell command line, and so does the definition; write it as JSON to run the program itself",
    ]);
  });

  it("leaves out %runscript when the Dockerfile sets neither (the base image's stays)", () => {
    expect(def("FROM a\nRUN true\n").text).not.toContain("%runscript");
  });
});

describe("LABEL and what has no Apptainer meaning", () => {
  it("LABEL and MAINTAINER are %labels", () => {
    const d = def('FROM a\nLABEL org.opencontainers.image.title="My lab" "quoted.key"=v version=1\nMAINTAINER Ada <ada@example.org>\n');
    expect(section(d, "%labels")).toEqual([
      "org.opencontainers.image.title My lab",
      "quoted.key v",
      "version 1",
      "maintainer Ada <ada@example.org>",
    ]);
  });

  it("USER, EXPOSE, VOLUME, HEALTHCHECK, STOPSIGNAL and ONBUILD are a comment and one warning each", () => {
    const d = def(
      "FROM a\nRUN true\nUSER jovyan\nEXPOSE 8888\nVOLUME /data\nHEALTHCHECK CMD curl -f http://localhost/\nSTOPSIGNAL SIGINT\nONBUILD RUN make\n",
    );
    expect(d.warnings).toEqual([
      "Dockerfile:3 USER jovyan is not carried over: Apptainer builds as root (the RUN lines after it too) and runs the container as the user who starts it",
      "Dockerfile:4 EXPOSE 8888 is not carried over: an Apptainer container shares the host's network, so a port it listens on is a port of the host",
      "Dockerfile:5 VOLUME /data is not carried over: bind a folder there when running it (apptainer run --bind HOST_FOLDER:PATH)",
      "Dockerfile:6 HEALTHCHECK CMD curl -f http://localhost/ is not carried over: Apptainer has no health checks",
      "Dockerfile:7 STOPSIGNAL SIGINT is not carried over: Apptainer stops the container with the signal it is sent",
      "Dockerfile:8 ONBUILD RUN make is not carried over: Apptainer has no triggers for images built from this one",
    ]);
    expect(post(d).filter((l) => l.includes("not carried over"))).toHaveLength(6);
  });

  it("refuses an unknown instruction, naming the line and the one meant", () => {
    expect(refusal(() => def("FROM a\nRUN true\nCOPPY x y\n"))).toBe("Dockerfile:3 unknown instruction COPPY; did you mean COPY?");
    expect(refusal(() => def("FROM a\nFROBNICATE\n"))).toMatch(/^Dockerfile:2 unknown instruction FROBNICATE; Docker knows ADD, ARG, CMD/);
  });
});
