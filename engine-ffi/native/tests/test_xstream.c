/* cmocka tests of xstreams: per-xstream module keys, work placement, cpu lists, joins. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_internal.h"

static int key_inits, key_finis;

static void *key_init(int xs_id, void *arg)
{
	int *v = malloc(sizeof(int));

	(void)arg;
	*v = 1000 + xs_id;
	__atomic_add_fetch(&key_inits, 1, __ATOMIC_SEQ_CST);
	return v;
}

static void key_fini(int xs_id, void *value)
{
	assert_int_equal(*(int *)value, 1000 + xs_id);
	free(value);
	__atomic_add_fetch(&key_finis, 1, __ATOMIC_SEQ_CST);
}

static struct dss_module_key test_key = {.init = key_init, .fini = key_fini, .index = -1};

static int m_init(struct dss_engine *e) { (void)e; return 0; }
static int m_fini(struct dss_engine *e) { (void)e; return 0; }

static const struct dss_module keyed = {
	.name = "keyed", .drpc_module_id = 0, .init = m_init, .fini = m_fini, .key = &test_key,
};

static int sys_saw_key = -1;

/* Stand-in for the progress loop: records its key value and waits for stop. */
static void *fake_sys_main(void *arg)
{
	struct dss_engine *eng = arg;
	int *v = dss_module_key_get(&test_key);

	sys_saw_key = v ? *v : -1;
	for (int i = 0; i < 10000 && !dss_engine_sleep(eng, 100); i++)
		;
	return NULL;
}

static struct dss_engine *mk_engine(int targets, int helpers)
{
	struct dss_engine *eng = calloc(1, sizeof(*eng));
	char err[256];

	eng->args.targets = targets;
	eng->args.nr_helpers = helpers;
	eng->nxs = targets + helpers + 1;
	eng->xs = calloc((size_t)eng->nxs, sizeof(*eng->xs));
	eng->cpus = calloc((size_t)eng->nxs, sizeof(int));
	assert_int_equal(dss_xs_cpus(-1, -1, eng->nxs, eng->cpus, err, sizeof(err)), 0);
	assert_int_equal(pipe2(eng->stop_pipe, O_CLOEXEC | O_NONBLOCK), 0);
	pthread_mutex_init(&eng->lock, NULL);
	dss_registry_init(&eng->reg);
	return eng;
}

static void free_engine(struct dss_engine *eng)
{
	close(eng->stop_pipe[0]);
	close(eng->stop_pipe[1]);
	pthread_mutex_destroy(&eng->lock);
	free(eng->xs);
	free(eng->cpus);
	free(eng);
}

struct where {
	int xs_id;
	int key_value;
	int self_id;
};

static void record(struct dss_engine *eng, int xs_id, void *arg)
{
	struct where *w = arg;
	int *v = dss_module_key_get(&test_key);

	(void)eng;
	w->xs_id = xs_id;
	w->key_value = v ? *v : -1;
	w->self_id = dss_xs_self() ? dss_xs_self()->id : -1;
}

