/**
 * Reading Dockerfiles as BuildKit reads them: directives, comments, line
 * continuations, heredocs, flags, the exec and shell forms, and the words
 * of ENV, LABEL and ARG with their quotes and variables.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text, where ${NAME} is Docker's, not a template.
import { describe, expect, it } from "vitest";
import { isHpcjobError } from "../../src/core/errors.js";
import { type Instruction, parseDockerfile } from "../../src/image/dockerfile.js";
import { keptBreaks, runLines } from "../../src/image/runLines.js";
import { type Binding, expandWord, jsonForm, type Segment, splitWords } from "../../src/image/words.js";

const read = (text: string) => parseDockerfile(text, "Dockerfile");
const only = (text: string): Instruction => read(text).instructions.at(-1) as Instruction;

/** The message of the error `fn` throws, checking it is hpcjob's exit-2 kind. */
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

describe("parseDockerfile", () => {
  it("joins continuation lines as Docker does, skipping comment and empty lines inside, and keeps where they broke", () => {
    const ins = only("FROM x\nRUN apt-get update && \\\n# a comment inside\n\n    apt-get install -y git \\   \n    && echo done\n");
    expect(ins.keyword).toBe("RUN");
    expect(ins.line).toBe(2);
    expect(ins.args).toBe("apt-get update &&     apt-get install -y git     && echo done");
    expect(ins.breaks).toEqual([18, 45]);
  });

  it("numbers instructions by the line they start on, after continuations, comments and heredocs", () => {
    const df = read('# c\nFROM x\nRUN a \\\n  b\nRUN <<EOF\nline\nEOF\n\nCMD ["x"]\n');
    expect(df.instructions.map((i) => [i.keyword, i.line])).toEqual([
      ["FROM", 2],
      ["RUN", 3],
      ["RUN", 5],
      ["CMD", 9],
    ]);
  });

  it("reads keywords in any case, CRLF line ends and a byte-order mark", () => {
    const df = read("\uFEFFfrom x\r\nrun echo hi \\\r\n  there\r\n");
    expect(df.instructions.map((i) => [i.keyword, i.args])).toEqual([
      ["FROM", "x"],
      ["RUN", "echo hi   there"],
    ]);
  });

  it("takes # escape=` at the top: a backquote continues lines and a backslash is plain", () => {
    const df = read("# escape=`\nFROM x\nCOPY C:\\data\\ `\n  /data/\n");
    expect(df.escapeChar).toBe("`");
    expect(df.instructions[1]?.args).toBe("C:\\data\\   /data/");
  });

  it("reads directives only before anything else, and # syntax= among them", () => {
    expect(read("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\n").escapeChar).toBe("`");
    expect(read("# a comment\n# escape=`\nFROM x\n").escapeChar).toBe("\\");
    expect(read("\n# escape=`\nFROM x\n").escapeChar).toBe("\\");
  });

  it("refuses a second escape directive and an escape character Docker does not take", () => {
    expect(refusal(() => read("# escape=`\n# escape=\\\nFROM x\n"))).toBe("Dockerfile:2 only one escape parser directive can be used");
    expect(refusal(() => read("# escape=!\nFROM x\n"))).toBe("Dockerfile:1 invalid escape token '!' does not match ` or \\");
  });

  it("keeps an escaped escape character at the end of a line: no continuation", () => {
    const df = read("FROM x\nRUN echo a\\\\\nRUN echo b\n");
    expect(df.instructions.map((i) => i.args)).toEqual(["x", "echo a\\\\", "echo b"]);
  });

  it("takes --flags before the arguments, with quotes removed, up to a bare --", () => {
    expect(only('FROM x\nCOPY --chown=app:app --chmod="644" a b\n')).toMatchObject({
      flags: ["--chown=app:app", "--chmod=644"],
      args: "a b",
    });
    expect(only("FROM x\nRUN --mount=type=cache,target=/root/.cache pip install x\n")).toMatchObject({
      flags: ["--mount=type=cache,target=/root/.cache"],
      args: "pip install x",
    });
    expect(only("FROM x\nRUN -- --weird\n")).toMatchObject({ flags: [], args: "--weird" });
  });

  it("reads heredocs after RUN, COPY and ADD: <<EOF, <<-EOF (tabs stripped from the end line), quoted names, several", () => {
    const df = read(
      "FROM x\nRUN <<EOF\necho one\n  indented\nEOF\nRUN <<-'END' cat > /f && <<X cat > /g\n\tbody\n\tEND\nx\nX\nCMD [\"a\"]\n",
    );
    expect(df.instructions[1]?.heredocs).toEqual([{ name: "EOF", chomp: false, content: "echo one\n  indented\n" }]);
    expect(df.instructions[2]?.heredocs).toEqual([
      { name: "END", chomp: true, content: "\tbody\n" },
      { name: "X", chomp: false, content: "x\n" },
    ]);
    expect(df.instructions[3]).toMatchObject({ keyword: "CMD", line: 11 });
  });

  it("does not read heredocs in the exec form, in other instructions, or in quotes", () => {
    expect(only('FROM x\nRUN ["sh", "-c", "cat <<EOF"]\n').heredocs).toEqual([]);
    expect(only("FROM x\nENV A=<<EOF\n").heredocs).toEqual([]);
    expect(only("FROM x\nRUN echo '<<EOF'\n").heredocs).toEqual([]);
    expect(only("FROM x\nRUN cat <<< here\n").heredocs).toEqual([]);
  });

  it("refuses a heredoc that never ends, naming the instruction's line", () => {
    expect(refusal(() => read("FROM x\nRUN <<EOF\necho\n"))).toBe("Dockerfile:2 RUN: the heredoc <<EOF has no line EOF that ends it");
  });

  it("refuses a file with no instructions", () => {
    expect(refusal(() => read("# only a comment\n\n"))).toBe("Dockerfile has no instructions; a Dockerfile starts with FROM IMAGE");
  });
});

