/**
 * Templates to JavaScript: each template under templates/ becomes one
 * function `(ctx, h) => text`, made from nunjucks's own parse of it (with the
 * options hpcjob renders with, so whitespace is trimmed as nunjucks trims
 * it), for the part of the nunjucks language hpcjob's templates use: text,
 * `{{ expressions | filters }}`, `{% if %}`/`{% elif %}`/`{% else %}`, `{% for x in list %}`
 * and `{% include %}`; names, `a.b`, `a[0]`, literals, lists, `+`, calls and
 * filters. The functions call the helpers `h` (environment.ts), which do what
 * nunjucks's runtime does, so they render what nunjucks renders (the golden
 * tests hold both to the same files). Anything else in a template is an error
 * here, at build time, naming the file and line: rendering then needs no
 * template engine, only these functions.
 */
import nunjucks from "nunjucks";

/** A node of nunjucks's template tree (nodes.js); only the fields read here. */
interface TemplateNode {
  typename: string;
  lineno: number;
  colno: number;
  value?: unknown;
  children?: TemplateNode[];
  target?: TemplateNode;
  val?: TemplateNode;
  name?: TemplateNode;
  args?: TemplateNode;
  left?: TemplateNode;
  right?: TemplateNode;
  cond?: TemplateNode;
  body?: TemplateNode;
  else_?: TemplateNode | null;
  arr?: TemplateNode;
  template?: TemplateNode;
  ignoreMissing?: boolean;
}

const { parser } = nunjucks as unknown as { parser: { parse(src: string, extensions: unknown[], opts: object): TemplateNode } };

/** The options hpcjob renders with: they decide how the parser trims whitespace around tags. */
export const TEMPLATE_OPTIONS = { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true };

/** The filters the helpers provide. */
const FILTERS = new Set(["quote", "words", "join"]);
/** Names nunjucks looks up among its globals when the context lacks them: not supported here. */
const GLOBALS = new Set(["range", "cycler", "joiner"]);

/** Compiles one template: `scope` maps the names of enclosing loop variables to JavaScript variables. */
class TemplateCompiler {
  private next = 0;
  constructor(private readonly file: string) {}

  /** A build error at a node: the template file and line, and what to do. */
  private fail(node: TemplateNode, what: string): never {
    throw new Error(
      `templates/${this.file}:${node.lineno + 1}: ${what} is not supported by hpcjob's template compiler (src/render/codegen.ts); write the template with what it supports, or teach it that`,
    );
  }

  /** The statements that append `node`'s output to `o`. */
  statements(node: TemplateNode, scope: Map<string, string>, inLoop: boolean): string {
    switch (node.typename) {
      case "Root":
      case "NodeList":
        return (node.children ?? []).map((c) => this.statements(c, scope, inLoop)).join("");
      case "Output":
        return (node.children ?? [])
          .map((c) => {
            if (c.typename === "TemplateData") return c.value ? `o += ${JSON.stringify(c.value)};\n` : "";
            const where = JSON.stringify(`${this.file}:${node.lineno + 1}:${node.colno + 1}`);
            return `o += h.out(${this.expression(c, scope)}, ${where});\n`;
          })
          .join("");
      case "If": {
        const body = this.statements(node.body as TemplateNode, scope, inLoop);
        const otherwise = node.else_ ? ` else {\n${this.statements(node.else_, scope, inLoop)}}` : "";
        return `if (${this.expression(node.cond as TemplateNode, scope)}) {\n${body}}${otherwise}\n`;
      }
      case "For": {
        const name = node.name as TemplateNode;
        if (name.typename !== "Symbol") this.fail(node, "a loop over several names ({% for a, b in ... %})");
        if (node.else_) this.fail(node, "{% else %} in a loop");
        const [arr, i, v] = [this.id("a"), this.id("i"), this.id("v")];
        const inner = new Map(scope).set(String(name.value), v);
        const body = this.statements(node.body as TemplateNode, inner, true);
        // As nunjucks does: iterables become arrays, anything falsy loops no times, the rest by index.
        return `{\nlet ${arr} = ${this.expression(node.arr as TemplateNode, scope)};\nif (${arr}) {\n${arr} = h.iter(${arr});\nfor (let ${i} = 0; ${i} < ${arr}.length; ${i}++) {\nconst ${v} = ${arr}[${i}];\n${body}}\n}\n}\n`;
      }
      case "Include":
        // An included template sees the context only, so it cannot be inside a loop (nunjucks would show it the loop's variables).
        if (inLoop) this.fail(node, "{% include %} inside a loop");
        if (node.ignoreMissing) this.fail(node, "{% include ... ignore missing %}");
        return `o += h.include(${this.expression(node.template as TemplateNode, scope)}, c);\n`;
      default:
        return this.fail(node, `{% ${node.typename.toLowerCase()} %}`);
    }
  }

