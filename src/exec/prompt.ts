/**
 * Asking the user something on the terminal (a key's passphrase, a
 * two-factor code). cli.ts provides the implementation; without a terminal
 * nothing can be asked.
 */

/** Asks questions on the user's terminal. */
export interface Prompter {
  /** False when there is no terminal to ask on. */
  readonly available: boolean;
  /** Ask once; `hidden` for secrets (nothing is echoed). */
  ask(question: string, hidden: boolean): Promise<string>;
}
