/**
 * The one nunjucks Environment: templates come from the built-in assets
 * (compiled at build time in the bundle, from templates/ in the source tree),
 * autoescape is off (these are shell scripts, not HTML), undefined variables
 * are errors, and `quote` is the only filter that turns values into words.
 */
import nunjucks from "nunjucks";
import { readAsset } from "../core/assets.js";
import { quote } from "../core/quote.js";
import { compiledTemplates } from "./compiled.js";

/** Loads templates from templates/ in the package or the executable. */
class AssetLoader extends nunjucks.Loader {
  /** The template source by name (e.g. "jupyter.sbatch.njk"). */
  getSource(name: string): nunjucks.LoaderSource {
    return { src: readAsset(`templates/${name}`), path: `templates/${name}`, noCache: false };
  }
}

let env: nunjucks.Environment | undefined;

/** The shared Environment, made on first use. */
export function templates(): nunjucks.Environment {
  if (!env) {
    // PrecompiledLoader takes a map of name -> compiled template (its typings say array).
    const loader = compiledTemplates ? new nunjucks.PrecompiledLoader(compiledTemplates as unknown as []) : new AssetLoader();
    env = new nunjucks.Environment(loader, { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true });
    env.addFilter("quote", (v: string | number) => quote(v));
    // A list of values as shell words, each quoted: the argv of a command.
    env.addFilter("words", (vs: (string | number)[]) => vs.map((v) => quote(v)).join(" "));
  }
  return env;
}
