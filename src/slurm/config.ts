/**
 * The cluster's configuration as the controller reports it: `scontrol show
 * config`, read as `Key = value` text (its --json form is ignored since
 * Slurm 24.05, and the text has kept one shape since long before 22.05).
 */

/** `scontrol show config`: every setting of the running controller. */
export function scontrolShowConfigArgv(): string[] {
  return ["scontrol", "show", "config"];
}

/** The `Key = value` lines of `scontrol show config`, by key; "(null)" values are left out. */
export function parseShowConfig(stdout: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of stdout.split(/\r?\n/)) {
    // Keys are single words (ClusterName, MaxArraySize, SLURM_VERSION); the
    // header "Configuration data as of ..." and the ping lines have no " = ".
    const m = /^([A-Za-z][\w/.-]*)\s+=\s?(.*)$/.exec(line);
    if (!m?.[1]) continue;
    const value = (m[2] ?? "").trim();
    if (value !== "(null)" && !settings.has(m[1])) settings.set(m[1], value);
  }
  return settings;
}
