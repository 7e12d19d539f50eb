/**
 * A RUN command's text as lines of the definition. Docker joins a RUN's
 * continuation lines before the shell sees them; sh joins `\`-newline the
 * same way, but only outside quotes and comments. So a line break of the
 * Dockerfile is kept (as ` \`) only where sh is sure to join it back into
 * the same words: outside quotes, comments and escapes, at a space, and
 * before anything (a command substitution, a backquote, a heredoc) whose
 * inside this small reader does not follow. Elsewhere the lines stay joined.
 */

/** The offsets of `breaks` in `text` where a line break and ` \` reads back as the same command. */
export function keptBreaks(text: string, breaks: readonly number[]): number[] {
  const wanted = new Set(breaks);
  const kept: number[] = [];
  let state: "plain" | "single" | "double" | "comment" = "plain";
  let wordStart = true;
  let tangled = false;
  for (let i = 0; i <= text.length; i++) {
    if (wanted.has(i) && state === "plain" && !tangled) {
      // Between words: what comes before ended one (an unescaped space or an operator), or a space follows.
      if (wordStart || /\s/.test(text[i] ?? "")) kept.push(i);
    }
    const ch = text[i];
    if (ch === undefined) break;
    if (state === "single") {
      if (ch === "'") state = "plain";
      continue;
    }
    if (state === "double") {
      if (ch === "\\") i++;
      else if (ch === '"') state = "plain";
      else if (ch === "`" || (ch === "$" && text[i + 1] === "(")) tangled = true;
      continue;
    }
    if (state === "comment") continue;
    if (ch === "\\") {
      // An escaped character is part of a word; a break right after the backslash is not kept.
      i++;
      wordStart = false;
      continue;
    }
    if (ch === "'") state = "single";
    else if (ch === '"') state = "double";
    else if (ch === "#" && wordStart) state = "comment";
    else if (ch === "`" || (ch === "$" && text[i + 1] === "(") || (ch === "<" && text[i + 1] === "<")) tangled = true;
    wordStart = /[\s;&|()<>]/.test(ch);
  }
  return kept;
}

/** `text` cut at the kept breaks, every line but the last ending in ` \`. */
export function runLines(text: string, breaks: readonly number[]): string[] {
  const cuts = keptBreaks(text, breaks);
  const lines: string[] = [];
  let from = 0;
  for (const at of cuts) {
    const piece = text.slice(from, at);
    lines.push(/\s$/.test(piece) ? `${piece}\\` : `${piece} \\`);
    from = at;
  }
  lines.push(text.slice(from));
  return lines;
}
