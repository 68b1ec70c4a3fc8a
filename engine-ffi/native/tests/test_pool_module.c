/*
 * The pool module's dRPC handlers on an engine without an RPC transport: request validation
 * (undecodable bodies, bad uuids, rank lists, tier sizes, map contents) is answered before
 * anything travels, a map is kept with its version rules, query needs a map, and the local
 * SMD_LIST_POOLS opens the storage core on an empty SCM directory.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/smd.pb-c.h"
#include "engine_internal.h"
#include "log.h"
#include "mgmt/pool.pb-c.h"
#include "mgmt/pool_engine.pb-c.h"
#include "mgmt/srv.pb-c.h"
#include "pool_module.h"
#include "vos.h"

extern const struct dss_module pool_module;

static struct dss_engine *eng;
static char scm[] = "/tmp/test_pool_module.XXXXXX";
#define UUID "0d2b5a8e-8c7e-4c55-9a4f-3a1f0b2c4d5e"
#define UUID2 "5b1c9e2a-7d3f-4e8b-a1c6-9f0e2d4b6a8c" /* the pool with many ranks */

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(scm));
	eng = calloc(1, sizeof(*eng));
	pthread_mutex_init(&eng->lock, NULL);
	eng->rank = 0;
	eng->args.targets = 2;
	eng->storage.scm_fd = -1;
	snprintf(eng->storage.scm_mount, sizeof(eng->storage.scm_mount), "%s", scm);
	dss_registry_init(&eng->reg);
	assert_int_equal(dss_module_load(&eng->reg, &pool_module, eng), 0);
	dss_log_set_mask("CRIT");
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	dss_modules_unload(&eng->reg, eng);
	pthread_mutex_destroy(&eng->lock);
	free(eng);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scm);
	return system(cmd) == 0 ? 0 : -1;
}

/* Calls method with body; returns the dRPC status, the reply body in *out (free it). */
static int call(int method, const uint8_t *body, size_t len, uint8_t **out, size_t *out_len)
{
	const struct dss_module *m = dss_module_by_drpc_method(&eng->reg, DRPC_MODULE_MGMT, method);

	assert_non_null(m);
	for (const struct dss_drpc_handler *h = m->handlers; h->handler != NULL; h++)
		if (h->method == method) {
			*out = NULL;
			*out_len = 0;
			return h->handler(eng, body, len, out, out_len);
		}
	fail_msg("method %d has no handler", method);
	return -1;
}

static Mgmt__PoolShardsResp *create(const char *uuid, uint32_t *ranks, size_t nranks,
				    uint64_t *tb, size_t ntb)
{
	Mgmt__PoolCreateReq r = MGMT__POOL_CREATE_REQ__INIT;
	static uint8_t buf[8192]; /* up to CRT_CORPC_MAX_RANKS + 1 ranks */
	uint8_t *out;
	size_t len, out_len;
	Mgmt__PoolShardsResp *resp;

	r.uuid = (char *)uuid;
	r.ranks = ranks;
	r.n_ranks = nranks;
	r.tier_bytes = tb;
	r.n_tier_bytes = ntb;
	assert_true(mgmt__pool_create_req__get_packed_size(&r) <= sizeof(buf));
	len = mgmt__pool_create_req__pack(&r, buf);
	assert_int_equal(call(DRPC_METHOD_POOL_CREATE, buf, len, &out, &out_len), 0);
	resp = mgmt__pool_shards_resp__unpack(NULL, out_len, out);
	free(out);
	assert_non_null(resp);
	return resp;
}

static void test_create_validation(void **state)
{
	uint32_t ranks[] = {0, 1}, dup[] = {1, 1};
	uint64_t tb[] = {64 << 20, 0}, zero[] = {0};
	uint8_t junk[] = {0xff, 0xff, 0xff}, *out;
	size_t out_len;
	Mgmt__PoolShardsResp *r;

	(void)state;
	assert_int_equal(call(DRPC_METHOD_POOL_CREATE, junk, sizeof(junk), &out, &out_len),
			 DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD);
	assert_null(out);
	r = create("not-a-uuid", ranks, 2, tb, 2);
	assert_int_equal(r->status, -DER_INVAL);
	assert_non_null(strstr(r->error, "\"not-a-uuid\" is not a uuid"));
	mgmt__pool_shards_resp__free_unpacked(r, NULL);
	r = create(UUID, ranks, 0, tb, 2);
	assert_int_equal(r->status, -DER_INVAL);
	assert_non_null(strstr(r->error, "0 ranks given"));
	mgmt__pool_shards_resp__free_unpacked(r, NULL);
	r = create(UUID, ranks, 2, zero, 1);
	assert_int_equal(r->status, -DER_INVAL);
	assert_non_null(strstr(r->error, "tier_bytes"));
	mgmt__pool_shards_resp__free_unpacked(r, NULL);
	r = create(UUID, dup, 2, tb, 2);
	assert_int_equal(r->status, -DER_INVAL);
	assert_non_null(strstr(r->error, "rank 1 listed twice"));
	mgmt__pool_shards_resp__free_unpacked(r, NULL);
	/* valid, but no RPC transport to reach the ranks: refused, nothing made */
	r = create(UUID, ranks, 2, tb, 2);
	assert_int_equal(r->status, -DER_UNREACH);
	assert_int_equal(r->n_ranks, 0);
	mgmt__pool_shards_resp__free_unpacked(r, NULL);
	/* more ranks than one message holds: past validation, to the (missing) transport */
	{
		static uint32_t many[CRT_CORPC_MAX_RANKS + 1];

		for (uint32_t i = 0; i <= CRT_CORPC_MAX_RANKS; i++)
			many[i] = i;
		r = create(UUID, many, POOL_CO_MAX_RANKS + 8, tb, 2);
		assert_int_equal(r->status, -DER_UNREACH);
		mgmt__pool_shards_resp__free_unpacked(r, NULL);
		r = create(UUID, many, CRT_CORPC_MAX_RANKS, tb, 2);
		assert_int_equal(r->status, -DER_UNREACH);
		mgmt__pool_shards_resp__free_unpacked(r, NULL);
		/* over the collective layer's bound: refused, the error names it */
		r = create(UUID, many, CRT_CORPC_MAX_RANKS + 1, tb, 2);
		assert_int_equal(r->status, -DER_INVAL);
		assert_non_null(strstr(r->error, "901 ranks given (1..900"));
		assert_non_null(strstr(r->error, "CRT_CORPC_MAX_RANKS"));
		mgmt__pool_shards_resp__free_unpacked(r, NULL);
	}
}

