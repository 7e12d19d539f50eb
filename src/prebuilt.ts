/**
 * What the build computes ahead of time: the templates compiled to
 * JavaScript, and the built-in profiles already validated. The bundle
 * replaces this module with that data (build/bundle.mjs), so a dry-run render
 * parses no template and loads neither YAML nor zod for a built-in profile.
 * Run from the source tree it is undefined, and both are done at run time.
 */
import type { Profile } from "./profile/schema.js";

/** One compiled template, as nunjucks's PrecompiledLoader takes it. */
export type CompiledTemplate = Record<string, unknown>;

/** Compiled templates by name, and validated built-in profiles by name. */
export interface Prebuilt {
  templates: Record<string, CompiledTemplate>;
  /** Built-in profiles that extend nothing, validated with every default filled in. */
  profiles: Record<string, Profile>;
}

/** The build's data, or undefined when running from source. */
export const prebuilt: Prebuilt | undefined = undefined;
