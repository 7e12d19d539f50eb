/**
 * request.json, the manifest of a run: one schema writes and reads it, it
 * holds every field of the resolved request (so a field added to the
 * request is recorded and replayed with no other change), and a remote's
 * credentials never reach it.
 */
import { describe, expect, it } from "vitest";
import { remoteOf, withoutCredentials } from "../../src/runs/git.js";
import { profileSha256, RunRecordSchema, recordedRequest, recordText, runRecord } from "../../src/runs/record.js";
import { builtin, requestFor } from "../helpers.js";

const LOGIN = { host: "vera2.c3se.chalmers.se", user: "alice" };

/** A request with every kind of field set: binds, env, raw sbatch options, an account, a typed GPU request, a docker:// image. */
async function fullRequest() {
  const req = requestFor(
    await builtin("vera"),
    {
      account: "C3SE2024-1-2",
      gpus: "a40:2",
      cpus: "16",
      time: "2:00:00",
      bind: ["/data:/data:ro"],
      env: ["LR=3e-4", "NOTE=it's $HOME"],
      sbatch: ["--constraint=MEM512", "--exclusive"],
      name: "train-1",
      image: "docker://nvcr.io/nvidia/pytorch:24.01-py3",
    },
    { kind: "batch", argv: ["train.py", "--epochs", "20"], explicit: false },
  );
  return { ...req, image: "/cephyr/users/alice/Vera/x.sif", imageDigest: `sha256:${"a".repeat(64)}` };
}

describe("request.json", () => {
  it("records the whole request and gives it back equal, its runtime from its profile", async () => {
    const req = await fullRequest();
    const record = runRecord(req, LOGIN, "hpcjob 0.1.0 (commit abc)", new Date(Date.UTC(2026, 10, 23)), {
      git: { commit: "c0ffee", branch: "main", dirty: true, untracked: ["notes.txt"], diff: "git.diff" },
    });
    const read = RunRecordSchema.parse(JSON.parse(recordText(record)));
    expect(recordedRequest(read)).toEqual(req);
    expect(read).toMatchObject({ hpcjob: "hpcjob 0.1.0 (commit abc)", submittedAt: "2026-11-23T00:00:00.000Z", login: LOGIN });
    expect(read.git).toEqual({ commit: "c0ffee", branch: "main", dirty: true, untracked: ["notes.txt"], diff: "git.diff" });
  });

  it("gives back a requeued batch job's signal and an image from the user's computer (docker-daemon:, docker-archive:) equal", async () => {
    const base = await fullRequest();
    for (const imageRef of [
      { kind: "docker-daemon" as const, name: "lab/app", tag: "1" },
      { kind: "docker-archive" as const, path: "/home/alice/app.tar", ref: "lab/app:1" },
    ]) {
      const req = { ...base, imageRef, requeue: true, signal: { name: "USR2", seconds: 300 } };
      const read = RunRecordSchema.parse(JSON.parse(recordText(runRecord(req, LOGIN, "v", new Date(0)))));
      expect(recordedRequest(read)).toEqual(req);
    }
  });

  it("holds every field the request has, whatever fields it gains", async () => {
    const req = await fullRequest();
    const recorded = JSON.parse(recordText(runRecord(req, LOGIN, "v", new Date(0)))).request;
    const fields = Object.keys(req).filter((k) => k !== "runtime" && (req as Record<string, unknown>)[k] !== undefined);
    expect(Object.keys(recorded).sort()).toEqual(fields.sort());
  });

  it("hashes the profile the same whatever order its keys were built in, and differently when a value changes", async () => {
    const { profile } = await builtin("vera");
    const reordered = Object.fromEntries(Object.entries(profile).reverse()) as typeof profile;
    expect(profileSha256(reordered)).toBe(profileSha256(profile));
    expect(profileSha256(profile)).toMatch(/^[0-9a-f]{64}$/);
    expect(profileSha256({ ...profile, defaults: { ...profile.defaults, time: "02:00:00" } })).not.toBe(profileSha256(profile));
  });

  it("reads back only what it wrote: a changed field is refused with its path", async () => {
    const json = JSON.parse(recordText(runRecord(await fullRequest(), LOGIN, "v", new Date(0))));
    json.request.cpus = "eight";
    const r = RunRecordSchema.safeParse(json);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["request", "cpus"]);
  });
});

describe("a git remote without credentials", () => {
  it.each([
    ["https://alice:s3cret@github.com/lab/proj.git", "https://github.com/lab/proj.git"],
    ["https://ghp_token123@github.com/lab/proj.git", "https://github.com/lab/proj.git"],
    ["http://user:p%40ss@git.example.org:8080/x", "http://git.example.org:8080/x"],
    ["HTTPS://u:p@host/a@b", "HTTPS://host/a@b"],
    ["ssh://git:pw@host:2222/lab/proj.git", "ssh://git@host:2222/lab/proj.git"],
    ["ssh://git@host/lab/proj.git", "ssh://git@host/lab/proj.git"],
    ["git@github.com:lab/proj.git", "git@github.com:lab/proj.git"],
    ["https://github.com/lab/proj.git", "https://github.com/lab/proj.git"],
    ["/srv/git/proj.git", "/srv/git/proj.git"],
    ["file:///srv/git/proj.git", "file:///srv/git/proj.git"],
  ])("%s is recorded as %s", (url, recorded) => {
    expect(withoutCredentials(url)).toBe(recorded);
  });

  it("is the branch's remote, else origin, else the first, from git config --get-regexp", () => {
    const config = [
      "remote.upstream.url https://u:p@example.org/up.git",
      "remote.origin.url https://tok@example.org/origin.git",
      "branch.main.remote upstream",
      "branch.dev.remote origin",
    ].join("\n");
    expect(remoteOf(config, "main")).toBe("https://example.org/up.git");
    expect(remoteOf(config, "feature")).toBe("https://example.org/origin.git");
    expect(remoteOf(config, undefined)).toBe("https://example.org/origin.git");
    expect(remoteOf("remote.fork.url /srv/fork.git\n", undefined)).toBe("/srv/fork.git");
    expect(remoteOf("", "main")).toBeUndefined();
  });
});
