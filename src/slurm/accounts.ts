/**
 * The Slurm accounts a user may charge, from the accounting database
 * (`sacctmgr`): one script run on the login node, read here. Pure: the script
 * is data and the parser takes its text. Sites without accounting (or a
 * database that does not answer) give a reason instead of accounts.
 */
import { quote } from "../core/quote.js";
import { isName } from "../core/values.js";
import { parseSections, section } from "./detect.js";

/** The user's accounts on the cluster, the one Slurm charges by default, or why they could not be read. */
export type UserAccounts = { accounts: string[]; defaultAccount?: string } | { problem: string };

/**
 * The script: the user's associations on this cluster (an account once per
 * partition it is limited to, so repeats are dropped later) and their
 * DefaultAccount. The user is the one logged in on the cluster (`id -un`),
 * not the laptop's; the cluster's name reaches the shell through quote().
 */
export function accountsScript(clusterName?: string): string {
  const cluster = clusterName === undefined ? "" : ` ${quote(`cluster=${clusterName}`)}`;
  return [
    // sacctmgr retries a missing database for a minute: bounded.
    section("assoc", `timeout 20 sacctmgr -nP show assoc "user=$(id -un)"${cluster} format=account`),
    section("default", `timeout 20 sacctmgr -nP show user "$(id -un)" format=defaultaccount`),
  ].join("\n");
}

/** The accounts in accountsScript's output, sorted, without repeats, or what sacctmgr said when it failed. */
export function parseAccounts(stdout: string): UserAccounts {
  const sections = parseSections(stdout);
  const assoc = sections.get("assoc");
  const said = (assoc?.text ?? "").trim();
  if (assoc?.code !== 0 || /error/i.test(said)) {
    const line = said.split("\n").find(Boolean) ?? "sacctmgr printed nothing";
    return { problem: assoc ? line : "sacctmgr did not run" };
  }
  const accounts = [...new Set(said.split("\n").map((l) => l.trim().split("|")[0] ?? ""))].filter((a) => a !== "" && isName(a)).sort();
  const def = sections.get("default");
  const first = def?.code === 0 ? def.text.trim().split("\n")[0]?.trim() : undefined;
  return { accounts, ...(first && accounts.includes(first) ? { defaultAccount: first } : {}) };
}
