/**
 * The ssh tunnel command and the browser URL for a running Jupyter.
 */
import type { LoginTarget } from "../core/login.js";
import { quote } from "../core/quote.js";
import type { Connection } from "../runs/store.js";

/** What to run on the laptop, and what to open. */
export interface Tunnel {
  localPort: number;
  command: string;
  url: string;
}

/** The URL path Jupyter's UI lives at: /lab for JupyterLab, / otherwise. */
export function uiPath(jupyterCommand: readonly string[]): string {
  return jupyterCommand.includes("lab") ? "/lab" : "/";
}

/** `ssh -N -L PORT:NODE:PORT [-p P] USER@LOGIN` and `http://localhost:PORT/lab?token=...`. */
export function tunnelFor(conn: Connection, login: LoginTarget, jupyterCommand: readonly string[], localPort = conn.port): Tunnel {
  const words = ["ssh", "-N", "-L", `${localPort}:${conn.node}:${conn.port}`];
  if (login.port !== undefined && login.port !== 22) words.push("-p", String(login.port));
  words.push(login.user ? `${login.user}@${login.host}` : login.host);
  return {
    localPort,
    command: words.map((w) => quote(w)).join(" "),
    url: `http://localhost:${localPort}${uiPath(jupyterCommand)}?token=${encodeURIComponent(conn.token)}`,
  };
}
