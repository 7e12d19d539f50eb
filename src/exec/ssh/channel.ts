/**
 * One command on the connection (an exec channel), with bytes in and out:
 * stdout is kept as a Buffer so file contents survive unchanged, and text is
 * decoded once at the end (a character split across packets stays whole).
 */
import { Readable } from "node:stream";
import type { Client } from "ssh2";
import { ExecError } from "../../core/errors.js";

/** What a finished remote command printed and how it ended. */
export interface ChannelResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** sshd said no to a new channel (past its MaxSessions, or not yet freed). */
export class ChannelRefused extends ExecError {}

/**
 * At most `limit` channels open at once on one connection; the rest wait
 * their turn. sshd refuses channels past its MaxSessions (10 unless the site
 * says otherwise, the SFTP session included) and frees a slot only a moment
 * after the client sees a channel close. So a refusal cuts the limit to the
 * channels sshd granted and still holds, and the command waits and tries
 * again; each run of successes twice as long as the limit lets it grow by one
 * again, up to where it started. A burst of commands (a folder of run
 * directories read one file each) queues instead of failing, and a moment of
 * lag does not leave the connection one command at a time.
 */
export class ChannelGate {
  private queued = 0;
  private granted = 0;
  private succeeded = 0;
  private limit: number;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly ceiling: number) {
    this.limit = ceiling;
  }

  /** Run `task` once fewer than `limit` others run; `task` calls `opened` when sshd grants its channel. */
  async through<T>(task: (opened: () => void) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      while (this.queued >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
      this.queued++;
      let held = false;
      try {
        const result = await task(() => {
          held = true;
          this.granted++;
        });
        if (++this.succeeded >= 2 * this.limit && this.limit < this.ceiling) {
          this.limit++;
          this.succeeded = 0;
          this.waiting.shift()?.();
        }
        return result;
      } catch (e) {
        // Refused with nothing else open, many times over: not a matter of waiting.
        if (!(e instanceof ChannelRefused) || attempt >= 15) throw e;
        this.limit = Math.max(1, Math.min(this.limit, this.granted));
        this.succeeded = 0;
      } finally {
        if (held) this.granted--;
        this.queued--;
        this.waiting.shift()?.();
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(10 * attempt, 100)));
    }
  }
}

/**
 * Run `command` (a line for the login shell) on `client`, with `stdin` when
 * given (bytes, or a stream piped through as it comes; else stdin is closed
 * at once); `opened` is called once sshd grants the channel.
 */
export function execute(client: Client, command: string, stdin?: string | Buffer | Readable, opened?: () => void): Promise<ChannelResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) {
        const refused = /channel open failure/i.test(err.message);
        return reject(new (refused ? ChannelRefused : ExecError)(`could not run a command on the cluster: ${err.message}`));
      }
      opened?.();
      const out: Buffer[] = [];
      const errs: Buffer[] = [];
      let code: number | undefined;
      let signal: string | undefined;
      channel.on("data", (d: Buffer) => out.push(d));
      channel.stderr.on("data", (d: Buffer) => errs.push(d));
      channel.on("exit", (c: number | null, s?: string) => {
        code = c ?? undefined;
        signal = s;
      });
      channel.on("close", () =>
        resolve({
          // Killed by a signal: 128 as a shell would say; no status at all (a dropped connection): 1.
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out),
          stderr: Buffer.concat(errs).toString("utf8"),
        }),
      );
      if (stdin instanceof Readable) {
        // A stream that fails (a `docker save` that dies) closes the channel: the command sees its stdin end early.
        stdin.on("error", (e) => {
          errs.push(Buffer.from(`hpcjob: the input stream failed: ${e.message}\n`));
          channel.close();
        });
        stdin.pipe(channel);
      } else {
        channel.end(stdin);
      }
    });
  });
}
