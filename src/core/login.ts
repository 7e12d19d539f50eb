/**
 * How the user's own computer reaches a cluster's login node: the target of
 * the printed `ssh -L` tunnel, recorded with every run.
 */

/** A login node as `ssh [-p PORT] [USER@]HOST` reaches it. */
export interface LoginTarget {
  host: string;
  /** Said with -p when not 22; absent when ssh's own config chooses it (an alias). */
  port?: number;
  user?: string;
}
