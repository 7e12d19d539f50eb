/**
 * A Dockerfile as an Apptainer definition file, with Docker's meaning kept
 * where Apptainer's differs:
 *
 * - RUN: Docker runs each with `/bin/sh -c` in the WORKDIR; %post is one
 *   `sh -ex` script. Each RUN is a subshell with `set +e`, so a `cd` or a
 *   variable stays inside it and only its last command's exit code counts.
 *   Under a SHELL, RUN runs with it, as in Docker.
 * - ENV: in %environment (the container's) and exported in %post, where the
 *   later RUN lines need it (Apptainer does not read %environment while it
 *   builds). Values built on the base image's variables (`$PATH`) are left
 *   to the shell, in order, as Docker reads them in order.
 * - ARG: substituted where Docker substitutes (ARGs before FROM only in
 *   FROM), --build-arg over defaults, and exported in %post as Docker puts
 *   them in RUN's environment; never in the image.
 * - COPY/ADD: staged by %files, put in place by %post where the COPY was
 *   (copy.ts says why: Apptainer copies %files before all of %post).
 * - WORKDIR: `cd` in %post and in %runscript.
 * - CMD/ENTRYPOINT: %runscript runs ENTRYPOINT + CMD as Docker does;
 *   arguments to `apptainer run` replace CMD as those to `docker run` do.
 * - LABEL: %labels. USER, EXPOSE, VOLUME, HEALTHCHECK, STOPSIGNAL, ONBUILD:
 *   a comment and a warning each. Several stages (or COPY --from): refused,
 *   with the way to build it instead (Docker, then `hpcjob image convert`).
 */
import { UsageError } from "../core/errors.js";
import { closest } from "../core/suggest.js";
import { needsDocker, PLATFORM_ARGS, PROXY_ARGS } from "./docker.js";
import { type Dockerfile, type Instruction, KEYWORDS, lineError } from "./dockerfile.js";
import { type DefinitionOptions, Stage } from "./stage.js";
import { expandWord, fixedText, isFixed, type Segment, splitWords, WordError } from "./words.js";

/** The definition file's text, and what did not carry over (one line each). */
export interface Definition {
  text: string;
  /** The image it starts from (`From:`), or "scratch". */
  from: string;
  warnings: string[];
}

/** What Apptainer 1.2 and later replace in a definition file with a build argument: `{{ NAME }}`. */
const TEMPLATE = /\{\{\s*\w+\s*\}\}/g;

