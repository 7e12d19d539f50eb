/**
 * The connections hpcjob makes to reach a target through ProxyJump hops, as
 * ssh makes them (`ProxyJump a,b` is `ssh -J a -W %h:%p b`): the first hop
 * by its own route, later hops only through the one before. (The real thing,
 * through the test sshd: test/e2e/remote.e2e.test.ts, "ProxyJump".)
 */
import { describe, expect, it } from "vitest";
import { ProfileError } from "../../src/core/errors.js";
import { describeTarget, route } from "../../src/exec/ssh/connect.js";
import type { SshTarget } from "../../src/exec/ssh/settings.js";

/** A target named `alias` whose ProxyJump is `jump`. */
function t(alias: string, jump: string[] = [], more: Partial<SshTarget> = {}): SshTarget {
  return {
    alias,
    host: alias,
    port: 22,
    user: "me",
    identityFiles: [],
    identitiesOnly: false,
    proxyJump: jump,
    userKnownHostsFiles: [],
    globalKnownHostsFiles: [],
    strictHostKeyChecking: "ask",
    hashKnownHosts: false,
    ...more,
  };
}

/** A resolver for hops from a table of targets. */
function resolver(table: Record<string, SshTarget>) {
  return async (hop: string) => table[hop] ?? t(hop);
}

describe("the route to a target", () => {
  it("is the target alone without ProxyJump", async () => {
    expect((await route(t("login"), resolver({}))).map((x) => x.alias)).toEqual(["login"]);
  });

  it("goes through each hop in order, then the target", async () => {
    expect((await route(t("login", ["a", "b"]), resolver({}))).map((x) => x.alias)).toEqual(["a", "b", "login"]);
  });

  it("reaches the first hop by its own ProxyJump, but not the later hops by theirs", async () => {
    const table = { a: t("a", ["gw"]), b: t("b", ["never"]) };
    expect((await route(t("login", ["a", "b"]), resolver(table))).map((x) => x.alias)).toEqual(["gw", "a", "b", "login"]);
  });

  it("refuses a ProxyJump loop with one line", async () => {
    const table = { a: t("a", ["a"]) };
    await expect(route(t("login", ["a"]), resolver(table))).rejects.toThrow(ProfileError);
    await expect(route(t("login", ["a"]), resolver(table))).rejects.toThrow(/ProxyJump for a leads through more than 8 jump hosts/);
  });

  it("names a target as user@host[:port] (alias)", () => {
    expect(describeTarget(t("login", [], { host: "127.0.0.1", port: 2222, user: "alice" }))).toBe("alice@127.0.0.1:2222 (login)");
    expect(describeTarget(t("vera2.c3se.chalmers.se"))).toBe("me@vera2.c3se.chalmers.se");
  });
});