  /** A JavaScript expression for a template expression. */
  expression(node: TemplateNode, scope: Map<string, string>): string {
    switch (node.typename) {
      case "Literal":
        return node.value === undefined ? "undefined" : JSON.stringify(node.value);
      case "Symbol": {
        const name = String(node.value);
        const local = scope.get(name);
        if (local) return local;
        if (name === "loop") this.fail(node, "the loop variable `loop`");
        if (GLOBALS.has(name)) this.fail(node, `nunjucks's global ${name}()`);
        return `c[${JSON.stringify(name)}]`;
      }
      case "LookupVal":
        return `h.member(${this.expression(node.target as TemplateNode, scope)}, ${this.expression(node.val as TemplateNode, scope)})`;
      case "FunCall": {
        const fn = node.name as TemplateNode;
        return `h.call(${this.expression(fn, scope)}, ${JSON.stringify(this.nameOf(fn))}, c, [${this.list(node.args, scope)}])`;
      }
      case "Filter": {
        const name = String((node.name as TemplateNode).value);
        if (!FILTERS.has(name)) this.fail(node, `the filter ${name}`);
        return `h.${name}(${this.list(node.args, scope)})`;
      }
      case "Add":
        return `(${this.expression(node.left as TemplateNode, scope)} + ${this.expression(node.right as TemplateNode, scope)})`;
      case "Group":
        return `(${this.list(node, scope)})`;
      case "Array":
        return `[${this.list(node, scope)}]`;
      default:
        return this.fail(node, `the expression ${node.typename}`);
    }
  }

  /** The children of a node list as comma-separated expressions. */
  private list(node: TemplateNode | undefined, scope: Map<string, string>): string {
    return (node?.children ?? []).map((c) => this.expression(c, scope)).join(", ");
  }

  /** What a call's errors name it by, as nunjucks does (`runtime["binds"]["concat"]`). */
  private nameOf(node: TemplateNode): string {
    switch (node.typename) {
      case "Symbol":
        return String(node.value);
      case "FunCall":
        return `the return value of (${this.nameOf(node.name as TemplateNode)})`;
      case "LookupVal":
        return `${this.nameOf(node.target as TemplateNode)}["${this.nameOf(node.val as TemplateNode)}"]`;
      case "Literal":
        return String(node.value);
      default:
        return "--expression--";
    }
  }

  /** A fresh JavaScript variable name. */
  private id(prefix: string): string {
    this.next += 1;
    return `${prefix}${this.next}`;
  }
}

/**
 * JavaScript source of an object literal holding one function per template
 * (by name, e.g. "jupyter.sbatch.njk"), from the templates' text by name.
 * A template that uses what the compiler does not support is an Error.
 */
export function compileTemplates(sources: Record<string, string>): string {
  const entries = Object.keys(sources)
    .sort()
    .map((file) => {
      const tree = parser.parse(sources[file] as string, [], TEMPLATE_OPTIONS);
      const body = new TemplateCompiler(file).statements(tree, new Map(), false);
      return `${JSON.stringify(file)}: (c, h) => {\nlet o = "";\n${body}return o;\n}`;
    });
  return `{\n${entries.join(",\n")}\n}`;
}
