/**
 * %runscript as Docker runs a container: ENTRYPOINT, then CMD or the
 * arguments (to `apptainer run`, as to `docker run`), in the last WORKDIR.
 */
import { quote } from "../core/quote.js";

/** A runscript command: the exec form's words, with the line that set it. */
export interface Command {
  argv: string[];
  line: number;
}

/** What the stage set: the WORKDIR (if any), the last ENTRYPOINT and CMD, and whether this stage set a CMD. */
export interface Runnable {
  workdir: string | undefined;
  entrypoint: Command | undefined;
  cmd: Command | undefined;
  cmdSet: boolean;
}

/** The lines of %runscript; none when the Dockerfile sets neither ENTRYPOINT nor CMD (the base image's runscript stays). */
export function runscriptLines(r: Runnable): string[] {
  if (!r.entrypoint && !r.cmdSet) return [];
  const lines: string[] = [];
  if (r.workdir !== undefined) lines.push(`cd ${quote(r.workdir)} || exit 1`);
  const entry = r.entrypoint?.argv ?? [];
  const cmd = r.cmd?.argv ?? [];
  if (r.entrypoint) lines.push(`# ENTRYPOINT (Dockerfile:${r.entrypoint.line}), with the CMD or the arguments to apptainer run after it.`);
  else lines.push("# CMD without ENTRYPOINT: an ENTRYPOINT of the base image, if it has one, does not run first here.");
  if (cmd.length > 0) {
    lines.push(
      `# CMD (Dockerfile:${r.cmd?.line}) is the default; arguments to apptainer run replace it, as those to docker run do.`,
      'if [ "$#" -eq 0 ]; then',
      `    set -- ${cmd.map(quote).join(" ")}`,
      "fi",
    );
  }
  if (entry.length === 0 && cmd.length === 0) {
    lines.push(
      'if [ "$#" -eq 0 ]; then',
      '    echo "no command: the image\'s ENTRYPOINT and CMD are empty; give one to apptainer run" >&2',
      "    exit 1",
      "fi",
    );
  }
  lines.push(`exec ${[...entry.map(quote), '"$@"'].join(" ")}`);
  return lines;
}
