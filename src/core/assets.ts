/**
 * Built-in files (templates/, clusters/): read from the package folder when
 * hpcjob runs under node, and from the executable's embedded assets when it
 * runs as a single executable. Nothing else knows the difference.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Name of the embedded asset that lists every other asset key. */
export const MANIFEST_ASSET = "assets-manifest.json";

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string, encoding: string): string;
}

/** The package folder: the nearest folder up from this module (src/core/, or the bundle's dist/) with a package.json. */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

let root: string | undefined;
const packageRoot = () => {
  root ??= findPackageRoot();
  return root;
};

let sea: SeaModule | null | undefined;
function seaModule(): SeaModule | null {
  if (sea === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const mod = require("node:sea") as SeaModule;
      sea = mod.isSea() ? mod : null;
    } catch {
      sea = null; // node:sea does not exist before Node 20.12; then we are not a SEA either.
    }
  }
  return sea;
}

/** Text of a built-in file, by its path in the package (e.g. "clusters/vera.yaml"). */
export function readAsset(key: string): string {
  const s = seaModule();
  if (s) return s.getAsset(key, "utf8");
  return readFileSync(join(packageRoot(), key), "utf8");
}

/** True when a built-in file exists. */
export function hasAsset(key: string): boolean {
  const s = seaModule();
  if (s) return (JSON.parse(s.getAsset(MANIFEST_ASSET, "utf8")) as string[]).includes(key);
  return existsSync(join(packageRoot(), key));
}

/** Paths of the built-in files in one folder (e.g. "clusters"), sorted; none when a copy of hpcjob lacks the folder. */
export function listAssets(folder: string): string[] {
  const s = seaModule();
  if (s) {
    const all = JSON.parse(s.getAsset(MANIFEST_ASSET, "utf8")) as string[];
    return all.filter((k) => dirname(k) === folder).sort();
  }
  const dir = join(packageRoot(), folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => `${folder}/${f}`)
    .sort();
}

/** Where built-in files live on disk when not embedded (the package folder). */
export function assetRoot(): string {
  return packageRoot();
}
