/**
 * The built-in profiles, validated at build time. The bundle replaces this
 * module with them (build/bundle.mjs), so a built-in profile costs neither
 * YAML nor zod; run from the source tree it is undefined and they are read
 * and validated on use.
 */
import type { Profile } from "./schema.js";

/** Built-in profiles that extend nothing, with every default filled in, by name; undefined from source. */
export const builtinProfiles: Record<string, Profile> | undefined = undefined;
