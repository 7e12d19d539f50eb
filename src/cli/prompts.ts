/**
 * The terminal's question widgets (@inquirer/prompts). A chunk of its own in
 * the bundle (build/bundle.mjs), loaded only when `hpcjob init` asks: no other
 * command, and no dry run, pays for it.
 */
export { confirm, input, select } from "@inquirer/prompts";
