/**
 * One command on the connection (an exec channel), with bytes in and out:
 * stdout is kept as a Buffer so file contents survive unchanged, and text is
 * decoded once at the end (a character split across packets stays whole).
 */
import type { Client } from "ssh2";
import { ExecError } from "../../errors.js";

/** What a finished remote command printed and how it ended. */
export interface ChannelResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Run `command` (a line for the login shell) on `client`, with `stdin` when given (else stdin is closed at once). */
export function execute(client: Client, command: string, stdin?: string | Buffer): Promise<ChannelResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(new ExecError(`could not run a command on the cluster: ${err.message}`));
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
      channel.end(stdin);
    });
  });
}
