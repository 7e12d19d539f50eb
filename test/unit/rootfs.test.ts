/**
 * The files a runtime's own converter writes from an image's config, which
 * hpcjob writes when it builds the file from the layers: enroot's
 * /etc/environment, /etc/fstab, /etc/rc and /etc/rc.local (docker::configure
 * in enroot's src/docker.sh), Charliecloud's /ch/environment (ch-image's
 * metadata_save). /etc/rc is run by sh: checked by running it.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { charliecloudAdditions, enrootAdditions } from "../../src/runtime/rootfs.js";

/** The text of `path` among `files`. */
const text = (files: { path: string; text: string }[], path: string) => files.find((f) => f.path === path)?.text;

describe("enroot", () => {
  it("writes the ENV to /etc/environment, volumes to /etc/fstab, labels as comments, and makes the working folder", () => {
    const a = enrootAdditions({
      Env: ["PATH=/usr/bin:/bin", "A=it's $HOME"],
      Volumes: { "/data": {} },
      Labels: { title: "two\nlines" },
      WorkingDir: "/work",
      Cmd: ["python3"],
    });
    expect(text(a.files, "etc/environment")).toBe("PATH=/usr/bin:/bin\nA=it's $HOME\n");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: enroot's literal fstab variable
    expect(text(a.files, "etc/fstab")).toBe("${ENROOT_ROOTFS}/data /data none x-create=dir,bind,rw,nosuid,nodev\n");
    expect(text(a.files, "etc/rc")).toMatch(
      /^# title two lines\n\nmkdir -p \/work 2> \/dev\/null\ncd \/work && unset OLDPWD \|\| exit 1\n/,
    );
    expect(text(a.files, "etc/rc.local")).toMatch(/^# This file is sourced by \/etc\/rc/);
    expect(a.dirs).toEqual(["work"]);
  });

  it.each([
    [{ Entrypoint: ["echo", "it's"], Cmd: ["the default"] }, [], "it's the default"],
    [{ Entrypoint: ["echo", "it's"], Cmd: ["the default"] }, ["given"], "it's given"],
    [{ Cmd: ["echo", "cmd only"] }, [], "cmd only"],
    [{ Cmd: ["echo", "cmd only"] }, ["echo", "args win"], "args win"],
    [{}, ["echo", "no entrypoint, no cmd"], "no entrypoint, no cmd"],
  ])("/etc/rc of %j run with %j says %s", (config, args, said) => {
    const rc = text(enrootAdditions(config).files, "etc/rc") ?? "";
    const r = spawnSync("sh", ["-c", rc.replace(/^mkdir -p .*\n/m, "").replace(/^cd .*\n/m, ""), "rc", ...args], { encoding: "utf8" });
    expect(r.stdout).toBe(`${said}\n`);
  });
});

describe("Charliecloud", () => {
  it("writes /ch/environment sorted by name, the last value of a name winning, and makes ch and the volumes' folders", () => {
    const a = charliecloudAdditions({ Env: ["PATH=/bin", "B=2", "A=x=y", "B=3"], Volumes: { "/data": {} } });
    expect(a.files).toEqual([{ path: "ch/environment", text: "A=x=y\nB=3\nPATH=/bin\n" }]);
    expect(a.dirs).toEqual(["ch", "data"]);
  });
});
