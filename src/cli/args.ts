/**
 * Reading the words after `hpcjob batch` the way commander reads them, for
 * what commander does not say: whether the user put `--` before the program.
 */

/**
 * True when the user put `--` before the program: then it runs as given.
 * Reads the command's own words (`args`, after `batch`) as commander does:
 * an option that takes a value takes the next word, even `--`, so
 * `--name python -- python x.py` is explicit and `--name -- x.py` is not.
 */
export function explicitCommand(args: readonly string[], takesValue: ReadonlySet<string>): boolean {
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? "";
    if (word === "--") return true;
    if (word.startsWith("--")) {
      if (!word.includes("=") && takesValue.has(word)) i++;
    } else if (word.startsWith("-") && word.length > 1) {
      // A cluster of short options (-fn NAME): the first that takes a value takes the rest, or the next word.
      const at = [...word.slice(1)].findIndex((c) => takesValue.has(`-${c}`));
      if (at >= 0 && at === word.length - 2) i++;
    } else {
      return false; // the program
    }
  }
  return false;
}
