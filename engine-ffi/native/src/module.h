/*
 * Engine module interface and registry. A module declares its name, its dRPC module id,
 * init/fini, optional setup/cleanup, an optional per-xstream key and a zero-terminated table
 * of dRPC handlers. The registry loads modules and dispatches each dRPC Call by module id,
 * then method (spec/server.md §6.5). Several modules may serve one dRPC module id (in DAOS,
 * mgmt and pool both serve MGMT) when their method sets are disjoint.
 *
 * Each module is its own shared library lib<name>.so in the engine's module directory,
 * exporting one `struct dss_module <name>_module` (DSS_MODULE_EXPORT). The engine opens the
 * modules named by -m with dlopen(RTLD_NOW | RTLD_LOCAL), checks interface_version, registers
 * the module, and dlcloses it after cleanup/fini at stop. A module calls back into the engine
 * through the functions libdaos_engine.so exports (those declared with DSS_API); modules are
 * linked against libdaos_engine.so with -z defs, so a module using a function the engine does
 * not export fails to link instead of failing to load.
 */
#ifndef DSS_MODULE_H
#define DSS_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "drpc/drpc.pb-c.h"
#include "dss_api.h"

struct dss_engine;
/* A module's RPC protocol (crt.h); registered by the engine once the RPC layer is up. */
struct crt_proto_format;

/*
 * Version of struct dss_module and of the engine functions modules call. Bump it whenever
 * either changes incompatibly: the engine refuses a module built for another version.
 */
#define DSS_MODULE_INTERFACE_VERSION 1

/** Environment variable naming the module directory (default: modules/ beside the engine). */
#define DSS_MODULE_DIR_ENV "DAOS_MODULE_DIR"

/** Modules loaded when -m is not given (DAOS loads its whole default set; ours is mgmt, pool). */
#define DSS_DEFAULT_MODULES "mgmt,pool"

/** Longest module name: lib<name>.so and <name>_module must stay short. */
#define DSS_MODULE_NAME_MAX 32

/** Exports a module's descriptor from its lib<name>.so (built with -fvisibility=hidden). */
#define DSS_MODULE_EXPORT __attribute__((visibility("default")))

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
	/*
	 * DSS_MODULE_INTERFACE_VERSION the module was built with. First, so the engine can
	 * read it even from a module whose struct layout differs from its own.
	 */
	uint32_t interface_version;
	const char *name;        /* must equal the <name> of lib<name>.so */
	int32_t drpc_module_id;
	int (*init)(struct dss_engine *eng);
	int (*fini)(struct dss_engine *eng);
	int (*setup)(struct dss_engine *eng);   /* optional: run on dRPC SetUp */
	int (*cleanup)(struct dss_engine *eng); /* optional: run at stop, before fini */
	const struct dss_drpc_handler *handlers; /* zero-terminated; NULL = no dRPC methods */
	struct dss_module_key *key;              /* optional per-xstream storage */
	uint64_t facs;                           /* feature bits (none defined yet) */
	const struct crt_proto_format *proto;    /* optional RPC protocol */
};

#define DSS_MAX_MODULES 8
#define DSS_MAX_KEYS    8

/** Loaded modules, in load order. */
struct dss_module_registry {
	const struct dss_module *mods[DSS_MAX_MODULES];
	int loaded[DSS_MAX_MODULES]; /* init succeeded */
	int set_up[DSS_MAX_MODULES]; /* setup succeeded: cleanup runs at unload */
	void *handles[DSS_MAX_MODULES]; /* dlopen handle; NULL for a module linked in */
	int nmods;
	struct dss_module_key *keys[DSS_MAX_KEYS];
	int nkeys;
};

void dss_registry_init(struct dss_module_registry *reg);

/**
 * Register and init a module linked into the engine (tests, the fuzz target); modules in
 * their own library go through dss_module_open, which also checks interface_version. Errors:
 * -EINVAL (bad name/id/table), -EEXIST (name taken, or a method of its dRPC module
 * id already served by another module), -ENOSPC (too many
 * modules/keys), or the module's init error.
 */
int dss_module_load(struct dss_module_registry *reg, const struct dss_module *mod,
		    struct dss_engine *eng);

/**
 * dss_module_load with a message: on error, err names what is wrong (the struct field, as
 * <what>.<field>, where `what` names the module, e.g. "mgmt_module") and the fix.
 */
int dss_module_register(struct dss_module_registry *reg, const struct dss_module *mod,
			const char *what, struct dss_engine *eng, char *err, size_t errlen);

/**
 * 0 when name can be a module name: 1..DSS_MODULE_NAME_MAX letters, digits or '_' (so
 * lib<name>.so never leaves the module directory); else -EINVAL.
 */
int dss_module_name_valid(const char *name);

/**
 * Open <dir>/lib<name>.so (dlopen RTLD_NOW | RTLD_LOCAL), look up `<name>_module`, check it
 * and register + init it; the handle is closed at unload. On error the library is closed
 * again and err names the file, the symbol or field, and the fix. Errors: -EINVAL (bad
 * name or field), -ENOENT (no such file), -ELIBBAD (not loadable), -ENOENT (no symbol),
 * -EPROTO (interface version), -EEXIST (duplicate), -ENOSPC, or the module's init error.
 */
int dss_module_open(struct dss_module_registry *reg, const char *dir, const char *name,
		    struct dss_engine *eng, char *err, size_t errlen);

/**
 * Open every module of a comma-separated list, in order (see dss_module_open); on the first
 * error, stop (modules already loaded stay loaded: dss_modules_unload them).
 */
int dss_modules_open(struct dss_module_registry *reg, const char *dir, const char *list,
		     struct dss_engine *eng, char *err, size_t errlen);

/**
 * The default module directory: "modules" beside the file holding this engine's code
 * (libdaos_engine.so, or the program it is linked into), found with dladdr. 0 or -errno.
 */
int dss_module_default_dir(char *dir, size_t len);

/** Run every loaded module's setup, in load order. First error is returned. */
DSS_API int dss_modules_setup(struct dss_module_registry *reg, struct dss_engine *eng);

/**
 * At stop: cleanup every module whose setup ran, in reverse load order; then fini every
 * module in reverse order and dlclose the ones that were opened; clears the registry.
 */
void dss_modules_unload(struct dss_module_registry *reg, struct dss_engine *eng);

/** First module (in load order) serving a dRPC module id with a handler table, or NULL. */
const struct dss_module *dss_module_by_drpc_id(const struct dss_module_registry *reg,
					       int32_t id);

/**
 * The module serving method of dRPC module id (several modules may share an id, each with
 * its own methods), or NULL.
 */
const struct dss_module *dss_module_by_drpc_method(const struct dss_module_registry *reg,
						   int32_t id, int32_t method);

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
