/** Entry point of the bundle and the single executable. */
import { main } from "./cli/index.js";

// Leave as soon as the command is done (output is written synchronously and
// main has closed the connection): Node's orderly shutdown, which first runs
// V8's pending tasks (a garbage collection, for a dry run) and then tears the
// heap down, costs a dry run more than reading its files does.
void main().then(() => process.exit());
