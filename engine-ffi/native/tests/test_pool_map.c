/* cmocka tests of the pool module's pure parts (modules/pool/pool_map.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "der.h"
#include "pool_map.h"

static const uint8_t U[16] = {1, 2, 3};

static void test_split(void **state)
{
	uint64_t v = 7;
	char err[256] = "";

	(void)state;
	assert_int_equal(pool_split(8ull << 30, 4, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(pool_split(10, 3, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 3); /* rounded down: never more than asked for per rank */
	assert_int_equal(pool_split(0, 2, &v, err, sizeof(err)), 0); /* no NVMe */
	assert_int_equal(v, 0);
	v = 7;
	assert_int_equal(pool_split(100, 0, &v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "engine target count 0"));
	assert_int_equal(v, 7);
	assert_int_equal(pool_split(3, 4, &v, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "per-rank size 3 bytes"));
}

static struct pool_map_rank mk(uint32_t rank, int ntgts, uint8_t s)
{
	struct pool_map_rank r = {.rank = rank, .ntgts = ntgts};

	memset(r.states, s, (size_t)ntgts);
	return r;
}

static void test_map_versions(void **state)
{
	struct pool_map m = {0};
	struct pool_map_rank r[3] = {mk(5, 2, POOL_TGT_UP_IN), mk(1, 2, POOL_TGT_UP_IN),
				     mk(3, 2, POOL_TGT_UP_IN)};
	char err[256] = "";

	(void)state;
	assert_null(pool_map_find(&m, 1));
	assert_int_equal(pool_map_apply(&m, U, 2, r, 3, err, sizeof(err)), 1);
	assert_int_equal(m.version, 2);
	assert_memory_equal(m.uuid, U, 16);
	assert_int_equal(pool_map_find(&m, 3)->states[1], POOL_TGT_UP_IN);
	assert_null(pool_map_find(&m, 2));
	/* the same and an older version: accepted, ignored */
	r[2].states[1] = POOL_TGT_DOWN;
	assert_int_equal(pool_map_apply(&m, U, 2, r, 3, err, sizeof(err)), 0);
	assert_int_equal(pool_map_apply(&m, U, 1, r, 3, err, sizeof(err)), 0);
	assert_int_equal(pool_map_find(&m, 3)->states[1], POOL_TGT_UP_IN);
	/* newer: applied, the caller's array is copied */
	assert_int_equal(pool_map_apply(&m, U, 3, r, 3, err, sizeof(err)), 1);
	r[2].states[1] = POOL_TGT_UP;
	assert_int_equal(pool_map_find(&m, 3)->states[1], POOL_TGT_DOWN);
	assert_int_equal(m.version, 3);
	/* errors keep the held map */
	r[0].rank = 1;
	assert_int_equal(pool_map_apply(&m, U, 4, r, 3, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rank 1 twice"));
	r[0] = mk(5, 2, 9);
	assert_int_equal(pool_map_apply(&m, U, 4, r, 3, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rank 5 target 0 has state 9"));
	r[0] = mk(5, 0, POOL_TGT_UP);
	assert_int_equal(pool_map_apply(&m, U, 4, r, 3, err, sizeof(err)), -EINVAL);
	assert_int_equal(pool_map_apply(&m, U, 0, r, 3, err, sizeof(err)), -EINVAL);
	assert_int_equal(m.version, 3);
	assert_int_equal(pool_map_find(&m, 5)->ntgts, 2);
	pool_map_clear(&m);
	assert_int_equal(m.version, 0);
}

/* Ranks 10..10+n with 2 UP_IN targets each. */
static void mk_ranks(struct pool_map_rank *r, int n)
{
	for (int i = 0; i < n; i++)
		r[i] = mk((uint32_t)(10 + i), 2, POOL_TGT_UP_IN);
}

/* Sends chunks of size k of r[0..n) to st; the result of the last one. */
static int stage_all(struct pool_map_stage *st, uint32_t v, const struct pool_map_rank *r, int n,
		     int k)
{
	char err[256];
	int rc = 0;

	for (int off = 0; off < n; off += k) {
		int c = n - off < k ? n - off : k;

		rc = pool_map_stage_add(st, U, v, (uint32_t)off, (uint32_t)c, (uint32_t)n, 1024,
					&r[off], err, sizeof(err));
		if (off + c < n)
			assert_int_equal(rc, 0);
	}
	return rc;
}

static void test_map_stage(void **state)
{
	static const uint8_t U2[16] = {9};
	struct pool_map_stage st = {0};
	struct pool_map m = {0};
	struct pool_map_rank r[7];
	char err[256] = "";

	(void)state;
	mk_ranks(r, 7);
	/* in order, chunk sizes 1, 2, 3 and 7: the whole map, then applied like one message */
	for (int k = 1; k <= 7; k++) {
		assert_int_equal(stage_all(&st, (uint32_t)k, r, 7, k), 1);
		assert_int_equal(st.have, 7);
		assert_memory_equal(st.ranks, r, sizeof(r));
		assert_int_equal(pool_map_apply(&m, st.uuid, st.version, st.ranks, st.total, err,
						sizeof(err)), 1);
		assert_int_equal(m.nranks, 7);
		assert_int_equal(m.version, (uint32_t)k);
		assert_non_null(pool_map_find(&m, 16));
		pool_map_stage_clear(&st);
	}
	pool_map_clear(&m);

	/* the version changes mid-way: refused, the stage dropped, the next chunk refused too */
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 2, 7, 1024, r, err, sizeof(err)), 0);
	assert_int_equal(pool_map_stage_add(&st, U, 4, 2, 2, 7, 1024, &r[2], err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "another version"));
	assert_int_equal(st.version, 0);
	assert_null(st.ranks);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 4, 2, 7, 1024, &r[4], err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "no chunk before it"));
	/* a missing chunk (offset past the staged ranks) */
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 2, 7, 1024, r, err, sizeof(err)), 0);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 4, 2, 7, 1024, &r[4], err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "after a missing one"));
	assert_int_equal(st.version, 0);
	/* a repeated chunk */
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 2, 7, 1024, r, err, sizeof(err)), 0);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 2, 2, 7, 1024, &r[2], err, sizeof(err)), 0);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 2, 2, 7, 1024, &r[2], err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "repeated"));
	/* the last chunk again after completion: nothing staged, refused */
	assert_int_equal(stage_all(&st, 3, r, 7, 4), 1);
	pool_map_stage_clear(&st);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 4, 3, 7, 1024, &r[4], err, sizeof(err)),
			 -EPROTO);
	/* another pool or another total mid-way */
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 2, 7, 1024, r, err, sizeof(err)), 0);
	assert_int_equal(pool_map_stage_add(&st, U2, 3, 2, 2, 7, 1024, &r[2], err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "another pool"));
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 2, 7, 1024, r, err, sizeof(err)), 0);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 2, 2, 6, 1024, &r[2], err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "another total"));
	/* a new first chunk restarts the stage (the root starts over) */
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 2, 7, 1024, r, err, sizeof(err)), 0);
	assert_int_equal(pool_map_stage_add(&st, U, 5, 0, 4, 7, 1024, r, err, sizeof(err)), 0);
	assert_int_equal(st.version, 5);
	assert_int_equal(st.have, 4);
	assert_int_equal(pool_map_stage_add(&st, U, 5, 4, 3, 7, 1024, &r[4], err, sizeof(err)), 1);
	pool_map_stage_clear(&st);
	/* bounds: over the limit, past the total, empty chunk, version 0; the stage dropped */
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 2, 7, 1024, r, err, sizeof(err)), 0);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 1, 1025, 1024, r, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "<= 1024"));
	assert_int_equal(st.version, 0);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 6, 2, 7, 1024, r, err, sizeof(err)), -EINVAL);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0xffffffffu, 2, 7, 1024, r, err,
					    sizeof(err)), -EINVAL);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 1, 0xffffffffu, 7, 1024, r, err,
					    sizeof(err)), -EINVAL);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 0, 7, 1024, r, err, sizeof(err)), -EINVAL);
	assert_int_equal(pool_map_stage_add(&st, U, 0, 0, 2, 7, 1024, r, err, sizeof(err)), -EINVAL);
	assert_int_equal(pool_map_stage_add(&st, U, 3, 0, 0, 0, 1024, r, err, sizeof(err)), -EINVAL);
	assert_int_equal(st.version, 0);
	assert_null(st.ranks);
	/* a completed map with a bad entry is refused by pool_map_apply as a whole */
	r[5].rank = r[1].rank;
	assert_int_equal(stage_all(&st, 6, r, 7, 3), 1);
	assert_int_equal(pool_map_apply(&m, st.uuid, st.version, st.ranks, st.total, err,
					sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(m.version, 0);
	pool_map_stage_clear(&st);
}

/* Stage slots: own stage, a free one for a first chunk, else the one idle longest; none for
 * a later chunk of a pool with nothing staged. */
static void test_map_stage_slot(void **state)
{
	static const uint8_t A[16] = {0xa}, B[16] = {0xb}, C[16] = {0xc};
	struct pool_map_stage st[3];
	uint64_t used[3] = {0, 0, 0};

	(void)state;
	memset(st, 0, sizeof(st));
	assert_int_equal(pool_map_stage_slot(st, used, 3, A, 0), 0); /* all free: the first */
	assert_int_equal(pool_map_stage_slot(st, used, 3, A, 5), -1); /* later chunk, no stage */
	memcpy(st[1].uuid, A, 16);
	st[1].version = 4;
	used[1] = 7;
	assert_int_equal(pool_map_stage_slot(st, used, 3, A, 5), 1); /* its own stage */
	assert_int_equal(pool_map_stage_slot(st, used, 3, A, 0), 1); /* a restart: its own too */
	assert_int_equal(pool_map_stage_slot(st, used, 3, B, 0), 0); /* a free one */
	memcpy(st[0].uuid, B, 16);
	st[0].version = 1;
	used[0] = 9;
	memcpy(st[2].uuid, C, 16);
	st[2].version = 2;
	used[2] = 8;
	/* all taken: a new pool's first chunk takes the stage idle longest (A's, used 7) */
	assert_int_equal(pool_map_stage_slot(st, used, 3, U, 0), 1);
	assert_int_equal(pool_map_stage_slot(st, used, 3, U, 3), -1);
	assert_int_equal(pool_map_stage_slot(st, used, 0, U, 0), -1);
}

static void test_tier_stats(void **state)
{
	const struct pool_tgt_space sp[4] = {{100, 40}, {100, 10}, {100, 90}, {100, 70}};
	const uint8_t st[4] = {POOL_TGT_UP_IN, POOL_TGT_DOWN, POOL_TGT_DRAIN, POOL_TGT_UP};
	const uint8_t none[2] = {POOL_TGT_DOWN_OUT, POOL_TGT_NEW};
	struct pool_tier_stats s;
	int n = -1;

	(void)state;
	pool_tier_stats(sp, st, 4, &s, &n);
	assert_int_equal(n, 3); /* the DOWN target is not counted */
	assert_int_equal(s.total, 300);
	assert_int_equal(s.free, 200);
	assert_int_equal(s.min, 40);
	assert_int_equal(s.max, 90);
	assert_int_equal(s.mean, 66);
	pool_tier_stats(sp, none, 2, &s, &n);
	assert_int_equal(n, 0);
	assert_int_equal(s.total + s.free + s.min + s.max + s.mean, 0);
}

static void test_aggregate(void **state)
{
	const uint64_t req[2] = {1000, 5000};
	struct pool_rank_result r[3] = {
		{.rank = 0, .rc = 0, .largest = {2000, 9000}},
		{.rank = 1, .rc = -DER_TIMEDOUT, .largest = {UINT64_MAX, UINT64_MAX}},
		{.rank = 2, .rc = -DER_NOSPACE, .largest = {800, 9000}},
	};
	struct pool_create_reply out;

	(void)state;
	pool_create_aggregate(r, 3, req, &out);
	/* NOSPACE wins over the timeout: it names the tier and what fits everywhere */
	assert_int_equal(out.status, -DER_NOSPACE);
	assert_int_equal(out.failed_rank, 2);
	assert_int_equal(out.nospace_tier, 0);
	assert_int_equal(out.largest[0], 800);
	assert_int_equal(out.largest[1], 9000);
	r[2].rc = 0;
	pool_create_aggregate(r, 3, req, &out);
	assert_int_equal(out.status, -DER_TIMEDOUT);
	assert_int_equal(out.failed_rank, 1);
	assert_int_equal(out.nospace_tier, -1);
	r[1].rc = 0;
	pool_create_aggregate(r, 3, req, &out);
	assert_int_equal(out.status, 0);
	/* the NVMe tier short on one rank (rank 2 now fits the SCM request too) */
	r[2].largest[0] = 2000;
	r[0].rc = -DER_NOSPACE;
	r[0].largest[1] = 4096;
	pool_create_aggregate(r, 3, req, &out);
	assert_int_equal(out.status, -DER_NOSPACE);
	assert_int_equal(out.failed_rank, 0);
	assert_int_equal(out.nospace_tier, 1);
	assert_int_equal(out.largest[1], 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_map_versions),
		cmocka_unit_test(test_map_stage),
		cmocka_unit_test(test_map_stage_slot),
		cmocka_unit_test(test_tier_stats),
		cmocka_unit_test(test_aggregate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
