/**
 * What `hpcjob image def` writes, run for real: the %post of a definition
 * made from a Dockerfile runs with `/bin/sh -ex` (as Apptainer runs it)
 * inside a writable copy of the real Debian test image (Charliecloud's
 * ch-run), after its %files entries were staged the way Apptainer's
 * %files code does it (each source expanded by sh in the build context,
 * then `cp -fLr` into the root filesystem); then %environment and
 * %runscript run the way Apptainer's run action runs them. Apptainer itself
 * is not in Debian: this checks hpcjob's shell, not an Apptainer build.
 * The Dockerfile asks what Docker answers: a RUN before a COPY does not
 * see its files and one after does, a COPY wins over what an earlier RUN
 * wrote there, a cd or variable stays in its RUN, ARG and ENV reach RUN,
 * ENTRYPOINT + CMD run with arguments replacing CMD.
 * Needs: sudo bash test/cluster/images.sh (the test images).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { toDefinition } from "../../src/image/definition.js";
import { parseDockerfile } from "../../src/image/dockerfile.js";
import { tempDir, writeFiles } from "../helpers.js";

const MANIFEST = process.env.HPCJOB_IMAGES_JSON ?? "/var/cache/hpcjob-test-images/images.json";

const DOCKERFILE = `FROM debian:bookworm
ARG GREETING=hello
ENV APP_HOME=/app PATH=/opt/tool/bin:$PATH
WORKDIR $APP_HOME
# A RUN before a COPY does not see its file.
RUN if [ -e /app/config.txt ]; then echo seen > before.txt; else echo unseen > before.txt; fi
# What a package would have written first: the COPY after it wins.
RUN mkdir -p /etc/app && echo from-package > /etc/app/app.conf
COPY app.conf /etc/app/app.conf
COPY config.txt .
RUN cat config.txt > after.txt
# A cd or a variable stays inside its RUN; the next RUN starts in the WORKDIR.
RUN cd /tmp && LEAK=1 && export LEAK
RUN pwd > pwd.txt && echo "\${LEAK:-none}" > leak.txt
# Docker runs RUN with sh -c: a failing command that is not the last does not stop the build.
RUN false; echo "$GREETING" > greeting.txt
COPY src/ src/
COPY *.py scripts/
COPY ["my file.txt", "data/"]
ADD bundle.tar.gz /opt/bundle/
COPY --chmod=600 secret.txt /app/
RUN <<EOF
echo "heredoc in $PWD" > heredoc.txt
EOF
RUN echo "$PATH" > path.txt && \\
    echo "joined \\
lines" > joined.txt
ENTRYPOINT ["/bin/sh", "-c", "echo \\"$0 $* in $(pwd), $APP_HOME\\"", "entry"]
CMD ["default", "args"]
`;

let rootfs = "";
let definition = "";

/** The body of one section of the definition (up to the next %section line). */
function section(name: string): string[] {
  const lines = definition.split("\n");
  const at = lines.indexOf(name);
  if (at < 0) return [];
  const end = lines.findIndex((l, i) => i > at && /^%\w+/.test(l));
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

/** A file of the image. */
const inImage = (path: string) => readFileSync(join(rootfs, path), "utf8");

/** Run `argv` in the image with ch-run (writable, as root, in /). */
function chRun(argv: string[], opts: { writable?: boolean } = {}) {
  const flags = opts.writable ? ["-w"] : [];
  return spawnSync("ch-run", [...flags, "--cd=/", rootfs, "--", ...argv], {
    encoding: "utf8",
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", USER: "root", HOME: "/root" },
  });
}

beforeAll(() => {
  if (!existsSync(MANIFEST)) throw new Error(`${MANIFEST} is missing; build the test images with: sudo bash test/cluster/images.sh`);
  const image = JSON.parse(readFileSync(MANIFEST, "utf8")).images.nojupyter.charliecloudDir as string;
  const work = tempDir("hpcjob-imagedef-");
  rootfs = join(work, "rootfs");
  cpSync(image, rootfs, { recursive: true, verbatimSymlinks: true });

  const context = join(work, "context");
  mkdirSync(join(context, "src", "pkg"), { recursive: true });
  mkdirSync(join(context, "bundle"), { recursive: true });
  writeFiles(context, {
    Dockerfile: DOCKERFILE,
    "app.conf": "from-the-context\n",
    "config.txt": "config\n",
    "src/main.py": "print('main')\n",
    "src/pkg/util.py": "x = 1\n",
    "a.py": "a\n",
    "b.py": "b\n",
    "my file.txt": "spaces\n",
    "secret.txt": "secret\n",
    "bundle/inside.txt": "unpacked\n",
  });
  expect(spawnSync("tar", ["-czf", "bundle.tar.gz", "-C", "bundle", "."], { cwd: context }).status).toBe(0);

  definition = toDefinition(parseDockerfile(DOCKERFILE, "Dockerfile"), {
    file: "Dockerfile",
    buildArgs: new Map([["GREETING", "hi there"]]),
  }).text;

  // %files as Apptainer does it (internal/pkg/build/files): the source through sh (spaces escaped), then cp -fLr.
  for (const line of section("%files").filter((l) => l.trim())) {
    const [src = "", dst = ""] = (line.trim().match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, ""));
    const found = spawnSync("/bin/sh", ["-c", `for n in ${src.replaceAll(" ", "\\ ")} ; do printf "$n\\0"; done`], {
      cwd: context,
      encoding: "utf8",
    });
    for (const path of found.stdout.split("\0").filter(Boolean)) {
      const target = join(rootfs, dst);
      mkdirSync(dst.endsWith("/") ? target : dirname(target), { recursive: true });
      const cp = spawnSync("cp", ["-fLr", path, dst.endsWith("/") ? `${target}/` : target], { cwd: context, encoding: "utf8" });
      expect(cp.stderr).toBe("");
    }
  }
  writeFileSync(join(rootfs, ".post.script"), section("%post").join("\n"));
  const post = chRun(["/bin/sh", "-ex", "/.post.script"], { writable: true });
  if (post.status !== 0) throw new Error(`%post failed (${post.status}):\n${post.stderr}`);
  writeFileSync(join(rootfs, ".environment"), section("%environment").join("\n"));
  writeFileSync(join(rootfs, ".runscript"), section("%runscript").join("\n"));
}, 120_000);

