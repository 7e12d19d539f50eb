/**
 * The one build stage of a Dockerfile, read instruction by instruction into
 * the sections of an Apptainer definition, with Docker's meaning kept where
 * Apptainer's differs (definition.ts has the list).
 */
import { posix } from "node:path";
import type { UsageError } from "../core/errors.js";
import { quote } from "../core/quote.js";
import { COPY_FUNCTION, contextPath, copyLines, MATCHES_FUNCTION, type Source, STAGING, unnamable } from "./copy.js";
import { NOT_CARRIED, needsDocker, PLATFORM_ARGS, PROXY_ARGS } from "./docker.js";
import { type Instruction, lineError } from "./dockerfile.js";
import { runLines } from "./runLines.js";
import { type Command, runscriptLines } from "./runscript.js";
import { type Binding, expandWord, fixedText, isFixed, jsonForm, type Segment, splitWords, WordError } from "./words.js";

/** How to read the Dockerfile: its name in messages, and the --build-arg values (undefined: given without a value and not set). */
export interface DefinitionOptions {
  file: string;
  buildArgs: ReadonlyMap<string, string | undefined>;
}

const DEFAULT_SHELL = ["/bin/sh", "-c"];
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters a word after `${NAME:-` may hold when the shell expands it. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./ -]*$/;
const HEREDOC_ONLY = /^\d*<<-?\S+$/;
/** How section lines are indented (a heredoc's lines are not: they must stay as they are). */
const INDENT = "    ";

/** A variable as the Dockerfile has set it so far. */
interface Variable {
  kind: "arg" | "env";
  value: Segment[] | undefined;
}

/** Indent generated lines. */
function indent(lines: string[]): string[] {
  return lines.map((l) => (l === "" ? l : INDENT + l));
}

/** The one build stage of a Dockerfile, read instruction by instruction into the sections of a definition. */
export class Stage {
  private readonly vars = new Map<string, Variable>();
  private workdir = "/";
  private workdirSet = false;
  private shell: string[] | undefined;
  private readonly files: string[] = [];
  /** %post's lines, indented as they are made: a heredoc's lines must stay as the Dockerfile has them. */
  private readonly post: string[] = [];
  private postActions = 0;
  private readonly environment: string[] = [];
  private readonly labels: string[] = [];
  private entrypoint: Command | undefined;
  private cmd: Command | undefined;
  private cmdSet = false;
  private staged = 0;
  private wildcards = false;
  private subshells = false;
  readonly warnings: string[] = [];

  constructor(
    private readonly opts: DefinitionOptions,
    private readonly escapeChar: string,
    private readonly meta: ReadonlyMap<string, Segment[] | undefined>,
    private readonly used: Set<string>,
  ) {}

  private fail(ins: Instruction, message: string): UsageError {
    return lineError(this.opts.file, ins.line, `${ins.keyword}: ${message}`);
  }

  private warn(ins: Instruction, message: string): void {
    this.warnings.push(`${this.opts.file}:${ins.line} ${message}`);
  }

  private lookup = (name: string): Binding => {
    const v = this.vars.get(name);
    if (!v) return "shell";
    if (v.kind === "env") return v.value && isFixed(v.value) ? { value: v.value } : "shell";
    return { value: v.value };
  };

  /** A word of `ins` expanded as Docker expands it; variables only the shell knows stay references. */
  private expand(ins: Instruction, raw: string): Segment[] {
    try {
      return expandWord(raw, this.escapeChar, this.lookup);
    } catch (e) {
      if (e instanceof WordError) throw this.fail(ins, `${raw}: ${e.message}`);
      throw e;
    }
  }

  /** A word of `ins` that must have one value now (a path, a label): variables of the base image cannot be used. */
  private fixed(ins: Instruction, raw: string): string {
    const segs = this.expand(ins, raw);
    if (isFixed(segs)) return fixedText(segs);
    const names = segs.flatMap((s) => ("variable" in s ? [`$${s.variable}`] : []));
    throw this.fail(
      ins,
      `${raw} uses ${names.join(", ")}, which no ARG or ENV before this line sets to a value known here (Docker would take it from the base image); write the value instead`,
    );
  }

