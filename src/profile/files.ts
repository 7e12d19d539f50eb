/**
 * Reading YAML files with zod: everything that needs the yaml and zod
 * libraries, in one module loaded only when a file has to be read. In the
 * bundle this is a chunk of its own, so a built-in profile costs neither.
 */
export { stringify as toYaml } from "yaml";
export { ProfileSchema, ProjectFileSchema, profileJsonSchema, SweepSchema, UserConfigSchema } from "./schema.js";
export { lineMap, locate, parseYaml, validate } from "./yamlFile.js";
