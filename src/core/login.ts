/**
 * How the user's own computer reaches a cluster's login node: the target of
 * the printed `ssh -L` tunnel, recorded with every run.
 */

/** A login node as `ssh [-p PORT] [USER@]HOST` reaches it. */
export interface LoginTarget {
  host: string;
  port: number;
  user?: string;
}
