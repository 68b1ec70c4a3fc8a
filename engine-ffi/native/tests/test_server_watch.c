/* cmocka tests of the daos_server watch: pidfd on a live/killed process, getppid() fallback. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "server_watch.h"

static void test_pidfd_sees_exit(void **state)
{
	struct dss_server_watch w;
	char err[256] = "", txt[16];
	pid_t child = fork();
	int status;

	(void)state;
	assert_true(child >= 0);
	if (child == 0) {
		for (int i = 0; i < 600; i++) /* bounded: a minute at most */
			usleep(100000);
		_exit(0);
	}
	snprintf(txt, sizeof(txt), "%d", (int)child);
	assert_int_equal(dss_server_watch_open(&w, txt, err, sizeof(err)), 0);
	assert_true(dss_server_watch_fd(&w) >= 0);
	assert_int_equal(dss_server_watch_gone(&w), 0);
	assert_int_equal(kill(child, SIGKILL), 0);
	/* noticed before the zombie is reaped */
	for (int i = 0; i < 500 && !dss_server_watch_gone(&w); i++)
		usleep(10000);
	assert_int_equal(dss_server_watch_gone(&w), 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(dss_server_watch_gone(&w), 1);
	dss_server_watch_close(&w);
	assert_int_equal(dss_server_watch_fd(&w), -1);
	assert_int_equal(dss_server_watch_gone(&w), 0);
	dss_server_watch_close(&w); /* idempotent */
}

static void test_unset_and_fallback(void **state)
{
	struct dss_server_watch w;
	char err[256] = "";

	(void)state;
	assert_int_equal(dss_server_watch_open(&w, NULL, err, sizeof(err)), 0);
	assert_int_equal(dss_server_watch_fd(&w), -1);
	assert_int_equal(dss_server_watch_gone(&w), 0);
	assert_int_equal(dss_server_watch_open(&w, "", err, sizeof(err)), 0);
	assert_int_equal(dss_server_watch_gone(&w), 0);
	/* without a pidfd the parent is compared: ours is alive, any other pid means re-parented */
	w.pidfd = -1;
	w.pid = getppid();
	assert_int_equal(dss_server_watch_gone(&w), 0);
	w.pid = getppid() + 1;
	assert_int_equal(dss_server_watch_gone(&w), 1);
}

static void test_bad_values(void **state)
{
	const char *bad[] = {"x", "0", "1", "-3", "7 ", "2147483648"};
	struct dss_server_watch w;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(dss_server_watch_open(&w, bad[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "DAOS_SERVER_PID"));
		assert_non_null(strstr(err, bad[i]));
		assert_int_equal(dss_server_watch_fd(&w), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pidfd_sees_exit),
		cmocka_unit_test(test_unset_and_fallback),
		cmocka_unit_test(test_bad_values),
	};

	return cmocka_run_group_tests_name("server_watch", tests, NULL, NULL);
}
