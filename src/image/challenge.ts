/**
 * A registry's `WWW-Authenticate` challenge (RFC 7235 auth-params; the
 * token flow of Docker's registry auth spec, docs/spec/auth/token.md):
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"`.
 * Quoted values may hold commas (a scope of `pull,push`), so it is read
 * character by character, not split.
 */

/** A challenge: its scheme (Bearer, Basic) in lowercase and its parameters (names lowercased). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** The first challenge in a WWW-Authenticate header, or undefined when there is none. */
export function parseChallenge(header: string | null): Challenge | undefined {
  const m = header ? /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header) : null;
  if (!m) return undefined;
  const scheme = (m[1] as string).toLowerCase();
  const params: Record<string, string> = {};
  const text = m[2] as string;
  let i = 0;
  while (i < text.length) {
    const name = /^[\s,]*([\w.-]+)\s*=\s*/.exec(text.slice(i));
    if (!name) break;
    i += name[0].length;
    let value = "";
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      i++;
    } else {
      const token = /^[^\s,]*/.exec(text.slice(i))?.[0] ?? "";
      value = token;
      i += token.length;
    }
    params[(name[1] as string).toLowerCase()] = value;
  }
  return { scheme, params };
}
