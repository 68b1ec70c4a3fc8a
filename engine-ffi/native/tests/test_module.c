/*
 * cmocka tests of engine modules as shared libraries (module.h), under ASan/UBSan: the test
 * modules of tests/modules/tmod.c and the real mgmt module, built into build/test/modules/
 * (the default module directory of this program), opened with dlopen. Good modules load from
 * their own .so, set up in load order and clean up / fini / unload in reverse; each xstream
 * gets its own value of every module key; bad modules (missing file, missing symbol, wrong
 * interface version, duplicate name or dRPC id, bad name or table, failing init, a name that
 * would leave the directory) are start errors naming the file, symbol or field, and leave
 * nothing loaded; an unknown dRPC module id is answered UNKNOWN_MODULE.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "daos_engine.h"
#include "drpc_frame.h"
#include "engine_internal.h"
#include "module.h"
#include "xstream.h"

#include "engine_call.h"

/* Lifecycle calls of the test modules, e.g. "init:ta init:tb setup:ta ...". */
static char trail[1024];
static pthread_mutex_t trail_lock = PTHREAD_MUTEX_INITIALIZER;

/* Called by the test modules (tests/modules/tmod.c), resolved from this program at dlopen. */
__attribute__((visibility("default"))) void tmod_trail(const char *what, const char *name)
{
	size_t n;

	pthread_mutex_lock(&trail_lock);
	n = strlen(trail);
	snprintf(trail + n, sizeof(trail) - n, "%s%s:%s", n ? " " : "", what, name);
	pthread_mutex_unlock(&trail_lock);
}

static char mod_dir[PATH_MAX];

static int setup_dir(void **state)
{
	(void)state;
	assert_int_equal(dss_module_default_dir(mod_dir, sizeof(mod_dir)), 0);
	return 0;
}

/* True while path is mapped in this process. */
static int is_loaded(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);

	if (h == NULL)
		return 0;
	dlclose(h);
	return 1;
}

static void lib_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/lib%s.so", mod_dir, name);
}

/* The default module directory is modules/ beside the program linking the engine in. */
static void test_default_dir(void **state)
{
	const char *tail = "/build/test/modules";
	char path[PATH_MAX];
	struct stat st;

	(void)state;
	assert_true(strlen(mod_dir) > strlen(tail));
	assert_string_equal(mod_dir + strlen(mod_dir) - strlen(tail), tail);
	lib_path(path, sizeof(path), "mgmt");
	assert_int_equal(stat(path, &st), 0);
}

