/**
 * Where `ssh DESTINATION` goes, and how ssh would treat it. Where OpenSSH's
 * `ssh` is installed, ssh itself says (`ssh -G`, which connects nowhere), so
 * Include, Match, Host patterns, tokens, ProxyCommand and the rest mean
 * exactly what they mean to ssh. Without it, hpcjob reads ~/.ssh/config
 * itself (configFile.ts) and lists what it could not follow.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecError, ProfileError } from "../../core/errors.js";
import { targetFromConfigText } from "./configFile.js";
import { type Destination, parseDestination, validUser } from "./destination.js";
import type { LocalAccount, SshTarget } from "./settings.js";
import { parseSshG, sshGArgs, sshGConfig, targetFromSshG } from "./sshG.js";

/** How to resolve a destination: the laptop's environment, and the profile's login defaults. */
export interface ResolveOptions {
  env: Record<string, string | undefined>;
  /** $HOME, where hpcjob's own parser looks for ~/.ssh/config when there is no ssh. */
  home: string;
  account: LocalAccount;
  /** The profile's login user and port: used when neither the destination nor ~/.ssh/config says. */
  defaultUser?: string;
  defaultPort?: number;
}

/** The result of a resolution, and whether ssh itself did it. */
export interface Resolved {
  target: SshTarget;
  /** "ssh" when `ssh -G` resolved it, "hpcjob" when hpcjob's own parser did (no ssh installed). */
  by: "ssh" | "hpcjob";
}

/** Where `ssh DESTINATION` goes: the destination's user/port beat ~/.ssh/config, which beats the profile's defaults. */
export async function resolveTarget(destination: string, opts: ResolveOptions): Promise<Resolved> {
  const dest = parseDestination(destination);
  if (opts.defaultUser !== undefined && !validUser(opts.defaultUser)) {
    throw new ProfileError(`the profile's login.user ${JSON.stringify(opts.defaultUser)} is not a valid user name; fix it in the profile`);
  }
  const config = sshGConfig(join(opts.account.home, ".ssh", "config"), { user: opts.defaultUser, port: opts.defaultPort });
  const out = await runSshG(dest, config, opts.env);
  if (out === undefined) {
    const file = join(opts.home, ".ssh", "config");
    const configText = existsSync(file) ? readFileSync(file, "utf8") : undefined;
    return {
      target: targetFromConfigText(destination, {
        configText,
        home: opts.home,
        account: opts.account,
        env: opts.env,
        defaultUser: opts.defaultUser,
        defaultPort: opts.defaultPort,
      }),
      by: "hpcjob",
    };
  }
  if (out.code !== 0) {
    // ssh ends its messages with \r\n.
    const said = out.stderr
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean);
    throw new ProfileError(
      `ssh cannot read its configuration for ${dest.host}: ${said[0] ?? `ssh -G exited ${out.code}`}; fix ~/.ssh/config (ssh -G ${dest.host} shows the same)`,
    );
  }
  return { target: targetFromSshG(dest.host, parseSshG(out.stdout), { account: opts.account, env: opts.env }), by: "ssh" };
}

// ssh -G may run a `Match exec` command; it must not hang a command forever.
const SSH_G_TIMEOUT_MS = 20_000;

/**
 * `ssh -G` for `dest` with `config` as its configuration file, run to the
 * end; undefined when there is no ssh on PATH. The file is a private
 * temporary one (ssh cannot open /dev/stdin when stdin is a socket, as
 * Node's pipes are).
 */
async function runSshG(
  dest: Destination,
  config: string,
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "hpcjob-ssh-"));
  try {
    const file = join(dir, "config");
    writeFileSync(file, config, { mode: 0o600 });
    return await new Promise((resolve, reject) => {
      const child = spawn("ssh", sshGArgs(file, dest), { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d;
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d;
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), SSH_G_TIMEOUT_MS);
      child.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === "ENOENT") resolve(undefined);
        else reject(new ExecError(`could not run ssh -G to read ~/.ssh/config: ${e.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (signal === "SIGKILL")
          reject(new ExecError(`ssh -G did not finish in ${SSH_G_TIMEOUT_MS / 1000} s (a Match exec in ~/.ssh/config?)`));
        else resolve({ code: code ?? 1, stdout, stderr });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
