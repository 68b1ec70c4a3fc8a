/* cmocka tests of the engine argument parser and the daos_nvme.conf reader/storage checks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "args.h"
#include "storage.h"

#define ARGV(...) ((const char *const[]){"daos_engine", __VA_ARGS__})
#define ARGC(...) ((int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(char *)))
#define PARSE(a, err, ...) dss_args_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), a, err, sizeof(err))

static void test_args_full(void **state)
{
	struct dss_args a;
	char err[512] = "";

	(void)state;
	assert_int_equal(PARSE(&a, err, "-t", "8", "-x", "2", "-f", "1", "-s", "/mnt/daos0", "-n",
			       "/mnt/daos0/daos_nvme.conf", "-I", "1", "-d", "/var/run/daos_server",
			       "-g", "sys1", "-r", "4096", "-H", "2", "-T", "2", "-b", "-C"), 0);
	assert_int_equal(a.targets, 8);
	assert_int_equal(a.nr_helpers, 2);
	assert_int_equal(a.first_core, 1);
	assert_int_equal(a.numa_node, -1);
	assert_string_equal(a.scm_mount, "/mnt/daos0");
	assert_string_equal(a.nvme_conf, "/mnt/daos0/daos_nvme.conf");
	assert_int_equal(a.instance_idx, 1);
	assert_string_equal(a.socket_dir, "/var/run/daos_server");
	assert_string_equal(a.group, "sys1");
	assert_int_equal(a.mem_size_mb, 4096);
	assert_int_equal(a.hugepage_mb, 2);
	assert_int_equal(a.tiers, 2);
	assert_true(a.bypass_health);
	assert_true(a.check_mode);
	/* attached values and long names work too */
	assert_int_equal(PARSE(&a, err, "-t4", "--storage=/s", "--socket_dir", "/d"), 0);
	assert_int_equal(a.targets, 4);
	assert_string_equal(a.scm_mount, "/s");
	assert_string_equal(a.group, "daos_server");
}

static void expect_err(int rc, const char *err, const char *needle)
{
	assert_int_equal(rc, -EINVAL);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_args_errors(void **state)
{
	struct dss_args a;
	char err[512];

	(void)state;
	expect_err(PARSE(&a, err, "-s", "/s", "-d", "/d"), err, "-t");
	expect_err(PARSE(&a, err, "-t", "0", "-s", "/s", "-d", "/d"), err, "'0' for -t");
	expect_err(PARSE(&a, err, "-t", "2x", "-s", "/s", "-d", "/d"), err, "'2x' for -t");
	expect_err(PARSE(&a, err, "-t", "2", "-d", "/d"), err, "-s");
	expect_err(PARSE(&a, err, "-t", "2", "-s", "/s"), err, "-d");
	expect_err(PARSE(&a, err, "-t", "2", "-s", "/s", "-d", "/d", "-q"), err, "'-q'");
	expect_err(PARSE(&a, err, "-t", "2", "-s", "/s", "-d", "/d", "-x"), err, "-x needs a value");
	expect_err(PARSE(&a, err, "-t", "2", "-s", "/s", "-d", "/d", "-x", "-1"), err, "-x");
	expect_err(PARSE(&a, err, "-t", "2", "-s", "/s", "-d", "/d", "-f", "2", "-p", "0"), err,
		   "cannot specify both");
	expect_err(PARSE(&a, err, "-t", "2", "-s", "/s", "-d",
			 "/a/very/long/socket/directory/that/does/not/fit/into/sun_path/at/all/"
			 "because/it/is/way/too/long"),
		   err, "too long");
}

static const char conf_fmt[] =
	"{\"daos_data\": {\"config\": []},\n"
	" \"subsystems\": [{\"subsystem\": \"bdev\", \"config\": [\n"
	"  {\"params\": {\"bdev_io_pool_size\": 65536, \"bdev_io_cache_size\": 256},"
	"   \"method\": \"bdev_set_options\"},\n"
	"  {\"params\": {\"block_size\": 4096, \"name\": \"AIO_h_0_0_0\", \"filename\": \"%s\"},"
	"   \"method\": \"bdev_aio_create\"},\n"
	"  {\"params\": {\"trtype\": \"PCIe\", \"name\": \"Nvme_h_1_0_0\", \"traddr\": "
	"\"0000:81:00.0\"}, \"method\": \"bdev_nvme_attach_controller\"},\n"
	"  {\"params\": {\"enable\": false, \"period_us\": 0}, \"method\": "
	"\"bdev_nvme_set_hotplug\"}]}]}\n";

static void test_nvme_conf_and_storage(void **state)
{
	char dir[] = "/tmp/engine_test_XXXXXX", bdev[128], conf[128], text[2048], err[512];
	struct dss_storage st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(bdev, sizeof(bdev), "%s/bdev0", dir);
	snprintf(conf, sizeof(conf), "%s/daos_nvme.conf", dir);
	fd = open(bdev, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 << 20), 0);
	close(fd);
	snprintf(text, sizeof(text), conf_fmt, bdev);
	fd = open(conf, O_CREAT | O_WRONLY, 0600);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	assert_int_equal(dss_storage_open(&st, dir, conf, err, sizeof(err)), 0);
	assert_int_equal(st.nbdevs, 2);
	assert_string_equal(st.bdevs[0].name, "AIO_h_0_0_0");
	assert_string_equal(st.bdevs[0].cls, "file");
	assert_int_equal(st.bdevs[0].size, 8 << 20);
	assert_int_equal(st.bdevs[0].state, DSS_BDEV_NORMAL);
	assert_string_equal(st.bdevs[1].cls, "nvme");
	assert_string_equal(st.bdevs[1].traddr, "0000:81:00.0");
	assert_int_equal(strlen(st.bdevs[0].uuid), 36);
	assert_string_not_equal(st.bdevs[0].uuid, st.bdevs[1].uuid);
	assert_ptr_equal(dss_storage_bdev(&st, st.bdevs[1].uuid), &st.bdevs[1]);
	assert_true(st.scm_total > 0);
	/* a deleted backing file shows as unplugged */
	unlink(bdev);
	dss_storage_refresh(&st);
	assert_int_equal(st.bdevs[0].state, DSS_BDEV_UNPLUGGED);
	dss_storage_close(&st);

	/* missing bdev file: a clear error naming the bdev and the path */
	assert_int_equal(dss_storage_open(&st, dir, conf, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "AIO_h_0_0_0"));
	assert_non_null(strstr(err, bdev));
	assert_int_equal(dss_storage_open(&st, "/nonexistent-scm", "", err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "/nonexistent-scm"));
	unlink(conf);
	rmdir(dir);
}

