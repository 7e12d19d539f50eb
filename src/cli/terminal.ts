/**
 * The terminal: every byte hpcjob writes to stdout and stderr, the live
 * status line while it waits, and questions (a key's passphrase, a
 * two-factor code) asked on it.
 */
import { writeSync } from "node:fs";
import type { Reporter } from "../core/events.js";
import type { Prompter } from "../exec/prompt.js";
import { describeEvent } from "./events.js";

/**
 * Write all of `text` to a file descriptor (1 or 2) at once. Not through
 * process.stdout/stderr: creating those streams loads Node's stream modules,
 * a tenth of a dry run's start-up.
 */
export function writeAll(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      // A non-blocking pipe that is full: wait for the reader (rare; only huge output).
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

const SPINNER = ["|", "/", "-", "\\"];

/** Progress on stderr, and what ends the live line before anything else is written. */
export interface Progress {
  report: Reporter;
  /** Clear the status line (before a result, a question or an error). */
  done: () => void;
  /** Write streamed text (a followed log) to stdout; the live status line (what the job waited for) gives way to it. */
  stream: (text: string) => void;
}

/**
 * Progress on stderr: on a terminal one live status line with a spinner,
 * otherwise one line per change.
 */
export function progressPrinter(): Progress {
  // Asked on first use: touching process.stderr costs start-up time.
  let isTty: boolean | undefined;
  const ttyNow = () => {
    isTty ??= Boolean(process.stderr.isTTY);
    return isTty;
  };
  let line = "";
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  // Cut to the terminal's width: a wrapped line could not be redrawn in place.
  const draw = () => {
    const width = Math.max(20, (process.stderr.columns || 80) - 3);
    const shown = line.length > width ? `${line.slice(0, width - 1)}…` : line;
    process.stderr.write(`\r\x1b[K${SPINNER[frame++ % SPINNER.length]} ${shown}`);
  };
  const done = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (line && ttyNow()) process.stderr.write("\r\x1b[K");
    line = "";
  };
  const report: Reporter = (e) => {
    const text = describeEvent(e);
    if (!ttyNow()) {
      writeAll(2, `hpcjob: ${text}\n`);
      return;
    }
    if (e.kind === "submitted" || e.kind === "note") {
      // Worth keeping on screen: printed as its own line above the status line.
      process.stderr.write(`\r\x1b[K${text}\n`);
      if (line) draw();
      return;
    }
    line = text;
    draw();
    timer ??= setInterval(draw, 120).unref();
  };
  const stream = (text: string) => {
    // On one terminal, a spinning line would be redrawn into the log; once the log flows, it has said its part.
    done();
    writeAll(1, text);
  };
  return { report, done, stream };
}

/** A Prompter on the terminal: the question on stderr, the answer from stdin, nothing echoed when hidden. */
export function terminalPrompter(clearStatus: () => void): Prompter {
  return {
    // A getter: touching process.stdin costs start-up time, and only SSH logins ask.
    get available() {
      return Boolean(process.stdin.isTTY && process.stderr.isTTY);
    },
    ask: async (question, hidden) => {
      clearStatus();
      // Loaded on first use: only a login that needs a passphrase or a code asks.
      const { read } = await import("read");
      return read({ prompt: question, silent: hidden, input: process.stdin, output: process.stderr, terminal: true });
    },
  };
}
