/**
 * Opening a URL in the user's browser (xdg-open on Linux, open on macOS).
 */
import { spawn } from "node:child_process";

/** Start the browser on `url`; false when no opener could be started. */
export function openBrowser(url: string, platform = process.platform): Promise<boolean> {
  const opener = platform === "darwin" ? "open" : "xdg-open";
  return new Promise((resolve) => {
    const child = spawn(opener, [url], { stdio: "ignore", detached: true });
    child.on("error", () => resolve(false));
    child.on("spawn", () => {
      child.unref();
      resolve(true);
    });
  });
}