/* Engines of one host name their bdevs alike: the uuid also follows the backing device. */
static void test_bdev_uuid_per_device(void **state)
{
	const char *fmt = "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":["
			  "{\"method\":\"bdev_aio_create\",\"params\":{\"name\":\"AIO_h_0_0_0\","
			  "\"filename\":\"%s\",\"block_size\":4096}}]}]}";
	char text[512], err[256], first[37];
	struct dss_storage st;

	(void)state;
	snprintf(text, sizeof(text), fmt, "/srv/e0/bdev");
	assert_int_equal(dss_nvme_conf_parse(text, &st, err, sizeof(err)), 0);
	memcpy(first, st.bdevs[0].uuid, sizeof(first));
	assert_int_equal(dss_nvme_conf_parse(text, &st, err, sizeof(err)), 0);
	assert_string_equal(st.bdevs[0].uuid, first); /* stable */
	snprintf(text, sizeof(text), fmt, "/srv/e1/bdev");
	assert_int_equal(dss_nvme_conf_parse(text, &st, err, sizeof(err)), 0);
	assert_string_not_equal(st.bdevs[0].uuid, first); /* same name, other device */
}

static void test_nvme_conf_errors(void **state)
{
	struct dss_storage st;
	char err[512];

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(dss_nvme_conf_parse("{not json", &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid JSON"));
	assert_int_equal(dss_nvme_conf_parse("{}", &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "subsystems"));
	assert_int_equal(dss_nvme_conf_parse("{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\":"
					     " [{\"params\": {\"name\": \"A\", \"filename\": \"rel\"},"
					     " \"method\": \"bdev_aio_create\"}]}]}",
					     &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(dss_nvme_conf_parse("{\"subsystems\": []}", &st, err, sizeof(err)), 0);
	assert_int_equal(st.nbdevs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_full),
		cmocka_unit_test(test_args_errors),
		cmocka_unit_test(test_nvme_conf_and_storage),
		cmocka_unit_test(test_nvme_conf_errors),
		cmocka_unit_test(test_bdev_uuid_per_device),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
