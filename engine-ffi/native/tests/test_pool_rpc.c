/* The pool protocol's collective folds and map chunk staging (modules/pool/pool_rpc.c). */
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
#include "pool_module.h"

static struct pool_tgt_create_out cout(uint32_t rank, int rc, uint64_t l0, uint64_t l1)
{
	struct pool_tgt_create_out o;

	memset(&o, 0, sizeof(o));
	o.rc = rc;
	o.failed_rank = rc ? rank : 0xFFFFFFFFu;
	o.largest[0] = l0;
	o.largest[1] = l1;
	if (rc == 0) {
		o.n = 1;
		o.r[0].rank = rank;
		o.r[0].ntgt = 2;
		o.r[0].tier_bytes[0] = 100;
	} else {
		snprintf(o.error, sizeof(o.error), "rank %u failed", rank);
	}
	if (rc == -DER_NOSPACE)
		o.nospace_tiers = 1;
	return o;
}

static void test_create_fold(void **state)
{
	struct pool_tgt_create_out acc = cout(0, 0, 500, UINT64_MAX), c;

	(void)state;
	c = cout(1, 0, 300, 900);
	pool_create_fold(&acc, &c);
	assert_int_equal(acc.rc, 0);
	assert_int_equal(acc.n, 2);
	assert_int_equal(acc.r[1].rank, 1);
	assert_int_equal(acc.largest[0], 300);
	assert_int_equal(acc.largest[1], 900);
	/* another failure first, then NOSPACE: NOSPACE wins, with its rank and message */
	c = cout(2, -DER_IO, UINT64_MAX, UINT64_MAX);
	pool_create_fold(&acc, &c);
	assert_int_equal(acc.rc, -DER_IO);
	assert_int_equal(acc.failed_rank, 2);
	c = cout(3, -DER_NOSPACE, 200, 50);
	pool_create_fold(&acc, &c);
	assert_int_equal(acc.rc, -DER_NOSPACE);
	assert_int_equal(acc.failed_rank, 3);
	assert_string_equal(acc.error, "rank 3 failed");
	assert_int_equal(acc.largest[0], 200);
	assert_int_equal(acc.largest[1], 50);
	assert_int_equal(acc.nospace_tiers, 1);
	/* a later failure does not replace NOSPACE */
	c = cout(4, -DER_EXIST, UINT64_MAX, UINT64_MAX);
	pool_create_fold(&acc, &c);
	assert_int_equal(acc.rc, -DER_NOSPACE);
	assert_int_equal(acc.failed_rank, 3);
	assert_int_equal(acc.n, 2);
}

static void test_create_fold_bounded(void **state)
{
	struct pool_tgt_create_out acc = cout(0, 0, 1, 1), c = cout(1, 0, 1, 1);

	(void)state;
	for (int i = 0; i < 2 * POOL_CO_MAX_RANKS; i++)
		pool_create_fold(&acc, &c);
	assert_int_equal(acc.n, POOL_CO_MAX_RANKS);
	c.n = 1000; /* a bad count from the wire reads no further than r[] */
	pool_create_fold(&acc, &c);
	assert_int_equal(acc.n, POOL_CO_MAX_RANKS);
}

static void test_status_fold(void **state)
{
	struct pool_tgt_destroy_out acc = {0, 0xFFFFFFFFu}, c = {0, 0xFFFFFFFFu};

	(void)state;
	pool_status_fold(&acc, &c);
	assert_int_equal(acc.rc, 0);
	c.rc = -DER_IO;
	c.failed_rank = 5;
	pool_status_fold(&acc, &c);
	c.rc = -DER_NOMEM;
	c.failed_rank = 6;
	pool_status_fold(&acc, &c);
	assert_int_equal(acc.rc, -DER_IO);
	assert_int_equal(acc.failed_rank, 5);
}

