/* cmocka tests of the module registry and dRPC dispatch (spec/server.md §6.5). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "module.h"

/* Records module lifecycle calls in order, e.g. "init:a init:b setup:a cleanup:b fini:b". */
static char trail[512];

static void note(const char *what, const char *name)
{
	size_t n = strlen(trail);

	snprintf(trail + n, sizeof(trail) - n, "%s%s:%s", n ? " " : "", what, name);
}

static int a_init(struct dss_engine *e) { (void)e; note("init", "a"); return 0; }
static int a_fini(struct dss_engine *e) { (void)e; note("fini", "a"); return 0; }
static int a_setup(struct dss_engine *e) { (void)e; note("setup", "a"); return 0; }
static int a_cleanup(struct dss_engine *e) { (void)e; note("cleanup", "a"); return 0; }
static int b_init(struct dss_engine *e) { (void)e; note("init", "b"); return 0; }
static int b_fini(struct dss_engine *e) { (void)e; note("fini", "b"); return 0; }
static int bad_init(struct dss_engine *e) { (void)e; return -EIO; }

/* Echo handler: replies with the request body reversed. */
static int h_echo(struct dss_engine *e, const uint8_t *req, size_t len, uint8_t **resp,
		  size_t *resp_len)
{
	(void)e;
	*resp = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		(*resp)[i] = req[len - 1 - i];
	*resp_len = len;
	return DRPC__STATUS__SUCCESS;
}

/* Fails like a payload decode failure, after allocating (dispatch must free it). */
static int h_bad_payload(struct dss_engine *e, const uint8_t *req, size_t len, uint8_t **resp,
			 size_t *resp_len)
{
	(void)e, (void)req, (void)len;
	*resp = malloc(8);
	*resp_len = 8;
	return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
}

static const struct dss_drpc_handler a_handlers[] = {
	{7, h_echo}, {8, h_bad_payload}, {0, NULL},
};
static const struct dss_drpc_handler dup_handlers[] = {
	{7, h_echo}, {7, h_echo}, {0, NULL},
};

static const struct dss_module mod_a = {
	.name = "a", .drpc_module_id = DRPC_MODULE_TEST, .init = a_init, .fini = a_fini,
	.setup = a_setup, .cleanup = a_cleanup, .handlers = a_handlers,
};
static const struct dss_module mod_b = {
	.name = "b", .drpc_module_id = DRPC_MODULE_MGMT, .init = b_init, .fini = b_fini,
};

static void test_load_and_lookup(void **state)
{
	struct dss_module_registry reg;

	(void)state;
	trail[0] = '\0';
	dss_registry_init(&reg);
	assert_int_equal(dss_module_load(&reg, &mod_a, NULL), 0);
	assert_int_equal(dss_module_load(&reg, &mod_b, NULL), 0);
	assert_ptr_equal(dss_module_by_drpc_id(&reg, DRPC_MODULE_TEST), &mod_a);
	/* b has no handler table, so it serves no dRPC module */
	assert_null(dss_module_by_drpc_id(&reg, DRPC_MODULE_MGMT));
	assert_ptr_equal(dss_module_by_name(&reg, "b"), &mod_b);
	assert_null(dss_module_by_name(&reg, "c"));
	assert_int_equal(dss_modules_setup(&reg, NULL), 0);
	dss_modules_unload(&reg, NULL);
	/* every cleanup (of a module set up) before any fini, both in reverse load order */
	assert_string_equal(trail, "init:a init:b setup:a cleanup:a fini:b fini:a");
	assert_int_equal(reg.nmods, 0);
}

static void test_load_rejects(void **state)
{
	struct dss_module_registry reg;
	struct dss_module m;

	(void)state;
	dss_registry_init(&reg);
	assert_int_equal(dss_module_load(&reg, &mod_a, NULL), 0);
	assert_int_equal(dss_module_load(&reg, &mod_a, NULL), -EEXIST);   /* same name */
	m = mod_a;
	m.name = "a2";
	/* same dRPC id and methods 7, 8 claimed again */
	assert_int_equal(dss_module_load(&reg, &m, NULL), -EEXIST);
	m.drpc_module_id = 5;
	assert_int_equal(dss_module_load(&reg, &m, NULL), -EINVAL);       /* id out of 0..4 */
	m.drpc_module_id = DRPC_MODULE_SEC;
	m.handlers = dup_handlers;
	assert_int_equal(dss_module_load(&reg, &m, NULL), -EINVAL);       /* duplicate method */
	m.handlers = NULL;
	m.init = bad_init;
	assert_int_equal(dss_module_load(&reg, &m, NULL), -EIO);          /* init error */
	assert_null(dss_module_by_name(&reg, "a2"));
	m.init = NULL;
	assert_int_equal(dss_module_load(&reg, &m, NULL), -EINVAL);       /* no init */
	m.init = b_init;
	m.name = "a/b";
	assert_int_equal(dss_module_load(&reg, &m, NULL), -EINVAL);       /* not a name */
	assert_int_equal(reg.nmods, 1);
	dss_modules_unload(&reg, NULL);
}

