/* The engine object shared by the engine's modules (not part of the public API). */
#ifndef DSS_ENGINE_INTERNAL_H
#define DSS_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "args.h"
#include "crt.h"
#include "daos_engine.h"
#include "module.h"
#include "server_watch.h"
#include "storage.h"
#include "tunables.h"
#include "xstream.h"

#define DSS_NIL_RANK 0xFFFFFFFFu

struct ive;

/** One member of the group map received with GroupUpdate. */
struct dss_group_member {
	uint32_t rank;
	char uri[128];
	uint64_t incarnation;
};

struct dss_engine {
	struct dss_args args;
	struct dss_storage storage;
	struct dss_module_registry reg;

	struct dss_xstream *xs;  /* targets, then helpers, then the system xstream */
	int nxs;
	int *cpus;               /* cpu per xstream, -1 = not pinned */

	/* Stop event: written once by request_stop, never drained, so every poller sees it. */
	int stop_pipe[2];
	int stop_requested;      /* atomic */
	int state;               /* atomic, enum daos_engine_state */
	int nthreads;            /* atomic: running engine threads */

	char sock_path[108];
	int drpc_fd;             /* dRPC listener */
	struct crt_transport *crt; /* the fabric RPC transport (crt_engine.h) */
	struct ive *iv;          /* the engine's IV namespace over crt (iv_engine.h) */
	struct dss_tunables tun; /* read from the environment at start (tunables.h) */
	struct dss_swim *swim;   /* SWIM (swim_engine.h), NULL when not started */
	char uri[160];
	uint64_t incarnation;
	struct dss_server_watch server; /* the daos_server whose death stops this engine */

	pthread_t notify_thread;
	int notify_started;
	int notify_done;         /* atomic: NotifyReady acknowledged */

	pthread_mutex_t lock;    /* protects the fields below */
	uint32_t rank;
	uint32_t map_version;
	uint32_t group_version;
	struct dss_group_member *group;
	size_t ngroup;
	int prep_shutdown;       /* PrepShutdown received: targets take no new work until SetUp */
	int setup_done;
	char last_error[256];
};

/** Record why the engine stops itself and request the stop. */
DSS_API void dss_engine_fail(struct dss_engine *eng, const char *msg);

/** True once a stop was requested. */
DSS_API int dss_engine_stopping(const struct dss_engine *eng);

/** Sleep up to ms, returning early (1) when a stop is requested; 0 after the full sleep. */
DSS_API int dss_engine_sleep(struct dss_engine *eng, int ms);

#endif
