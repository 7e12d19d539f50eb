/**
 * A Dockerfile read into instructions the way BuildKit's parser reads it
 * (frontend/dockerfile/parser/parser.go): the `# escape=` and `# syntax=`
 * directives, comments, line continuations (comment and empty lines inside
 * one skipped), `--flag=value` words before the arguments, and heredocs
 * after RUN, COPY and ADD. What the instructions mean is definition.ts's.
 */
import { UsageError } from "../core/errors.js";
import { jsonForm, splitWords, WordError } from "./words.js";

/** A here-document after an instruction: `<<EOF` ... `EOF`. */
export interface Heredoc {
  name: string;
  /** `<<-`: leading tabs are stripped from its lines. */
  chomp: boolean;
  /** Every line, each with its newline. */
  content: string;
}

/** One instruction: its keyword, where it starts, its flags and its arguments. */
export interface Instruction {
  /** Upper case: RUN, COPY ... */
  keyword: string;
  /** The line it starts on, from 1. */
  line: number;
  /** The `--name=value` words before the arguments, quotes removed. */
  flags: string[];
  /** The arguments, continuation lines joined as Docker joins them. */
  args: string;
  /** Where in `args` a continuation line was joined: the Dockerfile's line breaks. */
  breaks: number[];
  heredocs: Heredoc[];
}

/** A Dockerfile's instructions and its escape character. */
export interface Dockerfile {
  instructions: Instruction[];
  escapeChar: string;
}

/** The instructions Docker knows; any other word is an error. */
export const KEYWORDS = [
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
];

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const DIRECTIVES = ["escape", "syntax", "check"];
const HEREDOC = /^(\d*)<<(-?)([^<]*)$/;
const HEREDOC_KEYWORDS = ["RUN", "COPY", "ADD"];

/** An error about line `line` of `file`: exit 2 with the fix. */
export function lineError(file: string, line: number, message: string): UsageError {
  return new UsageError(`${file}:${line} ${message}`);
}

/** The line continuation of BuildKit: the escape character last on the line, unless it is itself escaped. */
function continuation(escapeChar: string): RegExp {
  const e = escapeChar === "\\" ? "\\\\" : escapeChar;
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

/** The heredocs a line opens: words starting with `<<` (quotes kept in the words), as BuildKit finds them. */
function heredocsOf(line: string): Omit<Heredoc, "content">[] {
  const docs: Omit<Heredoc, "content">[] = [];
  for (const word of splitWords(line, "\\")) {
    const m = HEREDOC.exec(word);
    const rest = m?.[3] ?? "";
    if (!m || rest === "") continue;
    const name = rest.replace(/["']/g, "");
    if (name === "" || /\s/.test(name)) continue;
    docs.push({ name, chomp: m[2] === "-" });
  }
  return docs;
}

/** Split one joined instruction into its keyword, flags and arguments (BuildKit's splitCommand). */
function splitCommand(text: string): { keyword: string; flags: string[]; argsAt: number } {
  const m = /^\s*(\S+)\s*/.exec(text);
  const keyword = (m?.[1] ?? "").toUpperCase();
  let pos = m?.[0].length ?? 0;
  const flags: string[] = [];
  // Words starting with -- before the arguments are the builder's flags; a bare -- ends them.
  while (text.startsWith("--", pos)) {
    let word = "";
    let quote = "";
    let i = pos;
    for (; i < text.length; i++) {
      const ch = text[i] as string;
      if (quote) {
        if (ch === quote) quote = "";
        else word += ch;
      } else if (/\s/.test(ch)) break;
      else if (ch === "'" || ch === '"') quote = ch;
      else word += ch;
    }
    pos = i;
    while (/\s/.test(text[pos] ?? "")) pos++;
    if (word === "--") break;
    flags.push(word);
  }
  return { keyword, flags, argsAt: pos };
}

/** Read a Dockerfile's text; `file` is how errors name it. */
export function parseDockerfile(text: string, file: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  let escapeChar = "\\";
  let cont = continuation(escapeChar);
  let directivesDone = false;
  const seen = new Set<string>();
  const directive = (line: string, n: number) => {
    if (directivesDone) return;
    const m = DIRECTIVE.exec(line);
    const key = m?.[1]?.toLowerCase() ?? "";
    if (!m || !DIRECTIVES.includes(key)) {
      directivesDone = true;
      return;
    }
    if (seen.has(key)) throw lineError(file, n, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === "escape") {
      const value = m[2] ?? "";
      if (value !== "\\" && value !== "`") throw lineError(file, n, `invalid escape token '${value}' does not match \` or \\`);
      escapeChar = value;
      cont = continuation(escapeChar);
    }
  };
  const isComment = (line: string) => line.trimStart().startsWith("#");

  const instructions: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const start = i + 1;
    const first = (lines[i] ?? "").trimStart();
    directive(first, start);
    i++;
    if (first.startsWith("#")) continue;
    const pieces: string[] = [];
    let more = cont.test(first);
    pieces.push(first.replace(cont, "$1"));
    if (!more && pieces[0] === "") continue;
    while (more && i < lines.length) {
      const raw = lines[i] ?? "";
      directive(raw, i + 1);
      i++;
      // Inside an instruction, comment lines and empty lines are skipped, as Docker does.
      if (isComment(raw) || raw.trim() === "") continue;
      more = cont.test(raw);
      pieces.push(raw.replace(cont, "$1"));
    }
    const joined = pieces.join("");
    const { keyword, flags, argsAt } = splitCommand(joined);
    const args = joined.slice(argsAt).trimEnd();
    const breaks: number[] = [];
    let at = 0;
    for (const p of pieces.slice(0, -1)) {
      at += p.length;
      if (at > argsAt && at - argsAt < args.length) breaks.push(at - argsAt);
    }
    const instruction: Instruction = { keyword, line: start, flags, args, breaks, heredocs: [] };
    instructions.push(instruction);

    // The body of each heredoc follows the instruction, up to a line that is its name.
    const sub = keyword === "ONBUILD" ? (/^\s*(\S+)/.exec(args)?.[1] ?? "").toUpperCase() : keyword;
    let isJson = false;
    try {
      isJson = jsonForm(keyword === "ONBUILD" ? args.replace(/^\s*\S+\s*/, "") : args) !== undefined;
    } catch (e) {
      if (!(e instanceof WordError)) throw e;
    }
    if (!HEREDOC_KEYWORDS.includes(sub) || isJson) continue;
    for (const doc of heredocsOf(joined)) {
      let content = "";
      let ended = false;
      while (i < lines.length) {
        const raw = lines[i] ?? "";
        i++;
        if ((doc.chomp ? raw.replace(/^\t+/, "") : raw) === doc.name) {
          ended = true;
          break;
        }
        content += `${raw}\n`;
      }
      if (!ended) throw lineError(file, start, `${keyword}: the heredoc <<${doc.name} has no line ${doc.name} that ends it`);
      instruction.heredocs.push({ ...doc, content });
    }
  }
  if (instructions.length === 0) throw new UsageError(`${file} has no instructions; a Dockerfile starts with FROM IMAGE`);
  return { instructions, escapeChar };
}
