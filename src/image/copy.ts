/**
 * COPY and ADD as an Apptainer definition does them in the right order.
 *
 * Apptainer copies every %files entry into the image before %post runs, so
 * writing COPY as %files (as spython does) lets a RUN before the COPY see
 * its files, and lets a later RUN (apt-get writing /etc/app.conf, a git
 * clone into a folder the COPY filled) change or trip over what the COPY
 * put there. Here %files only stages each source under /.hpcjob-files, and
 * %post moves it into place at the point of the Dockerfile where the COPY
 * was, with Docker's rules (a folder's contents merge into the destination;
 * a file becomes the destination, or goes into it when that ends in / or is
 * a folder). --chown and --chmod change the staged copy first, so only what
 * was copied changes owner and mode. The staging folder is removed at the
 * end of %post.
 */
import { posix } from "node:path";
import { quote } from "../core/quote.js";

/** Where %files stages sources inside the image, until %post moves them. */
export const STAGING = "/.hpcjob-files";

/** The shell function %post uses to put a staged source where COPY puts it (defined once, before the first use). */
export const COPY_FUNCTION = [
  "# COPY and ADD: %files (which Apptainer runs before %post) staged each source",
  `# in ${STAGING}; hpcjob_copy puts it in place at the point of the Dockerfile`,
  "# where it was copied, so RUN lines before it do not see it and RUN lines after",
  "# it do. A folder's contents merge into the destination; a file becomes the",
  "# destination, or goes into it when that ends in / or is a folder.",
  "hpcjob_copy() {",
  '    if [ -d "$1" ]; then',
  '        mkdir -p "$2" && cp -a "$1"/. "$2"',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template.
  '    elif [ -d "$2" ] || [ "${2%/}" != "$2" ]; then',
  '        mkdir -p "$2" && cp -a "$1" "$2"',
  "    else",
  '        mkdir -p "$(dirname "$2")" && cp -a "$1" "$2"',
  "    fi",
  "}",
];

/** The function for wildcard sources: each match, which %files put in one folder, is a source of its own. */
export const MATCHES_FUNCTION = [
  "# hpcjob_copy_matches FOLDER TO: hpcjob_copy for each match of a wildcard source.",
  "hpcjob_copy_matches() {",
  '    for hpcjob_match in "$1"/* "$1"/.[!.]* "$1"/..?*; do',
  '        if [ -e "$hpcjob_match" ] || [ -L "$hpcjob_match" ]; then hpcjob_copy "$hpcjob_match" "$2"; fi',
  "    done",
  "}",
];

/** The archives ADD unpacks (Docker looks at the content; a name is what a definition can go by). */
const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst)$/i;

/** A source as the build context holds it, checked for what %files can name. */
export interface Source {
  /** Relative to the build context, normalized (`.` for the whole context). */
  path: string;
  /** A wildcard pattern (`*`, `?`, `[...]`). */
  wildcard: boolean;
}

/** Why %files cannot name `path`, or undefined when it can: Apptainer reads each source through sh (`for n in SRC`). */
export function unnamable(path: string): string | undefined {
  const bad = /[^\p{L}\p{N}._/@%+,:=~ *?[\]!-]/u.exec(path)?.[0];
  if (bad !== undefined) return `it has ${JSON.stringify(bad)}`;
  if (/^[~%]/.test(path)) return `it starts with ${path[0]}`;
  return undefined;
}

/** A source path of COPY as Docker resolves it: inside the build context, `..` and a leading / going no further than its top. */
export function contextPath(raw: string): Source {
  const path = posix.normalize(`/${raw}`).replace(/\/+$/, "").slice(1) || ".";
  return { path, wildcard: /[*?[]/.test(path) };
}

/** True when ADD would unpack this local source. */
export function isArchive(path: string): boolean {
  return ARCHIVE.test(path);
}

/** A path as a %files line holds it: in double quotes when it has spaces (Apptainer splits the line at spaces outside them). */
function filesWord(path: string): string {
  return /\s/.test(path) ? `"${path}"` : path;
}

/** What one COPY or ADD adds to %files and %post. */
export interface CopyLines {
  files: string[];
  post: string[];
  wildcard: boolean;
}

/** The %files and %post lines for one COPY/ADD: each source staged as number `first`, `first + 1` ... */
export function copyLines(
  sources: Source[],
  dest: string,
  /** chown: the owner as shell text (it may ask `id` for a user's number); chmod: a mode as chmod takes it. */
  opts: { first: number; add: boolean; chown?: string; chmod?: string },
): CopyLines {
  const files: string[] = [];
  const post: string[] = [];
  sources.forEach((src, i) => {
    const folder = `${STAGING}/${opts.first + i}`;
    const name = src.path === "." ? "context" : posix.basename(src.path);
    // A wildcard's matches go into the folder by their own names; any other source is staged under its name.
    const staged = src.wildcard ? folder : `${folder}/${name}`;
    files.push(`${filesWord(src.path)} ${filesWord(src.wildcard ? `${folder}/` : staged)}`);
    let target = staged;
    if (opts.add && !src.wildcard && isArchive(src.path)) {
      // ADD unpacks a local archive into the destination, as a folder's contents.
      target = `${folder}/unpacked`;
      post.push(`mkdir -p ${quote(target)} && tar -xf ${quote(staged)} -C ${quote(target)}`);
    }
    if (opts.chown) post.push(`chown -R ${opts.chown} ${quote(target)}`);
    if (opts.chmod) post.push(`chmod -R ${quote(opts.chmod)} ${quote(target)}`);
    post.push(`${src.wildcard ? "hpcjob_copy_matches" : "hpcjob_copy"} ${quote(target)} ${quote(dest)}`);
  });
  return { files, post, wildcard: sources.some((s) => s.wildcard) };
}
