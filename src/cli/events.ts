/**
 * How a progress event reads: one line each, on stderr.
 */
import type { WaitEvent } from "../core/events.js";

/** One line of text for an event. */
export function describeEvent(e: WaitEvent): string {
  switch (e.kind) {
    case "submitted":
      return `submitted job ${e.jobId}; run directory ${e.runDir}`;
    case "pending": {
      const start = e.startTime ? `; Slurm expects it to start at ${e.startTime}` : "";
      return `job ${e.jobId} is pending: ${e.reasonText} (${e.reason})${start}`;
    }
    case "starting":
      return `job ${e.jobId} is running on ${e.node}; waiting for Jupyter to answer`;
    case "controller-down":
      return `the Slurm controller does not answer; still waiting for job ${e.jobId}`;
    case "controller-back":
      return `the Slurm controller answers again`;
    case "progress":
    case "note":
      return e.text;
  }
}
