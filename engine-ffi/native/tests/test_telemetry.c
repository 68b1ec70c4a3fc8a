/*
 * cmocka tests of engine telemetry: the producer (metric types, concurrent updates with exact
 * totals, names, capacity, stale and live trees) and the reader (valid trees, and truncated or
 * corrupt files that must give an error naming the problem, never a crash).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daos_telemetry.h"
#include "drpc/drpc.pb-c.h"
#include "module.h"
#include "telemetry.h"

static char dir[256];
static char err[1024];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_tm_XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int remove_dir(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Reads the tree of (sys, idx) in dir and parses the JSON; fails the test on error. */
static json_object *read_tree(const char *sys, int idx)
{
	char *json = NULL;
	json_object *root;
	int rc = daos_tm_read(dir, sys, idx, &json, err, sizeof(err));

	if (rc != 0)
		fail_msg("daos_tm_read: %d %s", rc, err);
	root = json_tokener_parse(json);
	assert_non_null(root);
	daos_tm_free(json);
	return root;
}

static json_object *metric(json_object *root, const char *path)
{
	json_object *list = json_object_object_get(root, "metrics");

	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *m = json_object_array_get_idx(list, i);

		if (strcmp(json_object_get_string(json_object_object_get(m, "path")), path) == 0)
			return m;
	}
	fail_msg("no metric %s", path);
	return NULL;
}

static int64_t ival(json_object *m, const char *field)
{
	json_object *v = json_object_object_get(m, field);

	assert_non_null(v);
	return json_object_get_int64(v);
}

static uint64_t uval(json_object *m, const char *field)
{
	json_object *v = json_object_object_get(m, field);

	assert_non_null(v);
	return json_object_get_uint64(v);
}

static const char *sval(json_object *m, const char *field)
{
	return json_object_get_string(json_object_object_get(m, field));
}

