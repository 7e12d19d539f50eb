/**
 * The conversion script: the request's values quoted once, here and in the
 * template (convert.sh.njk with the runtime's convert/*.njk partial).
 */
import { quote } from "../core/quote.js";
import type { ClusterFolder } from "../core/values.js";
import { type ConversionRequest, conversionDirectives } from "../image/conversion.js";
import { renderTemplate } from "./environment.js";
import { directiveLines } from "./sbatch.js";

/** A cluster folder as one shell word: a home folder's path is known only there, so "$HOME" is left to the shell. */
export function folderWord(f: ClusterFolder): string {
  if (f.under === "root") return quote(f.path);
  return f.path === "" ? '"$HOME"' : `"$HOME"/${quote(f.path)}`;
}

/** The conversion script for `req`, its log `log`; with #SBATCH lines when it runs as a job. */
export function renderConversion(req: ConversionRequest, log: string): string {
  const ext = req.runtime.imageExt ?? "";
  return renderTemplate("convert.sh.njk", {
    directives: req.job ? directiveLines(conversionDirectives(req.job, log)) : [],
    cluster: req.cluster,
    runtime: req.runtime.name,
    converter: req.converter,
    ref: req.image.ref,
    source: req.image.source,
    digest: req.image.digest,
    platform: req.image.platform,
    imageDir: folderWord(req.imageDir),
    cacheDir: req.cacheDir ? folderWord(req.cacheDir) : "",
    tmpDir: req.tmpDir ? folderWord(req.tmpDir) : "",
    fileName: req.fileName,
    partPrefix: `.${req.image.stem}.part-`,
    ext,
    force: req.force ? "yes" : "no",
    tmpBytes: req.tmpBytes,
    outBytes: req.outBytes,
    sent: req.sent ?? "",
    unpack: req.unpack,
    modules: req.modules,
    setup: req.setup,
    // The job's variables are the job's: a conversion exports none.
    env: [],
  });
}