  /** Segments as one shell word: text quoted, variables left to the shell in double quotes. */
  private shellWord(ins: Instruction, segs: Segment[]): string {
    if (segs.length === 0) return "''";
    return segs
      .map((s) => {
        if ("text" in s) return quote(s.text);
        if (!s.op) return `"\${${s.variable}}"`;
        const word = s.word ?? [];
        if (!isFixed(word) || !PLAIN_WORD.test(fixedText(word))) {
          throw this.fail(
            ins,
            `\${${s.variable}${s.op}...} is left to the shell (${s.variable} comes from the base image), so its word may only hold letters, digits, spaces and ._-/:@%+=`,
          );
        }
        return `"\${${s.variable}${s.op}${fixedText(word)}}"`;
      })
      .join("");
  }

  private json(ins: Instruction): string[] | undefined {
    try {
      return jsonForm(ins.args);
    } catch (e) {
      if (e instanceof WordError) throw this.fail(ins, e.message);
      throw e;
    }
  }

  /** `name=value` flags of `ins`, refusing any not in `known`. */
  private flagsOf(ins: Instruction, known: string[]): Map<string, string> {
    const flags = new Map<string, string>();
    for (const f of ins.flags) {
      const [name = "", value = "true"] = f.replace(/^--/, "").split(/=(.*)/s);
      if (!known.includes(name)) {
        throw this.fail(ins, `--${name} is an option hpcjob does not translate (it knows ${known.map((k) => `--${k}`).join(", ")})`);
      }
      flags.set(name, value);
    }
    return flags;
  }

  /** Read one instruction of the stage. */
  add(ins: Instruction): void {
    const read: Record<string, (ins: Instruction) => void> = {
      RUN: this.run,
      COPY: this.copy,
      ADD: this.copy,
      ENV: this.env,
      ARG: this.arg,
      WORKDIR: this.setWorkdir,
      LABEL: this.label,
      MAINTAINER: (i) => this.labels.push(`maintainer ${i.args}`),
      CMD: this.command,
      ENTRYPOINT: this.command,
      SHELL: this.setShell,
    };
    (read[ins.keyword] ?? this.notCarried).call(this, ins);
  }

  private notCarried(ins: Instruction): void {
    const why = NOT_CARRIED[ins.keyword] ?? "";
    const what = [ins.keyword, ...ins.flags, ins.args].join(" ").trim();
    this.post.push(`${INDENT}# Dockerfile:${ins.line} ${what}: not carried over: ${why}.`);
    this.warn(ins, `${what} is not carried over: ${why}`);
  }

  private run(ins: Instruction): void {
    const mount = this.flagsOf(ins, ["mount", "network"]).get("mount");
    if (mount !== undefined) {
      const type = /(?:^|,)type=([^,]*)/.exec(mount)?.[1] ?? "bind";
      // A cache or tmpfs mount only speeds the build up or keeps files out of the image; the others bring in what a definition cannot.
      if (type !== "cache" && type !== "tmpfs") {
        const what = type === "bind" ? "files from the build context or another stage" : `a build ${type}`;
        throw needsDocker(`${this.opts.file}:${ins.line} RUN --mount=type=${type} mounts ${what} while RUN runs`);
      }
    }
    const argv = this.json(ins);
    const lines: string[] = [`${INDENT}# Dockerfile:${ins.line} RUN`];
    if (argv) {
      // The exec form runs the program directly: nothing of it reaches the next RUN.
      lines.push(INDENT + argv.map(quote).join(" "));
    } else if (this.shell) {
      // Under a SHELL the command runs as Docker runs it: SHELL... 'command' (inside the quotes, lines stay as they are).
      const [first = "", ...rest] = quote(this.runScript(ins).text).split("\n");
      lines.push(`${INDENT}${this.shell.map(quote).join(" ")} ${first}`, ...rest);
    } else {
      this.subshells = true;
      const script = this.runScript(ins);
      lines.push(`${INDENT}( set +e`, ...indent(script.command), ...script.verbatim, `${INDENT})`);
    }
    this.check(ins, lines);
    this.post.push(...lines);
    this.postActions++;
  }

