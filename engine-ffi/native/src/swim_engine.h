/*
 * SWIM in the engine (swim.h wired to the RPC layer, the group map and daos_server).
 *
 *  - One swim context per engine, driven by one dedicated thread ("swim"): every call on the
 *    context (tick, recv, member add/del) happens on it, so swim.h needs no lock.
 *  - Transport: the SWIM protocol (base CRT_OPC_SWIM_BASE, as CaRT's swim protocol has its own
 *    opcode base) carries one encoded swim message per request, to context 0 of the peer; the
 *    reply is empty (SWIM's ACK is a message of its own). The handler (on the system context's
 *    progress thread) only queues the bytes for the swim thread; the swim thread sends what the
 *    context queued, fire-and-forget, each request bounded by the ping timeout.
 *  - Membership: the context starts once the engine has a rank and a map naming it, self at the
 *    engine's incarnation; members follow each GroupUpdate map (added with the map's
 *    incarnation, removed when they leave it).
 *  - Deaths: SWIM_DEAD_SUSPECT_TIMEOUT → RAS swim_rank_dead (rank, incarnation, reason) to
 *    daos_server through daos_server.sock (a separate "swim-ras" thread sends it, so a slow
 *    daos_server never stalls the probes); SWIM_DEAD_GOSSIP → log; SWIM_DEAD_ISOLATED → log.
 *    Minority guard: a death this engine decided is reported only while more than half of the
 *    members (self included) are ALIVE in its view (or the group has at most two members), so
 *    the engines of a partitioned-off minority do not get the healthy majority excluded.
 *  - Out of the group: an engine the MS excluded while it could not hear the map (partition)
 *    still holds a map with itself; its peers answer its SWIM requests -DER_OOG. When, for a
 *    suspicion timeout, more recent repliers say so than answer normally, it leaves as an
 *    engine excluded by the map does (RAS engine_self_terminated, stop; daos_server restarts
 *    it and it joins again).
 *  - Telemetry: events/dead_ranks (rank deaths seen, as DAOS counts them), events/last_event_ts
 *    (last death),
 *    swim/pings_sent, swim/ping_reqs_sent, swim/acks_received, swim/suspects,
 *    swim/deaths_decided, swim/refutes, swim/glitches, swim/bad_msgs, swim/events_sent,
 *    swim/events_suppressed.
 *  - The two threads are not counted in daos_engine_thread_count (which counts the xstreams
 *    and the NotifyReady thread); dss_swim_stop joins them.
 */
#ifndef DSS_SWIM_ENGINE_H
#define DSS_SWIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "dss_api.h"
#include "swim.h"

struct dss_engine;
struct dss_swim;

/** Base opcode of the SWIM protocol (CaRT: CRT_OPC_SWIM_BASE). */
#define CRT_OPC_SWIM_BASE 0xFE000000u

/**
 * Start SWIM for eng (its transport exists, eng->tun holds the tunables): registers the
 * protocol and starts the threads. 0 or -errno + err.
 */
int dss_swim_start(struct dss_engine *eng, char *err, size_t errlen);

/** Stop and join the threads, drop pending events (idempotent; NULL-safe). */
void dss_swim_stop(struct dss_engine *eng);

/** Free the state; call after the transport closed (no handler can run any more). */
void dss_swim_free(struct dss_engine *eng);

/** Counters of the engine's SWIM context (zeros before it started). */
DSS_API void dss_swim_stats(struct dss_engine *eng, struct swim_stats *out);

/**
 * True when a death this engine decided should be reported: more than half of the n members
 * are alive in its view (alive counts self), or n <= 2. Exposed for the unit test.
 */
int dss_swim_majority(size_t alive, size_t n);

#endif
