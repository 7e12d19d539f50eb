/**
 * Dockerfile words as BuildKit reads them (frontend/dockerfile/shell/lex.go
 * and parser/line_parsers.go): quotes, the escape character and `$NAME`,
 * `${NAME}`, `${NAME:-word}` ... Expansion yields segments, because some
 * variables (PATH from the base image, an ENV built on it) are only known
 * when the image is built or run: those stay shell references, and a caller
 * that needs a fixed value (a path in %files, a label) refuses them.
 */

/** Literal text, or a variable the shell expands later (with its modifier, as in `${NAME:-word}`). */
export type Segment = { text: string } | { variable: string; op?: Modifier; word?: Segment[] };

/** The `${NAME<op>word}` forms hpcjob understands: those BuildKit and POSIX sh share. */
export type Modifier = ":-" | "-" | ":+" | "+" | ":?" | "?";

/** What a name stands for where it is used: a value (undefined: declared but unset), or the shell's variable. */
export type Binding = { value: Segment[] | undefined } | "shell";

/** Looks a variable up in the scope at the instruction being read. */
export type Lookup = (name: string) => Binding;

/** Dockerfile syntax that cannot be read; the caller adds the line. */
export class WordError extends Error {}

const SPECIAL_PARAMS = "@*#?-$!0";

/** Append text to segments, merging neighbouring text. */
function pushText(out: Segment[], text: string): void {
  if (text === "") return;
  const last = out[out.length - 1];
  if (last && "text" in last) last.text += text;
  else out.push({ text });
}

/** Append segments to segments, merging neighbouring text. */
function pushAll(out: Segment[], segs: Segment[]): void {
  for (const s of segs) {
    if ("text" in s) pushText(out, s.text);
    else out.push(s);
  }
}

/** True when the segments hold no variable left for the shell. */
export function isFixed(segs: Segment[]): boolean {
  return segs.every((s) => "text" in s);
}

/** The text of fixed segments (the caller checked isFixed). */
export function fixedText(segs: Segment[]): string {
  return segs.map((s) => ("text" in s ? s.text : "")).join("");
}

