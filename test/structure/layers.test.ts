/**
 * The house rules, checked on the source: folders import downwards only
 * (DESIGN.md §1), so no folder imports one that imports it back; only exec/
 * starts processes; only cli/ writes to the terminal. A new folder must be
 * given its floor here before anything may import it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers.js";

const SRC = join(ROOT, "src");

/** Floors from the top: a folder may import only from folders further down the list (or itself). */
const FLOORS = [
  ["main.ts"],
  ["cli"],
  ["commands"],
  ["session"],
  ["runs"],
  ["exec"],
  ["render"],
  ["request"],
  ["image"],
  ["profile"],
  ["runtime", "slurm"],
  ["core"],
];

/** Every .ts file under src/, relative to it. */
function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [relative(SRC, join(dir, e.name))] : [],
  );
}

/** The folder a source file belongs to (its first path segment, or the file itself at the top). */
const folderOf = (file: string) => file.split("/")[0] as string;
const floorOf = (folder: string) => FLOORS.findIndex((f) => f.includes(folder));

/** Relative modules a file imports (static, dynamic and type-only imports, and re-exports). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1] as string);
  return specs.map((s) => relative(SRC, resolve(dirname(join(SRC, file)), s)).replace(/\.js$/, ".ts"));
}

const files = sources();

describe("the house", () => {
  it("gives every folder of src/ a floor", () => {
    const unplaced = [...new Set(files.map(folderOf))].filter((f) => floorOf(f) < 0);
    expect(unplaced, "add these to FLOORS in test/structure/layers.test.ts").toEqual([]);
  });

  it("imports only downwards: no folder imports one above it or on its own floor", () => {
    const upwards: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      for (const target of importsOf(file)) {
        const to = folderOf(target);
        if (to === from) continue;
        if (floorOf(to) <= floorOf(from)) upwards.push(`${file} -> ${target}`);
      }
    }
    expect(upwards).toEqual([]);
  });

  it("starts processes only in exec/", () => {
    const spawning = files.filter((f) => folderOf(f) !== "exec" && /["']node:child_process["']/.test(readFileSync(join(SRC, f), "utf8")));
    expect(spawning).toEqual([]);
  });

  it("writes to the terminal only in cli/", () => {
    const printing = files.filter(
      (f) =>
        !["cli", "main.ts"].includes(folderOf(f)) &&
        /process\.(stdout|stderr)\b|console\.(log|error|warn|info)|writeSync\(\s*[12]\b/.test(readFileSync(join(SRC, f), "utf8")),
    );
    expect(printing).toEqual([]);
  });
});