static void test_query_fold(void **state)
{
	struct pool_tgt_query_out acc, c;

	(void)state;
	memset(&acc, 0, sizeof(acc));
	memset(&c, 0, sizeof(c));
	for (int t = 0; t < 2; t++)
		acc.tier[t].min = c.tier[t].min = UINT64_MAX;
	/* a rank without active targets changes nothing */
	pool_query_fold(&acc, &c);
	assert_int_equal(acc.tier[0].n, 0);
	assert_true(acc.tier[0].min == UINT64_MAX);
	c.tier[0] = (struct pool_tier_acc){.total = 100, .free = 60, .min = 20, .max = 40, .n = 2};
	pool_query_fold(&acc, &c);
	c.tier[0] = (struct pool_tier_acc){.total = 50, .free = 45, .min = 45, .max = 45, .n = 1};
	c.rc = -DER_NONEXIST;
	c.failed_rank = 2;
	pool_query_fold(&acc, &c);
	assert_int_equal(acc.tier[0].total, 150);
	assert_int_equal(acc.tier[0].free, 105);
	assert_int_equal(acc.tier[0].min, 20);
	assert_int_equal(acc.tier[0].max, 45);
	assert_int_equal(acc.tier[0].n, 3);
	assert_int_equal(acc.rc, -DER_NONEXIST);
	assert_int_equal(acc.failed_rank, 2);
}

/* 70 ranks in chunks of 32, 32 and 6: the folded chunks give what one fold over all gives. */
static void test_create_chunks(void **state)
{
	enum { N = 70, K = 32 };
	static struct pool_rank_shards all[N + 1];
	struct pool_create_total t;
	struct pool_tgt_create_out chunk;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		pool_create_total_init(&t, all, N);
		assert_int_equal(t.sum.rc, 0);
		assert_true(t.sum.largest[0] == UINT64_MAX);
		for (int off = 0; off < N; off += K) {
			int k = N - off < K ? N - off : K;

			for (int i = off; i < off + k; i++) {
				int rc = pass == 1 && i == 40 ? -DER_IO
					 : pass == 1 && i == 65 ? -DER_NOSPACE : 0;
				struct pool_tgt_create_out c = cout((uint32_t)i, rc,
								    1000 - (uint64_t)i, 7000);

				if (i == off)
					chunk = c; /* the chunk's root holds its own output */
				else
					pool_create_fold(&chunk, &c);
			}
			pool_create_total_add(&t, &chunk);
		}
		if (pass == 0) {
			assert_int_equal(t.sum.rc, 0);
			assert_int_equal(t.n, N);
			for (int i = 0; i < N; i++)
				assert_int_equal(t.r[i].rank, i);
		} else {
			/* NOSPACE in the last chunk wins over an earlier chunk's other failure */
			assert_int_equal(t.sum.rc, -DER_NOSPACE);
			assert_int_equal(t.sum.failed_rank, 65);
			assert_string_equal(t.sum.error, "rank 65 failed");
			assert_int_equal(t.n, N - 2);
		}
		/* the minimum over every chunk */
		assert_int_equal(t.sum.largest[0], 1000 - (N - 1));
		assert_int_equal(t.sum.largest[1], 7000);
		assert_int_equal(t.sum.n, 0);
	}
	/* never past the caller's array, whatever the chunks claim */
	pool_create_total_init(&t, all, 3);
	chunk = cout(1, 0, 1, 1);
	chunk.n = 1000;
	pool_create_total_add(&t, &chunk);
	pool_create_total_add(&t, &chunk);
	assert_int_equal(t.n, 3);
}

