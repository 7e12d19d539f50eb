/**
 * What a compiled template is: a function of its context and the helpers it
 * calls. Shared by the compiler's output (compiled.ts) and the renderer
 * (environment.ts).
 */

/** The helpers a compiled template calls. */
export interface TemplateHelpers {
  /** A value to print: as it is, but null or undefined is an error at `where` (TEMPLATE:LINE:COLUMN). */
  out(value: unknown, where: string): unknown;
  /** `obj.key`: undefined for a missing obj, a method bound to obj. */
  member(obj: unknown, key: unknown): unknown;
  /** Call `fn` (named `name` in errors) with `args`. */
  call(fn: unknown, name: string, self: unknown, args: unknown[]): unknown;
  /** What a loop walks: an iterable as an array, anything else as it is. */
  iter(value: unknown): unknown;
  /** The output of another template, with the same context. */
  include(name: unknown, ctx: TemplateContext): string;
  quote(value: string | number): string;
  words(values: (string | number)[]): string;
  join(values: unknown[], separator?: string, attribute?: string): string;
}

/** The values a template sees by name. */
export type TemplateContext = Record<string, unknown>;

/** A compiled template. */
export type Template = (ctx: TemplateContext, h: TemplateHelpers) => string;

/** Compiled templates by name ("jupyter.sbatch.njk"). */
export type Templates = Record<string, Template>;
