/**
 * The templates as JavaScript functions (see codegen.ts). Run from the
 * source tree they are compiled from templates/ when this module loads; the
 * bundle replaces this module with the same functions compiled at build time
 * (build/bundle.mjs), so it carries no template engine and parses nothing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assetRoot } from "../core/assets.js";
import { compileTemplates } from "./codegen.js";
import type { Templates } from "./template.js";

/** Every template under templates/ by its name there ("partials/header.njk"), from the source tree. */
function templateSources(): Record<string, string> {
  const dir = join(assetRoot(), "templates");
  const names = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".njk"));
  return Object.fromEntries(names.map((name) => [name, readFileSync(join(dir, name), "utf8")]));
}

/** The compiled templates by name ("jupyter.sbatch.njk"). */
export const compiledTemplates: Templates = new Function(`return ${compileTemplates(templateSources())};`)();
