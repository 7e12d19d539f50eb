/**
 * The version and commit, stamped in by the build (build/bundle.mjs).
 */
declare const __HPCJOB_VERSION__: string;
declare const __HPCJOB_COMMIT__: string;
declare const __HPCJOB_SOURCES__: string;

/** `hpcjob 0.1.0 (commit abc1234)`; from source, 0.0.0-dev and unknown. */
export function versionText(): string {
  const version = typeof __HPCJOB_VERSION__ === "string" ? __HPCJOB_VERSION__ : "0.0.0-dev";
  const commit = typeof __HPCJOB_COMMIT__ === "string" ? __HPCJOB_COMMIT__ : "unknown";
  return `hpcjob ${version} (commit ${commit})`;
}

/**
 * What tells this build from any other, for caches of what it validated: the
 * version, the commit and a hash of the sources it was built from (a build
 * from a changed tree has the same commit). Undefined from source, where no
 * build says when the schema changed.
 */
export function buildKey(): string | undefined {
  return typeof __HPCJOB_SOURCES__ === "string" ? `${versionText()} sources ${__HPCJOB_SOURCES__}` : undefined;
}
