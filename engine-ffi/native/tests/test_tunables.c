/* cmocka tests of the engine tunables parser (env names, ranges, errors that name the fix). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tunables.h"

/* A fake environment: NULL-terminated name/value pairs. */
struct fake_env {
	const char *kv[16];
};

static const char *fake_get(void *arg, const char *name)
{
	struct fake_env *e = arg;

	for (int i = 0; e->kv[i] != NULL; i += 2)
		if (strcmp(e->kv[i], name) == 0)
			return e->kv[i + 1];
	return NULL;
}

static int parse1(const char *name, const char *value, struct dss_tunables *t, char *err,
		  size_t errlen)
{
	struct fake_env e = {.kv = {name, value, NULL}};

	return dss_tunables_parse(t, fake_get, &e, err, errlen);
}

static void test_defaults(void **state)
{
	struct fake_env e = {.kv = {NULL}};
	struct dss_tunables t;
	char err[256] = "";

	(void)state;
	memset(&t, 0xAB, sizeof(t));
	assert_int_equal(dss_tunables_parse(&t, fake_get, &e, err, sizeof(err)), 0);
	assert_int_equal(t.swim_period_ms, 1000);
	assert_int_equal(t.swim_ping_timeout_ms, 900);
	assert_int_equal(t.swim_suspect_timeout_ms, 10000);
	assert_int_equal(t.swim_subgroup_size, 2);
	assert_int_equal(t.rpc_timeout_s, 60);
	assert_int_equal(t.tree_fanout, 32);
	assert_string_equal(err, "");
}

static void test_each_variable(void **state)
{
	struct fake_env e = {.kv = {"SWIM_PROTOCOL_PERIOD_LEN", "500", "SWIM_PING_TIMEOUT", "400",
				    "SWIM_SUSPECT_TIMEOUT", "1500", "SWIM_SUBGROUP_SIZE", "3",
				    "CRT_TIMEOUT", "3600", "DAOS_TREE_FANOUT", "2", NULL}};
	struct dss_tunables t;
	char err[256], line[256];

	(void)state;
	assert_int_equal(dss_tunables_parse(&t, fake_get, &e, err, sizeof(err)), 0);
	assert_int_equal(t.swim_period_ms, 500);
	assert_int_equal(t.swim_ping_timeout_ms, 400);
	assert_int_equal(t.swim_suspect_timeout_ms, 1500);
	assert_int_equal(t.swim_subgroup_size, 3);
	assert_int_equal(t.rpc_timeout_s, 3600);
	assert_int_equal(t.tree_fanout, 2);
	dss_tunables_str(&t, line, sizeof(line));
	assert_non_null(strstr(line, "SWIM_SUSPECT_TIMEOUT=1500"));
	assert_non_null(strstr(line, "DAOS_TREE_FANOUT=2"));
}

/* Every malformed value is refused with the variable, the value, the range and the fix. */
static void test_bad_values(void **state)
{
	static const struct { const char *name, *value, *range; } bad[] = {
		{"SWIM_PROTOCOL_PERIOD_LEN", "abc", "100..60000"},
		{"SWIM_PROTOCOL_PERIOD_LEN", "", "100..60000"},
		{"SWIM_PROTOCOL_PERIOD_LEN", "99", "100..60000"},
		{"SWIM_PROTOCOL_PERIOD_LEN", "60001", "100..60000"},
		{"SWIM_PING_TIMEOUT", "-5", "50..60000"},
		{"SWIM_PING_TIMEOUT", "+500", "50..60000"},
		{"SWIM_PING_TIMEOUT", " 500", "50..60000"},
		{"SWIM_PING_TIMEOUT", "500ms", "50..60000"},
		{"SWIM_SUSPECT_TIMEOUT", "0x2710", "500..3600000"},
		{"SWIM_SUSPECT_TIMEOUT", "99999999999999999999", "500..3600000"},
		{"SWIM_SUBGROUP_SIZE", "0", "1..8"},
		{"SWIM_SUBGROUP_SIZE", "9", "1..8"},
		{"CRT_TIMEOUT", "0", "1..3600"},
		{"CRT_TIMEOUT", "3601", "1..3600"},
		{"DAOS_TREE_FANOUT", "1", "2..256"},
		{"DAOS_TREE_FANOUT", "1.5", "2..256"},
	};
	struct dss_tunables t;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char quoted[64];

		dss_tunables_defaults(&t);
		err[0] = '\0';
		assert_int_equal(parse1(bad[i].name, bad[i].value, &t, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i].name));
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i].value);
		assert_non_null(strstr(err, quoted));
		assert_non_null(strstr(err, bad[i].range));
		assert_non_null(strstr(err, "env_vars"));
		/* nothing half-applied: t keeps what it had */
		assert_int_equal(t.swim_period_ms, 1000);
	}
}

static void test_long_value_echo_is_bounded(void **state)
{
	char big[4096], err[256];
	struct dss_tunables t;

	(void)state;
	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse1("CRT_TIMEOUT", big, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "CRT_TIMEOUT"));
	assert_non_null(strstr(err, "..."));
	assert_true(strlen(err) < sizeof(err));
}

static void test_cross_checks(void **state)
{
	struct fake_env ping_ge_suspect = {.kv = {"SWIM_PING_TIMEOUT", "5000",
						  "SWIM_SUSPECT_TIMEOUT", "5000", NULL}};
	struct fake_env suspect_short = {.kv = {"SWIM_PROTOCOL_PERIOD_LEN", "2000",
						"SWIM_SUSPECT_TIMEOUT", "5999", NULL}};
	struct fake_env suspect_ok = {.kv = {"SWIM_PROTOCOL_PERIOD_LEN", "2000",
					     "SWIM_SUSPECT_TIMEOUT", "6000", NULL}};
	struct dss_tunables t;
	char err[512];

	(void)state;
	assert_int_equal(dss_tunables_parse(&t, fake_get, &ping_ge_suspect, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "SWIM_PING_TIMEOUT=5000"));
	assert_non_null(strstr(err, "SWIM_SUSPECT_TIMEOUT=5000"));
	assert_int_equal(dss_tunables_parse(&t, fake_get, &suspect_short, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "3 x SWIM_PROTOCOL_PERIOD_LEN=2000"));
	assert_non_null(strstr(err, ">= 6000"));
	assert_int_equal(dss_tunables_parse(&t, fake_get, &suspect_ok, err, sizeof(err)), 0);
	assert_int_equal(t.swim_suspect_timeout_ms, 6000);
}

static void test_from_process_env(void **state)
{
	struct dss_tunables t;
	char err[512];

	(void)state;
	setenv("SWIM_PROTOCOL_PERIOD_LEN", "2000", 1);
	setenv("SWIM_SUSPECT_TIMEOUT", "20000", 1);
	assert_int_equal(dss_tunables_from_env(&t, err, sizeof(err)), 0);
	assert_int_equal(t.swim_period_ms, 2000);
	assert_int_equal(t.swim_suspect_timeout_ms, 20000);
	assert_int_equal(t.swim_ping_timeout_ms, 900);
	setenv("CRT_TIMEOUT", "sixty", 1);
	assert_int_equal(dss_tunables_from_env(&t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "CRT_TIMEOUT='sixty'"));
	unsetenv("SWIM_PROTOCOL_PERIOD_LEN");
	unsetenv("SWIM_SUSPECT_TIMEOUT");
	unsetenv("CRT_TIMEOUT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_each_variable),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_long_value_echo_is_bounded),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_from_process_env),
	};

	return cmocka_run_group_tests_name("tunables", tests, NULL, NULL);
}