static void test_types(void **state)
{
	struct dss_tm *tm;
	json_object *root, *m;
	struct stat st;
	char file[PATH_MAX];

	(void)state;
	assert_int_equal(dss_tm_create(dir, "sys", 3, 64, &tm, err, sizeof(err)), 0);
	snprintf(file, sizeof(file), "%s/daos_tm_sys_3", dir);
	assert_string_equal(dss_tm_file(tm), file);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	dss_tm_node_add(dss_tm_node_in(tm, DSS_TM_COUNTER, "drpc/mgmt/x/calls", "calls", "n"), 5);
	dss_tm_node_add(dss_tm_node_in(tm, DSS_TM_COUNTER, "drpc/mgmt/x/calls", NULL, NULL), 2);
	dss_tm_node_set(dss_tm_node_in(tm, DSS_TM_GAUGE, "rank", "rank", ""), 7);
	dss_tm_node_set(dss_tm_node_in(tm, DSS_TM_GAUGE, "events/dead_ranks", NULL, NULL), 1);
	dss_tm_node_sub(dss_tm_node_in(tm, DSS_TM_GAUGE, "events/dead_ranks", NULL, NULL), 3);
	dss_tm_node_stamp(dss_tm_node_in(tm, DSS_TM_TIMESTAMP, "started_at", NULL, "s"), 1700000000);
	for (uint64_t v = 10; v <= 30; v += 10)
		dss_tm_node_sample(dss_tm_node_in(tm, DSS_TM_DURATION, "lat", "latency", "ns"), v);
	/* an unsampled duration reads as zeros, not UINT64_MAX */
	assert_non_null(dss_tm_node_in(tm, DSS_TM_DURATION, "idle", NULL, NULL));

	root = read_tree("sys", 3);
	assert_string_equal(sval(root, "system"), "sys");
	assert_int_equal(ival(root, "instance"), 3);
	assert_int_equal(ival(root, "pid"), getpid());
	assert_int_equal(json_object_array_length(json_object_object_get(root, "metrics")), 6);
	m = metric(root, "drpc/mgmt/x/calls");
	assert_string_equal(sval(m, "type"), "counter");
	assert_string_equal(sval(m, "desc"), "calls");
	assert_string_equal(sval(m, "units"), "n");
	assert_int_equal(uval(m, "value"), 7);
	m = metric(root, "rank");
	assert_string_equal(sval(m, "type"), "gauge");
	assert_int_equal(ival(m, "value"), 7);
	assert_int_equal(ival(metric(root, "events/dead_ranks"), "value"), -2);
	m = metric(root, "started_at");
	assert_string_equal(sval(m, "type"), "timestamp");
	assert_int_equal(uval(m, "value"), 1700000000);
	m = metric(root, "lat");
	assert_string_equal(sval(m, "type"), "duration");
	assert_int_equal(uval(m, "count"), 3);
	assert_int_equal(uval(m, "sum"), 60);
	assert_int_equal(uval(m, "min"), 10);
	assert_int_equal(uval(m, "max"), 30);
	assert_int_equal(uval(m, "last"), 30);
	assert_true(fabs(json_object_get_double(json_object_object_get(m, "mean")) - 20) < 1e-9);
	/* sample standard deviation of 10, 20, 30 */
	assert_true(fabs(json_object_get_double(json_object_object_get(m, "stddev")) - 10) < 1e-6);
	m = metric(root, "idle");
	assert_int_equal(uval(m, "count"), 0);
	assert_int_equal(uval(m, "min"), 0);
	json_object_put(root);

	dss_tm_destroy(tm);
	assert_int_equal(access(file, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_rejects(void **state)
{
	struct dss_tm *tm;
	char path[300];

	(void)state;
	assert_int_equal(dss_tm_create(dir, "a/b", 0, 64, &tm, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "system name 'a/b'"));
	assert_int_equal(dss_tm_create(dir, "", 0, 64, &tm, err, sizeof(err)), -EINVAL);
	assert_int_equal(dss_tm_create("rel/dir", "s", 0, 64, &tm, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rel/dir"));
	assert_int_equal(dss_tm_create(dir, "s", -1, 64, &tm, err, sizeof(err)), -EINVAL);
	assert_int_equal(dss_tm_create(dir, "s", 0, 0, &tm, err, sizeof(err)), -EINVAL);
	assert_int_equal(dss_tm_create("/nonexistent-tm-dir", "s", 0, 4, &tm, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent-tm-dir/daos_tm_s_0"));

	assert_int_equal(dss_tm_create(dir, "s", 0, 4, &tm, err, sizeof(err)), 0);
	/* invalid paths */
	assert_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "", NULL, NULL));
	assert_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "/a", NULL, NULL));
	assert_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "a/", NULL, NULL));
	assert_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "a//b", NULL, NULL));
	assert_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "a b", NULL, NULL));
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_null(dss_tm_node_in(tm, DSS_TM_COUNTER, path, NULL, NULL));
	assert_null(dss_tm_node_in(tm, (enum dss_tm_type)9, "t", NULL, NULL));
	assert_null(dss_tm_node_in(NULL, DSS_TM_COUNTER, "a", NULL, NULL));
	/* a path keeps its type */
	assert_non_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "c", NULL, NULL));
	assert_null(dss_tm_node_in(tm, DSS_TM_GAUGE, "c", NULL, NULL));
	/* capacity 4: the fifth metric is not recorded, the existing ones still are */
	assert_non_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "pool/1f0e-aa:b/x.y", NULL, NULL));
	assert_non_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "e", NULL, NULL));
	assert_non_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "f", NULL, NULL));
	assert_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "g", NULL, NULL));
	assert_non_null(dss_tm_node_in(tm, DSS_TM_COUNTER, "f", NULL, NULL));
	/* NULL nodes are no-ops */
	dss_tm_node_add(NULL, 1);
	dss_tm_node_sample(NULL, 1);
	dss_tm_destroy(tm);
	dss_tm_destroy(NULL);
}

