/*
 * Light engine for scale benches: the real libdaos_engine.so (dRPC listener, NotifyReady,
 * SetRank/SetUp, fabric endpoint) driven by a plain C main instead of the Deno FFI host, so
 * a thousand engines fit in memory. Same arguments and exit codes as bin/daos_engine:
 * SIGINT/SIGTERM stop it cleanly (exit 0); bad arguments or a self-stop exit 1.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daos_engine.h"

static daos_engine_t *volatile engine;
static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
	(void)sig;
	signalled = 1;
	if (engine != NULL)
		daos_engine_request_stop(engine);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char err[512] = "";
	const char *why;
	int rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	engine = daos_engine_create(argc, (const char *const *)argv, err, sizeof(err));
	if (engine == NULL) {
		fprintf(stderr, "daos_engine: %s\n", err);
		return 1;
	}
	if (daos_engine_start(engine, err, sizeof(err)) != 0) {
		fprintf(stderr, "daos_engine: %s\n", err);
		daos_engine_destroy(engine);
		return 1;
	}
	/* A signal before start() returned found no engine to stop: stop it now. */
	if (signalled)
		daos_engine_request_stop(engine);
	/* Bounded waits, so a lost wake-up cannot hang the process. */
	while (!daos_engine_wait(engine, 1000)) {
	}
	why = daos_engine_last_error(engine);
	if (why[0] != '\0') {
		fprintf(stderr, "daos_engine: %s\n", why);
		rc = 1;
	}
	daos_engine_stop(engine);
	daos_engine_destroy(engine);
	return rc;
}
