/* Engine lifecycle: create (args, log, storage, modules), start, stop (joins), destroy. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daos_engine.h"
#include "drpc_server.h"
#include "engine_internal.h"
#include "crt_engine.h"
#include "log.h"
#include "notify.h"
#include "swim_engine.h"
#include "telemetry.h"

/* One engine per process: its socket name is per pid and its log is process-wide. */
static int engine_live;

int dss_engine_stopping(const struct dss_engine *eng)
{
	return __atomic_load_n(&eng->stop_requested, __ATOMIC_SEQ_CST);
}

int dss_engine_sleep(struct dss_engine *eng, int ms)
{
	struct pollfd pfd = {.fd = eng->stop_pipe[0], .events = POLLIN};

	if (dss_engine_stopping(eng))
		return 1;
	return poll(&pfd, 1, ms) > 0 ? 1 : 0;
}

void dss_engine_fail(struct dss_engine *eng, const char *msg)
{
	pthread_mutex_lock(&eng->lock);
	if (eng->last_error[0] == '\0')
		snprintf(eng->last_error, sizeof(eng->last_error), "%s", msg);
	pthread_mutex_unlock(&eng->lock);
	D_ERROR("engine stopping: %s", msg);
	daos_engine_request_stop(eng);
}

/*
 * The module directory: DAOS_MODULE_DIR when set (checked: it is an untrusted env value),
 * else modules/ beside libdaos_engine.so.
 */
static int module_dir(char *dir, size_t len, char *err, size_t errlen)
{
	const char *env = getenv(DSS_MODULE_DIR_ENV);
	int rc;

	if (env != NULL) {
		if (env[0] != '/' || strlen(env) >= len - DSS_MODULE_NAME_MAX - sizeof("/lib.so")) {
			snprintf(err, errlen, "invalid %s '%.200s': must be an absolute directory path "
				 "shorter than %zu bytes; fix or unset it (default: modules/ beside "
				 "libdaos_engine.so)", DSS_MODULE_DIR_ENV, env,
				 len - DSS_MODULE_NAME_MAX - sizeof("/lib.so"));
			return -EINVAL;
		}
		snprintf(dir, len, "%s", env);
		return 0;
	}
	rc = dss_module_default_dir(dir, len);
	if (rc != 0)
		snprintf(err, errlen, "cannot find the engine's module directory (modules/ beside "
			 "libdaos_engine.so): %s; set %s", strerror(-rc), DSS_MODULE_DIR_ENV);
	return rc;
}

/* Opens the modules of -m (default DSS_DEFAULT_MODULES) from the module directory. */
static int load_modules(struct dss_engine *eng, char *err, size_t errlen)
{
	const char *names = eng->args.modules[0] ? eng->args.modules : DSS_DEFAULT_MODULES;
	char dir[PATH_MAX];
	int rc = module_dir(dir, sizeof(dir), err, errlen);

	if (rc == 0)
		rc = dss_modules_open(&eng->reg, dir, names, eng, err, errlen);
	return rc;
}

/* Telemetry tree of the running engine (one engine per process), NULL when off. */
static struct dss_tm *engine_tm;

/*
 * Create this instance's telemetry tree (replacing a dead engine's) and stamp started_at.
 * Telemetry is an observer: an engine that cannot have a tree runs without one and says why.
 */
static void telemetry_open(struct dss_engine *eng)
{
	char buf[512];
	int rc;

	rc = dss_tm_disabled(buf, sizeof(buf));
	if (rc == 1) {
		D_INFO("engine %d runs without telemetry (%s=1)", eng->args.instance_idx,
		       DSS_TM_DISABLE_ENV);
		return;
	}
	if (rc < 0)
		D_WARN("engine %d keeps telemetry: %s", eng->args.instance_idx, buf);
	rc = dss_tm_create(NULL, eng->args.group, eng->args.instance_idx, DSS_TM_DEFAULT_SLOTS,
			   &engine_tm, buf, sizeof(buf));
	if (rc != 0) {
		D_WARN("engine %d runs without telemetry: %s", eng->args.instance_idx, buf);
		return;
	}
	dss_tm_set_global(engine_tm);
	dss_tm_node_stamp(dss_tm_node(DSS_TM_TIMESTAMP, "started_at",
				      "when the engine started", "s"), (uint64_t)time(NULL));
	D_INFO("telemetry tree %s", dss_tm_file(engine_tm));
}

/* Remove the tree: every thread that updates it has been joined. */
static void telemetry_close(void)
{
	dss_tm_destroy(engine_tm);
	engine_tm = NULL;
}

/*
 * The engine's environment for the tunables. daos_server always exports CRT_TIMEOUT, as 0 when
 * crt_timeout is not configured; CaRT reads 0 as "the default", so the engine does too (any
 * other value is still checked strictly).
 */
static const char *tunable_env(void *arg, const char *name)
{
	const char *v = getenv(name);

	(void)arg;
	if (v != NULL && strcmp(name, "CRT_TIMEOUT") == 0 && strcmp(v, "0") == 0)
		return NULL;
	return v;
}