/* The path-based calls go to the global tree and are no-ops without one. */
static void test_global(void **state)
{
	struct dss_tm *tm;
	json_object *root;

	(void)state;
	assert_null(dss_tm_global());
	dss_tm_counter_add("nowhere", 1); /* no tree: nothing happens */
	assert_int_equal(dss_tm_create(dir, "g", 0, 64, &tm, err, sizeof(err)), 0);
	dss_tm_set_global(tm);
	dss_tm_counter_add("net/tcp/req_sent", 2);
	dss_tm_counter_add("net/tcp/req_sent", 3);
	dss_tm_gauge_set("events/dead_ranks", 4);
	dss_tm_gauge_add("events/dead_ranks", -1);
	dss_tm_timestamp_now("events/last_event_ts");
	dss_tm_duration_add("d", 100);
	dss_tm_drpc_call("mgmt", DRPC_MODULE_MGMT, 202, 1000);
	dss_tm_drpc_call("mgmt", DRPC_MODULE_MGMT, 202, 3000);
	dss_tm_drpc_call("mgmt", DRPC_MODULE_MGMT, 299, 10);
	root = read_tree("g", 0);
	assert_int_equal(uval(metric(root, "net/tcp/req_sent"), "value"), 5);
	assert_int_equal(ival(metric(root, "events/dead_ranks"), "value"), 3);
	assert_true(uval(metric(root, "events/last_event_ts"), "value") >= 1700000000);
	assert_int_equal(uval(metric(root, "d"), "count"), 1);
	assert_int_equal(uval(metric(root, "drpc/mgmt/set_rank/calls"), "value"), 2);
	assert_int_equal(uval(metric(root, "drpc/mgmt/set_rank/latency"), "sum"), 4000);
	assert_string_equal(sval(metric(root, "drpc/mgmt/set_rank/latency"), "units"), "ns");
	assert_int_equal(uval(metric(root, "drpc/mgmt/299/calls"), "value"), 1);
	/* 4 metrics + calls and latency of 2 methods; "nowhere" (no tree then) is not one */
	assert_int_equal(json_object_array_length(json_object_object_get(root, "metrics")), 8);
	json_object_put(root);
	dss_tm_destroy(tm); /* also clears the global tree */
	assert_null(dss_tm_global());
	dss_tm_counter_add("net/tcp/req_sent", 1);
}

static int h_ok(struct dss_engine *e, const uint8_t *req, size_t len, uint8_t **resp,
		size_t *resp_len)
{
	(void)e, (void)req, (void)len;
	*resp = NULL;
	*resp_len = 0;
	return DRPC__STATUS__SUCCESS;
}

static const struct dss_drpc_handler tm_handlers[] = {{209, h_ok}, {0, NULL}};
static int tm_init(struct dss_engine *e) { (void)e; return 0; }
static int tm_fini(struct dss_engine *e) { (void)e; return 0; }
static const struct dss_module tm_mod = {
	.name = "mgmt", .drpc_module_id = DRPC_MODULE_MGMT, .init = tm_init, .fini = tm_fini,
	.handlers = tm_handlers,
};

/* The dispatch hook counts each handled call; unknown methods are not metrics. */
static void test_dispatch_counts(void **state)
{
	struct dss_module_registry reg;
	Drpc__Call call = DRPC__CALL__INIT;
	Drpc__Response resp = DRPC__RESPONSE__INIT;
	struct dss_tm *tm;
	json_object *root, *m;

	(void)state;
	assert_int_equal(dss_tm_create(dir, "disp", 0, 64, &tm, err, sizeof(err)), 0);
	dss_tm_set_global(tm);
	dss_registry_init(&reg);
	assert_int_equal(dss_module_load(&reg, &tm_mod, NULL), 0);
	call.module = DRPC_MODULE_MGMT;
	call.method = 209;
	for (int i = 0; i < 3; i++) {
		dss_drpc_dispatch(&reg, NULL, &call, &resp);
		assert_int_equal(resp.status, DRPC__STATUS__SUCCESS);
	}
	call.method = 210;
	dss_drpc_dispatch(&reg, NULL, &call, &resp);
	assert_int_equal(resp.status, DRPC__STATUS__UNKNOWN_METHOD);
	root = read_tree("disp", 0);
	assert_int_equal(uval(metric(root, "drpc/mgmt/set_up/calls"), "value"), 3);
	m = metric(root, "drpc/mgmt/set_up/latency");
	assert_int_equal(uval(m, "count"), 3);
	assert_true(uval(m, "max") >= uval(m, "min"));
	assert_int_equal(json_object_array_length(json_object_object_get(root, "metrics")), 2);
	json_object_put(root);
	dss_modules_unload(&reg, NULL);
	dss_tm_destroy(tm);
}

#define NTHREADS 8
#define NITER    20000

static struct dss_tm *conc_tm;

