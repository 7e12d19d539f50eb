/**
 * What Docker fixes that a definition must know: the build arguments it
 * gives without an ARG line, the instructions with no Apptainer meaning, and
 * the one-line refusal for what only Docker can build.
 */
import { UsageError } from "../core/errors.js";

/** Docker's automatic platform ARGs: the image is built for the cluster, a Linux x86-64 machine. */
export const PLATFORM_ARGS: Record<string, string> = {
  TARGETPLATFORM: "linux/amd64",
  TARGETOS: "linux",
  TARGETARCH: "amd64",
  TARGETVARIANT: "",
  BUILDPLATFORM: "linux/amd64",
  BUILDOS: "linux",
  BUILDARCH: "amd64",
  BUILDVARIANT: "",
};

/** Build arguments Docker passes to RUN without an ARG line. */
export const PROXY_ARGS = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "FTP_PROXY",
  "ftp_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
];

/** Instructions with no Apptainer meaning: why each is left out. */
export const NOT_CARRIED: Record<string, string> = {
  USER: "Apptainer builds as root (the RUN lines after it too) and runs the container as the user who starts it",
  EXPOSE: "an Apptainer container shares the host's network, so a port it listens on is a port of the host",
  VOLUME: "bind a folder there when running it (apptainer run --bind HOST_FOLDER:PATH)",
  HEALTHCHECK: "Apptainer has no health checks",
  STOPSIGNAL: "Apptainer stops the container with the signal it is sent",
  ONBUILD: "Apptainer has no triggers for images built from this one",
};

/** The one-line explanation for a build that needs Docker (several stages, COPY --from): how to build it instead. */
export function needsDocker(what: string): UsageError {
  return new UsageError(
    `${what}, which an Apptainer definition cannot do: build the image with Docker (docker build -t NAME:TAG .), then convert it: hpcjob image convert docker-daemon:NAME:TAG`,
  );
}
