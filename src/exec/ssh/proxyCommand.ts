/**
 * A ProxyCommand, run as ssh runs it (`/bin/sh -c 'exec COMMAND'`, tokens
 * already expanded): its stdin and stdout carry the SSH connection, its
 * stderr is kept to explain a failure, and it is ended with the connection.
 */
import { spawn } from "node:child_process";
import { Duplex } from "node:stream";

/** A running ProxyCommand. */
export interface ProxyProcess {
  /** The connection's byte stream: writes go to the command's stdin, reads come from its stdout. */
  socket: Duplex;
  /** The last lines the command wrote to stderr, after it ended or at most `ms` later. */
  stderr(ms: number): Promise<string[]>;
  /** End the command (SIGHUP, as ssh does); harmless once it has ended. */
  kill(): void;
}

// Enough of the command's stderr to show why it failed, not a whole log.
const STDERR_LINES = 10;

/** Start `command` with `env`; `socket` errors if it cannot be started. */
export function startProxyCommand(command: string, env: Record<string, string | undefined>): ProxyProcess {
  const child = spawn("/bin/sh", ["-c", `exec ${command}`], { env: env as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
  const socket = Duplex.from({ readable: child.stdout, writable: child.stdin });
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err = (err + d.toString("utf8")).slice(-8192);
  });
  const ended = new Promise<void>((resolve) => child.on("close", () => resolve()));
  child.on("error", (e) => socket.destroy(e));
  // The command may exit before reading what was written (a wrong host name): that shows as a closed connection.
  child.stdin.on("error", () => undefined);
  return {
    socket,
    stderr: async (ms) => {
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
      return err.trim().split("\n").filter(Boolean).slice(-STDERR_LINES);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGHUP");
    },
  };
}
