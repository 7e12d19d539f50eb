/**
 * `hpcjob image def Dockerfile`: the Apptainer definition file that builds
 * the same image on the cluster, on stdout or in a file (-o), with what did
 * not carry over reported as warnings (stderr).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { toDefinition } from "../image/definition.js";
import { parseDockerfile } from "../image/dockerfile.js";
import { unreadable } from "../profile/userFile.js";
import type { Context, Done } from "./context.js";
import { writeOutputFile } from "./outputFile.js";

/** The flags of `image def`. */
export interface ImageDefFlags {
  output?: string;
  buildArg?: string[];
}

/** What `image def` made: the definition, where it went, and what did not carry over. */
export interface ImageDef {
  dockerfile: string;
  /** The file written (-o); undefined when the definition goes to stdout. */
  output?: string;
  from: string;
  /** The definition copies files from the build context (apptainer build must run there). */
  copies: boolean;
  warnings: string[];
  definition: string;
}

/** --build-arg NAME=VALUE, or NAME alone for the value in this environment (as docker build takes it). */
function buildArgs(values: string[], env: Record<string, string | undefined>): Map<string, string | undefined> {
  const args = new Map<string, string | undefined>();
  for (const v of values) {
    const at = v.indexOf("=");
    const name = at < 0 ? v : v.slice(0, at);
    if (!/^[^\s=]+$/.test(name)) throw new UsageError(`--build-arg ${JSON.stringify(v)} is not NAME=VALUE; write --build-arg NAME=VALUE`);
    args.set(name, at < 0 ? env[name] : v.slice(at + 1));
  }
  return args;
}

/** The Dockerfile's text; a path that cannot be read is bad input (exit 2). */
function readDockerfile(path: string, shown: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const why = unreadable(shown, e);
    if (why) throw new UsageError(`${why}; give the path of a Dockerfile`);
    throw e;
  }
}

/** Translate a Dockerfile into an Apptainer definition: on stdout, or written to -o FILE. */
export async function imageDef(dockerfile: string, flags: ImageDefFlags, ctx: Context): Promise<Done<ImageDef>> {
  const args = buildArgs(flags.buildArg ?? [], ctx.env);
  const path = resolve(ctx.cwd, dockerfile);
  const output = flags.output === "-" ? undefined : flags.output;
  if (output !== undefined && resolve(ctx.cwd, output) === path) {
    throw new UsageError(`-o ${output} is the Dockerfile itself; write the definition to another file (-o ${output}.def)`);
  }
  const def = toDefinition(parseDockerfile(readDockerfile(path, dockerfile), dockerfile), { file: dockerfile, buildArgs: args });
  const copies = /^%files$/m.test(def.text);
  const warnings = [...def.warnings];
  const ignore = join(dirname(dockerfile), ".dockerignore");
  if (copies && existsSync(join(dirname(path), ".dockerignore"))) {
    warnings.push(
      `${ignore} is not followed: %files copies whole folders, ignored files too; move what it excludes out of the build context, or COPY only what the image needs`,
    );
  }
  // Written first: when the file cannot be written, that one line is all there is to say.
  if (output !== undefined) writeOutputFile(resolve(ctx.cwd, output), def.text, output, true);
  for (const text of warnings) ctx.report({ kind: "note", text });
  return { data: { dockerfile, output, from: def.from, copies, warnings, definition: def.text } };
}