static void test_keys_and_work(void **state)
{
	struct dss_engine *eng = mk_engine(3, 1);

	(void)state;
	key_inits = key_finis = 0;
	assert_int_equal(dss_module_load(&eng->reg, &keyed, eng), 0);
	assert_int_equal(test_key.index, 0);
	assert_int_equal(dss_xstreams_start(eng, fake_sys_main), 0);
	for (int x = 0; x < 4; x++) {
		struct where w = {-1, -1, -1};

		assert_int_equal(dss_xs_run(eng, x, record, &w), 0);
		assert_int_equal(w.xs_id, x);
		assert_int_equal(w.self_id, x);
		assert_int_equal(w.key_value, 1000 + x); /* each xstream has its own value */
	}
	assert_int_equal(eng->xs[0].kind, DSS_XS_TARGET);
	assert_int_equal(eng->xs[3].kind, DSS_XS_HELPER);
	assert_int_equal(eng->xs[4].kind, DSS_XS_SYS);
	/* work cannot be sent to the system xstream or past the end */
	assert_int_equal(dss_xs_run(eng, 4, record, NULL), -EINVAL);
	assert_int_equal(dss_xs_run(eng, 5, record, NULL), -EINVAL);
	/* outside xstreams there is no key value */
	assert_null(dss_module_key_get(&test_key));
	assert_int_equal(__atomic_load_n(&eng->nthreads, __ATOMIC_SEQ_CST), 5);

	daos_engine_request_stop(eng);
	dss_xstreams_stop(eng);
	assert_int_equal(eng->nthreads, 0);
	assert_int_equal(sys_saw_key, 1004);
	assert_int_equal(key_inits, 5);
	assert_int_equal(key_finis, 5);
	assert_int_equal(dss_xs_run(eng, 0, record, NULL), -ESHUTDOWN);
	dss_modules_unload(&eng->reg, eng);
	assert_int_equal(test_key.index, -1);
	free_engine(eng);
}

static void test_cpu_lists(void **state)
{
	int cpus[6];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char err[256];

	(void)state;
	assert_int_equal(dss_xs_cpus(0, -1, 6, cpus, err, sizeof(err)), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(cpus[i], i % ncpu); /* consecutive, wrapping */
	assert_int_equal(dss_xs_cpus(-1, -1, 6, cpus, err, sizeof(err)), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(cpus[i], -1);
	assert_int_equal(dss_xs_cpus((int)ncpu, -1, 6, cpus, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "first_core"));
	assert_int_equal(dss_xs_cpus(-1, 1000, 6, cpus, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "pinned_numa_node 1000"));
	if (access("/sys/devices/system/node/node0/cpulist", R_OK) == 0) {
		assert_int_equal(dss_xs_cpus(-1, 0, 6, cpus, err, sizeof(err)), 0);
		for (int i = 0; i < 6; i++)
			assert_true(cpus[i] >= 0 && cpus[i] < ncpu);
	}
}

static void test_pinning_applies(void **state)
{
	struct dss_engine *eng = mk_engine(2, 0);
	char err[256];

	(void)state;
	assert_int_equal(dss_xs_cpus(0, -1, eng->nxs, eng->cpus, err, sizeof(err)), 0);
	assert_int_equal(dss_xstreams_start(eng, fake_sys_main), 0);
	for (int x = 0; x < 2; x++) {
		struct where w;

		assert_int_equal(dss_xs_run(eng, x, record, &w), 0);
		assert_true(eng->xs[x].pinned);
	}
	daos_engine_request_stop(eng);
	dss_xstreams_stop(eng);
	free_engine(eng);
}

/* PrepShutdown's gate: closed targets refuse new work, helpers still take it, reopen works. */
static void test_targets_close(void **state)
{
	struct dss_engine *eng = mk_engine(2, 1);
	struct where w = {-1, -1, -1};

	(void)state;
	assert_int_equal(dss_xstreams_start(eng, fake_sys_main), 0);
	dss_xs_targets_close(eng, 1);
	assert_int_equal(dss_xs_run(eng, 0, record, &w), -ESHUTDOWN);
	assert_int_equal(dss_xs_run(eng, 1, record, &w), -ESHUTDOWN);
	assert_int_equal(w.xs_id, -1); /* nothing ran */
	assert_int_equal(dss_xs_run(eng, 2, record, &w), 0);
	assert_int_equal(w.xs_id, 2);
	dss_xs_targets_close(eng, 0);
	assert_int_equal(dss_xs_run(eng, 1, record, &w), 0);
	assert_int_equal(w.xs_id, 1);
	daos_engine_request_stop(eng);
	dss_xstreams_stop(eng);
	free_engine(eng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_work),
		cmocka_unit_test(test_cpu_lists),
		cmocka_unit_test(test_pinning_applies),
		cmocka_unit_test(test_targets_close),
	};

	return cmocka_run_group_tests_name("xstream", tests, NULL, NULL);
}
