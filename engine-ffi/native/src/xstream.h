/*
 * Execution streams: one thread per target (pinned when first_core/pinned_numa_node say so),
 * nr_xs_helpers helpers and the system xstream running the dRPC progress loop. Each xstream
 * has private storage with one slot per module key.
 */
#ifndef DSS_XSTREAM_H
#define DSS_XSTREAM_H

#include <pthread.h>
#include <stdint.h>

#include "module.h"

struct dss_tm_node;

enum dss_xs_kind { DSS_XS_TARGET = 0, DSS_XS_HELPER = 1, DSS_XS_SYS = 2 };

typedef void (*dss_xs_fn)(struct dss_engine *eng, int xs_id, void *arg);

struct dss_xs_work {
	dss_xs_fn fn;
	void *arg;
	int done;                /* 1 = ran, -1 = dropped at quit */
	struct dss_xs_work *next;
};

struct dss_xstream {
	int id;
	int kind;
	int cpu;                 /* pinned cpu or -1 */
	int pinned;              /* affinity was applied */
	struct dss_engine *eng;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* work queued / work done / stop */
	struct dss_xs_work *head, *tail;
	int quit;
	int closed;              /* takes no new work (PrepShutdown); queued work still runs */
	uint64_t nr_runs;        /* work items run */
	void *keys[DSS_MAX_KEYS];
};

/**
 * Compute the cpu for each of n xstreams: first_core >= 0 → consecutive cores from it,
 * numa_node >= 0 → that node's cpus round-robin, else -1. 0 or -errno (unknown node).
 */
int dss_xs_cpus(int first_core, int numa_node, int n, int *cpus, char *err, size_t errlen);

/** Start every xstream thread; the system xstream runs sys_main. 0 or -errno. */
int dss_xstreams_start(struct dss_engine *eng, void *(*sys_main)(void *));

/** Tell every xstream to quit and join them all. */
void dss_xstreams_stop(struct dss_engine *eng);

/**
 * Run fn on xstream xs_id and wait until it ran. 0, -EINVAL (bad id) or -ESHUTDOWN when the
 * xstream quit first or is closed to new work. The wait always ends: a quitting xstream
 * completes its queue unrun.
 */
DSS_API int dss_xs_run(struct dss_engine *eng, int xs_id, dss_xs_fn fn, void *arg);

/** Close (closed=1) or reopen (0) every target xstream to new work; helpers stay open. */
DSS_API void dss_xs_targets_close(struct dss_engine *eng, int closed);

/** The telemetry counter sched/xs_<id>/cycles (NULL without a telemetry tree). */
struct dss_tm_node *dss_xs_cycles_node(int xs_id);

/** The calling thread's xstream, or NULL outside xstreams. */
DSS_API struct dss_xstream *dss_xs_self(void);

/** This xstream's value for a module key (NULL outside xstreams or if unregistered). */
DSS_API void *dss_module_key_get(const struct dss_module_key *key);

#endif