describe("Docker's words", () => {
  const vars: Record<string, Binding> = {
    A: { value: [{ text: "a" }] },
    EMPTY: { value: [{ text: "" }] },
    UNSET: { value: undefined },
    PATH: "shell",
  };
  const lookup = (name: string): Binding => vars[name] ?? "shell";
  const expand = (raw: string, escapeChar = "\\"): Segment[] => expandWord(raw, escapeChar, lookup);
  const text = (raw: string) => {
    const segs = expand(raw);
    expect(segs.every((s) => "text" in s)).toBe(true);
    return segs.map((s) => ("text" in s ? s.text : "")).join("");
  };

  it("removes quotes and escapes; single quotes keep everything, double quotes expand", () => {
    expect(text(`"a b" 'c $A' d\\ e "\\"q\\" \\n $A"`)).toBe('a b c $A d e "q" \\n a');
  });

  it("expands $NAME and ${NAME}; a lone $ and special parameters are what Docker makes of them", () => {
    expect(text("$A-${A}x $ $1 $@ $$")).toBe("a-ax $   ");
  });

  it("applies :- :+ - + to what is known", () => {
    expect(text("${UNSET:-d} ${EMPTY:-d} ${A:-d} ${UNSET-d} ${EMPTY-d}")).toBe("d d a d ");
    expect(text("${UNSET:+p} ${EMPTY:+p} ${A:+p} ${EMPTY+p}|")).toBe("  p p|");
  });

  it("leaves variables only the shell knows (the base image's PATH) as references", () => {
    expect(expand("/opt/bin:$PATH")).toEqual([{ text: "/opt/bin:" }, { variable: "PATH" }]);
    expect(expand("${HOME:-/root}")).toEqual([{ variable: "HOME", op: ":-", word: [{ text: "/root" }] }]);
  });

  it("uses the Dockerfile's escape character", () => {
    expect(expand("C:\\dir `$A", "`")).toEqual([{ text: "C:\\dir $A" }]);
  });

  it("refuses what Docker refuses, and forms hpcjob does not translate", () => {
    expect(() => expand('"open')).toThrow("a closing double quote is missing");
    expect(() => expand("'open")).toThrow("a closing single quote is missing");
    expect(() => expand("${A")).toThrow("a '}' is missing");
    expect(() => expand("${}")).toThrow("bad substitution");
    expect(() => expand("${A#x}")).toThrow("is a form hpcjob does not translate");
    expect(() => expand("${UNSET:?must be set}")).toThrow("UNSET is not set: must be set");
  });

  it("splits ENV-like arguments at spaces outside quotes, keeping quotes and escapes for later", () => {
    expect(splitWords(`a="x y" b=c\\ d  e='f g'`, "\\")).toEqual(['a="x y"', "b=c\\ d", "e='f g'"]);
  });

  it("reads the exec form only from a JSON array of strings", () => {
    expect(jsonForm(' ["jupyter", "lab"]')).toEqual(["jupyter", "lab"]);
    expect(jsonForm("[jupyter, lab]")).toBeUndefined();
    expect(jsonForm("jupyter lab")).toBeUndefined();
    expect(() => jsonForm('["a", 1]')).toThrow("arrays must be comprised of strings only");
  });
});

describe("RUN's lines in the definition", () => {
  it("keeps a line break where sh joins it back into the same words", () => {
    const text = "apt-get update &&     apt-get install -y git";
    expect(runLines(text, [18])).toEqual(["apt-get update && \\", "    apt-get install -y git"]);
  });

  it("joins lines that broke inside quotes, a comment, a word, an escape or a command substitution", () => {
    expect(keptBreaks("echo 'a  b'", [8])).toEqual([]);
    expect(keptBreaks('echo "a  b"', [8])).toEqual([]);
    expect(keptBreaks("echo a # note  more", [10])).toEqual([]);
    expect(keptBreaks("apt-get install", [11])).toEqual([]);
    expect(keptBreaks("echo a\\ b", [8])).toEqual([]);
    expect(keptBreaks("x=$(ls  /) && echo", [7, 12])).toEqual([]);
    expect(runLines("echo 'a  b'", [8])).toEqual(["echo 'a  b'"]);
  });

  it("keeps a break after an operator or before a space", () => {
    expect(keptBreaks("a&&b", [3])).toEqual([3]);
    expect(keptBreaks("a b", [1])).toEqual([1]);
  });
});
