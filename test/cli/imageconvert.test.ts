/**
 * `hpcjob image convert` as a user runs it (the built CLI), for input it
 * must refuse before anything runs: one line, exit 2 for what the user can
 * fix in the command, exit 1 with the cause when the registry cannot be
 * reached. The conversions themselves are in test/e2e/convert.e2e.test.ts.
 */
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "../helpers.js";

const ENV = { HPCJOB_CLUSTERS: join(ROOT, "test", "fixtures", "clusters") };

/** A port on 127.0.0.1 nothing listens on (free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  await new Promise((ok) => server.close(ok));
  return port;
}

describe("image convert refuses", () => {
  it.each([
    [
      ["oci:foo"],
      'hpcjob: image convert "oci:foo" is not an image hpcjob converts; it reads docker://, docker-daemon:, docker-archive: or oci-archive:, or the path of a .sif, .sqsh or .sqfs file',
    ],
    [
      ["docker-daemon:lab/jupyter:1"],
      "hpcjob: hpcjob image convert reads docker:// references so far (got docker-daemon:lab/jupyter:1); push the image to a registry, or convert it on the cluster with the runtime's own tool",
    ],
    [
      ["docker://127.0.0.1:5443/lab/jupyter:1", "--cluster", "rt-none"],
      "hpcjob: cluster rt-none runs jobs on the host (container.runtime: none); there is no image to convert for it",
    ],
  ])("%j with one line and exit 2", (args, line) => {
    const [image, ...more] = args;
    const r = runCli(["image", "convert", image ?? "", ...(more.length ? more : ["--cluster", "loopback-charliecloud"])], { env: ENV });
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
  });

  it("a registry that does not answer: exit 1, what failed and what to check", async () => {
    const port = await closedPort();
    const r = runCli(["image", "convert", `docker://127.0.0.1:${port}/lab/jupyter:1`, "--cluster", "loopback-charliecloud"], { env: ENV });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `hpcjob: cannot reach registry 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; check the registry's host and port, and that it is running\n`,
    );
  });
});
