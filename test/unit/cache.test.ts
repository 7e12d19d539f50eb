/**
 * The cache of validated files (src/profile/cache.ts) on its own: where it
 * lives, how entries are kept private and whole, and that anything doubtful
 * is a miss. How the CLI uses it: test/cli/cache.test.ts.
 */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheDir, cachedValue, readEntry, stampOf, valueCache, writeEntry } from "../../src/profile/cache.js";
import { tempDir } from "../helpers.js";

const ENTRY = {
  files: [{ id: "/p/hpcjob.yaml", stamp: "1:2:3:4:5", text: "image: /x.sif\n" }],
  value: { image: "/x.sif", env: { A: "1" } },
};

/** A cache in a fresh folder, for a made-up build. */
function freshCache(key = "hpcjob 1.0.0 (commit abc) sources 0123") {
  return { dir: join(tempDir(), "cache", "hpcjob"), key };
}

describe("the cache of validated files", () => {
  it("lives in $XDG_CACHE_HOME/hpcjob or ~/.cache/hpcjob; a relative XDG_CACHE_HOME is ignored", () => {
    expect(cacheDir({ env: { XDG_CACHE_HOME: "/xdg" }, home: "/h" })).toBe("/xdg/hpcjob");
    expect(cacheDir({ env: {}, home: "/h" })).toBe("/h/.cache/hpcjob");
    expect(cacheDir({ env: { XDG_CACHE_HOME: "rel" }, home: "/h" })).toBe("/h/.cache/hpcjob");
  });

  it("is off when hpcjob runs from source: no build says when the schema changed", () => {
    expect(valueCache({ env: {}, home: tempDir() })).toBeUndefined();
  });

  it("gives back what was stored, from a 0700 folder and a 0600 file, with no temporary file left", () => {
    const cache = freshCache();
    writeEntry(cache, "project", "/p/hpcjob.yaml", ENTRY);
    expect(readEntry(cache, "project", "/p/hpcjob.yaml")).toEqual(ENTRY);
    expect(statSync(cache.dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(cache.dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^project-[0-9a-f]{16}\.json$/);
    expect(statSync(join(cache.dir, files[0] as string)).mode & 0o777).toBe(0o600);
  });

  it("makes a folder others could read private again when it writes", () => {
    const cache = freshCache();
    mkdirSync(cache.dir, { recursive: true, mode: 0o755 });
    chmodSync(cache.dir, 0o755);
    writeEntry(cache, "config", "/h/config.yaml", ENTRY);
    expect(statSync(cache.dir).mode & 0o777).toBe(0o700);
  });

  it("hands a value only to the same file with the same identity and text", () => {
    const cache = freshCache();
    writeEntry(cache, "project", "/p/hpcjob.yaml", ENTRY);
    const { stamp, text } = ENTRY.files[0] as { stamp: string; text: string };
    expect(cachedValue(cache, "project", "/p/hpcjob.yaml", stamp, text)).toEqual(ENTRY.value);
    expect(cachedValue(cache, "project", "/p/hpcjob.yaml", "1:2:3:4:6", text)).toBeUndefined();
    expect(cachedValue(cache, "project", "/p/hpcjob.yaml", stamp, "image: /y.sif\n")).toBeUndefined();
    expect(cachedValue(cache, "project", "/q/hpcjob.yaml", stamp, text)).toBeUndefined();
    expect(cachedValue(cache, "config", "/p/hpcjob.yaml", stamp, text)).toBeUndefined();
  });

  it("misses, and never fails, on an entry of another build, a corrupt or unreadable one, or one in a folder others can write to", () => {
    const cache = freshCache();
    writeEntry(cache, "project", "/p/hpcjob.yaml", ENTRY);
    expect(readEntry({ ...cache, key: "hpcjob 1.0.1 (commit def) sources 4567" }, "project", "/p/hpcjob.yaml")).toBeUndefined();

    const file = join(cache.dir, readdirSync(cache.dir)[0] as string);
    for (const junk of ["", "{", "null", "5", '{"hpcjob": 1}', JSON.stringify({ ...ENTRY, files: [{ id: 1 }] })]) {
      writeFileSync(file, junk);
      expect(readEntry(cache, "project", "/p/hpcjob.yaml")).toBeUndefined();
    }
    writeEntry(cache, "project", "/p/hpcjob.yaml", ENTRY);
    chmodSync(cache.dir, 0o777);
    expect(readEntry(cache, "project", "/p/hpcjob.yaml")).toBeUndefined();
    chmodSync(cache.dir, 0o700);
    expect(readEntry(cache, "project", "/p/hpcjob.yaml")).toEqual(ENTRY);
    expect(readEntry(freshCache(), "project", "/p/hpcjob.yaml")).toBeUndefined();
  });

  it("skips writing where it cannot write, without an error", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "cache"), "a file, not a folder");
    expect(() => writeEntry({ dir: join(dir, "cache", "hpcjob"), key: "k" }, "config", "/h/config.yaml", ENTRY)).not.toThrow();
  });

  it("tells a file by device, inode, size, mtime and ctime to the nanosecond; a missing one has none", () => {
    const file = join(tempDir(), "hpcjob.yaml");
    writeFileSync(file, "image: /a.sif\n");
    const s = statSync(file, { bigint: true });
    expect(stampOf(file)).toBe(`${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`);
    writeFileSync(file, "image: /ab.sif\n");
    expect(stampOf(file)).not.toBe(`${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`);
    expect(stampOf(join(tempDir(), "nothing.yaml"))).toBeUndefined();
  });
});
