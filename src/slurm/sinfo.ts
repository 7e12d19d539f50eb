/**
 * Partitions as the cluster reports them: sinfo, to check a profile against
 * the real cluster (names, time limits, GPU types per node).
 *
 * sinfo -o prints one line per partition and group of nodes that differ in
 * a printed field (here only GRES can differ), and ignores --summarize when
 * -o is given, so parseSinfo folds the lines of one partition together.
 */
import { outputFormat, splitRecords } from "./fields.js";

/** One partition. */
export interface PartitionInfo {
  name: string;
  /** The partition jobs go to when they name none (sinfo marks it with "*"). */
  isDefault: boolean;
  /** Slurm's text: "2-00:00:00", "1:00:00" or "infinite". */
  maxTime: string;
  /** GPUs per node by type (type undefined for untyped "gpu:N"); the most any node of the partition has. */
  gpus: { type?: string; count: number }[];
  nodes: number;
}

// sinfo -o codes (sinfo(1), Slurm 22.05): %P partition, %l time limit,
// %G generic resources of the nodes, %D node count.
const SINFO_CODES = ["%P", "%l", "%G", "%D"] as const;

/** `-o` format of sinfoArgv. */
export const SINFO_FORMAT = outputFormat(SINFO_CODES);

/** sinfo for every partition: name, time limit, GRES and node count. */
export function sinfoArgv(): string[] {
  return ["sinfo", "-h", "-o", SINFO_FORMAT];
}

/** GPUs in a GRES list such as `gpu:A40:2(S:0),gpu:T4:1`, `gpu:2` or `(null)`; other GRES are left out. */
export function parseGres(gres: string): { type?: string; count: number }[] {
  const gpus: { type?: string; count: number }[] = [];
  // Commas inside "(S:0,1)" belong to the socket list, not between GRES.
  for (const item of gres.split(/,(?![^(]*\))/)) {
    const parts = item.replace(/\(.*\)$/, "").split(":");
    const count = parts.at(-1) ?? "";
    if (parts[0] !== "gpu" || !/^\d+$/.test(count)) continue;
    gpus.push(parts.length >= 3 ? { type: parts[1], count: Number(count) } : { count: Number(count) });
  }
  return gpus;
}

/** The partitions in sinfoArgv's output, in sinfo's order, one entry per partition. */
export function parseSinfo(stdout: string): PartitionInfo[] {
  const byName = new Map<string, PartitionInfo>();
  for (const [rawName = "", maxTime = "", gres = "", nodes = ""] of splitRecords(stdout, SINFO_CODES.length, "sinfo")) {
    const name = rawName.replace(/\*$/, "");
    let p = byName.get(name);
    if (!p) {
      p = { name, isDefault: rawName.endsWith("*"), maxTime, gpus: [], nodes: 0 };
      byName.set(name, p);
    }
    p.nodes += Number(nodes) || 0;
    for (const g of parseGres(gres)) {
      const same = p.gpus.find((h) => h.type === g.type);
      if (!same) p.gpus.push(g);
      else same.count = Math.max(same.count, g.count);
    }
  }
  return [...byName.values()];
}
