/* The NotifyReady up-call to daos_server (dRPC module 3, method 301; spec/server.md §2.3). */
#ifndef DSS_NOTIFY_H
#define DSS_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "dss_api.h"

struct dss_engine;

#define DRPC_METHOD_SRV_NOTIFY_READY  301
#define DRPC_METHOD_SRV_CLUSTER_EVENT 304

/* RAS event ids, types and severities used by the engine (spec/server.md §5.5). */
#define DSS_RAS_ENGINE_SELF_TERMINATED 5
#define DSS_RAS_SWIM_RANK_DEAD         17
#define DSS_RAS_TYPE_STATE_CHANGE      1
#define DSS_RAS_TYPE_INFO              2
#define DSS_RAS_SEV_NOTICE             3

/** Pack the NotifyReadyReq for this engine into *out (malloc'd). 0 or -ENOMEM. */
int dss_notify_ready_pack(struct dss_engine *eng, uint8_t **out, size_t *out_len);

/**
 * Thread body: send NotifyReady to <socket_dir>/daos_server.sock, retrying with backoff
 * (8 ms doubling to 1024 ms) while the socket is absent or refuses, until acknowledged,
 * rejected, the attempt bound is hit, or stop.
 */
void *dss_notify_main(void *eng);

/**
 * Raise RAS engine_self_terminated (info only) for rank with msg to daos_server (ClusterEvent,
 * srv 304), one bounded attempt. 0 when daos_server acknowledged it, else -EIO / -ENOMEM.
 */
DSS_API int dss_notify_self_terminated(struct dss_engine *eng, uint32_t rank, const char *msg);

/**
 * Raise RAS swim_rank_dead (state change) for rank at incarnation with msg (the reason) to
 * daos_server, which forwards it to the MS leader. One bounded attempt: 0 when acknowledged,
 * else -EIO / -ENOMEM.
 */
DSS_API int dss_notify_swim_rank_dead(struct dss_engine *eng, uint32_t rank,
				      uint64_t incarnation, const char *msg);

#endif
