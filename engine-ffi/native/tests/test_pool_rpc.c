/* The pool protocol's collective folds (modules/pool/pool_rpc.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "der.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_fold),
		cmocka_unit_test(test_create_fold_bounded),
		cmocka_unit_test(test_status_fold),
		cmocka_unit_test(test_query_fold),
	};

	return cmocka_run_group_tests_name("pool_rpc", tests, NULL, NULL);
}
