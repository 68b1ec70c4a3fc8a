/* The NotifyReady up-call to daos_server (dRPC module 3, method 301; spec/server.md §2.3). */
#ifndef DSS_NOTIFY_H
#define DSS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct dss_engine;

#define DRPC_METHOD_SRV_NOTIFY_READY 301

/** Pack the NotifyReadyReq for this engine into *out (malloc'd). 0 or -ENOMEM. */
int dss_notify_ready_pack(struct dss_engine *eng, uint8_t **out, size_t *out_len);

/**
 * Thread body: send NotifyReady to <socket_dir>/daos_server.sock, retrying with backoff
 * (8 ms doubling to 1024 ms) while the socket is absent or refuses, until acknowledged,
 * rejected, the attempt bound is hit, or stop.
 */
void *dss_notify_main(void *eng);

#endif
