/**
 * The grammar of image references, from Docker's own (distribution/reference
 * v0.6: regexp.go and normalize.go), which registries, skopeo, Apptainer and
 * enroot 4 follow. Pure; reference.ts builds messages on it.
 */

/** Docker Hub as Docker names it in a normalised reference (its API host is registry-1.docker.io). */
export const DOCKER_HUB = "docker.io";

/** A path component: lowercase letters and digits, separated by one `.`, one or two `_`, or any number of `-`. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** A host name or IPv4 address with an optional port (IPv6 literals are left out: see reference.ts). */
const DOMAIN =
  /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;

/** A tag: a word character, then up to 127 word characters, `.` or `-` (moby's graph/tags.go). */
export const TAG_ONLY = /^\w[\w.-]{0,127}$/;
/** The tag rule in words, for messages. */
export const TAG_RULE = "a tag has letters, digits, '_', '.' and '-', at most 128 of them, and does not start with '.' or '-'";

/** The only digests hpcjob accepts: sha256 with 64 lowercase hex digits (go-digest's rule for sha256). */
export const DIGEST_ONLY = /^sha256:[a-f0-9]{64}$/;
/** Anything Docker's grammar calls a digest (another algorithm, upper-case hex), to say why it is refused. */
export const LOOKS_LIKE_DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/**
 * Split NAME into registry and path as Docker does (normalize.go's
 * splitDockerDomain): the first component is a registry when it contains `.`
 * or `:` or is `localhost`. Docker also takes a first component with capital
 * letters for a registry; hpcjob does not, so `MyUser/img` is told to be
 * lowercase rather than looked up on a host called MyUser.
 */
export function splitDomain(name: string): { domain?: string; path: string } {
  const slash = name.indexOf("/");
  if (slash < 0) return { path: name };
  const first = name.slice(0, slash);
  if (first.includes(".") || first.includes(":") || first === "localhost") return { domain: first, path: name.slice(slash + 1) };
  return { path: name };
}

/** True for a registry host[:port] Docker's grammar accepts. */
export function isDomain(domain: string): boolean {
  return DOMAIN.test(domain);
}

/** Why a repository path is not valid: undefined when it is; `lower` when lower-casing would fix it. */
export function nameProblem(path: string): { lower?: string; rule: string } | undefined {
  const ok = (p: string) => p.split("/").every((c) => PATH_COMPONENT.test(c));
  if (ok(path)) return undefined;
  const rule =
    "each part between slashes has lowercase letters and digits, separated by one '.', one or two '_', or '-'s, and starts and ends with a letter or digit";
  return ok(path.toLowerCase()) ? { lower: path.toLowerCase(), rule } : { rule };
}