  /**
   * A shell-form RUN as BuildKit runs it: its command, then its heredocs
   * (`text`); as lines, the command's (breaks kept where sh joins them back,
   * safe to indent) and the heredocs' (which must stay as they are).
   */
  private runScript(ins: Instruction): { text: string; command: string[]; verbatim: string[] } {
    const lines = (content: string) => (content === "" ? [] : content.replace(/\n$/, "").split("\n"));
    const [doc] = ins.heredocs;
    if (doc && ins.heredocs.length === 1 && HEREDOC_ONLY.test(ins.args.trim())) {
      // RUN <<EOF alone: the heredoc is the script (a #! line would make it a file run on its own).
      if (doc.content.startsWith("#!")) {
        throw this.fail(
          ins,
          `<<${doc.name} starts with #!, which Docker runs as a file of its own; write the interpreter after RUN (RUN python3 <<${doc.name}) so that a definition can run it`,
        );
      }
      const body = doc.chomp ? doc.content.replace(/^\t+/gm, "") : doc.content;
      return { text: body.replace(/\n$/, ""), command: [], verbatim: lines(body) };
    }
    const docs = ins.heredocs.flatMap((d) => [...lines(d.content), d.name]);
    return { text: [ins.args, ...docs].join("\n"), command: runLines(ins.args, ins.breaks), verbatim: docs };
  }

  /** Lines from the Dockerfile that a definition file would read as something else. */
  private check(ins: Instruction, lines: string[]): void {
    for (const line of lines) {
      if (/^\s*%/.test(line)) {
        throw this.fail(
          ins,
          `the line ${JSON.stringify(line.trim())} starts with %, which a definition file reads as a new section; change the Dockerfile so that no line of it starts with %`,
        );
      }
    }
  }

  private copy(ins: Instruction): void {
    const add = ins.keyword === "ADD";
    if (ins.heredocs.length > 0) {
      throw this.fail(
        ins,
        `<<${ins.heredocs[0]?.name} (a file written from the Dockerfile) is not translated; put the file next to the Dockerfile and ${ins.keyword} it`,
      );
    }
    const from = ins.flags.find((f) => f.startsWith("--from="));
    if (from !== undefined)
      throw needsDocker(`${this.opts.file}:${ins.line} ${ins.keyword} ${from} copies from another build stage or image`);
    const flags = this.flagsOf(ins, ["chown", "chmod", "link"]);
    const words = this.json(ins) ?? ins.args.split(/\s+/).filter(Boolean);
    if (words.length < 2) {
      throw this.fail(ins, `${ins.keyword} requires at least two arguments (sources, then the destination)`);
    }
    const rawDest = words[words.length - 1] as string;
    const dest = this.destination(ins, this.fixed(ins, rawDest), rawDest);
    const sources: Source[] = words.slice(0, -1).map((raw) => {
      const path = this.fixed(ins, raw);
      if (/^[a-z][a-z0-9+.-]*:\/\/|^git@/i.test(path)) {
        throw this.fail(
          ins,
          `${path} is downloaded by Docker while it builds, which %files cannot do; download it next to the Dockerfile and COPY it, or fetch it in a RUN (curl, wget, git clone)`,
        );
      }
      const src = contextPath(path);
      const why = unnamable(src.path);
      if (why) {
        throw this.fail(
          ins,
          `the source ${JSON.stringify(path)} cannot be named in %files (Apptainer reads it through the shell, and ${why}); rename it or copy the folder that holds it`,
        );
      }
      if (add && src.wildcard) {
        throw this.fail(
          ins,
          `ADD with a wildcard (${path}) may unpack archives among the matches; use COPY for plain files, or ADD each archive by name`,
        );
      }
      return src;
    });
    if (sources.length > 1 && !dest.endsWith("/")) {
      throw this.fail(ins, `with more than one source the destination must be a folder and end with / (${rawDest}/), as Docker requires`);
    }
    const chown = flags.get("chown");
    const chmod = flags.get("chmod");
    const lines = copyLines(sources, dest, {
      first: this.staged + 1,
      add,
      chown: chown === undefined ? undefined : this.owner(ins, this.fixed(ins, chown)),
      chmod: chmod === undefined ? undefined : this.mode(ins, this.fixed(ins, chmod)),
    });
    this.staged += sources.length;
    this.wildcards ||= lines.wildcard;
    this.files.push(...lines.files);
    this.post.push(...indent([`# Dockerfile:${ins.line} ${[ins.keyword, ...ins.flags, ins.args].join(" ")}`, ...lines.post]));
    this.postActions++;
  }

