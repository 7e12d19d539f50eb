#!/usr/bin/python3
"""Add to ROOTFS what `apptainer build X.sif docker-archive:TAR` adds to an
image's root filesystem, and write the SIF's JSON objects to OUTDIR.

Usage: apptainer-meta.py ROOTFS IMAGE_CONFIG_JSON BOOTSTRAP FROM OUTDIR
  IMAGE_CONFIG_JSON  the OCI image config (skopeo inspect --config)
  BOOTSTRAP FROM     the definition header, e.g. docker-archive /x/jupyter.tar
Writes OUTDIR/{deffile,inspect-metadata.json,oci-config.json}.

Follows Apptainer's internal/pkg/build (makeBaseEnv, insertRunScript,
insertEnv, insertOCIConfig, insertOCILabels, insertLabelsJSON,
insertDefinition, insertJSONInspectMetadata); the files it copies are in
apptainer/ next to this script (see apptainer/README.md).
"""
import json
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "apptainer")
# The Apptainer version whose files apptainer/ holds (labels only).
APPTAINER_VERSION = "1.5.3"


def escape(s):  # shell.Escape
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")


def escape_single(s):  # shell.EscapeSingleQuotes
    return s.replace("'", "'\"'\"'")


def args_quoted(a):  # shell.ArgsQuoted
    return " ".join('"' + escape(v) + '"' for v in a)


def render(tmpl, data):
    """The constructs Apptainer's ociRunscript Go template uses: {{ .X }},
    {{ if .X }} ... [{{ else if .Y }} ... | {{ else }} ...] {{ end }}, with
    Go's "{{-"/"-}}" trimming the whitespace before/after the action."""
    toks = re.split(r"(\{\{.*?\}\})", tmpl)
    for i, tok in enumerate(toks):  # trimming happens when the template is parsed
        if tok.startswith("{{-") and i > 0:
            toks[i - 1] = toks[i - 1].rstrip()
        if tok.endswith("-}}") and i + 1 < len(toks):
            toks[i + 1] = toks[i + 1].lstrip()
    out, stack = [], []  # stack entries: [this branch runs, a branch ran]
    for i, tok in enumerate(toks):
        active = all(run for run, _ in stack)
        if i % 2 == 0:
            if active:
                out.append(tok)
            continue
        expr = tok.strip("{}").strip("-").strip()
        if expr.startswith("if "):
            v = bool(data[expr[3:].strip().lstrip(".")])
            stack.append([v, v])
        elif expr.startswith("else if "):
            v = not stack[-1][1] and bool(data[expr[8:].strip().lstrip(".")])
            stack[-1] = [v, stack[-1][1] or v]
        elif expr == "else":
            stack[-1] = [not stack[-1][1], True]
        elif expr == "end":
            stack.pop()
        elif active:
            out.append(data[expr.lstrip(".")])
    return "".join(out)


