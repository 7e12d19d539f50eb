/**
 * `image def` in process: it reads the Dockerfile from the working folder,
 * returns the definition or writes it whole to -o, reports what did not
 * carry over as events, connects to nothing, and refuses bad input (exit 2)
 * without touching the output file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageDef } from "../../src/commands/imageDef.js";
import { isHpcjobError } from "../../src/core/errors.js";
import { tempDir, writeFiles } from "../helpers.js";
import { FakeCluster, fakeContext } from "./fakeCluster.js";

const DOCKERFILE = 'FROM python:3.10\nARG EXTRA\nRUN pip install jupyterlab $EXTRA\nUSER jovyan\nCMD ["jupyter", "lab"]\n';

/** A project folder with a Dockerfile, and a context whose working folder it is. */
function project(files: Record<string, string> = { Dockerfile: DOCKERFILE }, env: Record<string, string> = {}) {
  const dir = writeFiles(tempDir("hpcjob-imagedef-"), files);
  return { dir, ctx: fakeContext(new FakeCluster(), { cwd: dir, env }) };
}

/** The exit-2 message of a rejected promise. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (!isHpcjobError(e)) throw e;
    expect(e.exitCode).toBe(2);
    return e.message;
  }
  throw new Error("expected an error");
}

describe("image def", () => {
  it("returns the definition for stdout, reports USER as a warning and connects to nothing", async () => {
    const { ctx } = project();
    const done = await imageDef("Dockerfile", {}, ctx);
    expect(done.data).toMatchObject({ dockerfile: "Dockerfile", output: undefined, from: "python:3.10", copies: false });
    expect(done.data.definition).toMatch(/^Bootstrap: docker\nFrom: python:3\.10\n/);
    expect(done.data.warnings).toEqual([
      "Dockerfile:4 USER jovyan is not carried over: Apptainer builds as root (the RUN lines after it too) and runs the container as the user who starts it",
    ]);
    expect(ctx.events).toEqual(done.data.warnings.map((text) => ({ kind: "note", text })));
    expect(ctx.placements).toEqual([]);
  });

  it("writes -o relative to the working folder, whole, leaving no temporary file", async () => {
    const { dir, ctx } = project();
    mkdirSync(join(dir, "out"));
    const done = await imageDef("Dockerfile", { output: "out/lab.def" }, ctx);
    expect(done.data.output).toBe("out/lab.def");
    expect(readFileSync(join(dir, "out", "lab.def"), "utf8")).toBe(done.data.definition);
    expect(readdirSync(join(dir, "out"))).toEqual(["lab.def"]);
  });

  it("takes --build-arg NAME=VALUE, and NAME alone from the environment, as docker build does", async () => {
    const { ctx } = project({ Dockerfile: DOCKERFILE }, { EXTRA: "numpy" });
    expect((await imageDef("Dockerfile", { buildArg: ["EXTRA"] }, ctx)).data.definition).toContain("export EXTRA=numpy\n");
    expect((await imageDef("Dockerfile", { buildArg: ["EXTRA=pandas scipy"] }, ctx)).data.definition).toContain(
      "export EXTRA='pandas scipy'\n",
    );
    expect(await refusal(imageDef("Dockerfile", { buildArg: ["=x"] }, ctx))).toBe(
      '--build-arg "=x" is not NAME=VALUE; write --build-arg NAME=VALUE',
    );
  });

  it("warns that a .dockerignore beside the Dockerfile is not followed when files are copied", async () => {
    const { ctx } = project({ Dockerfile: "FROM a\nCOPY . /app\n", ".dockerignore": ".git\ndata/\n" });
    expect((await imageDef("Dockerfile", {}, ctx)).data.warnings).toEqual([
      ".dockerignore is not followed: %files copies whole folders, ignored files too; move what it excludes out of the build context, or COPY only what the image needs",
    ]);
  });

  it("refuses a missing Dockerfile, a folder, and -o onto the Dockerfile itself", async () => {
    const { ctx } = project();
    expect(await refusal(imageDef("Dockerfile.gpu", {}, ctx))).toBe("Dockerfile.gpu does not exist; give the path of a Dockerfile");
    expect(await refusal(imageDef(".", {}, ctx))).toBe(". is a folder, not a file; give the path of a Dockerfile");
    expect(await refusal(imageDef("Dockerfile", { output: "./Dockerfile" }, ctx))).toBe(
      "-o ./Dockerfile is the Dockerfile itself; write the definition to another file (-o ./Dockerfile.def)",
    );
  });

  it("leaves an existing -o file as it was when the Dockerfile is refused, or the folder is missing", async () => {
    const { dir, ctx } = project({ Dockerfile: "FROM a AS b\nRUN make\nFROM c\nCOPY --from=b /x /x\n" });
    writeFileSync(join(dir, "lab.def"), "the old definition\n");
    expect(await refusal(imageDef("Dockerfile", { output: "lab.def" }, ctx))).toMatch(
      /^Dockerfile is a multi-stage build \(2 FROM lines: 1, 3\)/,
    );
    expect(readFileSync(join(dir, "lab.def"), "utf8")).toBe("the old definition\n");
    writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
    expect(await refusal(imageDef("Dockerfile", { output: "nowhere/lab.def" }, ctx))).toBe(
      "cannot write nowhere/lab.def: the folder nowhere does not exist; give -o a file in a folder you can write to",
    );
    expect(await refusal(imageDef("Dockerfile", { output: "." }, ctx))).toBe(
      "cannot write .: . is a folder; give -o a file in a folder you can write to",
    );
    expect(readdirSync(dir).sort()).toEqual(["Dockerfile", "lab.def"]);
    expect(existsSync(join(dir, "nowhere"))).toBe(false);
  });
});
