/**
 * `hpcjob image def` on realistic Dockerfiles (test/golden/dockerfiles/*.Dockerfile),
 * compared with the saved definition (NAME.def) and warnings (NAME.warnings),
 * or, for a Dockerfile hpcjob refuses, the saved message (NAME.error).
 * Apptainer is not in Debian, so each saved definition is held to the
 * structure Apptainer's parser reads (Bootstrap: first, known sections,
 * no other line starting with %) and its shell sections to `sh -n`, `bash -n`
 * and shellcheck. test/scripts/imagedef.test.ts runs a definition's %post for
 * real. After a deliberate change: UPDATE_GOLDEN=1 npx vitest run test/golden,
 * then review the diff.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isHpcjobError } from "../../src/core/errors.js";
import { toDefinition } from "../../src/image/definition.js";
import { parseDockerfile } from "../../src/image/dockerfile.js";
import { ROOT, tempDir } from "../helpers.js";

const DIR = join(ROOT, "test", "golden", "dockerfiles");
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith(".Dockerfile"))
  .map((f) => f.replace(/\.Dockerfile$/, ""))
  .sort();

/** --build-arg values for some cases, as a user would give them. */
const BUILD_ARGS: Record<string, Record<string, string>> = {
  "args-env": { PYTORCH: "2.4.0", MODEL_DIR: "/data/models" },
};

/** The sections an Apptainer definition may have (Apptainer's validSections; %files once here). */
const SECTIONS = ["%help", "%setup", "%files", "%labels", "%environment", "%pre", "%post", "%runscript", "%test", "%startscript", "%arguments"];
const SHELL_SECTIONS = ["%post", "%environment", "%runscript"];

/** What hpcjob makes of a golden Dockerfile: the definition and warnings, or the refusal. */
function translate(name: string): { def: string; warnings: string } | { error: string } {
  const file = `${name}.Dockerfile`;
  try {
    const d = toDefinition(parseDockerfile(readFileSync(join(DIR, file), "utf8"), file), {
      file,
      buildArgs: new Map(Object.entries(BUILD_ARGS[name] ?? {})),
    });
    return { def: d.text, warnings: d.warnings.map((w) => `${w}\n`).join("") };
  } catch (e) {
    if (!isHpcjobError(e) || e.exitCode !== 2) throw e;
    return { error: `${e.message}\n` };
  }
}

/** The sections of a definition: the header's lines, then each %section's body. */
function sectionsOf(def: string): { header: string[]; sections: [string, string[]][] } {
  const header: string[] = [];
  const sections: [string, string[]][] = [];
  for (const line of def.split("\n")) {
    if (/^\s*%/.test(line)) sections.push([line, []]);
    else if (sections.length === 0) header.push(line);
    else sections[sections.length - 1]?.[1].push(line);
  }
  return { header, sections };
}

