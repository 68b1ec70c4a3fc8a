/* Xstream threads, cpu pinning, work queues and per-xstream module-key storage. */
#include "xstream.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "log.h"
#include "telemetry.h"

static __thread struct dss_xstream *xs_self;

struct dss_tm_node *dss_xs_cycles_node(int xs_id)
{
	char path[48];

	snprintf(path, sizeof(path), "sched/xs_%d/cycles", xs_id);
	return dss_tm_node(DSS_TM_COUNTER, path, "scheduler cycles (wake-ups) of the xstream",
			   "cycles");
}

struct dss_xstream *dss_xs_self(void)
{
	return xs_self;
}

void *dss_module_key_get(const struct dss_module_key *key)
{
	if (xs_self == NULL || key == NULL || key->index < 0 || key->index >= DSS_MAX_KEYS)
		return NULL;
	return xs_self->keys[key->index];
}

/* Parse a sysfs cpulist like "0-3,8,10-11" into cpus; returns the count or -EINVAL. */
static int parse_cpulist(const char *s, int *out, int cap)
{
	int n = 0;

	while (*s != '\0' && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a)
				return -EINVAL;
			s = end;
		}
		for (long c = a; c <= b && n < cap; c++)
			out[n++] = (int)c;
		if (*s == ',')
			s++;
	}
	return n;
}

int dss_xs_cpus(int first_core, int numa_node, int n, int *cpus, char *err, size_t errlen)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 1)
		ncpu = 1;
	if (first_core >= 0) {
		if (first_core >= ncpu) {
			snprintf(err, errlen, "first_core %d (-f) is not an online core (this host "
				 "has %ld)", first_core, ncpu);
			return -EINVAL;
		}
		/* more xstreams than cores wrap around: oversubscribed but runnable */
		for (int i = 0; i < n; i++)
			cpus[i] = (int)((first_core + i) % ncpu);
		return 0;
	}
	if (numa_node >= 0) {
		char path[128], buf[4096];
		int list[1024], cnt;
		FILE *fp;

		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", numa_node);
		fp = fopen(path, "r");
		if (fp == NULL) {
			snprintf(err, errlen, "pinned_numa_node %d (-p): no such NUMA node on this "
				 "host (%s)", numa_node, path);
			return -EINVAL;
		}
		if (fgets(buf, sizeof(buf), fp) == NULL)
			buf[0] = '\0';
		fclose(fp);
		cnt = parse_cpulist(buf, list, 1024);
		if (cnt <= 0) {
			snprintf(err, errlen, "pinned_numa_node %d (-p) has no cpus", numa_node);
			return -EINVAL;
		}
		for (int i = 0; i < n; i++)
			cpus[i] = list[i % cnt];
		return 0;
	}
	for (int i = 0; i < n; i++)
		cpus[i] = -1;
	return 0;
}

static void xs_keys_init(struct dss_xstream *xs)
{
	struct dss_module_registry *reg = &xs->eng->reg;

	for (int k = 0; k < reg->nkeys; k++)
		xs->keys[k] = reg->keys[k]->init ? reg->keys[k]->init(xs->id, reg->keys[k]->arg)
						 : NULL;
}

static void xs_keys_fini(struct dss_xstream *xs)
{
	struct dss_module_registry *reg = &xs->eng->reg;

	for (int k = reg->nkeys - 1; k >= 0; k--) {
		if (reg->keys[k]->fini)
			reg->keys[k]->fini(xs->id, xs->keys[k]);
		xs->keys[k] = NULL;
	}
}

