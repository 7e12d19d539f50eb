/**
 * The templates compiled to JavaScript at build time. The bundle replaces
 * this module with them (build/bundle.mjs), so a render parses no template;
 * run from the source tree it is undefined and templates are compiled on use.
 */

/** One compiled template, as nunjucks's PrecompiledLoader takes it. */
export type CompiledTemplate = Record<string, unknown>;

/** Compiled templates by name ("jupyter.sbatch.njk"), or undefined when running from source. */
export const compiledTemplates: Record<string, CompiledTemplate> | undefined = undefined;
