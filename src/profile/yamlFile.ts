/**
 * YAML files with positions: parse, validate against a zod schema, and turn
 * every problem into one line `FILE:LINE key.path: what is wrong`.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml";
import type { z } from "zod";
import { ProfileError } from "../core/errors.js";
import { closest } from "../core/suggest.js";
import { formatPath, type LineMap } from "./places.js";

/** A parsed YAML file that still knows where each key came from. */
export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
}

/** A problem at a key path, before it is given a file and line. */
export interface PathIssue {
  path: PropertyKey[];
  message: string;
}

/** Aliases a file may expand, in all: enough for any profile, far too few for a "billion laughs" file. */
const MAX_ALIASES = 100;

/** The line of the first alias (`*name`) in a document, or of the first one to no anchor with `unresolved`. */
function aliasLine(doc: Document, lines: LineCounter, unresolved: boolean): number {
  let line = 1;
  visit(doc, {
    Alias(_, node) {
      if (unresolved && node.resolve(doc) !== undefined) return undefined;
      if (node.range) line = lines.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

/**
 * Parse YAML text; a syntax error, an unknown alias or too many aliases
 * becomes a ProfileError naming file and line. With `asText`, every scalar
 * is the text written (YAML's failsafe schema): what a sweep's values are.
 */
export function parseYaml(file: string, text: string, asText = false): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, ...(asText ? { schema: "failsafe" } : {}) });
  const err = doc.errors[0];
  if (err) {
    // An error at the end of the file (an unclosed bracket or quote) is shown on the last line with text.
    const line = lines.linePos(Math.min(err.pos[0], Math.max(text.trimEnd().length - 1, 0))).line;
    const what = err.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "");
    throw new ProfileError(`${file}:${line} YAML syntax error: ${what}; fix the indentation or quoting there`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES }) ?? {};
  } catch (e) {
    // toJS throws a ReferenceError for an alias to no anchor and for an alias bomb.
    if (!(e instanceof ReferenceError)) throw e;
    const bomb = /Excessive alias count/.test(e.message);
    const line = aliasLine(doc, lines, !bomb);
    const why = bomb
      ? `its aliases (*name) expand to too much data; write the values out instead of aliasing them`
      : `${e.message.replace(/\.$/, "")}; define the anchor (&name) before using it`;
    throw new ProfileError(`${file}:${line} YAML: ${why}`);
  }
  return { file, doc, lines, data };
}

/** The line of the deepest node on `path` that exists in the file, or undefined if none does. */
export function lineOf(src: YamlSource, path: readonly PropertyKey[], key?: string): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    const node = sub.length === 0 ? src.doc.contents : src.doc.getIn(sub as unknown[], true);
    if (node === undefined || node === null) continue;
    // For an unknown key, point at the key itself rather than at its parent map.
    if (key !== undefined && n === path.length && isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && it.key.value === key);
      const range = (pair?.key as { range?: [number, number] } | undefined)?.range;
      if (range) return src.lines.linePos(range[0]).line;
    }
    const range = (node as { range?: [number, number] }).range;
    if (range) return src.lines.linePos(range[0]).line;
  }
  return undefined;
}

/**
 * The line of every node of a source by key path, reached as `lineOf` reaches
 * them (a key's value by the key, a list item by its index; not through
 * aliases), so `placeIn` gives the place `locate` would, without the YAML.
 */
export function lineMap(src: YamlSource): LineMap {
  const lines: LineMap = {};
  const walk = (node: unknown, path: (string | number)[]): void => {
    const range = (node as { range?: [number, number] } | null)?.range;
    const key = JSON.stringify(path);
    if (range && !(key in lines)) lines[key] = src.lines.linePos(range[0]).line;
    if (isMap(node)) {
      // The first pair with a key is the one a path reaches (files with repeated keys are refused anyway).
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? pair.key.value : undefined;
        if ((typeof k === "string" || typeof k === "number") && !seen.has(k)) walk(pair.value, [...path, k]);
        seen.add(k);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item, [...path, i]);
      });
    }
  };
  walk(src.doc.contents, []);
  return lines;
}

/** How deep into `path` a source has keys: 0 when it holds none of it. */
function depthIn(src: YamlSource, path: readonly PropertyKey[]): number {
  for (let n = path.length; n > 0; n--) if (src.doc.hasIn(path.slice(0, n) as unknown[])) return n;
  return 0;
}

