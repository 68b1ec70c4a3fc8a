/**
 * daos_engine: runs one engine instance from libdaos_engine.so. Arguments are the DAOS engine
 * flags (spec/server.md §1.6); SIGINT/SIGTERM stop the engine, join its threads, close the
 * library and exit 0. Bad arguments or storage: message on stderr, exit 1. When the daos_server
 * named by DAOS_SERVER_PID exits (even SIGKILLed), the engine stops itself the same way, says
 * so on stderr and exits 1 (native/src/server_watch.h).
 */
import { Engine, EngineError, openEngineLibrary } from "./ffi.ts";

const USAGE = "usage: daos_engine -t <targets> -s <scm mount> -d <socket dir> [-x <helpers>] " +
  "[-f <first core> | -p <numa node>] [-n <daos_nvme.conf>] [-I <instance>] [-g <system>] " +
  "[-r <MiB>] [-H <MiB>] [-T <tiers>] [-m <modules>] [-b] [-C]";

/** Runs the engine until a signal or until it stops itself; returns the exit code. */
export async function runEngine(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const lib = openEngineLibrary();
  let engine: Engine | undefined;
  // listen before creating, so a signal during start-up still ends in an orderly stop
  let signalled = false;
  const onSignal = () => {
    signalled = true;
    engine?.requestStop();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    engine = Engine.create(lib, args);
    engine.start();
    if (signalled) engine.requestStop();
    // the wait is bounded so a lost wake-up could never hang the process
    while (!(await engine.wait(1000))) { /* running */ }
    const why = engine.lastError;
    engine.stop();
    if (why !== "") {
      console.error(`daos_engine: ${why}`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    console.error(`daos_engine: ${e.message}`);
    if (e.message.startsWith("unknown engine argument") || e.message.startsWith("missing")) {
      console.error(USAGE);
    }
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    // destroy joins any thread still running before the library goes away
    engine?.destroy();
    lib.close();
  }
}

if (import.meta.main) {
  Deno.exit(await runEngine(Deno.args));
}