static const struct dss_drpc_handler share_handlers[] = {
	{9, h_bad_payload}, {0, NULL},
};
static const struct dss_drpc_handler overlap_handlers[] = {
	{10, h_echo}, {8, h_echo}, {0, NULL},
};

/* Two modules on one dRPC id with disjoint methods: dispatch picks the one with the method. */
static void test_shared_id(void **state)
{
	struct dss_module_registry reg;
	struct dss_module share = mod_b, overlap = mod_b;
	Drpc__Call call = DRPC__CALL__INIT;
	Drpc__Response resp = DRPC__RESPONSE__INIT;
	char err[256] = "";

	(void)state;
	trail[0] = '\0';
	dss_registry_init(&reg);
	share.name = "share";
	share.drpc_module_id = DRPC_MODULE_TEST;
	share.handlers = share_handlers;
	overlap.name = "overlap";
	overlap.drpc_module_id = DRPC_MODULE_TEST;
	overlap.handlers = overlap_handlers;
	assert_int_equal(dss_module_load(&reg, &mod_a, NULL), 0);
	assert_int_equal(dss_module_load(&reg, &share, NULL), 0);
	/* method 8 is a's: refused as a whole, naming both modules and the method */
	assert_int_equal(dss_module_register(&reg, &overlap, "overlap_module", NULL, err,
					     sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "overlap_module.handlers: method 8 of dRPC module 0 is "
			       "already served by module 'a' (module 'overlap' claims it too)"));
	assert_null(dss_module_by_name(&reg, "overlap"));
	assert_ptr_equal(dss_module_by_drpc_method(&reg, DRPC_MODULE_TEST, 7), &mod_a);
	assert_ptr_equal(dss_module_by_drpc_method(&reg, DRPC_MODULE_TEST, 9), &share);
	assert_null(dss_module_by_drpc_method(&reg, DRPC_MODULE_TEST, 10));

	call.module = DRPC_MODULE_TEST;
	call.method = 7;
	call.body.data = (uint8_t *)"ab";
	call.body.len = 2;
	dss_drpc_dispatch(&reg, NULL, &call, &resp);
	assert_int_equal(resp.status, DRPC__STATUS__SUCCESS);
	assert_memory_equal(resp.body.data, "ba", 2);
	free(resp.body.data);
	call.method = 9; /* share's handler: its status, no body */
	dss_drpc_dispatch(&reg, NULL, &call, &resp);
	assert_int_equal(resp.status, DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD);
	assert_null(resp.body.data);
	call.method = 10; /* the id is served, the method is not */
	dss_drpc_dispatch(&reg, NULL, &call, &resp);
	assert_int_equal(resp.status, DRPC__STATUS__UNKNOWN_METHOD);
	call.module = DRPC_MODULE_SEC;
	dss_drpc_dispatch(&reg, NULL, &call, &resp);
	assert_int_equal(resp.status, DRPC__STATUS__UNKNOWN_MODULE);
	dss_modules_unload(&reg, NULL);
	assert_string_equal(trail, "init:a init:b fini:b fini:a"); /* share is b's copy */
}

static void test_registry_full(void **state)
{
	struct dss_module_registry reg;
	struct dss_module mods[DSS_MAX_MODULES + 1];
	char names[DSS_MAX_MODULES + 1][16];

	(void)state;
	dss_registry_init(&reg);
	for (int i = 0; i <= DSS_MAX_MODULES; i++) {
		snprintf(names[i], sizeof(names[i]), "m%d", i);
		mods[i] = mod_b;
		mods[i].name = names[i];
		assert_int_equal(dss_module_load(&reg, &mods[i], NULL),
				 i < DSS_MAX_MODULES ? 0 : -ENOSPC);
	}
	dss_modules_unload(&reg, NULL);
}