/** `FILE:LINE path: message`, choosing the source (child before base) that holds most of the path. */
export function locate(sources: readonly YamlSource[], issue: PathIssue, key?: string): string {
  const fullPath = key === undefined ? issue.path : [...issue.path, key];
  let best = sources[0];
  let bestDepth = -1;
  for (const src of sources) {
    const d = depthIn(src, fullPath);
    if (d > bestDepth) [best, bestDepth] = [src, d];
  }
  const where = best ? `${best.file}:${lineOf(best, issue.path, key) ?? 1}` : "";
  return `${where} ${formatPath(fullPath)}: ${issue.message}`;
}

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** Keys an object schema accepts at `path`, for suggestions on unknown keys. */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  const steps = [...path];
  while (s) {
    const def = defOf(s);
    if (def.innerType) {
      s = def.innerType;
      continue;
    }
    if (steps.length === 0) return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
    const step = steps.shift();
    if (def.type === "object" && def.shape) s = def.shape[String(step)];
    else if (def.type === "array") s = def.element;
    else if (def.type === "record") s = def.valueType;
    else return [];
  }
  return [];
}

/** How a message names the types zod expects. */
const TYPE_WORDS: Record<string, string> = { int: "a whole number", array: "a list", record: "a map" };

/** "a string", "an object". */
function article(word: string): string {
  return `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;
}

/** One readable sentence (with the fix) for one zod issue. */
function describe(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return `is required (${issue.expected}); add it`;
      return `must be ${TYPE_WORDS[issue.expected] ?? article(issue.expected)}, not ${Array.isArray(input) ? "a list" : input === null ? "empty" : article(typeof input)}`;
    case "invalid_value":
      if (input === undefined) return `is required: one of ${issue.values.map((v) => String(v)).join(", ")}; add it`;
      return `must be one of ${issue.values.map((v) => String(v)).join(", ")}, not ${JSON.stringify(input)}`;
    case "too_small": {
      const least = issue.inclusive === false ? `more than ${String(issue.minimum)}` : `at least ${String(issue.minimum)}`;
      return issue.origin === "array" ? `must list ${least} item(s)` : `must be ${least}${issue.origin === "string" ? " characters" : ""}`;
    }
    case "too_big":
      return `must be at most ${String(issue.maximum)}`;
    case "custom":
      // A parser's own message, which already shows the value and says the fix.
      return issue.message;
    default:
      return input === undefined ? issue.message : `${issue.message}, not ${JSON.stringify(input)}`;
  }
}

/**
 * For a value that matched none of a union's shapes (a sweep's grid or list),
 * the first problem inside the shape it has (a list for a list), with its full
 * path; undefined when it has none of the shapes, which `describe` says.
 */
function unionBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue | undefined {
  if (issue.code !== "invalid_union") return undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first && (first.path.length > 0 || first.code !== "invalid_type")) {
      const nested = { ...first, path: [...issue.path, ...first.path] } as z.core.$ZodIssue;
      return unionBranch(nested) ?? nested;
    }
  }
  return undefined;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * Validate `data` (merged from `sources`, child first) against `schema`.
 * Returns the parsed value, or throws a ProfileError whose one line names the
 * file, line and key path of the first problem and says how to fix it.
 */
export function validate<S extends z.ZodType>(schema: S, data: unknown, sources: readonly YamlSource[], what: string): z.infer<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  // A misspelled key also makes the real key "missing": report the misspelling, the cause.
  const issues = result.error.issues as z.core.$ZodIssue[];
  const issue = (issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]) as z.core.$ZodIssue;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const known = knownKeys(schema, issue.path);
    const guess = closest(key, known);
    const fix = guess ? `did you mean "${guess}"?` : `remove it; ${what} keys here are: ${known.join(", ")}`;
    throw new ProfileError(locate(sources, { path: issue.path, message: `unknown key "${key}"; ${fix}` }, key));
  }
  const inner = unionBranch(issue);
  if (inner) throw new ProfileError(locate(sources, { path: inner.path, message: describe(inner, valueAt(data, inner.path)) }));
  const message = describe(issue, valueAt(data, issue.path));
  throw new ProfileError(locate(sources, { path: issue.path, message }));
}