/** One pass over a word: BuildKit's shellWord. */
class Lexer {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly escapeChar: string,
    private readonly lookup: Lookup,
  ) {}

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private next(): string | undefined {
    return this.src[this.pos++];
  }

  /** The word up to `stop` (undefined: the end), as segments. */
  word(stop?: string): Segment[] {
    const out: Segment[] = [];
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        if (stop !== undefined) throw new WordError("a '}' is missing");
        return out;
      }
      if (ch === stop) {
        this.next();
        return out;
      }
      if (ch === "'") pushText(out, this.singleQuoted());
      else if (ch === '"') pushAll(out, this.doubleQuoted());
      else if (ch === "$") pushAll(out, this.dollar());
      else {
        this.next();
        if (ch === this.escapeChar) {
          // The escape character takes the next one as it is; at the end of the word it is dropped.
          const escaped = this.next();
          if (escaped !== undefined) pushText(out, escaped);
        } else pushText(out, ch);
      }
    }
  }

  private singleQuoted(): string {
    this.next();
    const end = this.src.indexOf("'", this.pos);
    if (end < 0) throw new WordError("a closing single quote is missing");
    const text = this.src.slice(this.pos, end);
    this.pos = end + 1;
    return text;
  }

  private doubleQuoted(): Segment[] {
    this.next();
    const out: Segment[] = [];
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new WordError("a closing double quote is missing");
      if (ch === '"') {
        this.next();
        return out;
      }
      if (ch === "$") {
        pushAll(out, this.dollar());
        continue;
      }
      this.next();
      if (ch === this.escapeChar) {
        const after = this.peek();
        if (after === undefined) continue;
        // Inside double quotes only ", $ and the escape character itself are escaped; otherwise it stays.
        if (after === '"' || after === "$" || after === this.escapeChar) {
          pushText(out, after);
          this.next();
          continue;
        }
      }
      pushText(out, ch);
    }
  }

  private name(): string {
    const first = this.peek();
    if (first === undefined) return "";
    if (/[0-9]/.test(first)) {
      let digits = "";
      while (/[0-9]/.test(this.peek() ?? "")) digits += this.next();
      return digits;
    }
    if (SPECIAL_PARAMS.includes(first)) return this.next() ?? "";
    let name = "";
    while (/[\p{L}\p{N}_]/u.test(this.peek() ?? "")) name += this.next();
    return name;
  }

  private dollar(): Segment[] {
    this.next();
    if (this.peek() !== "{") {
      const name = this.name();
      return name === "" ? [{ text: "$" }] : this.value(name);
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new WordError("a '}' is missing");
    if (first === "{" || first === "}" || first === ":") throw new WordError("bad substitution");
    const name = this.name();
    const ch = this.next();
    if (ch === undefined) throw new WordError("a '}' is missing");
    if (ch === "}") return this.value(name);
    let op = ch;
    if (op === ":") op += this.next() ?? "";
    if (![":-", "-", ":+", "+", ":?", "?"].includes(op)) {
      throw new WordError(`\${${name}${op}...} is a form hpcjob does not translate; use \${NAME}, \${NAME:-word} or \${NAME:+word}`);
    }
    return this.modified(name, op as Modifier, this.word("}"));
  }

  /** The value of `name` where it is read: its segments, "" when unset, or the shell's variable. */
  private value(name: string): Segment[] {
    // Positional and special parameters are never set while Docker reads a Dockerfile.
    if (!/^[\p{L}_]/u.test(name)) return [];
    const b = this.lookup(name);
    if (b === "shell") return [{ variable: name }];
    return b.value ?? [];
  }

  private modified(name: string, op: Modifier, word: Segment[]): Segment[] {
    const b = /^[\p{L}_]/u.test(name) ? this.lookup(name) : { value: undefined };
    if (b === "shell") return [{ variable: name, op, word }];
    const set = b.value !== undefined;
    const nonEmpty = set && !(isFixed(b.value ?? []) && fixedText(b.value ?? []) === "");
    const value = b.value ?? [];
    switch (op) {
      case ":-":
        return nonEmpty ? value : word;
      case "-":
        return set ? value : word;
      case ":+":
        return nonEmpty ? word : [];
      case "+":
        return set ? word : [];
      default:
        if (op === ":?" ? nonEmpty : set) return value;
        throw new WordError(`${name} is not set: ${fixedText(word) || "parameter null or not set"}`);
    }
  }
}

/** A word after Docker's quote removal and variable expansion. */
export function expandWord(raw: string, escapeChar: string, lookup: Lookup): Segment[] {
  return new Lexer(raw, escapeChar, lookup).word();
}

/**
 * Split on white space outside quotes, keeping quotes and escapes (BuildKit's
 * parseWords): the words of ENV, LABEL and ARG, expanded afterwards.
 */
export function splitWords(rest: string, escapeChar: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote = "";
  let started = false;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i] as string;
    if (quote) {
      word += ch;
      if (ch === quote) quote = "";
      else if (ch === escapeChar && quote !== "'" && i + 1 < rest.length) word += rest[++i];
      continue;
    }
    if (/\s/.test(ch)) {
      if (started) words.push(word);
      word = "";
      started = false;
      continue;
    }
    started = true;
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === escapeChar) {
      if (i + 1 === rest.length) continue;
      word += ch + rest[++i];
      continue;
    }
    word += ch;
  }
  if (started) words.push(word);
  return words;
}

/** A JSON array of strings (the exec form), or undefined when `rest` is not one (then it is the shell form). */
export function jsonForm(rest: string): string[] | undefined {
  const text = rest.trimStart();
  if (!text.startsWith("[")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((s) => typeof s === "string"))
    throw new WordError("when using JSON array syntax, arrays must be comprised of strings only");
  return parsed;
}
