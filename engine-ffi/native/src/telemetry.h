/*
 * Engine telemetry producer: the metrics of this engine instance in a shared-memory tree
 * (layout in telemetry_layout.h) that daos_server reads without a dRPC round trip.
 *
 * The engine creates the process-wide tree at start (dss_tm_create + dss_tm_set_global) and
 * removes it at stop. Modules and engine code update metrics by path from any thread:
 *
 *   dss_tm_counter_add("net/tcp/req_sent", 1);
 *   dss_tm_gauge_set("events/dead_ranks", n);
 *   dss_tm_timestamp_now("events/last_event_ts");
 *   dss_tm_duration_add("drpc/mgmt/set_rank/latency", ns);
 *
 * The first update of a path adds the metric (under a mutex); later ones find it through a
 * lock-free index and update it with one or a few atomics. With no tree (telemetry off, or a
 * tool that links the engine without starting it) every call is a no-op. A hot path can keep
 * the node from dss_tm_node() and update it with the dss_tm_node_* calls (no lookup).
 *
 * Paths: 1..231 bytes of components [A-Za-z0-9_.:+-] separated by single '/'. A path that is
 * invalid, already used with another type, or does not fit (tree full) is not recorded.
 */
#ifndef DSS_TELEMETRY_H
#define DSS_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "dss_api.h"
#include "telemetry_layout.h"

/*
 * Well-known paths (spec/server.md §8 turns them into engine_<path> Prometheus names; path
 * components net/<provider>, xs_<n>, ctx_<n>, tgt_<n>, pool/<uuid> become labels):
 *   started_at, servicing_at (timestamps), rank (gauge)       engine.c, mgmt module
 *   drpc/<module>/<method>/calls, .../latency                  dRPC dispatch (module.c)
 *   sched/xs_<n>/cycles                                        xstreams, progress loop
 *   net/<scheme>/{req_sent,req_recv,req_timeout,req_latency}/ctx_<n>   fabric RPC layer (crt.c)
 *   net/<scheme>/op/<proto>.<rpc>/{sent,served,failed,latency}     per opcode (crt.c)
 *   events/dead_ranks (gauge), events/last_event_ts (timestamp)    SWIM
 */
#define DSS_TM_DEAD_RANKS    "events/dead_ranks"
#define DSS_TM_LAST_EVENT_TS "events/last_event_ts"

struct dss_tm;
/** A metric slot in the tree (opaque to callers). */
struct dss_tm_node;

/** Default capacity: 2048 slots (1 MiB, the reference's D_TM_SHARED_MEMORY_SIZE). */
#define DSS_TM_DEFAULT_SLOTS 2048

/**
 * Create the tree of (system, instance_idx) in dir (NULL: DAOS_TM_DIR or /dev/shm), with room
 * for nslots metrics. A tree left by a dead engine of the same instance is replaced. Errors:
 * -EINVAL (bad system name or dir), -EBUSY (a live engine owns that tree), -errno of the file
 * operations; err names the file and the fix.
 */
int dss_tm_create(const char *dir, const char *system, int instance_idx, uint32_t nslots,
		  struct dss_tm **out, char *err, size_t errlen);

/**
 * Whether DAOS_TM_DISABLE asks the engine to run without a telemetry tree (benchmarks of the
 * telemetry's cost): 1 for "1", 0 when unset, empty or "0", -EINVAL for anything else (err
 * names the value and the accepted ones).
 */
int dss_tm_disabled(char *err, size_t errlen);

/** Remove the tree file (when it is still ours), unmap and free. NULL is a no-op. */
void dss_tm_destroy(struct dss_tm *tm);

/** Path of the tree file. */
const char *dss_tm_file(const struct dss_tm *tm);

/** Make tm the tree that the path-based calls update (NULL: none). */
void dss_tm_set_global(struct dss_tm *tm);

/** The tree the path-based calls update, or NULL. */
DSS_API struct dss_tm *dss_tm_global(void);

/**
 * The node of path in tm with that type, added (with desc and units, may be NULL) when it is
 * new. NULL when tm is NULL, the path is invalid, used with another type or the tree is full.
 */
DSS_API struct dss_tm_node *dss_tm_node_in(struct dss_tm *tm, enum dss_tm_type type,
					   const char *path, const char *desc, const char *units);

/** dss_tm_node_in on the global tree. */
DSS_API struct dss_tm_node *dss_tm_node(enum dss_tm_type type, const char *path,
					const char *desc, const char *units);

/* Node updates; a NULL node is a no-op. Values go to the slot with atomics. */
DSS_API void dss_tm_node_add(struct dss_tm_node *n, uint64_t v);       /* counter, gauge */
DSS_API void dss_tm_node_sub(struct dss_tm_node *n, uint64_t v);       /* gauge */
DSS_API void dss_tm_node_set(struct dss_tm_node *n, int64_t v);        /* gauge */
DSS_API void dss_tm_node_stamp(struct dss_tm_node *n, uint64_t secs);  /* timestamp */
DSS_API void dss_tm_node_sample(struct dss_tm_node *n, uint64_t ns);   /* duration */

/* Path-based updates of the global tree. */
DSS_API void dss_tm_counter_add(const char *path, uint64_t v);
DSS_API void dss_tm_gauge_set(const char *path, int64_t v);
DSS_API void dss_tm_gauge_add(const char *path, int64_t delta);
DSS_API void dss_tm_timestamp_now(const char *path);
DSS_API void dss_tm_duration_add(const char *path, uint64_t ns);

/** CLOCK_MONOTONIC now in ns, for durations. */
DSS_API uint64_t dss_tm_mono_ns(void);

/** Lower-case name of a dRPC method for metric paths ("set_rank"), or NULL when unnamed. */
const char *dss_tm_drpc_method_name(int32_t module, int32_t method);

/** dRPC module ids whose calls have cached metric nodes (DRPC_NUM_MODULES). */
#define DSS_TM_DRPC_MODULES 5

/** Count one dRPC call of module/method and its handler time (drpc/<mod>/<method>/...). */
void dss_tm_drpc_call(const char *module, int32_t module_id, int32_t method, uint64_t ns);

#endif