static int32_t daos_status(int method, const uint8_t *buf, size_t len)
{
	uint8_t *out;
	size_t out_len;
	Mgmt__DaosResp *d;
	int32_t st;

	assert_int_equal(call(method, buf, len, &out, &out_len), 0);
	d = mgmt__daos_resp__unpack(NULL, out_len, out);
	free(out);
	assert_non_null(d);
	st = d->status;
	mgmt__daos_resp__free_unpacked(d, NULL);
	return st;
}

static int32_t map_set(const char *uuid, uint32_t version, int state1)
{
	Mgmt__PoolMapSetReq r = MGMT__POOL_MAP_SET_REQ__INIT;
	Mgmt__PoolMapRank mr[2] = {MGMT__POOL_MAP_RANK__INIT, MGMT__POOL_MAP_RANK__INIT};
	Mgmt__PoolMapRank *pmr[2] = {&mr[0], &mr[1]};
	Mgmt__PoolQueryTargetInfo__TargetState st0[2] = {4, 4}, st1[2] = {4, 4};
	uint8_t buf[512];

	st1[1] = (Mgmt__PoolQueryTargetInfo__TargetState)state1;
	mr[0].rank = 0;
	mr[0].target_states = st0;
	mr[0].n_target_states = 2;
	mr[1].rank = 1;
	mr[1].target_states = st1;
	mr[1].n_target_states = 2;
	r.uuid = (char *)uuid;
	r.version = version;
	r.ranks = pmr;
	r.n_ranks = 2;
	return daos_status(DRPC_METHOD_POOL_MAP_SET, buf, mgmt__pool_map_set_req__pack(&r, buf));
}

/* A map of n ranks 0..n-1, 2 targets each UP_IN: the dRPC status. */
static int32_t map_set_n(const char *uuid, uint32_t version, size_t n)
{
	Mgmt__PoolMapSetReq r = MGMT__POOL_MAP_SET_REQ__INIT;
	Mgmt__PoolMapRank *mr = calloc(n, sizeof(*mr));
	Mgmt__PoolMapRank **pmr = calloc(n, sizeof(*pmr));
	Mgmt__PoolQueryTargetInfo__TargetState st[2] = {4, 4};
	size_t len;
	uint8_t *buf;
	int32_t rc;

	assert_non_null(mr);
	assert_non_null(pmr);
	for (size_t i = 0; i < n; i++) {
		mgmt__pool_map_rank__init(&mr[i]);
		mr[i].rank = (uint32_t)i;
		mr[i].target_states = st;
		mr[i].n_target_states = 2;
		pmr[i] = &mr[i];
	}
	r.uuid = (char *)uuid;
	r.version = version;
	r.ranks = pmr;
	r.n_ranks = n;
	buf = malloc(mgmt__pool_map_set_req__get_packed_size(&r));
	assert_non_null(buf);
	len = mgmt__pool_map_set_req__pack(&r, buf);
	rc = daos_status(DRPC_METHOD_POOL_MAP_SET, buf, len);
	free(buf);
	free(pmr);
	free(mr);
	return rc;
}

static Mgmt__PoolQueryResp *query(const char *uuid)
{
	Mgmt__PoolQueryReq r = MGMT__POOL_QUERY_REQ__INIT;
	uint8_t buf[256], *out;
	size_t out_len;
	Mgmt__PoolQueryResp *q;

	r.id = (char *)uuid;
	assert_int_equal(call(DRPC_METHOD_POOL_QUERY, buf, mgmt__pool_query_req__pack(&r, buf),
			      &out, &out_len), 0);
	q = mgmt__pool_query_resp__unpack(NULL, out_len, out);
	free(out);
	assert_non_null(q);
	return q;
}

