/* The engine's dRPC server and fabric progress loop, run by the system xstream. */
#ifndef DSS_DRPC_SERVER_H
#define DSS_DRPC_SERVER_H

#include <stddef.h>

struct dss_engine;

/** Unlink any stale socket, bind <socket_dir>/daos_engine_<pid>.sock (mode 0600), listen. */
int dss_drpc_listen(struct dss_engine *eng, char *err, size_t errlen);

/**
 * The progress loop: poll the stop event, the dRPC listener and clients, the fabric listener
 * and clients; accept, receive, dispatch, reply, close broken connections. Returns at stop.
 * Signature fits the system xstream's main.
 */
void *dss_progress_main(void *eng);

#endif
