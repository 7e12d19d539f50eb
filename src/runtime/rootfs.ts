/**
 * What a runtime adds to an image's root filesystem when hpcjob builds its
 * file from the image's layers (an image from the user's computer on an
 * enroot, pyxis or Charliecloud cluster): the files its own converter would
 * write from the image's config. Pure: the conversion script writes them.
 */
import { quote } from "../core/quote.js";

/** An image's run configuration: the part of its config (its `config` object) a runtime runs it with (image/archive.ts validates it). */
export interface ImageConfig {
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string | null;
  Labels?: Record<string, string> | null;
  Volumes?: Record<string, unknown> | null;
}

/** A file written into the root filesystem: its path inside (no leading /) and its text. */
export interface RootFile {
  path: string;
  text: string;
}

/** What is added to the unpacked root before it is packed: folders made, files written (replacing what the image has there). */
export interface RootAdditions {
  dirs: string[];
  files: RootFile[];
}

/** Lines of `lines`, each ended by a newline (nothing for none), as jq -r writes them. */
const linesOf = (lines: readonly string[]) => lines.map((l) => `${l}\n`).join("");

/** A path inside the root without its leading slashes ("" for the root itself). */
const inside = (path: string) => path.replace(/^\/+/, "");

/**
 * The files `enroot import` writes from the image's config (enroot's
 * docker::configure): /etc/environment (the image's ENV), /etc/fstab (its
 * volumes), /etc/rc (labels as comments, the working folder, entrypoint and
 * command, run by `enroot start` and pyxis) and an empty /etc/rc.local.
 */
export function enrootAdditions(config: ImageConfig): RootAdditions {
  const workdir = config.WorkingDir || "/";
  const entrypoint = (config.Entrypoint ?? []).map(quote);
  let cmd = (config.Cmd ?? []).map(quote);
  if (entrypoint.length === 0 && cmd.length === 0) cmd = ["/bin/sh"];
  const labels = Object.entries(config.Labels ?? {}).map(([k, v]) => `# ${k} ${v.replaceAll("\n", " ")}`);
  const exec = (...words: string[]) => `exec ${words.filter((w) => w !== "").join(" ")}`;
  const rc = [
    ...(labels.length ? [...labels, ""] : []),
    `mkdir -p ${quote(workdir)} 2> /dev/null`,
    `cd ${quote(workdir)} && unset OLDPWD || exit 1`,
    "",
    "if [ -s /etc/rc.local ]; then",
    "    . /etc/rc.local",
    "fi",
    "",
    "if [ $# -gt 0 ]; then",
    `    ${exec(...entrypoint, '"$@"')}`,
    "else",
    `    ${exec(...entrypoint, ...cmd)}`,
    "fi",
  ];
  return {
    dirs: [inside(workdir)].filter((d) => d !== ""),
    files: [
      // `${ENROOT_ROOTFS}` is written as it is: enroot-mount expands it when the container starts.
      {
        path: "etc/fstab",
        text: linesOf(Object.keys(config.Volumes ?? {}).map((v) => `\${ENROOT_ROOTFS}${v} ${v} none x-create=dir,bind,rw,nosuid,nodev`)),
      },
      { path: "etc/environment", text: linesOf(config.Env ?? []) },
      { path: "etc/rc", text: linesOf(rc) },
      {
        path: "etc/rc.local",
        text: linesOf([
          "# This file is sourced by /etc/rc when the container starts.",
          "# It can be used to manipulate the entrypoint or the command of the container.",
        ]),
      },
    ],
  };
}

/**
 * What `ch-image pull` adds (Charliecloud's Image.unpack_init and
 * metadata_save): /ch/environment, the image's ENV sorted by name as
 * NAME=VALUE lines, which `ch-run --set-env` reads; the volumes' folders.
 * ch-convert adds the mount points ch-run needs when it packs the SquashFS.
 */
export function charliecloudAdditions(config: ImageConfig): RootAdditions {
  const env = new Map<string, string>();
  for (const line of config.Env ?? []) {
    const eq = line.indexOf("=");
    if (eq > 0) env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const lines = [...env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);
  return {
    dirs: ["ch", ...Object.keys(config.Volumes ?? {}).map(inside)].filter((d) => d !== ""),
    files: [{ path: "ch/environment", text: `${lines.join("\n")}\n` }],
  };
}
