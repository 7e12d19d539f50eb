/**
 * The single executable for tests: dist/hpcjob-linux-x64, rebuilt with
 * build/sea.mjs (about 10 s) when missing or older than what it is made of.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
/** The executable's file name. */
export const EXE_NAME = "hpcjob-linux-x64";
/** Its path in the checkout. */
export const EXE = join(ROOT, "dist", EXE_NAME);

/** Newest modification time among the files the executable is made of. */
function newestInput(): number {
  const files = [
    ...readdirSync(join(ROOT, "dist"))
      .filter((f) => /^[\w-]+\.cjs$/.test(f))
      .map((f) => join(ROOT, "dist", f)),
    join(ROOT, "build", "sea.mjs"),
    join(ROOT, "build", "sea-main.cjs"),
    ...["templates", "clusters"].flatMap((d) =>
      readdirSync(join(ROOT, d), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name)),
    ),
  ];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/** Build the executable if it is missing or stale; throws with build/sea.mjs's output if that fails. */
export function ensureExecutable(): string {
  if (!existsSync(EXE) || statSync(EXE).mtimeMs < newestInput()) {
    const r = spawnSync(process.execPath, [join(ROOT, "build", "sea.mjs")], {
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: process.env.HOME ?? "/root" },
      cwd: ROOT,
      encoding: "utf8",
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`node build/sea.mjs failed:\n${r.stdout}${r.stderr}`);
  }
  return EXE;
}