static void seterr(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

daos_engine_t *daos_engine_create(int argc, const char *const *argv, char *err, size_t errlen)
{
	char buf[1024] = "";
	struct dss_engine *eng;
	const char *mask = getenv("D_LOG_MASK");
	struct timespec now;
	int rc;

	if (__atomic_exchange_n(&engine_live, 1, __ATOMIC_SEQ_CST)) {
		seterr(err, errlen, "an engine already exists in this process: destroy it first "
		       "(one engine per process)");
		return NULL;
	}
	eng = calloc(1, sizeof(*eng));
	if (eng == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail_live;
	}
	eng->stop_pipe[0] = eng->stop_pipe[1] = -1;
	eng->drpc_fd = -1;
	eng->storage.scm_fd = -1;
	eng->server.pidfd = -1;
	eng->rank = DSS_NIL_RANK;
	pthread_mutex_init(&eng->lock, NULL);
	dss_registry_init(&eng->reg);
	if (dss_args_parse(argc, argv, &eng->args, buf, sizeof(buf)) != 0)
		goto fail;
	rc = dss_log_open(getenv("D_LOG_FILE"));
	if (rc != 0) {
		snprintf(buf, sizeof(buf), "cannot open log file %s (D_LOG_FILE): %s",
			 getenv("D_LOG_FILE"), strerror(-rc));
		goto fail;
	}
	if (dss_log_set_mask(mask && mask[0] ? mask : "ERR") != 0) {
		snprintf(buf, sizeof(buf), "invalid D_LOG_MASK '%s': use LEVEL[,SUBSYS=LEVEL...] "
			 "with levels DEBUG, INFO, NOTE, WARN, ERR, CRIT, ALRT, FATAL, EMIT", mask);
		goto fail;
	}
	if (dss_server_watch_open(&eng->server, getenv(DSS_SERVER_PID_ENV), buf, sizeof(buf)) != 0)
		goto fail;
	eng->nxs = eng->args.targets + eng->args.nr_helpers + 1;
	eng->xs = calloc((size_t)eng->nxs, sizeof(*eng->xs));
	eng->cpus = calloc((size_t)eng->nxs, sizeof(int));
	if (eng->xs == NULL || eng->cpus == NULL) {
		snprintf(buf, sizeof(buf), "out of memory");
		goto fail;
	}
	if (dss_xs_cpus(eng->args.first_core, eng->args.numa_node, eng->nxs, eng->cpus, buf,
			sizeof(buf)) != 0)
		goto fail;
	if (pipe2(eng->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(buf, sizeof(buf), "pipe: %s", strerror(errno));
		goto fail;
	}
	if (dss_storage_open(&eng->storage, eng->args.scm_mount, eng->args.nvme_conf, buf,
			     sizeof(buf)) != 0)
		goto fail;
	if (load_modules(eng, buf, sizeof(buf)) != 0)
		goto fail;
	/* wall-clock nanoseconds: strictly grows across restarts, like DAOS's HLC */
	clock_gettime(CLOCK_REALTIME, &now);
	eng->incarnation = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	eng->state = DAOS_ENGINE_CREATED;
	D_INFO("engine %d created: %d targets, %d helpers, scm %s, %d bdevs",
	       eng->args.instance_idx, eng->args.targets, eng->args.nr_helpers,
	       eng->args.scm_mount, eng->storage.nbdevs);
	return eng;
fail:
	seterr(err, errlen, buf);
	dss_modules_unload(&eng->reg, eng);
	dss_storage_close(&eng->storage);
	dss_server_watch_close(&eng->server);
	if (eng->stop_pipe[0] >= 0) {
		close(eng->stop_pipe[0]);
		close(eng->stop_pipe[1]);
	}
	free(eng->xs);
	free(eng->cpus);
	pthread_mutex_destroy(&eng->lock);
	free(eng);
fail_live:
	__atomic_store_n(&engine_live, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

static void close_endpoints(struct dss_engine *eng)
{
	if (eng->drpc_fd >= 0) {
		close(eng->drpc_fd);
		eng->drpc_fd = -1;
		unlink(eng->sock_path);
	}
	/* SWIM's threads first (they send on the transport), its state once no handler runs */
	dss_swim_stop(eng);
	dss_crt_stop(eng);
	dss_swim_free(eng);
}

int daos_engine_start(daos_engine_t *eng, char *err, size_t errlen)
{
	char buf[1024] = "";
	int rc;

	if (eng == NULL || daos_engine_state(eng) != DAOS_ENGINE_CREATED ||
	    dss_engine_stopping(eng)) {
		seterr(err, errlen, "engine is not in the created state: start it once, after "
		       "create");
		return -EINVAL;
	}
	/* a bad tunable is a start error naming the variable (daos_server shows it) */
	rc = dss_tunables_parse(&eng->tun, tunable_env, NULL, buf, sizeof(buf));
	if (rc != 0) {
		seterr(err, errlen, buf);
		return rc;
	}
	D_INFO("tunables: %s", dss_tunables_str(&eng->tun, buf, sizeof(buf)));
	/* the tree first: the RPC layer creates its per-opcode/per-context nodes at start */
	telemetry_open(eng);
	rc = dss_drpc_listen(eng, buf, sizeof(buf));
	if (rc == 0)
		rc = dss_crt_start(eng, buf, sizeof(buf));
	if (rc == 0)
		rc = dss_swim_start(eng, buf, sizeof(buf));
	if (rc != 0) {
		close_endpoints(eng);
		telemetry_close();
		seterr(err, errlen, buf);
		return rc;
	}
	__atomic_store_n(&eng->state, DAOS_ENGINE_STARTED, __ATOMIC_SEQ_CST);
	rc = dss_xstreams_start(eng, dss_progress_main);
	if (rc == 0) {
		/* counted here; dss_notify_main uncounts itself when it returns */
		__atomic_add_fetch(&eng->nthreads, 1, __ATOMIC_SEQ_CST);
		rc = -pthread_create(&eng->notify_thread, NULL, dss_notify_main, eng);
		eng->notify_started = rc == 0;
		if (rc != 0)
			__atomic_sub_fetch(&eng->nthreads, 1, __ATOMIC_SEQ_CST);
	}
	if (rc != 0) {
		snprintf(buf, sizeof(buf), "cannot start engine threads: %s", strerror(-rc));
		seterr(err, errlen, buf);
		daos_engine_stop(eng);
		return rc;
	}
	D_INFO("engine %d started, %d xstreams", eng->args.instance_idx, eng->nxs);
	return 0;
}

void daos_engine_request_stop(daos_engine_t *eng)
{
	/* only atomics and write(2): callable from a signal handler */
	if (eng == NULL || __atomic_exchange_n(&eng->stop_requested, 1, __ATOMIC_SEQ_CST))
		return;
	if (__atomic_load_n(&eng->state, __ATOMIC_SEQ_CST) != DAOS_ENGINE_STOPPED)
		__atomic_store_n(&eng->state, DAOS_ENGINE_STOPPING, __ATOMIC_SEQ_CST);
	if (write(eng->stop_pipe[1], "s", 1) < 0) {
		/* the pipe is empty and never drained, so this cannot fill up */
	}
}

int daos_engine_wait(daos_engine_t *eng, int timeout_ms)
{
	struct pollfd pfd = {.fd = eng->stop_pipe[0], .events = POLLIN};
	int rc;

	if (dss_engine_stopping(eng))
		return 1;
	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc > 0 || dss_engine_stopping(eng) ? 1 : 0;
}

int daos_engine_stop(daos_engine_t *eng)
{
	if (eng == NULL)
		return -EINVAL;
	if (__atomic_load_n(&eng->state, __ATOMIC_SEQ_CST) == DAOS_ENGINE_STOPPED)
		return 0;
	daos_engine_request_stop(eng);
	if (eng->notify_started) {
		pthread_join(eng->notify_thread, NULL);
		eng->notify_started = 0;
	}
	dss_xstreams_stop(eng);
	close_endpoints(eng);
	dss_modules_unload(&eng->reg, eng);
	telemetry_close();
	dss_storage_close(&eng->storage);
	__atomic_store_n(&eng->state, DAOS_ENGINE_STOPPED, __ATOMIC_SEQ_CST);
	D_INFO("engine %d stopped: all threads joined", eng->args.instance_idx);
	return 0;
}

void daos_engine_destroy(daos_engine_t *eng)
{
	if (eng == NULL)
		return;
	daos_engine_stop(eng);
	close(eng->stop_pipe[0]);
	close(eng->stop_pipe[1]);
	dss_server_watch_close(&eng->server);
	free(eng->group);
	free(eng->xs);
	free(eng->cpus);
	pthread_mutex_destroy(&eng->lock);
	free(eng);
	dss_log_close();
	__atomic_store_n(&engine_live, 0, __ATOMIC_SEQ_CST);
}

int daos_engine_state(const daos_engine_t *eng)
{
	return __atomic_load_n(&eng->state, __ATOMIC_SEQ_CST);
}

const char *daos_engine_socket_path(const daos_engine_t *eng)
{
	return eng->drpc_fd >= 0 ? eng->sock_path : "";
}

const char *daos_engine_uri(const daos_engine_t *eng)
{
	return eng->uri;
}

uint32_t daos_engine_rank(const daos_engine_t *eng)
{
	uint32_t r;

	pthread_mutex_lock((pthread_mutex_t *)&eng->lock);
	r = eng->rank;
	pthread_mutex_unlock((pthread_mutex_t *)&eng->lock);
	return r;
}

int daos_engine_thread_count(const daos_engine_t *eng)
{
	return __atomic_load_n(&eng->nthreads, __ATOMIC_SEQ_CST);
}

uint64_t daos_engine_incarnation(const daos_engine_t *eng)
{
	return eng->incarnation;
}

int daos_engine_prep_shutdown(const daos_engine_t *eng)
{
	int v;

	pthread_mutex_lock((pthread_mutex_t *)&eng->lock);
	v = eng->prep_shutdown;
	pthread_mutex_unlock((pthread_mutex_t *)&eng->lock);
	return v;
}

const char *daos_engine_last_error(const daos_engine_t *eng)
{
	return eng->last_error;
}
