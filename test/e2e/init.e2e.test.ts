/**
 * `hpcjob init` on the loopback cluster as alice, through a real
 * pseudo-terminal: tmux runs it, the test reads the screen (capture-pane)
 * and presses keys (send-keys) as a person would. With accounting enforced
 * (slurmdbd, accounts lab-a and lab-b for alice) it offers both accounts;
 * the profile it writes is what `clusters detect` writes plus the answers,
 * config.yaml names it, and `clusters validate` accepts it. Also: --yes with
 * no terminal (on the login node and from the laptop over one SSH
 * connection), no terminal without --yes, and Ctrl-C at a question.
 * Fails, never skips, without the cluster or tmux.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { quote } from "../../src/core/quote.js";
import { aliceLogins, hpcjob, hpcjobCli, LOGIN_ALIAS, laptopEnv, requireCluster, STAGE, stage, userArgv } from "./harness.js";

/** alice's config folder for these tests (XDG_CONFIG_HOME), so her own ~/.config is left alone. */
const XDG = "/home/alice/init-e2e/config";
const PROFILES = `${XDG}/hpcjob/clusters`;
const CONFIG = `${XDG}/hpcjob/config.yaml`;
/** The tmux server of these tests only (its own socket), and its session. */
const TMUX = ["tmux", "-L", "hpcjob-init-e2e"];
const SESSION = "init";
/** Where the terminal's script writes hpcjob's exit status. */
const WORK = "/tmp/hpcjob-init-e2e";

/** A shell line as alice (setup only). */
function asAlice(script: string, ...args: string[]): void {
  const r = spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", script, "x", ...args], { cwd: "/", encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
}