static void test_map_and_query(void **state)
{
	Mgmt__PoolQueryResp *q;

	(void)state;
	q = query(UUID);
	assert_int_equal(q->status, -DER_NONEXIST);
	mgmt__pool_query_resp__free_unpacked(q, NULL);
	q = query("nope");
	assert_int_equal(q->status, -DER_INVAL);
	mgmt__pool_query_resp__free_unpacked(q, NULL);
	/* a bad map is refused and not kept */
	assert_int_equal(map_set("nope", 1, 4), -DER_INVAL);
	assert_int_equal(map_set(UUID, 1, 7), -DER_INVAL); /* state 7 is unknown */
	assert_int_equal(map_set(UUID, 0, 4), -DER_INVAL); /* version 0 */
	q = query(UUID);
	assert_int_equal(q->status, -DER_NONEXIST);
	mgmt__pool_query_resp__free_unpacked(q, NULL);
	/* kept: rank 1 target 1 DOWN; the space query then needs the transport */
	assert_int_equal(map_set(UUID, 2, 2), 0);
	assert_int_equal(map_set(UUID, 1, 4), 0); /* older: accepted, ignored */
	q = query(UUID);
	assert_int_equal(q->status, -DER_UNREACH);
	assert_int_equal(q->version, 2);
	assert_int_equal(q->total_targets, 4);
	assert_int_equal(q->active_targets, 3);
	assert_int_equal(q->disabled_targets, 1);
	mgmt__pool_query_resp__free_unpacked(q, NULL);
	/* a map of more ranks than one message holds: kept whole */
	assert_int_equal(map_set_n(UUID2, 3, POOL_CO_MAX_RANKS * 2 + 5), 0);
	q = query(UUID2);
	assert_int_equal(q->version, 3);
	assert_int_equal(q->total_targets, 2 * (POOL_CO_MAX_RANKS * 2 + 5));
	assert_int_equal(q->active_targets, 2 * (POOL_CO_MAX_RANKS * 2 + 5));
	mgmt__pool_query_resp__free_unpacked(q, NULL);
	/* over the collective layer's bound: refused, the held map unchanged */
	assert_int_equal(map_set_n(UUID2, 4, CRT_CORPC_MAX_RANKS + 1), -DER_INVAL);
	q = query(UUID2);
	assert_int_equal(q->version, 3);
	mgmt__pool_query_resp__free_unpacked(q, NULL);
}

static void test_query_targets_validation(void **state)
{
	Mgmt__PoolQueryTargetReq r = MGMT__POOL_QUERY_TARGET_REQ__INIT;
	Mgmt__PoolQueryTargetResp *resp;
	uint32_t tgts[] = {0, 2};
	uint8_t buf[256], *out;
	size_t out_len;

	(void)state;
	assert_int_equal(map_set(UUID, 3, 4), 0);
	r.id = UUID;
	r.rank = 1;
	r.targets = tgts;
	r.n_targets = 2; /* target 2 of a 2-target rank */
	assert_int_equal(call(DRPC_METHOD_POOL_QUERY_TARGETS, buf,
			      mgmt__pool_query_target_req__pack(&r, buf), &out, &out_len), 0);
	resp = mgmt__pool_query_target_resp__unpack(NULL, out_len, out);
	free(out);
	assert_int_equal(resp->status, -DER_INVAL);
	assert_int_equal(resp->n_infos, 0);
	mgmt__pool_query_target_resp__free_unpacked(resp, NULL);
	r.rank = 9; /* not in the map */
	r.n_targets = 1;
	assert_int_equal(call(DRPC_METHOD_POOL_QUERY_TARGETS, buf,
			      mgmt__pool_query_target_req__pack(&r, buf), &out, &out_len), 0);
	resp = mgmt__pool_query_target_resp__unpack(NULL, out_len, out);
	free(out);
	assert_int_equal(resp->status, -DER_NONEXIST);
	mgmt__pool_query_target_resp__free_unpacked(resp, NULL);
}

static void test_smd_list_pools_empty(void **state)
{
	Ctl__SmdPoolResp *resp;
	uint8_t *out;
	size_t out_len;
	char path[512];
	struct stat sb;

	(void)state;
	assert_int_equal(call(DRPC_METHOD_SMD_LIST_POOLS, NULL, 0, &out, &out_len), 0);
	resp = ctl__smd_pool_resp__unpack(NULL, out_len, out);
	free(out);
	assert_non_null(resp);
	assert_int_equal(resp->status, 0);
	assert_int_equal(resp->n_pools, 0);
	ctl__smd_pool_resp__free_unpacked(resp, NULL);
	/* the storage core made its allocation table on first use */
	snprintf(path, sizeof(path), "%s/%s/%s", scm, VOS_SMD_DIR, VOS_SMD_FILE);
	assert_int_equal(stat(path, &sb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_validation),
		cmocka_unit_test(test_map_and_query),
		cmocka_unit_test(test_query_targets_validation),
		cmocka_unit_test(test_smd_list_pools_empty),
	};

	return cmocka_run_group_tests_name("pool_module", tests, setup, teardown);
}