describe("COPY happens where the Dockerfile has it", () => {
  it("a RUN before the COPY does not see the file, a RUN after it does", () => {
    expect(inImage("app/before.txt")).toBe("unseen\n");
    expect(inImage("app/after.txt")).toBe("config\n");
  });

  it("the COPY wins over what an earlier RUN wrote at its destination", () => {
    expect(inImage("etc/app/app.conf")).toBe("from-the-context\n");
  });

  it("copies a folder's contents, wildcard matches, a name with spaces, an archive unpacked, a mode", () => {
    expect(inImage("app/src/main.py")).toBe("print('main')\n");
    expect(inImage("app/src/pkg/util.py")).toBe("x = 1\n");
    expect(inImage("app/scripts/a.py")).toBe("a\n");
    expect(inImage("app/scripts/b.py")).toBe("b\n");
    expect(inImage("app/data/my file.txt")).toBe("spaces\n");
    expect(inImage("opt/bundle/inside.txt")).toBe("unpacked\n");
    expect(statSync(join(rootfs, "app/secret.txt")).mode & 0o777).toBe(0o600);
  });

  it("leaves no staged files in the image", () => {
    expect(existsSync(join(rootfs, ".hpcjob-files"))).toBe(false);
  });
});

describe("RUN as Docker runs it", () => {
  it("a cd or a variable stays in its RUN; each RUN starts in the WORKDIR", () => {
    expect(inImage("app/pwd.txt")).toBe("/app\n");
    expect(inImage("app/leak.txt")).toBe("none\n");
  });

  it("a failing command that is not the last does not stop the build; ARG comes from --build-arg", () => {
    expect(inImage("app/greeting.txt")).toBe("hi there\n");
  });

  it("runs a heredoc, sees ENV built on the image's PATH, and joins continuation lines as Docker does", () => {
    expect(inImage("app/heredoc.txt")).toBe("heredoc in /app\n");
    expect(inImage("app/path.txt")).toMatch(/^\/opt\/tool\/bin:\/.*\/usr\/bin/);
    expect(inImage("app/joined.txt")).toBe("joined lines\n");
  });
});

describe("the container", () => {
  /** What Apptainer's run action does: source the environment, then run the runscript with the arguments. */
  const run = (...args: string[]) => chRun(["/bin/sh", "-c", '. /.environment && exec /bin/sh /.runscript "$@"', "run", ...args]);

  it("runs ENTRYPOINT with CMD in the WORKDIR, with the image's ENV", () => {
    const r = run();
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("entry default args in /app, /app\n");
  });

  it("arguments replace CMD, as with docker run", () => {
    expect(run("one", "two words").stdout).toBe("entry one two words in /app, /app\n");
  });
});
