/**
 * `deno task demo [up|down|status] [flags]` (README's `./scripts/demo`): a local DAOS system
 * on loopback that keeps running after the command, and its complete removal.
 */
import { parseDemoArgs, UsageError } from "./options.ts";
import { alreadyRunningText, demoUp, isRunning } from "./up.ts";
import { BadStateError, type DemoState, readState } from "./state.ts";
import { isDemoDir, lockStateDir, StateDirError } from "./statedir.ts";
import { describeTeardown, tearDown } from "./teardown.ts";

const out = (text: string) => console.log(text);

async function readStateLenient(dir: string): Promise<DemoState | null> {
  try {
    return await readState(dir);
  } catch (e) {
    if (!(e instanceof BadStateError)) throw e;
    out(`Ignoring unusable state file: ${e.message}`);
    return null;
  }
}

/** `demo down`: removes everything; exit 1 when something could not be removed. */
async function down(dir: string): Promise<number> {
  if (!(await isDemoDir(dir))) {
    const exists = await Deno.stat(dir).then(() => true, () => false);
    out(exists ? `${dir} is not a demo state dir; nothing done.` : `No demo system in ${dir}.`);
    return exists ? 1 : 0;
  }
  const lock = await lockStateDir(dir);
  try {
    const state = await readStateLenient(dir);
    out(`Tearing down the demo system in ${dir} ...`);
    const r = await tearDown(dir, state?.servers ?? []);
    out(describeTeardown(dir, r));
    return r.leftovers.length === 0 ? 0 : 1;
  } finally {
    lock.close();
  }
}

/** `demo status`: exit 0 when a system is running, 3 when none is. */
async function status(dir: string): Promise<number> {
  const state = (await isDemoDir(dir)) ? await readStateLenient(dir) : null;
  if (state !== null && isRunning(state)) {
    out(alreadyRunningText(state).replace("; leaving it as it is.", "."));
    return 0;
  }
  out(state ? `The demo in ${dir} is not running (stale state).` : `No demo system in ${dir}.`);
  return 3;
}

/** Runs the demo CLI; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  try {
    const cmd = parseDemoArgs(args);
    switch (cmd.kind) {
      case "help":
        out(cmd.text.trimEnd());
        return 0;
      case "down":
        return await down(cmd.stateDir);
      case "status":
        return await status(cmd.stateDir);
      case "up": {
        // Ctrl-C during bring-up tears down what was started instead of leaving it half up.
        const ctl = new AbortController();
        const onInt = () => ctl.abort();
        Deno.addSignalListener("SIGINT", onInt);
        try {
          return await demoUp(cmd, { out, tty: Deno.stderr.isTerminal() }, ctl.signal);
        } finally {
          Deno.removeSignalListener("SIGINT", onInt);
        }
      }
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const known = e instanceof UsageError || e instanceof StateDirError;
    console.error(`demo: ${known ? "" : "error: "}${msg}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
