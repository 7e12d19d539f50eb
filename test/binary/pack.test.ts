/**
 * `npm pack` gives a package that installs without the registry (everything
 * it runs is bundled) and runs with `npx hpcjob`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers.js";

describe("npm pack", () => {
  it("installs offline and runs with npx hpcjob", () => {
    const out = tempDir("hpcjob-pack-");
    // dist/ is built by `npm test`; prepack would build it again.
    execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", out], { cwd: ROOT, stdio: "ignore" });
    const tarball = join(out, readdirSync(out).find((f) => f.endsWith(".tgz")) as string);
    expect(statSync(tarball).size).toBeLessThan(5 * 1024 * 1024);
    const listing = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" });
    expect(listing).toContain("package/dist/commands.cjs");
    expect(listing).toContain("package/clusters/vera.yaml");
    expect(listing).not.toContain("hpcjob-linux-x64");

    const app = tempDir("hpcjob-app-");
    writeFileSync(join(app, "package.json"), '{"name": "try-hpcjob", "version": "1.0.0", "private": true}\n');
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: app, stdio: "ignore" });
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: app };
    const version = spawnSync("npx", ["--no", "--", "hpcjob", "--version"], { cwd: app, env, encoding: "utf8" });
    expect(version.stdout).toMatch(/^hpcjob \d+\.\d+\.\d+ \(commit /);
    const dry = spawnSync(
      "npx",
      ["--no", "--", "hpcjob", "jupyter", "--cluster", "vera", "-A", "C3SE2024-1-2", "-i", "/cephyr/x.sif", "--dry-run"],
      { cwd: app, env, encoding: "utf8" },
    );
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("#SBATCH --partition=vera\n");
  }, 120_000);
});