/** What is wrong with a definition's structure, as Apptainer's parser reads it (deffile.go); none when it holds. */
function structureProblems(def: string): string[] {
  const problems: string[] = [];
  const { header, sections } = sectionsOf(def);
  if (header[0] !== "Bootstrap: docker" && header[0] !== "Bootstrap: scratch") problems.push(`first line: ${header[0]}`);
  if (header[0] === "Bootstrap: docker" && !/^From: \S+$/.test(header[1] ?? "")) problems.push(`no From: after Bootstrap: (${header[1]})`);
  for (const line of header.slice(2)) if (line !== "" && !line.startsWith("#")) problems.push(`header line that is no comment: ${line}`);
  const names = sections.map(([name]) => name);
  for (const name of names) if (!SECTIONS.includes(name)) problems.push(`unknown section line: ${name}`);
  if (new Set(names).size !== names.length) problems.push(`a section twice: ${names.join(" ")}`);
  for (const [name, body] of sections) {
    if (body.every((l) => l.trim() === "")) problems.push(`${name} is empty`);
    if (name === "%files") {
      for (const l of body.filter((l) => l.trim())) {
        const words = l.trim().match(/"[^"]*"|\S+/g) ?? [];
        if (words.length !== 2 || !words[1]?.replace(/"/g, "").startsWith("/.hpcjob-files/")) problems.push(`%files line: ${l}`);
      }
    }
    if (name === "%labels") for (const l of body.filter((l) => l.trim())) if (!/^ {4}\S+( .*)?$/.test(l)) problems.push(`%labels line: ${l}`);
  }
  return problems;
}

/** Run a checker on a section's shell text; its complaints, or "" when it has none. */
function complaints(cmd: string, args: string[], text: string): string {
  const dir = tempDir("hpcjob-golden-def-");
  const file = join(dir, "section.sh");
  writeFileSync(file, text);
  const r = spawnSync(cmd, [...args, file], { encoding: "utf8" });
  rmSync(dir, { recursive: true, force: true });
  expect(r.error, `${cmd} must be installed`).toBeUndefined();
  return r.status === 0 ? "" : `${r.stdout}${r.stderr}`;
}

it("has a golden Dockerfile for each case the issue asks for", () => {
  expect(NAMES).toEqual(expect.arrayContaining(["cuda-multistage", "python-jupyter", "args-env", "copy-order", "entrypoint-cmd"]));
});

describe.each(NAMES)("%s", (name) => {
  const result = translate(name);

  it("gives the saved definition and warnings, or the saved refusal", () => {
    const saved = (ext: string) => join(DIR, `${name}.${ext}`);
    const files: Record<string, string> = "error" in result ? { error: result.error } : { def: result.def, warnings: result.warnings };
    if (process.env.UPDATE_GOLDEN === "1") {
      for (const ext of ["def", "warnings", "error"]) rmSync(saved(ext), { force: true });
      for (const [ext, text] of Object.entries(files)) if (text !== "" || ext === "def") writeFileSync(saved(ext), text);
    }
    for (const [ext, text] of Object.entries(files)) {
      if (ext === "warnings" && text === "") expect(existsSync(saved(ext))).toBe(false);
      else {
        expect(existsSync(saved(ext)), `${saved(ext)} is missing: write it with UPDATE_GOLDEN=1 npx vitest run test/golden and review it`).toBe(true);
        expect(text).toBe(readFileSync(saved(ext), "utf8"));
      }
    }
    for (const ext of ["def", "error"]) if (!(ext in files)) expect(existsSync(saved(ext)), `${saved(ext)} is left over`).toBe(false);
  });

  if ("error" in result) {
    it("is refused in one line that says what to do", () => {
      expect(result.error.trim()).not.toContain("\n");
    });
    return;
  }

  it("has the structure Apptainer reads: Bootstrap: first, known sections, no other line starting with %", () => {
    expect(structureProblems(result.def)).toEqual([]);
  });

  it.each(SHELL_SECTIONS)("its %s passes sh -n, bash -n and shellcheck -s sh -S warning", (section) => {
    const body = sectionsOf(result.def).sections.find(([n]) => n === section)?.[1];
    if (!body) return;
    const text = `${body.join("\n")}\n`;
    expect(complaints("sh", ["-n"], text)).toBe("");
    expect(complaints("bash", ["-n"], text)).toBe("");
    expect(complaints("shellcheck", ["-s", "sh", "-S", "warning"], text)).toBe("");
  });
});

it("the structure check finds what Apptainer would not read", () => {
  expect(structureProblems("From: x\nBootstrap: docker\n")).toContain("first line: From: x");
  expect(structureProblems("Bootstrap: docker\nFrom: x\n%post\n    a\n%posts\n    b\n%post\n    c\n")).toEqual([
    "unknown section line: %posts",
    "a section twice: %post %posts %post",
  ]);
  expect(structureProblems("Bootstrap: docker\nFrom: x\n%files\n    a b c\n%labels\n")).toEqual(["%files line:     a b c", "%labels is empty"]);
});
