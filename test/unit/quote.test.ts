import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { quote } from "../../src/core/quote.js";

/** What bash makes of a word: the string printf '%s' receives. */
function bashSees(word: string): string {
  const r = spawnSync("bash", ["-c", `printf '%s' ${word}`], { encoding: "utf8" });
  return r.stdout;
}

const text = fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0") && s.isWellFormed());

describe("quote", () => {
  it("leaves safe words bare, so scripts stay readable", () => {
    expect(quote("/home/alice/run-1/job.log")).toBe("/home/alice/run-1/job.log");
    expect(quote("A40:1")).toBe("A40:1");
  });

  it("quotes the empty string, so it stays an argument", () => {
    expect(quote("")).toBe("''");
    expect(bashSees(`x${quote("")}y`)).toBe("xy");
  });

  it("gives bash back exactly the value, whatever it holds", () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(bashSees(quote(s))).toBe(s);
      }),
      { numRuns: 150 },
    );
  });

  it.each(["$(id)", "`id`", "a'b", 'a"b', "a\\b", "*", "~", "a\nb", "{{ x }}", "-n", "$HOME"])("keeps %j literal", (s) => {
    expect(bashSees(quote(s))).toBe(s);
  });
});
