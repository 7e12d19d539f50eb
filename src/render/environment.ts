/**
 * Rendering a template: the compiled templates (compiled.ts) and the helpers
 * their code calls, which do what nunjucks's runtime does for the syntax the
 * compiler supports (codegen.ts): autoescape off (these are shell scripts,
 * not HTML), null and undefined values an error, and `quote` the only filter
 * that turns values into words.
 */
import { quote } from "../core/quote.js";
import { compiledTemplates } from "./compiled.js";
import type { TemplateContext, TemplateHelpers, Templates } from "./template.js";

/** An error while rendering: a bug in a template or in the data given to it. */
function renderError(where: string, message: string): Error {
  return new Error(`template render error at templates/${where}: ${message}`);
}

/** The helpers for templates drawn from `templates`. */
function helpersFor(templates: Templates): TemplateHelpers {
  const helpers: TemplateHelpers = {
    out(value, where) {
      if (value === null || value === undefined) throw renderError(where, "attempted to output null or undefined value");
      return value;
    },
    member(obj, key) {
      if (obj === undefined || obj === null) return undefined;
      const record = obj as Record<PropertyKey, unknown>;
      const value = record[key as PropertyKey];
      return typeof value === "function" ? (...args: unknown[]) => value.apply(record, args) : value;
    },
    call(fn, name, self, args) {
      if (!fn) throw new Error(`Unable to call \`${name}\`, which is undefined or falsey`);
      if (typeof fn !== "function") throw new Error(`Unable to call \`${name}\`, which is not a function`);
      return fn.apply(self, args);
    },
    iter(value) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
      return Symbol.iterator in value ? Array.from(value as Iterable<unknown>) : value;
    },
    include(name, ctx) {
      return render(templates, String(name), ctx, helpers);
    },
    quote: (value) => quote(value),
    // A list of values as shell words, each quoted: the argv of a command.
    words: (values) => values.map((v) => quote(v)).join(" "),
    join(values, separator, attribute) {
      const items = attribute ? values.map((v) => (v as Record<string, unknown>)[attribute]) : values;
      return items.join(separator || "");
    },
  };
  return helpers;
}

/** The template `name` of `templates` rendered with `ctx`. */
function render(templates: Templates, name: string, ctx: TemplateContext, helpers: TemplateHelpers): string {
  const template = Object.hasOwn(templates, name) ? templates[name] : undefined;
  if (!template) throw new Error(`template not found: ${name}`);
  return template(ctx, helpers);
}

/** Render the template `name` of `templates` (by default hpcjob's own, e.g. "jupyter.sbatch.njk") with `ctx`. */
export function renderTemplate(name: string, ctx: TemplateContext, templates: Templates = compiledTemplates): string {
  return render(templates, name, ctx, helpersFor(templates));
}
