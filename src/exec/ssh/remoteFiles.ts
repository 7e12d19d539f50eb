/**
 * Files on the login node over the one connection: through the SFTP
 * subsystem (sftpFiles.ts), or, where the server refuses it, through plain
 * commands on the same connection (shellFiles.ts). The SSH Executor decides
 * which once per connection.
 */
import { posix } from "node:path";
import type { Executor } from "../executor.js";
import type { ChannelResult } from "./channel.js";

/** The file operations of the Executor interface, with their contracts, over one connection. */
export interface RemoteFiles extends Pick<Executor, "readFrom" | "writeFile" | "mkdir" | "createDir" | "stat" | "list" | "home"> {
  readonly kind: "sftp" | "shell";
}

/** Runs argv (each word quoted) on the connection, with optional stdin. */
export type Runner = (argv: readonly string[], stdin?: string | Buffer) => Promise<ChannelResult>;

/** `/a`, `/a/b`, `/a/b/c` for `/a/b/c`: the folders mkdir may have to create, outermost first. */
export function folderChain(path: string): string[] {
  const parts = posix.normalize(path).split("/").filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}