static void dispatch(struct dss_module_registry *reg, int32_t module, int32_t method,
		     const char *body, Drpc__Response *resp)
{
	Drpc__Call call = DRPC__CALL__INIT;

	call.module = module;
	call.method = method;
	call.sequence = 42;
	call.body.data = (uint8_t *)body;
	call.body.len = strlen(body);
	dss_drpc_dispatch(reg, NULL, &call, resp);
}

static void test_dispatch_statuses(void **state)
{
	struct dss_module_registry reg;
	Drpc__Response resp = DRPC__RESPONSE__INIT;

	(void)state;
	dss_registry_init(&reg);
	assert_int_equal(dss_module_load(&reg, &mod_a, NULL), 0);

	dispatch(&reg, DRPC_MODULE_TEST, 7, "abc", &resp);
	assert_int_equal(resp.status, DRPC__STATUS__SUCCESS);
	assert_int_equal(resp.sequence, 42);
	assert_int_equal(resp.body.len, 3);
	assert_memory_equal(resp.body.data, "cba", 3);
	free(resp.body.data);

	dispatch(&reg, DRPC_MODULE_MGMT, 7, "abc", &resp);
	assert_int_equal(resp.status, DRPC__STATUS__UNKNOWN_MODULE);
	assert_int_equal(resp.body.len, 0);
	dispatch(&reg, 99, 7, "", &resp);
	assert_int_equal(resp.status, DRPC__STATUS__UNKNOWN_MODULE);
	dispatch(&reg, -1, 7, "", &resp);
	assert_int_equal(resp.status, DRPC__STATUS__UNKNOWN_MODULE);
	dispatch(&reg, DRPC_MODULE_TEST, 9, "abc", &resp);
	assert_int_equal(resp.status, DRPC__STATUS__UNKNOWN_METHOD);
	assert_int_equal(resp.sequence, 42);
	dispatch(&reg, DRPC_MODULE_TEST, 8, "abc", &resp);
	assert_int_equal(resp.status, DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD);
	assert_null(resp.body.data); /* a failure carries no body */
	dss_modules_unload(&reg, NULL);
}

static Drpc__Response *handle(struct dss_module_registry *reg, const uint8_t *in, size_t len)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	Drpc__Response *resp;

	assert_int_equal(dss_drpc_handle_bytes(reg, NULL, in, len, &out, &out_len), 0);
	resp = drpc__response__unpack(NULL, out_len, out);
	free(out);
	assert_non_null(resp);
	return resp;
}

static void test_handle_bytes(void **state)
{
	struct dss_module_registry reg;
	Drpc__Call call = DRPC__CALL__INIT;
	uint8_t buf[64];
	/* field 1 varint with a truncated value: not a decodable Call */
	const uint8_t garbage[] = {0x08, 0xff, 0xff};
	Drpc__Response *resp;
	size_t n;

	(void)state;
	dss_registry_init(&reg);
	assert_int_equal(dss_module_load(&reg, &mod_a, NULL), 0);
	call.module = DRPC_MODULE_TEST;
	call.method = 7;
	call.sequence = 5;
	call.body.data = (uint8_t *)"xy";
	call.body.len = 2;
	n = drpc__call__pack(&call, buf);
	resp = handle(&reg, buf, n);
	assert_int_equal(resp->status, DRPC__STATUS__SUCCESS);
	assert_int_equal(resp->sequence, 5);
	assert_memory_equal(resp->body.data, "yx", 2);
	drpc__response__free_unpacked(resp, NULL);

	resp = handle(&reg, garbage, sizeof(garbage));
	assert_int_equal(resp->status, DRPC__STATUS__FAILED_UNMARSHAL_CALL);
	assert_int_equal(resp->sequence, -1);
	drpc__response__free_unpacked(resp, NULL);
	dss_modules_unload(&reg, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_lookup),
		cmocka_unit_test(test_load_rejects),
		cmocka_unit_test(test_shared_id),
		cmocka_unit_test(test_registry_full),
		cmocka_unit_test(test_dispatch_statuses),
		cmocka_unit_test(test_handle_bytes),
	};

	return cmocka_run_group_tests_name("module_dispatch", tests, NULL, NULL);
}