/** The first `{{ NAME }}` Apptainer would replace: one not after a `#` on its line (Apptainer skips those as comments). */
function templateIn(text: string): string | undefined {
  for (const m of text.matchAll(TEMPLATE)) {
    const lineStart = text.lastIndexOf("\n", m.index) + 1;
    if (!/#[^!]/.test(text.slice(lineStart, m.index))) return m[0];
  }
  return undefined;
}

/** Refuse instructions Docker does not know, naming the line (and the instruction meant, when it is a typo). */
function checkKeywords(instructions: Instruction[], file: string): void {
  for (const ins of instructions) {
    if (KEYWORDS.includes(ins.keyword)) continue;
    const guess = closest(ins.keyword, KEYWORDS);
    throw lineError(
      file,
      ins.line,
      `unknown instruction ${ins.keyword}${guess ? `; did you mean ${guess}?` : `; Docker knows ${KEYWORDS.join(", ")}`}`,
    );
  }
}

/** The ARGs before the first FROM: their values, for FROM and for ARG lines of the stage that name them. */
function metaArgs(before: Instruction[], opts: DefinitionOptions, used: Set<string>): Map<string, Segment[] | undefined> {
  const meta = new Map<string, Segment[] | undefined>();
  for (const ins of before) {
    if (ins.keyword !== "ARG")
      throw lineError(opts.file, ins.line, `${ins.keyword} comes before FROM, where only ARG may (Docker refuses it too)`);
    for (const word of splitWords(ins.args, "\\")) {
      const at = word.indexOf("=");
      const name = at < 0 ? word : word.slice(0, at);
      if (opts.buildArgs.has(name)) {
        used.add(name);
        const given = opts.buildArgs.get(name);
        meta.set(name, given === undefined ? undefined : [{ text: given }]);
      } else meta.set(name, at < 0 ? undefined : fromWord(ins, word.slice(at + 1), meta, opts.file));
    }
  }
  return meta;
}

/** A word of FROM (or of an ARG before it): only ARGs before FROM and the platform's are known there. */
function fromWord(ins: Instruction, raw: string, meta: ReadonlyMap<string, Segment[] | undefined>, file: string): Segment[] {
  const unknown: string[] = [];
  let segs: Segment[];
  try {
    segs = expandWord(raw, "\\", (name) => {
      if (meta.has(name)) return { value: meta.get(name) };
      if (name in PLATFORM_ARGS) return { value: [{ text: PLATFORM_ARGS[name] as string }] };
      unknown.push(name);
      return { value: undefined };
    });
  } catch (e) {
    if (e instanceof WordError) throw lineError(file, ins.line, `${ins.keyword}: ${raw}: ${e.message}`);
    throw e;
  }
  if (unknown.length > 0) {
    throw lineError(
      file,
      ins.line,
      `${ins.keyword}: ${raw} uses $${unknown.join(", $")}, which no ARG before the first FROM declares; add ARG ${unknown[0]}=VALUE above it`,
    );
  }
  return segs;
}

/** The image FROM names, and a warning for a --platform the cluster will not use. */
function baseImage(
  ins: Instruction,
  meta: ReadonlyMap<string, Segment[] | undefined>,
  opts: DefinitionOptions,
  warnings: string[],
): string {
  const words = ins.args.split(/\s+/).filter(Boolean);
  if (!(words.length === 1 || (words.length === 3 && words[1]?.toUpperCase() === "AS"))) {
    throw lineError(opts.file, ins.line, "FROM: write FROM IMAGE or FROM IMAGE AS NAME");
  }
  for (const flag of ins.flags) {
    const [name, value = ""] = flag.replace(/^--/, "").split(/=(.*)/s);
    if (name !== "platform")
      throw lineError(opts.file, ins.line, `FROM: --${name} is an option hpcjob does not translate (it knows --platform)`);
    const platform = fixedText(fromWord(ins, value, meta, opts.file));
    if (platform !== "linux/amd64") {
      warnings.push(
        `${opts.file}:${ins.line} FROM --platform=${platform} is not carried over: Apptainer pulls the image for the machine it builds on`,
      );
    }
  }
  const segs = fromWord(ins, words[0] as string, meta, opts.file);
  const image = isFixed(segs) ? fixedText(segs) : "";
  if (image === "" || /[\s#]/.test(image)) throw lineError(opts.file, ins.line, `FROM: ${JSON.stringify(image)} is not an image name`);
  return image;
}

/** The Dockerfile line that holds `text` (for an error found in the finished definition). */
function lineOf(instructions: Instruction[], text: string): number {
  return instructions.find((i) => i.args.includes(text) || i.heredocs.some((d) => d.content.includes(text)))?.line ?? 1;
}

/** Translate a read Dockerfile into an Apptainer definition file. */
export function toDefinition(df: Dockerfile, opts: DefinitionOptions): Definition {
  const { instructions } = df;
  checkKeywords(instructions, opts.file);
  const froms = instructions.filter((i) => i.keyword === "FROM");
  if (froms.length === 0) throw new UsageError(`${opts.file} has no FROM; a Dockerfile starts with FROM IMAGE`);
  if (froms.length > 1) {
    throw needsDocker(
      `${opts.file} is a multi-stage build (${froms.length} FROM lines: ${froms.map((f) => f.line).join(", ")}): it copies between stages`,
    );
  }
  const at = instructions.indexOf(froms[0] as Instruction);
  const used = new Set<string>();
  const meta = metaArgs(instructions.slice(0, at), opts, used);
  const warnings: string[] = [];
  const from = baseImage(froms[0] as Instruction, meta, opts, warnings);

  const stage = new Stage(opts, df.escapeChar, meta, used);
  for (const ins of instructions.slice(at + 1)) stage.add(ins);
  warnings.push(...stage.warnings);
  const sections = stage.sections();
  for (const name of opts.buildArgs.keys()) {
    if (!used.has(name) && !PROXY_ARGS.includes(name))
      warnings.push(`--build-arg ${name}: ${opts.file} has no ARG ${name}, so it is not used`);
  }

  const header = from === "scratch" ? ["Bootstrap: scratch"] : ["Bootstrap: docker", `From: ${from}`];
  const intro = `# Written by hpcjob image def from ${opts.file}.`;
  const howTo = sections.some(([name]) => name === "%files")
    ? [intro, "# Build it in the folder that was docker build's context (COPY and ADD read", "# their sources from there):"]
    : [`${intro} Build it with:`];
  const lines = [...header, "", ...howTo, "#   apptainer build IMAGE.sif THIS_FILE.def"];
  for (const [name, body] of sections) lines.push("", name, ...body);
  const text = `${lines.join("\n")}\n`;
  const template = templateIn(text);
  if (template) {
    throw lineError(
      opts.file,
      lineOf(instructions, template),
      `${template}: Apptainer (1.2 and later) replaces {{ NAME }} in a definition file with a build argument; change the line so that it does not hold ${template} as it is`,
    );
  }
  return { text, from, warnings };
}
