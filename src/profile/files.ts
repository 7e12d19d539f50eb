/**
 * Reading YAML files with zod: everything that needs the yaml and zod
 * libraries, in one module loaded only when a file has to be read. In the
 * bundle this is a chunk of its own, so a built-in profile costs neither.
 * It also exports the libraries themselves (yamlLibrary, zodLibrary) for
 * code in other chunks that uses them (the request's and request.json's
 * schemas, image configs, detect's YAML): the bundle routes their imports of
 * zod and yaml here (build/bundle.mjs), so the libraries live in this chunk
 * only and load only when used.
 */
export * as yamlLibrary from "yaml";
export { stringify as toYaml } from "yaml";
export * as zodLibrary from "zod";
export { ProfileSchema, ProjectFileSchema, profileJsonSchema, SweepSchema, UserConfigSchema } from "./schema.js";
export { lineMap, locate, parseYaml, validate } from "./yamlFile.js";