def write(path, text, mode):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def main():
    rootfs, config_path, bootstrap, source, outdir = sys.argv[1:6]
    with open(config_path) as f:
        image_config = json.load(f)
    cfg = image_config.get("config") or {}
    sd = os.path.join(rootfs, ".singularity.d")

    # makeBaseEnv(b, overwrite=true)
    for d in [".singularity.d/libs", ".singularity.d/actions", ".singularity.d/env",
              "dev", "proc", "root", "var/tmp", "tmp", "etc", "sys", "home"]:
        p = os.path.join(rootfs, d)
        if not os.path.lexists(p):
            os.makedirs(p, 0o755)
    for old, new in [(".singularity.d/runscript", "singularity"),
                     (".singularity.d/actions/run", ".run"),
                     (".singularity.d/actions/exec", ".exec"),
                     (".singularity.d/actions/test", ".test"),
                     (".singularity.d/actions/shell", ".shell"),
                     (".singularity.d/env/90-environment.sh", "environment")]:
        p = os.path.join(rootfs, new)
        if os.path.islink(p):
            os.remove(p)
        if not os.path.lexists(p):
            os.symlink(old, p)
    write(os.path.join(rootfs, "etc/hosts"), "", 0o644)
    write(os.path.join(rootfs, "etc/resolv.conf"), "", 0o644)
    for a in ["exec", "run", "shell", "start", "test"]:
        shutil.copyfile(os.path.join(SRC, "actions", a), os.path.join(sd, "actions", a))
        os.chmod(os.path.join(sd, "actions", a), 0o755)
    for e in sorted(os.listdir(os.path.join(SRC, "env"))):
        shutil.copyfile(os.path.join(SRC, "env", e), os.path.join(sd, "env", e))
        os.chmod(os.path.join(sd, "env", e), 0o755)
    for s in ["runscript", "startscript"]:
        shutil.copyfile(os.path.join(SRC, s), os.path.join(sd, s))
        os.chmod(os.path.join(sd, s), 0o755)

    # insertRunScript
    ep, cmd = cfg.get("Entrypoint") or [], cfg.get("Cmd") or []
    rs = "#!/bin/sh\n"
    rs += "OCI_ENTRYPOINT='" + escape_single(args_quoted(ep)) + "'\n" if ep else "OCI_ENTRYPOINT=''\n"
    rs += "OCI_CMD='" + escape_single(args_quoted(cmd)) + "'\n" if cmd else "OCI_CMD=''\n"
    prepend_cmd = "".join("set -- '%s' \"$@\"\n" % escape_single(c) for c in reversed(cmd))
    prepend_ep = "".join("set -- '%s' \"$@\"\n" % escape_single(c) for c in reversed(ep))
    with open(os.path.join(SRC, "oci-runscript.tmpl")) as f:
        rs += render(f.read(), {"PrependCmd": prepend_cmd, "PrependEntrypoint": prepend_ep})
    write(os.path.join(sd, "runscript"), rs, 0o755)

    # insertEnv: the image's ENV, as Apptainer applies it (the host's value
    # wins, except for PATH)
    env = "#!/bin/sh\n"
    for element in cfg.get("Env") or []:
        name, eq, value = element.partition("=")
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
            continue
        if not eq:
            env += 'export %s="${%s:-}"\n' % (name, name)
        elif name == "PATH":
            env += 'export %s="%s"\n' % (name, escape(value))
        else:
            env += 'export %s="${%s:-"%s"}"\n' % (name, name, escape(value))
    env_path = os.path.join(sd, "env", "10-docker2singularity.sh")
    write(env_path, env, 0o755)

    # insertOCIConfig (a SIF object) and insertOCILabels
    oci_config = json.dumps(cfg, separators=(",", ":"))
    labels = dict(cfg.get("Labels") or {})

    # insertLabelsJSON: the image's labels plus the build's
    now = time.localtime()
    labels["org.label-schema.schema-version"] = "1.0"
    labels["org.opencontainers.image.created"] = time.strftime("%Y-%m-%dT%H:%M:%S", now) + (
        time.strftime("%z", now)[:3] + ":" + time.strftime("%z", now)[3:])
    labels["org.label-schema.build-date"] = "%s_%d_%s_%d_%d:%d:%d_%s" % (
        time.strftime("%A", now), now.tm_mday, time.strftime("%B", now), now.tm_year,
        now.tm_hour, now.tm_min, now.tm_sec, time.strftime("%Z", now))
    labels["org.label-schema.usage.apptainer.version"] = APPTAINER_VERSION
    labels["org.label-schema.usage.singularity.deffile.bootstrap"] = bootstrap
    labels["org.label-schema.usage.singularity.deffile.from"] = source
    labels_json = json.dumps(labels, indent="\t", sort_keys=True)
    write(os.path.join(sd, "labels.json"), labels_json, 0o644)

    # insertDefinition: the definition made from the build's source argument
    deffile = "bootstrap: %s\nfrom: %s\n\n" % (bootstrap, source)
    write(os.path.join(sd, "Singularity"), deffile, 0o644)

    # insertJSONInspectMetadata (apptainer inspect --all --json)
    def content(p):
        with open(p) as f:
            return f.read().rstrip("\n")

    attributes = {
        "deffile": deffile.rstrip("\n"),
        "environment": {
            "/.singularity.d/env/10-docker2singularity.sh": content(env_path),
            "/.singularity.d/env/90-environment.sh": content(os.path.join(sd, "env", "90-environment.sh")),
        },
        "labels": labels,
        "runscript": content(os.path.join(sd, "runscript")),
        "startscript": content(os.path.join(sd, "startscript")),
    }
    inspect = json.dumps({"data": {"attributes": attributes}, "type": "container"}, separators=(",", ":"))

    os.makedirs(outdir, exist_ok=True)
    write(os.path.join(outdir, "deffile"), deffile, 0o644)
    write(os.path.join(outdir, "inspect-metadata.json"), inspect, 0o644)
    write(os.path.join(outdir, "oci-config.json"), oci_config, 0o644)


if __name__ == "__main__":
    main()
