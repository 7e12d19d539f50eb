/**
 * Logging in as ssh would: keys from ssh-agent (unless IdentitiesOnly), then
 * the identity files that exist (an encrypted one's passphrase asked on the
 * terminal), then keyboard-interactive (two-factor) prompts, answered once.
 * Secrets go only to ssh2, never into messages.
 */
import { existsSync, readFileSync } from "node:fs";
import { type AnyAuthMethod, type AuthHandlerMiddleware, utils } from "ssh2";
import type { Prompter } from "../prompt.js";
import type { SshTarget } from "./settings.js";

/**
 * ssh2's authHandler for `t`. Each method tried is pushed to `tried` (file
 * names and why one was skipped), for the message when none is accepted.
 */
export function authHandler(t: SshTarget, agent: string | undefined, prompter: Prompter, tried: string[]): AuthHandlerMiddleware {
  const username = t.user;
  const files = t.identityFiles.filter((f) => existsSync(f));
  const steps: (() => Promise<AnyAuthMethod | undefined>)[] = [];
  if (agent && !t.identitiesOnly) {
    steps.push(async () => {
      tried.push("ssh-agent");
      return { type: "agent", username, agent } as AnyAuthMethod;
    });
  }
  for (const file of files) {
    steps.push(async () => {
      const key = readFileSync(file);
      const parsed = utils.parseKey(key);
      if (!(parsed instanceof Error)) {
        tried.push(file);
        return { type: "publickey", username, key } as AnyAuthMethod;
      }
      if (!/passphrase/i.test(parsed.message)) {
        tried.push(`${file} (unreadable: ${parsed.message})`);
        return undefined;
      }
      if (!prompter.available) {
        tried.push(`${file} (needs a passphrase; no terminal to ask: add it to ssh-agent)`);
        return undefined;
      }
      const passphrase = await prompter.ask(`Passphrase for ${file}: `, true);
      if (utils.parseKey(key, passphrase) instanceof Error) {
        tried.push(`${file} (wrong passphrase)`);
        return undefined;
      }
      tried.push(file);
      return { type: "publickey", username, key, passphrase } as AnyAuthMethod;
    });
  }
  steps.push(async () => {
    if (!prompter.available) return undefined;
    tried.push("keyboard-interactive");
    let asked = false;
    return {
      type: "keyboard-interactive",
      username,
      prompt: (
        _name: string,
        instructions: string,
        _lang: string,
        prompts: { prompt: string; echo?: boolean }[],
        finish: (r: string[]) => void,
      ) => {
        // Answered once: a second round (a wrong code) ends the attempt instead of asking forever.
        if (asked && prompts.length > 0) return finish([]);
        asked = true;
        void (async () => {
          const answers: string[] = [];
          for (const p of prompts) answers.push(await prompter.ask(`${instructions ? `${instructions}\n` : ""}${p.prompt}`, !p.echo));
          finish(answers);
        })();
      },
    } as AnyAuthMethod;
  });
  return (_methodsLeft, _partial, next) => {
    void (async () => {
      for (let step = steps.shift(); step; step = steps.shift()) {
        const method = await step().catch((e) => {
          tried.push(`(error: ${(e as Error).message})`);
          return undefined;
        });
        if (method) return next(method);
      }
      next(false as unknown as AnyAuthMethod);
    })();
  };
}