/** A profile file as data. */
function profileAt(file: string): Record<string, unknown> {
  return parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

/** What the terminal shows now. */
function screen(): string {
  return execFileSync(TMUX[0] as string, [...TMUX.slice(1), "capture-pane", "-p", "-t", SESSION], { encoding: "utf8" });
}

/** Wait until the screen shows `text` (a question), or fail with what it shows. */
async function waitFor(text: string | RegExp, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = screen();
    if (typeof text === "string" ? s.includes(text) : text.test(s)) return s;
    if (Date.now() > end) throw new Error(`the terminal never showed ${text}; it shows:\n${s}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Press keys on the terminal (tmux key names: Enter, Down). */
function press(...keys: string[]): void {
  execFileSync(TMUX[0] as string, [...TMUX.slice(1), "send-keys", "-t", SESSION, ...keys]);
}

/** Start `hpcjob ARGS` as alice in a 200x50 tmux terminal; its exit status goes to WORK/status. */
function startOnTerminal(args: string[]): void {
  const argv = userArgv("alice", hpcjobCli(args), { XDG_CONFIG_HOME: XDG, TERM: "xterm-256color" });
  const script = `${argv.map(quote).join(" ")}\necho "exit=$?" > ${WORK}/status\nsleep 600\n`;
  writeFileSync(`${WORK}/run.sh`, script);
  execFileSync(TMUX[0] as string, [...TMUX.slice(1), "new-session", "-d", "-x", "200", "-y", "50", "-s", SESSION, `bash ${WORK}/run.sh`], {
    cwd: "/",
  });
}

/** hpcjob's exit status once the terminal's command ended. */
async function exitStatus(ms = 60_000): Promise<number> {
  const end = Date.now() + ms;
  while (!existsSync(`${WORK}/status`)) {
    if (Date.now() > end) throw new Error(`hpcjob init did not end; the terminal shows:\n${screen()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return Number(/exit=(\d+)/.exec(readFileSync(`${WORK}/status`, "utf8"))?.[1]);
}

beforeAll(() => {
  requireCluster();
  stage();
  const tmux = spawnSync("tmux", ["-V"], { encoding: "utf8" });
  expect(tmux.status, "tmux is not installed: run test/cluster/install.sh").toBe(0);
  spawnSync(TMUX[0] as string, [...TMUX.slice(1), "kill-server"]);
  execFileSync("rm", ["-rf", WORK]);
  mkdirSync(WORK);
  asAlice(`rm -rf /home/alice/init-e2e && mkdir -p "$1"`, XDG);
  // The same alias remote.e2e.test.ts writes, added when that test has not run.
  asAlice(
    `touch ~/.ssh/config && chmod 600 ~/.ssh/config && (grep -q '^Host hpcjob-login$' ~/.ssh/config || printf '%s' "$1" >> ~/.ssh/config)`,
    LOGIN_ALIAS,
  );
});
afterAll(() => {
  spawnSync(TMUX[0] as string, [...TMUX.slice(1), "kill-server"]);
});

describe("init", () => {
  it("on a terminal offers alice's two accounts and writes detect's profile plus the answers, as her default", async () => {
    startOnTerminal(["init"]);
    await waitFor("Profile name");
    expect(screen()).toContain("hpcjob-test");
    press("Enter");
    await waitFor("Login host");
    press("Enter");
    const accounts = await waitFor("Account to charge");
    expect(accounts).toMatch(/lab-a \(your default account\)/);
    expect(accounts).toContain("lab-b");
    // lab-a is preselected; one down is lab-b.
    press("Down");
    await waitFor(/❯ lab-b/);
    press("Enter");
    await waitFor("Default partition");
    press("Enter");
    await waitFor("GPU type");
    press("Enter");
    await waitFor("Container runtime");
    press("Enter");
    await waitFor("Image folder");
    press("Enter");
    const status = await exitStatus();
    const shown = screen();
    writeFileSync(`${WORK}/screen.txt`, shown);
    expect(status, shown).toBe(0);
    expect(shown).toContain("warning: the image folder $HOME/.hpcjob/images is in your home folder");
    const file = `${PROFILES}/hpcjob-test.yaml`;
    expect(shown).toContain(`wrote ${file}`);

    // The same as clusters detect writes, plus the answers that differ from its defaults.
    const d = hpcjob("alice", ["clusters", "detect", "--json"], { env: { XDG_CONFIG_HOME: XDG } });
    expect(d.status, d.stderr).toBe(0);
    const detected = parse((JSON.parse(d.stdout) as { profile: string }).profile) as Record<string, Record<string, unknown>>;
    expect(profileAt(file)).toEqual({
      ...detected,
      slurm: { ...detected.slurm, account: { default: "lab-b" } },
      container: { ...detected.container, imageDir: "$HOME/.hpcjob/images" },
    });
    expect(parse(readFileSync(CONFIG, "utf8"))).toEqual({ cluster: "hpcjob-test" });
    const v = hpcjob("alice", ["clusters", "validate", file], { env: { XDG_CONFIG_HOME: XDG } });
    expect(v.status, v.stderr).toBe(0);
    // The default cluster now: a dry run needs no --cluster and charges lab-b (HPCJOB_CLUSTERS is the test profiles' only).
    const dry = hpcjob("alice", ["batch", "--dry-run", "--image", "/tmp/any.sif", "--", "true"], {
      env: { XDG_CONFIG_HOME: XDG, HPCJOB_CLUSTERS: "" },
    });
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^#SBATCH --account=lab-b$/m);
  });

  it("Ctrl-C at a question ends init with exit 130, says nothing was written, and writes nothing", async () => {
    spawnSync(TMUX[0] as string, [...TMUX.slice(1), "kill-session", "-t", SESSION]);
    execFileSync("rm", ["-f", `${WORK}/status`]);
    const config = existsSync(CONFIG) ? readFileSync(CONFIG, "utf8") : undefined;
    startOnTerminal(["init", "--name", "stopped"]);
    await waitFor("Profile name");
    press("Enter");
    await waitFor("Login host");
    press("C-c");
    const status = await exitStatus();
    const shown = screen();
    expect(status, shown).toBe(130);
    expect(shown).toContain(
      "hpcjob: init stopped before it wrote anything; run hpcjob init again, or hpcjob init --yes to take the defaults",
    );
    expect(existsSync(`${PROFILES}/stopped.yaml`)).toBe(false);
    expect(existsSync(CONFIG) ? readFileSync(CONFIG, "utf8") : undefined).toBe(config);
  });

  it("--yes with no terminal takes the defaults: alice's default account", () => {
    const r = hpcjob("alice", ["init", "--yes", "--name", "init-yes"], { env: { XDG_CONFIG_HOME: XDG } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${PROFILES}/init-yes.yaml`);
    expect((profileAt(`${PROFILES}/init-yes.yaml`).slurm as Record<string, unknown>).account).toEqual({ default: "lab-a" });
    expect(parse(readFileSync(CONFIG, "utf8"))).toEqual({ cluster: "init-yes" });
    const v = hpcjob("alice", ["clusters", "validate", `${PROFILES}/init-yes.yaml`], { env: { XDG_CONFIG_HOME: XDG } });
    expect(v.status, v.stderr).toBe(0);
  });

  it("--yes from the laptop reads the cluster and alice's accounts over one SSH connection", () => {
    const before = aliceLogins();
    const r = hpcjob("alice", ["init", "--yes", "--remote", "hpcjob-login", "--name", "init-laptop"], {
      env: { ...laptopEnv(), XDG_CONFIG_HOME: XDG, HPCJOB_CLUSTERS: `${STAGE}/clusters` },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(aliceLogins() - before).toBe(1);
    const written = profileAt(`${PROFILES}/init-laptop.yaml`) as Record<string, Record<string, unknown>>;
    expect(written.login).toEqual({ host: "hpcjob-login" });
    expect(written.slurm?.account).toEqual({ default: "lab-a" });
  });

  it("with no terminal and no --yes says to use --yes or detect, and exits 2", () => {
    const r = hpcjob("alice", ["init"], { env: { XDG_CONFIG_HOME: XDG } });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "hpcjob: init asks questions on a terminal; use --yes to take the detected defaults, or hpcjob clusters detect -o FILE\n",
    );
  });
});