/* The query fold is associative: per rank, or chunk by chunk, the same sums. */
static void test_query_chunks(void **state)
{
	struct pool_tgt_query_out one, tot, chunk, c;

	(void)state;
	pool_query_out_init(&one);
	pool_query_out_init(&tot);
	assert_true(one.tier[1].min == UINT64_MAX);
	for (int k = 1; k <= 5; k += 4) {
		pool_query_out_init(&tot);
		for (int off = 0; off < 23; off += k) {
			pool_query_out_init(&chunk);
			for (int i = off; i < off + k && i < 23; i++) {
				pool_query_out_init(&c);
				c.tier[0] = (struct pool_tier_acc){.total = 100, .free = 10 + i,
								   .min = 10 + i, .max = 30 + i,
								   .n = 2};
				if (i == 17) {
					c.rc = -DER_IO;
					c.failed_rank = 17;
				}
				pool_query_fold(&chunk, &c);
				if (k == 1)
					pool_query_fold(&one, &c);
			}
			pool_query_fold(&tot, &chunk);
		}
		assert_memory_equal(&tot, &one, sizeof(one));
	}
	assert_int_equal(tot.tier[0].total, 2300);
	assert_int_equal(tot.tier[0].min, 10);
	assert_int_equal(tot.tier[0].max, 52);
	assert_int_equal(tot.tier[0].n, 46);
	assert_int_equal(tot.rc, -DER_IO);
	assert_int_equal(tot.failed_rank, 17);
}

/* Map chunks as they come off the wire: bounds-checked, then staged in order. */
static void test_map_set_stage(void **state)
{
	static struct pool_map_set_in in;
	struct pool_map_stage st = {0};
	char err[256] = "";

	(void)state;
	memset(&in, 0, sizeof(in));
	in.uuid[0] = 7;
	in.version = 2;
	in.total = 40;
	for (uint32_t off = 0; off < 40; off += POOL_CO_MAX_RANKS) {
		in.offset = off;
		in.nranks = 40 - off < POOL_CO_MAX_RANKS ? 40 - off : POOL_CO_MAX_RANKS;
		for (uint32_t i = 0; i < in.nranks; i++) {
			in.ranks[i].rank = off + i;
			in.ranks[i].ntgts = 3;
			memset(in.ranks[i].states, POOL_TGT_UP_IN, 3);
		}
		assert_int_equal(pool_map_set_stage(&st, &in, 900, err, sizeof(err)),
				 off + in.nranks == 40 ? 1 : 0);
	}
	assert_int_equal(st.total, 40);
	assert_int_equal(st.ranks[39].rank, 39);
	assert_int_equal(st.ranks[39].ntgts, 3);
	assert_int_equal(st.ranks[39].states[2], POOL_TGT_UP_IN);
	assert_int_equal(st.ranks[39].states[3], 0);
	pool_map_stage_clear(&st);
	/* a count past the message's entries, a target count past the states: refused */
	in.offset = 0;
	in.nranks = POOL_CO_MAX_RANKS + 1;
	assert_int_equal(pool_map_set_stage(&st, &in, 900, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must be 1..32"));
	in.nranks = 0;
	assert_int_equal(pool_map_set_stage(&st, &in, 900, err, sizeof(err)), -EINVAL);
	in.nranks = 2;
	in.ranks[1].rank = 1;
	in.ranks[1].ntgts = POOL_CO_MAX_TGTS + 1;
	assert_int_equal(pool_map_set_stage(&st, &in, 900, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rank 1 has 33 targets"));
	in.ranks[1].ntgts = 3;
	/* a total over the collective bound */
	in.total = 901;
	assert_int_equal(pool_map_set_stage(&st, &in, 900, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "<= 900"));
	/* a second chunk before any first one */
	in.total = 40;
	in.offset = 32;
	assert_int_equal(pool_map_set_stage(&st, &in, 900, err, sizeof(err)), -EPROTO);
	assert_null(st.ranks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_fold),
		cmocka_unit_test(test_create_fold_bounded),
		cmocka_unit_test(test_status_fold),
		cmocka_unit_test(test_query_fold),
		cmocka_unit_test(test_create_chunks),
		cmocka_unit_test(test_query_chunks),
		cmocka_unit_test(test_map_set_stage),
	};

	return cmocka_run_group_tests_name("pool_rpc", tests, NULL, NULL);
}
