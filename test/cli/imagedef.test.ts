/**
 * `hpcjob image def` as a user runs it (the built CLI): the definition on
 * stdout and warnings on stderr, -o written whole (never half, never over
 * a good file on error), --json, and exit 2 with one line for bad input.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir, writeFiles } from "../helpers.js";

const DOCKERFILE = `FROM python:3.10
WORKDIR /work
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
EXPOSE 8888
CMD ["jupyter", "lab"]
`;

/** A project with a Dockerfile (and what else is given), for running the CLI in it. */
function project(files: Record<string, string> = {}): string {
  return writeFiles(tempDir("hpcjob-cli-imagedef-"), { Dockerfile: DOCKERFILE, "requirements.txt": "numpy\n", ...files });
}

describe("image def", () => {
  it("prints the definition on stdout and each warning as one line on stderr, exit 0", () => {
    const r = runCli(["image", "def", "Dockerfile"], { cwd: project() });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Bootstrap: docker\nFrom: python:3\.10\n/);
    expect(r.stdout).toContain("\n%files\n    requirements.txt /.hpcjob-files/1/requirements.txt\n");
    expect(r.stdout).toContain("\n%runscript\n    cd /work || exit 1\n");
    expect(r.stderr).toBe(
      "hpcjob: Dockerfile:5 EXPOSE 8888 is not carried over: an Apptainer container shares the host's network, so a port it listens on is a port of the host\n",
    );
  });

  it("writes -o whole, says so on stdout, and leaves no temporary file", () => {
    const dir = project();
    const r = runCli(["image", "def", "Dockerfile", "-o", "lab.def", "--build-arg", "UNUSED=1"], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      "wrote lab.def (from python:3.10); build it on the cluster, in the folder that was docker build's context: apptainer build IMAGE.sif lab.def\n",
    );
    expect(r.stderr).toContain("hpcjob: --build-arg UNUSED: Dockerfile has no ARG UNUSED, so it is not used\n");
    expect(readFileSync(join(dir, "lab.def"), "utf8")).toBe(runCli(["image", "def", "Dockerfile"], { cwd: dir }).stdout);
    expect(readdirSync(dir).sort()).toEqual(["Dockerfile", "lab.def", "requirements.txt"]);
  });

  it("--json gives the definition and the warnings on stdout", () => {
    const r = runCli(["image", "def", "Dockerfile", "--json"], { cwd: project() });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ dockerfile: "Dockerfile", from: "python:3.10", copies: true });
    expect(out.warnings).toHaveLength(1);
    expect(out.definition).toMatch(/^Bootstrap: docker\n/);
  });

  it("a multi-stage build: exit 2, one line with the way to build it, and the -o file left as it was", () => {
    const dir = project({ Dockerfile: "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM debian:12\nCOPY --from=build /app /app\n" });
    writeFileSync(join(dir, "lab.def"), "the old definition\n");
    const r = runCli(["image", "def", "Dockerfile", "-o", "lab.def"], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "hpcjob: Dockerfile is a multi-stage build (2 FROM lines: 1, 3): it copies between stages, which an Apptainer definition cannot do: build the image with Docker (docker build -t NAME:TAG .), then convert it: hpcjob image convert docker-daemon:NAME:TAG\n",
    );
    expect(readFileSync(join(dir, "lab.def"), "utf8")).toBe("the old definition\n");
    expect(readdirSync(dir).sort()).toEqual(["Dockerfile", "lab.def", "requirements.txt"]);
  });

  it.each([
    [["image", "def", "Dockerfile.gpu"], "hpcjob: Dockerfile.gpu does not exist; give the path of a Dockerfile\n"],
    [["image", "def", "Bad"], "hpcjob: Bad:3 unknown instruction COPPY; did you mean COPY?\n"],
    [
      ["image", "def", "Dockerfile", "-o", "no/such/dir/x.def"],
      "hpcjob: cannot write no/such/dir/x.def: the folder no/such/dir does not exist; give -o a file in a folder you can write to\n",
    ],
    [["image", "def", "Heredoc"], "hpcjob: Heredoc:2 RUN: the heredoc <<EOF has no line EOF that ends it\n"],
  ])("bad input %j: exit 2 and one line", (args, stderr) => {
    const r = runCli(args, { cwd: project({ Bad: "FROM a\nRUN true\nCOPPY x y\n", Heredoc: "FROM a\nRUN <<EOF\necho\n" }) });
    expect(r.stderr).toBe(stderr);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(2);
  });

  it("is listed in hpcjob image --help", () => {
    const r = runCli(["image", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/def \[options\] <dockerfile>\s+write an Apptainer definition file from a\s+Dockerfile/);
  });
});
