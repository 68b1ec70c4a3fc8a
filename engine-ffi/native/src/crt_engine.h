/*
 * The engine's RPC transport (crt.h): created at start from the fabric environment with one
 * context per xstream (the nctxs reported at join; context 0 = the system xstream's), each
 * progressed by its own thread; the group is the map received with GroupUpdate, pulled in
 * before each use. The layer's own protocol answers pings with rank, instance and
 * incarnation (PingRank and daos_engine_fabric_ping use it).
 */
#ifndef DSS_CRT_ENGINE_H
#define DSS_CRT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "dss_api.h"

struct dss_engine;

/** What a ping answers. */
struct crt_ping_out {
	uint64_t nonce;
	uint32_t rank;
	uint32_t instance;
	uint64_t incarnation;
};

/** Open the transport; sets eng->crt and eng->uri. 0 or -errno + err. */
int dss_crt_start(struct dss_engine *eng, char *err, size_t errlen);

/** Join the context threads and close the endpoint. */
void dss_crt_stop(struct dss_engine *eng);

/**
 * Ping rank over the fabric from the system context. 0 with *out filled, or -DER_*
 * (-DER_OOG: not in our map, -DER_TIMEDOUT, -DER_UNREACH...).
 */
DSS_API int dss_crt_ping_rank(struct dss_engine *eng, uint32_t rank, int timeout_ms,
		      struct crt_ping_out *out);

#endif
