/*
 * Engine module interface and registry. A module declares its name, its dRPC module id,
 * init/fini, optional setup/cleanup, an optional per-xstream key and a zero-terminated table
 * of dRPC handlers. The registry loads modules and dispatches each dRPC Call by module id,
 * then method (spec/server.md §6.5).
 */
#ifndef DSS_MODULE_H
#define DSS_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "drpc/drpc.pb-c.h"

struct dss_engine;

/** dRPC module ids (spec/server.md §6.4). */
enum drpc_module_id {
	DRPC_MODULE_TEST = 0,
	DRPC_MODULE_SEC_AGENT = 1,
	DRPC_MODULE_MGMT = 2,
	DRPC_MODULE_SRV = 3,
	DRPC_MODULE_SEC = 4,
	DRPC_NUM_MODULES = 5,
};

/**
 * A dRPC method handler. req/req_len is the Call body. On DRPC__STATUS__SUCCESS the handler
 * sets *resp (malloc'd, may be NULL when *resp_len is 0); on any other status it leaves *resp
 * NULL. Returns a Drpc__Status.
 */
typedef int (*dss_drpc_handler_fn)(struct dss_engine *eng, const uint8_t *req, size_t req_len,
				   uint8_t **resp, size_t *resp_len);

/** One entry of a module's handler table; the table ends with {0, NULL}. */
struct dss_drpc_handler {
	int32_t method;
	dss_drpc_handler_fn handler;
};

/** A per-xstream private storage key: each xstream gets its own value from init. */
struct dss_module_key {
	/** Called on the xstream thread at xstream start; returns the value (may be NULL). */
	void *(*init)(int xs_id, void *arg);
	/** Called on the xstream thread at xstream exit. */
	void (*fini)(int xs_id, void *value);
	void *arg;
	int index; /* slot assigned by the registry; -1 until registered */
};

/** A module. */
struct dss_module {
	const char *name;
	int32_t drpc_module_id;
	int (*init)(struct dss_engine *eng);
	int (*fini)(struct dss_engine *eng);
	int (*setup)(struct dss_engine *eng);   /* optional: run on dRPC SetUp */
	int (*cleanup)(struct dss_engine *eng); /* optional: run at stop, before fini */
	const struct dss_drpc_handler *handlers; /* zero-terminated; NULL = no dRPC methods */
	struct dss_module_key *key;              /* optional per-xstream storage */
};

#define DSS_MAX_MODULES 8
#define DSS_MAX_KEYS    8

/** Loaded modules, in load order. */
struct dss_module_registry {
	const struct dss_module *mods[DSS_MAX_MODULES];
	int loaded[DSS_MAX_MODULES]; /* init succeeded */
	int nmods;
	struct dss_module_key *keys[DSS_MAX_KEYS];
	int nkeys;
};

void dss_registry_init(struct dss_module_registry *reg);

/**
 * Register and init a module. Errors: -EINVAL (bad id/table), -EEXIST (name or dRPC id taken),
 * -ENOSPC (too many modules/keys), or the module's init error.
 */
int dss_module_load(struct dss_module_registry *reg, const struct dss_module *mod,
		    struct dss_engine *eng);

/** Run every loaded module's setup, in load order. First error is returned. */
int dss_modules_setup(struct dss_module_registry *reg, struct dss_engine *eng);

/** Cleanup and fini every loaded module in reverse order; clears the registry. */
void dss_modules_unload(struct dss_module_registry *reg, struct dss_engine *eng);

/** Module registered under a dRPC module id, or NULL. */
const struct dss_module *dss_module_by_drpc_id(const struct dss_module_registry *reg,
					       int32_t id);

/** Module by name, or NULL. */
const struct dss_module *dss_module_by_name(const struct dss_module_registry *reg,
					    const char *name);

/**
 * Dispatch a decoded Call: fills resp->status, resp->sequence and resp->body (malloc'd
 * resp->body.data when non-empty: free it).
 */
void dss_drpc_dispatch(const struct dss_module_registry *reg, struct dss_engine *eng,
		       const Drpc__Call *call, Drpc__Response *resp);

/**
 * The whole request path on bytes: unpack the Call (undecodable → FAILED_UNMARSHAL_CALL,
 * sequence -1), dispatch, pack the Response into *out (malloc'd). 0 or -ENOMEM.
 */
int dss_drpc_handle_bytes(const struct dss_module_registry *reg, struct dss_engine *eng,
			  const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);

#endif
