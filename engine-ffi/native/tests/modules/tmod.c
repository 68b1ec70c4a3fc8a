/*
 * Test engine module, built several times (Makefile TMOD_DEFS) into build/test/modules/
 * lib<TMOD>.so, good or bad on purpose:
 *   TMOD           module name token (the file is lib<TMOD>.so)
 *   TMOD_ID        dRPC module id served
 *   TMOD_VERSION   interface_version (default: the engine's)
 *   TMOD_SYM       exported symbol (default <TMOD>_module)
 *   TMOD_NAME      the struct's name string (default "<TMOD>")
 *   TMOD_INIT_RC   what init returns (default 0)
 *   TMOD_METHOD    the dRPC method its whoami handler serves (default 1)
 *   TMOD_BAD_TABLE a handler table with a duplicated method
 * Lifecycle calls are reported to tmod_trail(), defined by the test program (tests/
 * test_module.c) and found there at dlopen: the same way a module calls the engine. Its
 * per-xstream key holds a {module, xs_id} value; method TMOD_METHOD answers "<name>:<xs_id>"
 * from the calling xstream's value (dss_module_key_get, an engine function).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "xstream.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#ifndef TMOD_VERSION
#define TMOD_VERSION DSS_MODULE_INTERFACE_VERSION
#endif
#ifndef TMOD_SYM
#define TMOD_SYM CAT(TMOD, _module)
#endif
#ifndef TMOD_NAME
#define TMOD_NAME STR(TMOD)
#endif
#ifndef TMOD_METHOD
#define TMOD_METHOD 1
#endif
#ifndef TMOD_INIT_RC
#define TMOD_INIT_RC 0
#endif

/* Provided by the test program. */
extern void tmod_trail(const char *what, const char *name);

struct tmod_value {
	const char *module;
	int xs_id;
};

static void *key_init(int xs_id, void *arg)
{
	struct tmod_value *v = malloc(sizeof(*v));

	(void)arg;
	if (v != NULL) {
		v->module = TMOD_NAME;
		v->xs_id = xs_id;
	}
	return v;
}

static void key_fini(int xs_id, void *value)
{
	(void)xs_id;
	free(value);
}

static struct dss_module_key tmod_key = {.init = key_init, .fini = key_fini, .index = -1};

static int t_init(struct dss_engine *e)
{
	(void)e;
	tmod_trail("init", TMOD_NAME);
	return TMOD_INIT_RC;
}

static int t_fini(struct dss_engine *e)
{
	(void)e;
	tmod_trail("fini", TMOD_NAME);
	return 0;
}

static int t_setup(struct dss_engine *e)
{
	(void)e;
	tmod_trail("setup", TMOD_NAME);
	return 0;
}

static int t_cleanup(struct dss_engine *e)
{
	(void)e;
	tmod_trail("cleanup", TMOD_NAME);
	return 0;
}

/* "<name>:<xs_id>" from this xstream's key value; FAILURE outside an xstream. */
static int h_whoami(struct dss_engine *e, const uint8_t *req, size_t len, uint8_t **resp,
		    size_t *resp_len)
{
	struct tmod_value *v = dss_module_key_get(&tmod_key);
	char buf[64];
	int n;

	(void)e, (void)req, (void)len;
	if (v == NULL)
		return DRPC__STATUS__FAILURE;
	n = snprintf(buf, sizeof(buf), "%s:%d", v->module, v->xs_id);
	*resp = malloc((size_t)n + 1);
	if (*resp == NULL)
		return DRPC__STATUS__FAILED_MARSHAL;
	memcpy(*resp, buf, (size_t)n);
	*resp_len = (size_t)n;
	return DRPC__STATUS__SUCCESS;
}

static const struct dss_drpc_handler tmod_handlers[] = {
	{TMOD_METHOD, h_whoami},
#ifdef TMOD_BAD_TABLE
	{TMOD_METHOD, h_whoami},
#endif
	{0, NULL},
};

DSS_MODULE_EXPORT struct dss_module TMOD_SYM = {
	.interface_version = TMOD_VERSION,
	.name = TMOD_NAME,
	.drpc_module_id = TMOD_ID,
	.init = t_init,
	.fini = t_fini,
	.setup = t_setup,
	.cleanup = t_cleanup,
	.handlers = tmod_handlers,
	.key = &tmod_key,
};
