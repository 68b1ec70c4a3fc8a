/* cmocka: the engine's minority guard on SWIM deaths (swim_engine.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "swim_engine.h"

static void test_majority(void **state)
{
	(void)state;
	/* 3 hosts x 2 engines, one host SIGSTOPped: the 4 others report (4 of 6 alive) */
	assert_true(dss_swim_majority(4, 6));
	assert_true(dss_swim_majority(5, 6));
	/* the partitioned host's 2 engines see 2 of 6 alive: they keep quiet */
	assert_false(dss_swim_majority(2, 6));
	/* exactly half cannot tell which side it is on */
	assert_false(dss_swim_majority(3, 6));
	assert_true(dss_swim_majority(2, 3));
	assert_false(dss_swim_majority(1, 3));
	/* one or two members: no majority exists, the decider reports */
	assert_true(dss_swim_majority(1, 2));
	assert_true(dss_swim_majority(1, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_majority),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