/* Two good modules: each from its own .so, set up in order, unloaded in reverse. */
static void test_open_good(void **state)
{
	struct dss_module_registry reg;
	const struct dss_module *ta, *tb;
	char err[512] = "", pta[PATH_MAX], ptb[PATH_MAX];
	Dl_info info;

	(void)state;
	trail[0] = '\0';
	lib_path(pta, sizeof(pta), "ta");
	lib_path(ptb, sizeof(ptb), "tb");
	assert_false(is_loaded(pta));
	dss_registry_init(&reg);
	assert_int_equal(dss_modules_open(&reg, mod_dir, "ta,tb", NULL, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(reg.nmods, 2);
	ta = dss_module_by_name(&reg, "ta");
	tb = dss_module_by_name(&reg, "tb");
	assert_non_null(ta);
	assert_non_null(tb);
	assert_ptr_equal(dss_module_by_drpc_id(&reg, DRPC_MODULE_TEST), ta);
	assert_ptr_equal(dss_module_by_drpc_id(&reg, DRPC_MODULE_SEC_AGENT), tb);
	/* the descriptors live in the module libraries, not in this program */
	assert_int_not_equal(dladdr(ta, &info), 0);
	assert_string_equal(info.dli_fname, pta);
	assert_int_not_equal(dladdr(tb, &info), 0);
	assert_string_equal(info.dli_fname, ptb);
	assert_true(is_loaded(pta));
	/* each module key got its own slot */
	assert_int_equal(reg.nkeys, 2);
	assert_int_equal(ta->key->index, 0);
	assert_int_equal(tb->key->index, 1);

	assert_int_equal(dss_modules_setup(&reg, NULL), 0);
	assert_int_equal(dss_modules_setup(&reg, NULL), 0); /* a repeated SetUp: once each */
	dss_modules_unload(&reg, NULL);
	assert_string_equal(trail, "init:ta init:tb setup:ta setup:tb cleanup:tb cleanup:ta "
			    "fini:tb fini:ta");
	assert_int_equal(reg.nmods, 0);
	assert_false(is_loaded(pta));
	assert_false(is_loaded(ptb));
}

/* Modules never set up are not cleaned up: fini only, in reverse. */
/* tshare serves ta's dRPC module id with another method: both load, each gets its method. */
static void test_open_shared_id(void **state)
{
	struct dss_module_registry reg;
	char err[512] = "";

	(void)state;
	trail[0] = '\0';
	dss_registry_init(&reg);
	assert_int_equal(dss_modules_open(&reg, mod_dir, "ta,tshare", NULL, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(reg.nmods, 2);
	assert_ptr_equal(dss_module_by_drpc_method(&reg, DRPC_MODULE_TEST, 1),
			 dss_module_by_name(&reg, "ta"));
	assert_ptr_equal(dss_module_by_drpc_method(&reg, DRPC_MODULE_TEST, 2),
			 dss_module_by_name(&reg, "tshare"));
	assert_null(dss_module_by_drpc_method(&reg, DRPC_MODULE_TEST, 3));
	dss_modules_unload(&reg, NULL);
	assert_string_equal(trail, "init:ta init:tshare fini:tshare fini:ta");
}

static void test_unload_without_setup(void **state)
{
	struct dss_module_registry reg;
	char err[512];

	(void)state;
	trail[0] = '\0';
	dss_registry_init(&reg);
	assert_int_equal(dss_modules_open(&reg, mod_dir, "tb,ta", NULL, err, sizeof(err)), 0);
	dss_modules_unload(&reg, NULL);
	assert_string_equal(trail, "init:tb init:ta fini:ta fini:tb");
}

/*
 * Opens list with "ta" already loaded; expects rc and each needle in the message, the
 * registry left with ta only, and no library of the list left mapped.
 */
static void expect_open_error(const char *list, int rc, const char *const *needles,
			      const char *const *libs)
{
	struct dss_module_registry reg;
	char err[768] = "", path[PATH_MAX];

	dss_registry_init(&reg);
	assert_int_equal(dss_module_open(&reg, mod_dir, "ta", NULL, err, sizeof(err)), 0);
	trail[0] = '\0';
	assert_int_equal(dss_modules_open(&reg, mod_dir, list, NULL, err, sizeof(err)), rc);
	for (; *needles != NULL; needles++)
		if (strstr(err, *needles) == NULL)
			fail_msg("error for -m '%s' lacks \"%s\": %s", list, *needles, err);
	assert_int_equal(reg.nmods, 1);
	assert_int_equal(reg.nkeys, 1);
	for (; libs != NULL && *libs != NULL; libs++) {
		lib_path(path, sizeof(path), *libs);
		if (is_loaded(path))
			fail_msg("-m '%s' left %s loaded", list, path);
	}
	dss_modules_unload(&reg, NULL);
}

static void test_open_errors(void **state)
{
	char path[PATH_MAX + 32], missing[PATH_MAX + 32];

	(void)state;
	lib_path(missing, sizeof(missing), "nosuch");
	expect_open_error("nosuch", -ENOENT,
			  (const char *const[]){"unknown engine module 'nosuch'", missing,
						"No such file", "remove 'nosuch' from -m", NULL},
			  NULL);
	lib_path(path, sizeof(path), "tnosym");
	expect_open_error("tnosym", -ENOENT,
			  (const char *const[]){path, "does not export the symbol 'tnosym_module'",
						NULL},
			  (const char *const[]){"tnosym", NULL});
	expect_open_error("tbadver", -EPROTO,
			  (const char *const[]){"libtbadver.so",
						"tbadver_module.interface_version is 999",
						"DSS_MODULE_INTERFACE_VERSION", "rebuild", NULL},
			  (const char *const[]){"tbadver", NULL});
	expect_open_error("tdupid", -EEXIST,
			  (const char *const[]){"libtdupid.so",
						"tdupid_module.handlers: method 1 of dRPC module 0 is "
						"already served by module 'ta' (module 'tdupid' "
						"claims it too)", NULL},
			  (const char *const[]){"tdupid", NULL});
	expect_open_error("ta", -EEXIST,
			  (const char *const[]){"'ta' is listed twice in -m", NULL}, NULL);
	expect_open_error("tname", -EINVAL,
			  (const char *const[]){"libtname.so",
						"tname_module.name is 'ta', expected 'tname'", NULL},
			  (const char *const[]){"tname", NULL});
	expect_open_error("tinitfail", -EIO,
			  (const char *const[]){"libtinitfail.so", "tinitfail_module.init failed",
						"Input/output error", NULL},
			  (const char *const[]){"tinitfail", NULL});
	/* its init ran, and nothing else of it: no fini (then ta's fini, at the unload) */
	assert_string_equal(trail, "init:tinitfail fini:ta");
	expect_open_error("tbadtbl", -EINVAL,
			  (const char *const[]){"tbadtbl_module.handlers", "method 1 is listed twice",
						NULL},
			  (const char *const[]){"tbadtbl", NULL});
	/* the error stops the list: tb after a bad module is not loaded */
	expect_open_error("tnosym,tb", -ENOENT, (const char *const[]){"tnosym_module", NULL},
			  (const char *const[]){"tb", NULL});
}

/* Names that are not plain names are refused before anything is opened. */
static void test_open_bad_names(void **state)
{
	static const char *const lists[] = {
		"",         ",ta",       "tb,",  "tb,,tb", "../ta", "x/../../ta", "..",
		"/etc/x",   "t b",       "tb;x", "t\tb",
		"abcdefghijklmnopqrstuvwxyz0123456", /* 33 characters */
	};
	char dir[] = "/tmp/mod_escape_XXXXXX", sub[64], outside[96], esc[96], cmd[PATH_MAX * 2];
	struct dss_module_registry reg;
	char err[768];

	(void)state;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		dss_registry_init(&reg);
		trail[0] = '\0';
		err[0] = '\0';
		if (dss_modules_open(&reg, mod_dir, lists[i], NULL, err, sizeof(err)) != -EINVAL)
			fail_msg("-m '%s' was not refused: %s", lists[i], err);
		assert_int_equal(reg.nmods, 0);
		assert_string_equal(trail, "");
		assert_true(strstr(err, "-m") != NULL);
	}
	/*
	 * A real escape on disk: <d>/mods/libx/ exists and <d>/ta.so is a loadable module, so an
	 * unchecked "x/../../ta" would open <d>/mods/libx/../../ta.so = <d>/ta.so.
	 */
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/mods", dir);
	snprintf(esc, sizeof(esc), "%s/mods/libx", dir);
	snprintf(outside, sizeof(outside), "%s/ta.so", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(mkdir(esc, 0700), 0);
	snprintf(cmd, sizeof(cmd), "cp %s/libta.so %s", mod_dir, outside);
	assert_int_equal(system(cmd), 0);
	dss_registry_init(&reg);
	trail[0] = '\0';
	assert_int_equal(dss_module_open(&reg, sub, "x/../../ta", NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "invalid engine module name 'x/../../ta'"));
	assert_non_null(strstr(err, sub));
	assert_false(is_loaded(outside));
	assert_string_equal(trail, "");
	/* a file that is not a library, and a directory where the library should be */
	snprintf(cmd, sizeof(cmd), "echo junk > %s/libjunk.so && mkdir %s/libdir.so", sub, sub);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(dss_module_open(&reg, sub, "junk", NULL, err, sizeof(err)), -ELIBBAD);
	assert_non_null(strstr(err, "dlopen"));
	assert_non_null(strstr(err, "libjunk.so"));
	assert_int_equal(dss_module_open(&reg, sub, "dir", NULL, err, sizeof(err)), -ELIBBAD);
	assert_non_null(strstr(err, "libdir.so is not a regular file"));
	assert_int_equal(reg.nmods, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- whole engine: -m, DAOS_MODULE_DIR, keys per xstream, dRPC by module id ---- */

/* The tmod key value: {module name, xs_id} (tests/modules/tmod.c). */
struct tmod_value {
	const char *module;
	int xs_id;
};

struct key_probe {
	const struct dss_module_key *keys[2];
	struct tmod_value seen[2][8];
	const void *ptr[2][8];
};

static void read_keys(struct dss_engine *eng, int xs_id, void *arg)
{
	struct key_probe *p = arg;

	(void)eng;
	for (int k = 0; k < 2; k++) {
		const struct tmod_value *v = dss_module_key_get(p->keys[k]);

		p->ptr[k][xs_id] = v;
		if (v != NULL)
			p->seen[k][xs_id] = *v;
	}
}

static void test_engine_modules(void **state)
{
	char dir[] = "/tmp/engine_mod_XXXXXX", err[1024] = "", sock[108], pta[PATH_MAX];
	const char *argv[] = {"daos_engine", "-t", "2", "-x", "1", "-s", dir, "-d", dir,
			      "-m", "ta,tb,mgmt"};
	struct key_probe probe = {0};
	daos_engine_t *eng;
	Drpc__Response *resp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("DAOS_FABRIC_ADDR", "127.0.0.1", 1);
	trail[0] = '\0';
	lib_path(pta, sizeof(pta), "ta");
	eng = daos_engine_create(11, argv, err, sizeof(err));
	assert_non_null(eng);
	assert_string_equal(trail, "init:ta init:tb");
	probe.keys[0] = dss_module_by_name(&eng->reg, "ta")->key;
	probe.keys[1] = dss_module_by_name(&eng->reg, "tb")->key;
	assert_int_equal(daos_engine_start(eng, err, sizeof(err)), 0);
	snprintf(sock, sizeof(sock), "%s", daos_engine_socket_path(eng));

	/* targets 0, 1 and helper 2: each its own value of each key */
	for (int xs = 0; xs < 3; xs++)
		assert_int_equal(dss_xs_run(eng, xs, read_keys, &probe), 0);
	for (int k = 0; k < 2; k++)
		for (int xs = 0; xs < 3; xs++) {
			assert_non_null(probe.ptr[k][xs]);
			assert_string_equal(probe.seen[k][xs].module, k == 0 ? "ta" : "tb");
			assert_int_equal(probe.seen[k][xs].xs_id, xs);
			for (int o = 0; o < xs; o++)
				assert_ptr_not_equal(probe.ptr[k][xs], probe.ptr[k][o]);
		}
	assert_ptr_not_equal(probe.ptr[0][0], probe.ptr[1][0]);
	/* outside any xstream there is no value */
	assert_null(dss_module_key_get(probe.keys[0]));

	/* dRPC by module id: handlers run on the system xstream (id 3), with its key value */
	resp = engine_call(sock, DRPC_MODULE_TEST, 1, NULL, 0);
	assert_int_equal(resp->status, DRPC__STATUS__SUCCESS);
	assert_int_equal(resp->body.len, 4);
	assert_memory_equal(resp->body.data, "ta:3", 4);
	drpc__response__free_unpacked(resp, NULL);
	resp = engine_call(sock, DRPC_MODULE_SEC_AGENT, 1, NULL, 0);
	assert_int_equal(resp->status, DRPC__STATUS__SUCCESS);
	assert_memory_equal(resp->body.data, "tb:3", 4);
	drpc__response__free_unpacked(resp, NULL);
	resp = engine_call(sock, DRPC_MODULE_TEST, 2, NULL, 0);
	assert_int_equal(resp->status, DRPC__STATUS__UNKNOWN_METHOD);
	drpc__response__free_unpacked(resp, NULL);
	/* ids no loaded module serves: SEC (4), SRV (3, daos_server's), out of range */
	for (int id = 3; id <= 6; id++) {
		resp = engine_call(sock, id == 5 ? 1000 : id == 6 ? -1 : id, 1, NULL, 0);
		assert_int_equal(resp->status, DRPC__STATUS__UNKNOWN_MODULE);
		assert_int_equal(resp->body.len, 0);
		drpc__response__free_unpacked(resp, NULL);
	}
	/* SetUp (mgmt 209, from libmgmt.so) sets up every module, in load order */
	resp = engine_call(sock, DRPC_MODULE_MGMT, 209, NULL, 0);
	assert_int_equal(resp->status, DRPC__STATUS__SUCCESS);
	drpc__response__free_unpacked(resp, NULL);
	assert_int_equal(daos_engine_state(eng), DAOS_ENGINE_SETUP);
	assert_string_equal(trail, "init:ta init:tb setup:ta setup:tb");

	assert_true(is_loaded(pta));
	assert_int_equal(daos_engine_stop(eng), 0);
	assert_string_equal(trail, "init:ta init:tb setup:ta setup:tb cleanup:tb cleanup:ta "
			    "fini:tb fini:ta");
	assert_false(is_loaded(pta));
	daos_engine_destroy(eng);
	rmdir(dir);
	unsetenv("DAOS_FABRIC_ADDR");
}

/* Engine start errors for modules: the message of daos_engine_create, nothing left loaded. */
static void test_engine_module_errors(void **state)
{
	char dir[] = "/tmp/engine_moderr_XXXXXX", err[1024], pta[PATH_MAX];
	const char *argv[] = {"daos_engine", "-t", "1", "-s", dir, "-d", dir, "-m", NULL};
	static const struct {
		const char *list;
		const char *needle;
		const char *trail; /* ta loaded, then unloaded; or nothing loaded */
	} cases[] = {
		{"ta,nosuch", "libnosuch.so: No such file", "init:ta fini:ta"},
		{"ta,tbadver", "tbadver_module.interface_version is 999", "init:ta fini:ta"},
		{"ta,tdupid", "method 1 of dRPC module 0 is already served by module 'ta'",
		 "init:ta fini:ta"},
		{"mgmt,mgmt", "'mgmt' is listed twice in -m", ""},
		{"ta,../ta", "invalid module list 'ta,../ta' (-m)", ""},
	};

	(void)state;
	assert_non_null(mkdtemp(dir));
	lib_path(pta, sizeof(pta), "ta");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		argv[8] = cases[i].list;
		trail[0] = '\0';
		assert_null(daos_engine_create(9, argv, err, sizeof(err)));
		if (strstr(err, cases[i].needle) == NULL)
			fail_msg("-m %s: \"%s\" not in: %s", cases[i].list, cases[i].needle, err);
		assert_false(is_loaded(pta)); /* the modules loaded before were unloaded */
		assert_string_equal(trail, cases[i].trail);
	}
	/* DAOS_MODULE_DIR: checked, then used instead of the default directory */
	argv[8] = "ta";
	setenv(DSS_MODULE_DIR_ENV, "relative/dir", 1);
	assert_null(daos_engine_create(9, argv, err, sizeof(err)));
	assert_non_null(strstr(err, "invalid DAOS_MODULE_DIR 'relative/dir'"));
	setenv(DSS_MODULE_DIR_ENV, dir, 1);
	assert_null(daos_engine_create(9, argv, err, sizeof(err)));
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "libta.so: No such file"));
	setenv(DSS_MODULE_DIR_ENV, mod_dir, 1);
	{
		daos_engine_t *eng = daos_engine_create(9, argv, err, sizeof(err));

		assert_non_null(eng);
		daos_engine_destroy(eng);
	}
	unsetenv(DSS_MODULE_DIR_ENV);
	/* no -m: the default module set, mgmt and pool */
	{
		const char *def[] = {"daos_engine", "-t", "1", "-s", dir, "-d", dir};
		daos_engine_t *eng = daos_engine_create(7, def, err, sizeof(err));

		assert_non_null(eng);
		assert_int_equal(eng->reg.nmods, 2);
		assert_non_null(dss_module_by_name(&eng->reg, "mgmt"));
		assert_non_null(dss_module_by_name(&eng->reg, "pool"));
		/* pool serves its methods of dRPC module MGMT beside mgmt */
		assert_string_equal(dss_module_by_drpc_method(&eng->reg, DRPC_MODULE_MGMT, 207)->name,
				    "pool");
		assert_string_equal(dss_module_by_drpc_method(&eng->reg, DRPC_MODULE_MGMT, 209)->name,
				    "mgmt");
		daos_engine_destroy(eng);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_dir),
		cmocka_unit_test(test_open_good),
		cmocka_unit_test(test_open_shared_id),
		cmocka_unit_test(test_unload_without_setup),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_bad_names),
		cmocka_unit_test(test_engine_modules),
		cmocka_unit_test(test_engine_module_errors),
	};

	return cmocka_run_group_tests_name("modules", tests, setup_dir, NULL);
}
