/**
 * The version and commit, stamped in by the build (build/bundle.mjs).
 */
declare const __HPCJOB_VERSION__: string;
declare const __HPCJOB_COMMIT__: string;

/** `hpcjob 0.1.0 (commit abc1234)`; from source, 0.0.0-dev and unknown. */
export function versionText(): string {
  const version = typeof __HPCJOB_VERSION__ === "string" ? __HPCJOB_VERSION__ : "0.0.0-dev";
  const commit = typeof __HPCJOB_COMMIT__ === "string" ? __HPCJOB_COMMIT__ : "unknown";
  return `hpcjob ${version} (commit ${commit})`;
}