  /** A COPY destination as an absolute path, ending in / when Docker takes it as a folder. */
  private destination(ins: Instruction, path: string, raw: string): string {
    if (path === "") throw this.fail(ins, `the destination ${raw} is empty`);
    if (!path.startsWith("/") && !this.workdirSet) {
      this.warn(
        ins,
        `${ins.keyword} to ${path}: Docker puts it in the base image's working folder, which hpcjob cannot see, so it goes under / here; set a WORKDIR before it to be sure`,
      );
    }
    const folder = /(^|\/)\.{0,2}$/.test(path);
    const abs = posix.normalize(path.startsWith("/") ? path : posix.join(this.workdir, path));
    return folder && !abs.endsWith("/") ? `${abs}/` : abs;
  }

  /** --chown as chown takes it; a user without a group gets the group of the same number, as Docker gives it. */
  private owner(ins: Instruction, value: string): string {
    const m = /^([A-Za-z0-9_][A-Za-z0-9_.-]*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]*))?$/.exec(value);
    if (!m) throw this.fail(ins, `--chown=${value} is not USER, USER:GROUP, UID or UID:GID`);
    const [, user = "", group] = m;
    if (group !== undefined) return `${user}:${group}`;
    return /^\d+$/.test(user) ? `${user}:${user}` : `${user}:"$(id -u ${user})"`;
  }

  /** --chmod as chmod takes it: octal, or symbolic. */
  private mode(ins: Instruction, value: string): string {
    if (/^[0-7]{3,4}$/.test(value) || /^([ugoa]*[-+=][rwxXst]*)(,[ugoa]*[-+=][rwxXst]*)*$/.test(value)) return value;
    throw this.fail(ins, `--chmod=${value} is not a mode (755, or u+x)`);
  }

  /** Name=value pairs of ENV and LABEL, in the new form (a=b c=d) or the old one (a b c: the rest of the line is the value). */
  private pairs(ins: Instruction): [string, string][] {
    const words = splitWords(ins.args, this.escapeChar);
    if (words.length === 0) throw this.fail(ins, `${ins.keyword} requires at least one argument`);
    if (!(words[0] as string).includes("=")) {
      const m = /^(\S+)\s+(\S[\s\S]*)$/.exec(ins.args);
      if (!m) throw this.fail(ins, `${ins.keyword} ${ins.args} has no value; write ${ins.keyword} ${ins.args}=VALUE`);
      return [[m[1] as string, m[2] as string]];
    }
    return words.map((w) => {
      const at = w.indexOf("=");
      if (at < 0) throw this.fail(ins, `${JSON.stringify(w)} has no =; write NAME=VALUE`);
      return [w.slice(0, at), w.slice(at + 1)];
    });
  }

  private env(ins: Instruction): void {
    // All values of one ENV are read with the variables as they were before it, as Docker reads them.
    const pairs = this.pairs(ins).map(([k, v]) => {
      const name = this.fixed(ins, k);
      if (!SHELL_NAME.test(name)) {
        throw this.fail(
          ins,
          `${JSON.stringify(name)} cannot be a variable of Apptainer's %environment (a shell script); use letters, digits and _, not starting with a digit`,
        );
      }
      return [name, this.expand(ins, v)] as const;
    });
    // One export for all: the shell expands every value before it sets any, as Docker does.
    const line = `export ${pairs.map(([name, value]) => `${name}=${this.shellWord(ins, value)}`).join(" ")}`;
    for (const [name, value] of pairs) this.vars.set(name, { kind: "env", value });
    this.environment.push(line);
    this.post.push(INDENT + line);
  }

  private arg(ins: Instruction): void {
    const words = splitWords(ins.args, this.escapeChar);
    if (words.length === 0) throw this.fail(ins, "ARG requires at least one argument");
    for (const word of words) {
      const at = word.indexOf("=");
      const name = at < 0 ? word : word.slice(0, at);
      let value: Segment[] | undefined;
      if (this.opts.buildArgs.has(name)) {
        this.used.add(name);
        const given = this.opts.buildArgs.get(name);
        value = given === undefined ? undefined : [{ text: given }];
      } else if (at >= 0) value = this.expand(ins, word.slice(at + 1));
      else if (this.meta.has(name)) value = this.meta.get(name);
      else if (name in PLATFORM_ARGS) value = [{ text: PLATFORM_ARGS[name] as string }];
      // An ENV of the same name wins over ARG, before and after it.
      if (this.vars.get(name)?.kind === "env") continue;
      this.vars.set(name, { kind: "arg", value });
      if (value !== undefined && SHELL_NAME.test(name)) this.post.push(`${INDENT}export ${name}=${this.shellWord(ins, value)}`);
    }
  }

  private setWorkdir(ins: Instruction): void {
    if (ins.args === "") throw this.fail(ins, "WORKDIR requires exactly one argument");
    const path = this.fixed(ins, ins.args);
    if (!path.startsWith("/") && !this.workdirSet) {
      this.warn(
        ins,
        `WORKDIR ${path} is relative to the base image's working folder, which hpcjob cannot see, so it is taken from / here; write an absolute path to be sure`,
      );
    }
    this.workdir = posix.normalize(posix.join(this.workdir, path)).replace(/(.)\/$/, "$1");
    this.workdirSet = true;
    this.post.push(`${INDENT}mkdir -p ${quote(this.workdir)} && cd ${quote(this.workdir)} || exit 1`);
    this.postActions++;
  }

  private label(ins: Instruction): void {
    for (const [k, v] of this.pairs(ins)) {
      const key = this.fixed(ins, k);
      const value = this.fixed(ins, v);
      if (key === "" || /\s/.test(key) || key.startsWith("%")) {
        throw this.fail(ins, `${JSON.stringify(key)} cannot be an Apptainer label (one word, not starting with %); rename it`);
      }
      this.labels.push(value === "" ? key : `${key} ${value}`);
    }
  }

  private command(ins: Instruction): void {
    const json = this.json(ins);
    if (!json && ins.args.trimStart().startsWith("[")) {
      this.warn(
        ins,
        `${ins.keyword} ${ins.args} is not a JSON array, so Docker runs it as a shell command line, and so does the definition; write it as JSON to run the program itself`,
      );
    }
    const c = { argv: json ?? (ins.args === "" ? [] : [...(this.shell ?? DEFAULT_SHELL), ins.args]), line: ins.line };
    if (ins.keyword === "CMD") {
      this.cmd = c;
      this.cmdSet = true;
    } else {
      this.entrypoint = c;
      // An ENTRYPOINT drops a CMD of the base image, but not one set earlier in this stage.
      if (!this.cmdSet) this.cmd = undefined;
    }
  }

  private setShell(ins: Instruction): void {
    const argv = this.json(ins);
    if (!argv || argv.length === 0) throw this.fail(ins, 'SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/bash", "-c"]');
    this.shell = argv.join("\0") === DEFAULT_SHELL.join("\0") ? undefined : argv;
    this.post.push(
      `${INDENT}# Dockerfile:${ins.line} SHELL ${JSON.stringify(argv)}: the RUN lines after it run with it, as Docker runs them.`,
    );
  }

  /** The sections after the header, by name, each a list of lines. */
  sections(): [string, string[]][] {
    const out: [string, string[]][] = [];
    if (this.files.length > 0) out.push(["%files", indent(this.files)]);
    if (this.postActions > 0) out.push(["%post", this.postLines()]);
    if (this.environment.length > 0) out.push(["%environment", indent(this.environment)]);
    const runscript = runscriptLines({
      workdir: this.workdirSet ? this.workdir : undefined,
      entrypoint: this.entrypoint,
      cmd: this.cmd,
      cmdSet: this.cmdSet,
    });
    if (runscript.length > 0) out.push(["%runscript", indent(runscript)]);
    if (this.labels.length > 0) out.push(["%labels", indent(this.labels)]);
    return out;
  }

  /** %post: proxies, explanations and helper functions first, then the instructions, then the staging folder removed. */
  private postLines(): string[] {
    const head: string[] = [];
    for (const p of PROXY_ARGS.filter((p) => this.opts.buildArgs.get(p) !== undefined)) {
      this.used.add(p);
      head.push(`export ${p}=${quote(this.opts.buildArgs.get(p) as string)}`);
    }
    if (this.subshells) {
      head.push(
        "# Each RUN runs in a subshell with set +e, as Docker runs each with /bin/sh -c:",
        "# a cd or a variable does not reach the next one, and only the exit code of",
        "# its last command counts.",
      );
    }
    if (this.staged > 0) head.push(...COPY_FUNCTION);
    if (this.wildcards) head.push(...MATCHES_FUNCTION);
    return [...indent(head), ...this.post, ...indent(this.staged > 0 ? [`rm -rf ${STAGING}`] : [])];
  }
}
