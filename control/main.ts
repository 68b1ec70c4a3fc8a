/**
 * daos_server: `daos_server start -o daos_server.yml` runs the control server, the engines
 * and (on replicas) the management service until SIGINT or SIGTERM; the other sub-commands
 * (storage, scm, nvme, network, ms, config, version) work on the local host without a running
 * server. The command line lives in control/cmd/ (program.ts); exit status 0 on success, 1 on
 * any error (printed as `ERROR: daos_server: <error>` plus the fault's resolution line).
 */
import { main } from "./cmd/program.ts";

export { main };

if (import.meta.main) Deno.exit(await main(Deno.args));