static void *hammer(void *arg)
{
	int id = (int)(intptr_t)arg;
	char own[32];

	snprintf(own, sizeof(own), "thread/t%d", id);
	for (int i = 0; i < NITER; i++) {
		/* shared metrics by path (found or added, racing with the other threads) */
		dss_tm_node_add(dss_tm_node_in(conc_tm, DSS_TM_COUNTER, "shared/calls", NULL, NULL),
				1);
		dss_tm_node_sample(dss_tm_node_in(conc_tm, DSS_TM_DURATION, "shared/lat", NULL,
						  NULL), (uint64_t)(id * NITER + i + 1));
		dss_tm_node_add(dss_tm_node_in(conc_tm, DSS_TM_GAUGE, "shared/gauge", NULL, NULL),
				(uint64_t)(i % 2 ? -1 : 1));
		dss_tm_node_add(dss_tm_node_in(conc_tm, DSS_TM_COUNTER, own, NULL, NULL), 2);
		if (i % 1000 == 0) {
			char p[48];

			/* new metrics appear while the others update */
			snprintf(p, sizeof(p), "new/t%d/m%d", id, i / 1000);
			dss_tm_node_add(dss_tm_node_in(conc_tm, DSS_TM_COUNTER, p, NULL, NULL), 1);
		}
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	pthread_t t[NTHREADS];
	json_object *root, *m;
	char p[48];
	uint64_t n = (uint64_t)NTHREADS * NITER;

	(void)state;
	assert_int_equal(dss_tm_create(dir, "conc", 0, 512, &conc_tm, err, sizeof(err)), 0);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	root = read_tree("conc", 0);
	assert_int_equal(json_object_array_length(json_object_object_get(root, "metrics")),
			 3 + NTHREADS + NTHREADS * (NITER / 1000));
	assert_int_equal(uval(metric(root, "shared/calls"), "value"), n);
	assert_int_equal(ival(metric(root, "shared/gauge"), "value"), 0);
	m = metric(root, "shared/lat");
	assert_int_equal(uval(m, "count"), n);
	assert_int_equal(uval(m, "sum"), n * (n + 1) / 2);
	assert_int_equal(uval(m, "min"), 1);
	assert_int_equal(uval(m, "max"), n);
	for (int i = 0; i < NTHREADS; i++) {
		snprintf(p, sizeof(p), "thread/t%d", i);
		assert_int_equal(uval(metric(root, p), "value"), 2 * NITER);
		snprintf(p, sizeof(p), "new/t%d/m%d", i, NITER / 1000 - 1);
		assert_int_equal(uval(metric(root, p), "value"), 1);
	}
	json_object_put(root);
	dss_tm_destroy(conc_tm);
}

/*
 * A live engine keeps its tree (a second producer gets -EBUSY); a dead engine's tree reads as
 * stale and the next start replaces it; an old producer never removes its successor's file.
 */
static void test_stale_and_live(void **state)
{
	struct dss_tm *tm, *other;
	json_object *root;
	char *json = NULL;
	char file[PATH_MAX];
	pid_t pid;
	int status;

	(void)state;
	snprintf(file, sizeof(file), "%s/daos_tm_st_1", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dss_tm *c;

		if (dss_tm_create(dir, "st", 1, 16, &c, err, sizeof(err)) != 0)
			_exit(2);
		dss_tm_node_add(dss_tm_node_in(c, DSS_TM_COUNTER, "old", NULL, NULL), 1);
		kill(getpid(), SIGKILL); /* dies without removing its tree */
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(access(file, F_OK), 0);
	assert_int_equal(daos_tm_read(dir, "st", 1, &json, err, sizeof(err)), -ESTALE);
	assert_null(json);
	assert_non_null(strstr(err, file));
	assert_non_null(strstr(err, "stale"));

	/* the next start replaces the stale tree */
	assert_int_equal(dss_tm_create(dir, "st", 1, 16, &tm, err, sizeof(err)), 0);
	root = read_tree("st", 1);
	assert_int_equal(ival(root, "pid"), getpid());
	assert_int_equal(json_object_array_length(json_object_object_get(root, "metrics")), 0);
	json_object_put(root);

	/* a live tree is not taken over */
	assert_int_equal(dss_tm_create(dir, "st", 1, 16, &other, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "belongs to a running engine"));

	/* the tree was removed behind our back and a new engine made its own: ours goes away
	 * without removing the new one */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(dss_tm_create(dir, "st", 1, 16, &other, err, sizeof(err)), 0);
	dss_tm_destroy(tm);
	assert_int_equal(access(file, F_OK), 0);
	dss_tm_destroy(other);
	assert_int_equal(access(file, F_OK), -1);

	/* a dead engine's tree can be removed; a live one's cannot */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dss_tm *c;

		if (dss_tm_create(dir, "st", 1, 16, &c, err, sizeof(err)) != 0)
			_exit(2);
		kill(getpid(), SIGKILL);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(access(file, F_OK), 0);
	assert_int_equal(daos_tm_remove_stale(dir, "st", 1, err, sizeof(err)), 0);
	assert_int_equal(access(file, F_OK), -1);
	assert_int_equal(daos_tm_remove_stale(dir, "st", 1, err, sizeof(err)), -ENOENT);
	assert_int_equal(dss_tm_create(dir, "st", 1, 16, &tm, err, sizeof(err)), 0);
	assert_int_equal(daos_tm_remove_stale(dir, "st", 1, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "running engine"));
	assert_int_equal(access(file, F_OK), 0);
	dss_tm_destroy(tm);

	/* no tree at all */
	assert_int_equal(daos_tm_read(dir, "st", 1, &json, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "not running"));
	assert_int_equal(daos_tm_read(dir, "bad name", 1, &json, err, sizeof(err)), -EINVAL);
	assert_int_equal(daos_tm_read_file("relative", &json, err, sizeof(err)), -EINVAL);
	assert_int_equal(daos_tm_read_file(dir, &json, err, sizeof(err)), -EBADMSG);

	/* a tree of another user (anyone can write /dev/shm) is refused */
	if (geteuid() == 0) {
		assert_int_equal(dss_tm_create(dir, "st", 1, 16, &tm, err, sizeof(err)), 0);
		assert_int_equal(chown(file, 12345, 12345), 0);
		assert_int_equal(daos_tm_read(dir, "st", 1, &json, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "owned by uid 12345"));
		dss_tm_destroy(tm);
	}
}

/* A valid image with a few metrics, copied out of a real tree. */
static uint8_t *valid_image(size_t *len)
{
	struct dss_tm *tm;
	uint8_t *img;
	FILE *fp;
	char file[PATH_MAX];

	assert_int_equal(dss_tm_create(dir, "img", 0, 8, &tm, err, sizeof(err)), 0);
	dss_tm_node_add(dss_tm_node_in(tm, DSS_TM_COUNTER, "a/calls", "d", "u"), 3);
	dss_tm_node_set(dss_tm_node_in(tm, DSS_TM_GAUGE, "rank", NULL, NULL), 1);
	dss_tm_node_sample(dss_tm_node_in(tm, DSS_TM_DURATION, "a/lat", NULL, NULL), 5);
	snprintf(file, sizeof(file), "%s", dss_tm_file(tm));
	fp = fopen(file, "rb");
	assert_non_null(fp);
	*len = sizeof(struct dss_tm_header) + 8 * sizeof(struct dss_tm_slot);
	img = malloc(*len);
	assert_int_equal(fread(img, 1, *len, fp), *len);
	fclose(fp);
	dss_tm_destroy(tm);
	return img;
}

static int decode(const uint8_t *img, size_t len)
{
	char *json = NULL;
	int rc = daos_tm_decode(img, len, &json, err, sizeof(err));

	if (rc == 0) {
		json_object *root = json_tokener_parse(json);

		assert_non_null(root); /* whatever it accepts is valid JSON */
		json_object_put(root);
	} else {
		assert_null(json);
		assert_true(err[0] != '\0');
	}
	daos_tm_free(json);
	return rc;
}

static void test_reader_hostile(void **state)
{
	size_t len, used = sizeof(struct dss_tm_header) + 3 * sizeof(struct dss_tm_slot);
	uint8_t *img = valid_image(&len), *b = malloc(len);
	struct dss_tm_header *h = (struct dss_tm_header *)b;
	struct dss_tm_slot *s = (struct dss_tm_slot *)(h + 1);
	char path[PATH_MAX];
	unsigned seed = 12345;
	int fd;

	(void)state;
	assert_int_equal(decode(img, len), 0);
	/* truncated anywhere before the last used slot ends: an error; after it: fine */
	for (size_t n = 0; n < len; n += 7)
		assert_int_equal(decode(img, n), n < used ? -EBADMSG : 0);
	assert_int_equal(decode(NULL, 0), -EBADMSG);

#define CORRUPT(stmt, want) do {			\
		memcpy(b, img, len);			\
		stmt;					\
		assert_int_equal(decode(b, len), want);	\
	} while (0)
	CORRUPT(h->magic[0] = 'X', -EBADMSG);
	CORRUPT(h->version = 2, -EPROTO);
	assert_non_null(strstr(err, "version 2"));
	CORRUPT(h->header_size = 64, -EBADMSG);
	CORRUPT(h->slot_size = 1 << 30, -EBADMSG);
	CORRUPT(h->nslots = 0, -EBADMSG);
	CORRUPT(h->nslots = 0xffffffffu, -EBADMSG);
	CORRUPT(h->nused = 9, -EBADMSG);
	CORRUPT((h->nslots = DSS_TM_MAX_SLOTS, h->nused = DSS_TM_MAX_SLOTS), -EBADMSG);
	CORRUPT(memset(h->system, 'x', sizeof(h->system)), -EBADMSG);
	CORRUPT(s[1].type = 0, -EBADMSG);
	CORRUPT(s[1].type = 77, -EBADMSG);
	assert_non_null(strstr(err, "metric 1"));
	CORRUPT(memset(s[0].path, 'p', sizeof(s[0].path)), -EBADMSG);
	CORRUPT(memset(s[0].desc, 'd', sizeof(s[0].desc)), -EBADMSG);
	CORRUPT(memset(s[0].units, 'u', sizeof(s[0].units)), -EBADMSG);
	CORRUPT(s[0].desc[0] = '\n', -EBADMSG);
	CORRUPT(strcpy(s[2].path, "../x"), 0); /* a name, not a file path: harmless */
	CORRUPT(strcpy(s[2].path, "a//x"), -EBADMSG);
	CORRUPT(s[2].v[DSS_TM_D_SUMSQ] = 0x7ff8000000000000ull, 0); /* NaN: still valid JSON */
	CORRUPT((s[2].v[DSS_TM_D_COUNT] = 3, s[2].v[DSS_TM_D_SUMSQ] = 0xfff0000000000000ull), 0);
	CORRUPT(h->nused = 0, 0);
	/* random byte flips: an error or valid JSON, never a crash */
	for (int i = 0; i < 20000; i++) {
		memcpy(b, img, len);
		for (int k = 0; k < 4; k++)
			b[rand_r(&seed) % used] = (uint8_t)rand_r(&seed);
		decode(b, len);
	}

	/* the same through a file: a truncated tree file held by a "live" owner */
	snprintf(path, sizeof(path), "%s/daos_tm_trunc_0", dir);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, 100), 100);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	{
		char *json = NULL;

		assert_int_equal(daos_tm_read(dir, "trunc", 0, &json, err, sizeof(err)),
				 -EBADMSG);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "truncated"));
	}
	close(fd);
	free(b);
	free(img);
}

static void test_disable_env(void **state)
{
	char err[256] = "";

	(void)state;
	unsetenv(DSS_TM_DISABLE_ENV);
	assert_int_equal(dss_tm_disabled(err, sizeof(err)), 0);
	setenv(DSS_TM_DISABLE_ENV, "", 1);
	assert_int_equal(dss_tm_disabled(err, sizeof(err)), 0);
	setenv(DSS_TM_DISABLE_ENV, "0", 1);
	assert_int_equal(dss_tm_disabled(err, sizeof(err)), 0);
	setenv(DSS_TM_DISABLE_ENV, "1", 1);
	assert_int_equal(dss_tm_disabled(err, sizeof(err)), 1);
	setenv(DSS_TM_DISABLE_ENV, "yes", 1);
	assert_int_equal(dss_tm_disabled(err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "DAOS_TM_DISABLE='yes'"));
	assert_non_null(strstr(err, "set 1"));
	unsetenv(DSS_TM_DISABLE_ENV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_global),
		cmocka_unit_test(test_dispatch_counts),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_stale_and_live),
		cmocka_unit_test(test_reader_hostile),
		cmocka_unit_test(test_disable_env),
	};

	return cmocka_run_group_tests_name("telemetry", tests, setup_dir, remove_dir);
}
