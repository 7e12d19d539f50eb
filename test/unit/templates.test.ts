/**
 * The template compiler (src/render/codegen.ts) renders what nunjucks
 * renders, with the options and filters hpcjob renders with, for the syntax
 * it supports, and refuses the rest at build time with the template's line.
 */
import nunjucks from "nunjucks";
import { describe, expect, it } from "vitest";
import { quote } from "../../src/core/quote.js";
import { compileTemplates, TEMPLATE_OPTIONS } from "../../src/render/codegen.js";
import { renderTemplate } from "../../src/render/environment.js";
import type { Templates } from "../../src/render/template.js";

/** Templates (name -> text) compiled as the build compiles them. */
function compiled(sources: Record<string, string>): Templates {
  return new Function(`return ${compileTemplates(sources)};`)();
}

/** What nunjucks renders for the template `name` of `sources`, with hpcjob's options and filters. */
function byNunjucks(sources: Record<string, string>, name: string, ctx: Record<string, unknown>): string {
  const env = new nunjucks.Environment(
    {
      getSource: (n: string) => ({ src: sources[n] as string, path: n, noCache: true }),
    } as unknown as nunjucks.ILoader,
    TEMPLATE_OPTIONS,
  );
  env.addFilter("quote", (v: string | number) => quote(v));
  env.addFilter("words", (vs: (string | number)[]) => vs.map((v) => quote(v)).join(" "));
  return env.render(name, ctx);
}

const CTX = {
  name: "nb",
  empty: [],
  none: undefined,
  words: ["python", "it's", "a b"],
  pairs: [
    ["A", "1"],
    ["B", "x y"],
  ],
  set: new Set(["s1", "s2"]),
  text: "ab",
  n: 0,
  runtime: { tool: "apptainer", binds: ["/a:/a", "/b:/c:ro"], gpus: true, partial: "part.njk" },
  workdir: "/home/alice/w",
};

const CASES: Record<string, string> = {
  "text and values": "plain {{ name }} and {{ n }}\n",
  "filters and lists": '{{ words | words }} {{ runtime.binds | join(",") | quote }} {{ words | join }}\n',
  "member calls and +": '{{ runtime.binds.concat([workdir + ":" + workdir]) | join(",") }} {{ pairs[1][0] }}\n',
  "if, elif, else with block trimming":
    "{% if empty.length %}\nA\n{% elif runtime.gpus %}\n  B\n{% else %}\nC\n{% endif %}\nD{% if n %} x{% endif %}\n",
  "loops over lists, sets, strings, nothing":
    "{% for w in words %}\n- {{ w | quote }}\n{% endfor %}\n{% for s in set %}{{ s }},{% endfor %}\n{% for c in text %}[{{ c }}]{% endfor %}{% for x in none %}never{% endfor %}{% for x in empty %}never{% endfor %}\n",
  "loop variables shadow the context": "{% for name in words %}{{ name }};{% endfor %} {{ name }}\n",
  "static and dynamic includes": '{% include "part.njk" %}{% include runtime.partial %}end\n',
  "whitespace around tags": "a\n  {% if name %}\n  b\n  {% endif %}\nc {%- if name -%} d {%- endif -%} e\n",
};

describe("compiled templates", () => {
  it.each(Object.entries(CASES))("render as nunjucks does: %s", (_, text) => {
    const sources = { "t.njk": text, "part.njk": "part {{ runtime.tool }}\n" };
    expect(renderTemplate("t.njk", CTX, compiled(sources))).toBe(byNunjucks(sources, "t.njk", CTX));
  });

  it("refuse to print a missing value, as nunjucks with throwOnUndefined does", () => {
    const sources = { "t.njk": "line 1\n{{ runtime.nothing }}\n" };
    expect(() => byNunjucks(sources, "t.njk", CTX)).toThrow(/attempted to output null or undefined value/);
    expect(() => renderTemplate("t.njk", CTX, compiled(sources))).toThrow(
      "template render error at templates/t.njk:2:1: attempted to output null or undefined value",
    );
  });

  it("name a missing template", () => {
    expect(() => renderTemplate("t.njk", { p: "nope.njk" }, compiled({ "t.njk": "{% include p %}" }))).toThrow(
      "template not found: nope.njk",
    );
  });

  it.each([
    ["{% set x = 1 %}", "t.njk:1: {% set %}"],
    ["a\n{{ name | upper }}", "t.njk:2: the filter upper"],
    ["{% for k, v in pairs %}{% endfor %}", "t.njk:1: a loop over several names"],
    ["{% for w in words %}{{ loop.index }}{% endfor %}", "t.njk:1: the loop variable `loop`"],
    ["{% for w in words %}{% include 'p.njk' %}{% endfor %}", "t.njk:1: {% include %} inside a loop"],
    ["{{ range(3) }}", "t.njk:1: nunjucks's global range()"],
    ["{{ 1 if name else 2 }}", "t.njk:1: the expression InlineIf"],
  ])("refuse what they do not support, at build time: %s", (text, message) => {
    expect(() => compileTemplates({ "t.njk": text })).toThrow(`templates/${message}`);
  });
});
