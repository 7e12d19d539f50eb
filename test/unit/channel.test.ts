import { describe, expect, it } from "vitest";
import { ChannelGate, ChannelRefused } from "../../src/exec/ssh/channel.js";

/** A server that takes at most `max` channels at once and counts what it saw. */
function server(max: number) {
  let open = 0;
  const seen = { most: 0, refused: 0 };
  const channel = async (opened: () => void) => {
    if (open >= max) {
      seen.refused++;
      throw new ChannelRefused("could not run a command on the cluster: (SSH) Channel open failure: open failed");
    }
    open++;
    opened();
    seen.most = Math.max(seen.most, open);
    await new Promise((r) => setTimeout(r, 5));
    open--;
    return "ok";
  };
  return { channel, seen };
}

describe("channels on one SSH connection", () => {
  it("never holds more than the gate's limit at once; the rest queue", async () => {
    const s = server(100);
    const gate = new ChannelGate(8);
    const all = await Promise.all(Array.from({ length: 40 }, () => gate.through(s.channel)));
    expect(all).toEqual(Array(40).fill("ok"));
    expect(s.seen.most).toBe(8);
  });

  it("learns a server's smaller MaxSessions from its refusal and finishes every command", async () => {
    const s = server(3);
    const gate = new ChannelGate(8);
    const all = await Promise.all(Array.from({ length: 40 }, () => gate.through(s.channel)));
    expect(all).toEqual(Array(40).fill("ok"));
    expect(s.seen.most).toBe(3);
    // Refused while learning and when probing for more now and then, not once per command.
    expect(s.seen.refused).toBeLessThan(40 / 3);
  });

  it("gives up on a server that refuses every channel, with its words", async () => {
    const s = server(0);
    await expect(new ChannelGate(8).through(s.channel)).rejects.toThrow(/Channel open failure/);
  });

  it("passes other failures on at once", async () => {
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error("connection lost");
    };
    await expect(new ChannelGate(8).through(failing)).rejects.toThrow("connection lost");
    expect(calls).toBe(1);
  });
});

describe("after a moment of refusals", () => {
  it("grows back to its ceiling once channels succeed again", async () => {
    let max = 1;
    const s = { open: 0, most: 0 };
    const channel = async (opened: () => void) => {
      if (s.open >= max) throw new ChannelRefused("(SSH) Channel open failure: open failed");
      s.open++;
      opened();
      s.most = Math.max(s.most, s.open);
      await new Promise((r) => setTimeout(r, 2));
      s.open--;
      return "ok";
    };
    const gate = new ChannelGate(8);
    // sshd lags: for a moment only one channel at a time gets through, and the gate learns 1.
    await Promise.all(Array.from({ length: 8 }, () => gate.through(channel)));
    max = 100;
    s.most = 0;
    await Promise.all(Array.from({ length: 200 }, () => gate.through(channel)));
    expect(s.most).toBe(8);
  });
});