static void xs_pin(struct dss_xstream *xs)
{
	cpu_set_t set;
	int rc;

	if (xs->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(xs->cpu, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc != 0)
		D_WARN("xstream %d: cannot pin to cpu %d: %s", xs->id, xs->cpu, strerror(rc));
	else
		xs->pinned = 1;
}

/* Target and helper xstreams: run queued work until told to quit. */
static void *xs_main(void *arg)
{
	struct dss_xstream *xs = arg;
	struct dss_tm_node *cycles = dss_xs_cycles_node(xs->id);

	xs_self = xs;
	xs_pin(xs);
	xs_keys_init(xs);
	pthread_mutex_lock(&xs->lock);
	for (;;) {
		struct dss_xs_work *w;

		while (xs->head == NULL && !xs->quit)
			pthread_cond_wait(&xs->cond, &xs->lock);
		dss_tm_node_add(cycles, 1); /* one scheduler cycle per wake-up */
		w = xs->head;
		if (w == NULL)
			break; /* quit with an empty queue */
		xs->head = w->next;
		if (xs->head == NULL)
			xs->tail = NULL;
		if (xs->quit) {
			w->done = -1;
			pthread_cond_broadcast(&xs->cond);
			continue;
		}
		pthread_mutex_unlock(&xs->lock);
		w->fn(xs->eng, xs->id, w->arg);
		pthread_mutex_lock(&xs->lock);
		xs->nr_runs++;
		w->done = 1;
		pthread_cond_broadcast(&xs->cond);
	}
	pthread_mutex_unlock(&xs->lock);
	xs_keys_fini(xs);
	__atomic_sub_fetch(&xs->eng->nthreads, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct sys_start {
	struct dss_xstream *xs;
	void *(*main)(void *);
};

/* The system xstream: key storage and pinning like the others, then the progress loop. */
static void *xs_sys_main(void *arg)
{
	struct sys_start *ss = arg;
	struct dss_xstream *xs = ss->xs;
	void *(*fn)(void *) = ss->main;

	free(ss);
	xs_self = xs;
	xs_pin(xs);
	xs_keys_init(xs);
	fn(xs->eng);
	xs_keys_fini(xs);
	__atomic_sub_fetch(&xs->eng->nthreads, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

int dss_xstreams_start(struct dss_engine *eng, void *(*sys_main)(void *))
{
	for (int i = 0; i < eng->nxs; i++) {
		struct dss_xstream *xs = &eng->xs[i];
		int rc;

		xs->id = i;
		xs->eng = eng;
		xs->cpu = eng->cpus[i];
		xs->kind = i < eng->args.targets ? DSS_XS_TARGET
			   : i < eng->args.targets + eng->args.nr_helpers ? DSS_XS_HELPER
									  : DSS_XS_SYS;
		pthread_mutex_init(&xs->lock, NULL);
		pthread_cond_init(&xs->cond, NULL);
		/* counted before it runs, so the count is exact as soon as start returns */
		__atomic_add_fetch(&eng->nthreads, 1, __ATOMIC_SEQ_CST);
		if (xs->kind == DSS_XS_SYS) {
			struct sys_start *ss = malloc(sizeof(*ss));

			if (ss == NULL) {
				__atomic_sub_fetch(&eng->nthreads, 1, __ATOMIC_SEQ_CST);
				return -ENOMEM;
			}
			ss->xs = xs;
			ss->main = sys_main;
			rc = pthread_create(&xs->thread, NULL, xs_sys_main, ss);
			if (rc != 0)
				free(ss);
		} else {
			rc = pthread_create(&xs->thread, NULL, xs_main, xs);
		}
		if (rc != 0) {
			__atomic_sub_fetch(&eng->nthreads, 1, __ATOMIC_SEQ_CST);
			D_ERROR("cannot start xstream %d: %s", i, strerror(rc));
			return -rc;
		}
		xs->started = 1;
	}
	return 0;
}

void dss_xstreams_stop(struct dss_engine *eng)
{
	/* the system xstream leaves its loop on the stop event; the others on quit */
	for (int i = 0; i < eng->nxs; i++) {
		struct dss_xstream *xs = &eng->xs[i];

		if (!xs->started)
			continue;
		pthread_mutex_lock(&xs->lock);
		xs->quit = 1;
		pthread_cond_broadcast(&xs->cond);
		pthread_mutex_unlock(&xs->lock);
	}
	/* the system xstream (last) is joined first: its dRPC handlers use the others' locks */
	for (int i = eng->nxs - 1; i >= 0; i--) {
		struct dss_xstream *xs = &eng->xs[i];

		if (!xs->started)
			continue;
		pthread_join(xs->thread, NULL);
		xs->started = 0;
		pthread_mutex_destroy(&xs->lock);
		pthread_cond_destroy(&xs->cond);
	}
}

int dss_xs_run(struct dss_engine *eng, int xs_id, dss_xs_fn fn, void *arg)
{
	struct dss_xs_work w = {.fn = fn, .arg = arg};
	struct dss_xstream *xs;

	if (xs_id < 0 || xs_id >= eng->nxs || eng->xs[xs_id].kind == DSS_XS_SYS)
		return -EINVAL;
	xs = &eng->xs[xs_id];
	if (!xs->started)
		return -ESHUTDOWN;
	pthread_mutex_lock(&xs->lock);
	if (xs->quit || xs->closed) {
		pthread_mutex_unlock(&xs->lock);
		return -ESHUTDOWN;
	}
	if (xs->tail)
		xs->tail->next = &w;
	else
		xs->head = &w;
	xs->tail = &w;
	pthread_cond_broadcast(&xs->cond);
	while (w.done == 0)
		pthread_cond_wait(&xs->cond, &xs->lock);
	pthread_mutex_unlock(&xs->lock);
	return w.done == 1 ? 0 : -ESHUTDOWN;
}

void dss_xs_targets_close(struct dss_engine *eng, int closed)
{
	for (int i = 0; i < eng->nxs; i++) {
		struct dss_xstream *xs = &eng->xs[i];

		if (xs->kind != DSS_XS_TARGET || !xs->started)
			continue;
		pthread_mutex_lock(&xs->lock);
		xs->closed = closed;
		pthread_mutex_unlock(&xs->lock);
	}
}
