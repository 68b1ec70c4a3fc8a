/* Module registry, module loading (dlopen) and dRPC dispatch by module id, then method. */
#include "module.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "telemetry.h"

void dss_registry_init(struct dss_module_registry *reg)
{
	memset(reg, 0, sizeof(*reg));
}

/* 0 when the handler table ends within 1024 entries with positive, distinct methods. */
static int table_check(const struct dss_drpc_handler *h, char *why, size_t whylen)
{
	/* bounded: a table longer than this is certainly missing its terminator */
	for (int i = 0; i < 1024; i++) {
		if (h[i].method == 0 && h[i].handler == NULL)
			return 0;
		if (h[i].handler == NULL || h[i].method <= 0) {
			snprintf(why, whylen, "entry %d (method %d) has %s", i, h[i].method,
				 h[i].handler == NULL ? "no handler" : "a method id <= 0");
			return -EINVAL;
		}
		for (int j = 0; j < i; j++)
			if (h[j].method == h[i].method) {
				snprintf(why, whylen, "method %d is listed twice", h[i].method);
				return -EINVAL;
			}
	}
	snprintf(why, whylen, "no {0, NULL} terminator within 1024 entries");
	return -EINVAL;
}

int dss_module_name_valid(const char *name)
{
	size_t n = 0;

	if (name == NULL)
		return -EINVAL;
	for (; name[n] != '\0'; n++) {
		char c = name[n];

		if (n >= DSS_MODULE_NAME_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return -EINVAL;
	}
	return n > 0 ? 0 : -EINVAL;
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int dss_module_register(struct dss_module_registry *reg, const struct dss_module *mod,
			const char *what, struct dss_engine *eng, char *err, size_t errlen)
{
	const struct dss_module *other;
	char why[128];
	int rc;

	if (mod == NULL)
		return fail(err, errlen, -EINVAL, "%s is NULL", what);
	if (dss_module_name_valid(mod->name) != 0)
		return fail(err, errlen, -EINVAL,
			    "%s.name is not a module name (1..%d letters, digits or '_'): set it",
			    what, DSS_MODULE_NAME_MAX);
	if (mod->init == NULL || mod->fini == NULL)
		return fail(err, errlen, -EINVAL, "%s.%s is NULL: every module needs init and fini",
			    what, mod->init == NULL ? "init" : "fini");
	if (mod->drpc_module_id < 0 || mod->drpc_module_id >= DRPC_NUM_MODULES)
		return fail(err, errlen, -EINVAL,
			    "%s.drpc_module_id %d is out of 0..%d (spec/server.md §6.4): use one of "
			    "the dRPC module ids", what, mod->drpc_module_id, DRPC_NUM_MODULES - 1);
	if (mod->handlers != NULL && table_check(mod->handlers, why, sizeof(why)) != 0)
		return fail(err, errlen, -EINVAL, "%s.handlers: %s: fix the handler table", what,
			    why);
	if (dss_module_by_name(reg, mod->name) != NULL)
		return fail(err, errlen, -EEXIST,
			    "module '%s' is already loaded: list each module once in -m", mod->name);
	/*
	 * Several modules may serve one dRPC module id (mgmt and pool both serve MGMT, as in
	 * DAOS) as long as no method is claimed twice: dispatch must find exactly one handler.
	 */
	for (const struct dss_drpc_handler *h = mod->handlers; h != NULL && h->handler != NULL;
	     h++) {
		other = dss_module_by_drpc_method(reg, mod->drpc_module_id, h->method);
		if (other != NULL)
			return fail(err, errlen, -EEXIST,
				    "%s.handlers: method %d of dRPC module %d is already served by "
				    "module '%s' (module '%s' claims it too): each method of a dRPC "
				    "module id must belong to one module; drop it from one of them, or "
				    "load only one of them", what, h->method, mod->drpc_module_id,
				    other->name, mod->name);
	}
	if (reg->nmods >= DSS_MAX_MODULES)
		return fail(err, errlen, -ENOSPC, "cannot load %s: at most %d modules", what,
			    DSS_MAX_MODULES);
	if (mod->key != NULL && reg->nkeys >= DSS_MAX_KEYS)
		return fail(err, errlen, -ENOSPC,
			    "cannot load %s: at most %d modules may have a per-xstream key", what,
			    DSS_MAX_KEYS);
	rc = mod->init(eng);
	if (rc != 0) {
		D_ERROR("module %s: init failed: %d", mod->name, rc);
		return fail(err, errlen, rc, "%s.init failed: %s (%d)", what,
			    strerror(rc < 0 ? -rc : rc), rc);
	}
	if (mod->key != NULL) {
		mod->key->index = reg->nkeys;
		reg->keys[reg->nkeys++] = mod->key;
	}
	reg->mods[reg->nmods] = mod;
	reg->loaded[reg->nmods] = 1;
	reg->set_up[reg->nmods] = 0;
	reg->handles[reg->nmods] = NULL;
	reg->nmods++;
	D_INFO("module %s loaded (dRPC module %d)", mod->name, mod->drpc_module_id);
	return 0;
}

int dss_module_load(struct dss_module_registry *reg, const struct dss_module *mod,
		    struct dss_engine *eng)
{
	return dss_module_register(reg, mod, "module", eng, NULL, 0);
}

int dss_module_open(struct dss_module_registry *reg, const char *dir, const char *name,
		    struct dss_engine *eng, char *err, size_t errlen)
{
	char path[PATH_MAX], sym[DSS_MODULE_NAME_MAX + sizeof("_module")], msg[768];
	const struct dss_module *mod;
	struct stat st;
	void *h;
	int rc;

	if (dss_module_name_valid(name) != 0)
		return fail(err, errlen, -EINVAL,
			    "invalid engine module name '%s' in -m: a module name is 1..%d letters, "
			    "digits or '_' and names lib<name>.so in the module directory %s; fix -m",
			    name, DSS_MODULE_NAME_MAX, dir);
	if ((size_t)snprintf(path, sizeof(path), "%s/lib%s.so", dir, name) >= sizeof(path))
		return fail(err, errlen, -ENAMETOOLONG,
			    "engine module '%s': module directory path too long: %s", name, dir);
	snprintf(sym, sizeof(sym), "%s_module", name);
	if (dss_module_by_name(reg, name) != NULL)
		return fail(err, errlen, -EEXIST,
			    "engine module '%s' is listed twice in -m: list each module once", name);
	/* stat first: dlopen's message for a missing file is less clear than ours */
	if (stat(path, &st) != 0)
		return fail(err, errlen, -errno,
			    "unknown engine module '%s' (-m): cannot open %s: %s; build the module "
			    "(make -C engine-ffi/native) or remove '%s' from -m (modules are read "
			    "from " DSS_MODULE_DIR_ENV ", else from modules/ beside "
			    "libdaos_engine.so)", name, path, strerror(errno), name);
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, -ELIBBAD,
			    "engine module '%s': %s is not a regular file; put the module library "
			    "there", name, path);
	/*
	 * RTLD_NOW: an unresolved symbol is a start error here, not a crash in a handler later.
	 * RTLD_LOCAL: modules do not see each other's symbols; they share only the engine's.
	 */
	dlerror();
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();

		return fail(err, errlen, -ELIBBAD,
			    "engine module '%s': dlopen %s failed: %s; rebuild the module against "
			    "this libdaos_engine.so", name, path, e ? e : "unknown error");
	}
	dlerror();
	mod = dlsym(h, sym);
	if (mod == NULL) {
		dlclose(h);
		return fail(err, errlen, -ENOENT,
			    "engine module '%s': %s does not export the symbol '%s': a module "
			    "library must define 'DSS_MODULE_EXPORT struct dss_module %s'; check "
			    "the module name in -m", name, path, sym, sym);
	}
	/* the version first: a module of another interface may have another struct layout */
	if (mod->interface_version != DSS_MODULE_INTERFACE_VERSION) {
		snprintf(msg, sizeof(msg), "%s.interface_version is %u but this engine implements "
			 "module interface version %u (DSS_MODULE_INTERFACE_VERSION): rebuild the "
			 "module against this engine's module.h", sym, mod->interface_version,
			 DSS_MODULE_INTERFACE_VERSION);
		dlclose(h);
		return fail(err, errlen, -EPROTO, "engine module '%s' (%s): %s", name, path, msg);
	}
	if (mod->name == NULL || strcmp(mod->name, name) != 0) {
		snprintf(msg, sizeof(msg), "%s.name is '%.40s', expected '%s': it must match the "
			 "file name lib%s.so", sym, mod->name ? mod->name : "(null)", name, name);
		dlclose(h);
		return fail(err, errlen, -EINVAL, "engine module '%s' (%s): %s", name, path, msg);
	}
	rc = dss_module_register(reg, mod, sym, eng, msg, sizeof(msg));
	if (rc != 0) {
		dlclose(h);
		return fail(err, errlen, rc, "engine module '%s' (%s): %s", name, path, msg);
	}
	reg->handles[reg->nmods - 1] = h;
	D_INFO("module %s: opened %s", name, path);
	return 0;
}

/* The next name of a comma-separated list into name; NULL when the element is not a name. */
static const char *next_name(const char *p, char name[DSS_MODULE_NAME_MAX + 1], int *last)
{
	const char *end = strchr(p, ',');
	size_t n = end ? (size_t)(end - p) : strlen(p);

	*last = end == NULL;
	if (n == 0 || n > DSS_MODULE_NAME_MAX)
		return NULL;
	memcpy(name, p, n);
	name[n] = '\0';
	if (dss_module_name_valid(name) != 0)
		return NULL;
	return end ? end + 1 : p + n;
}

int dss_modules_open(struct dss_module_registry *reg, const char *dir, const char *list,
		     struct dss_engine *eng, char *err, size_t errlen)
{
	char name[DSS_MODULE_NAME_MAX + 1];
	const char *p;
	int last = 0, rc;

	if (list == NULL || list[0] == '\0')
		return fail(err, errlen, -EINVAL, "empty module list (-m): name at least one module");
	/* the whole list first: a malformed -m loads nothing */
	for (p = list; !last;) {
		p = next_name(p, name, &last);
		if (p == NULL)
			return fail(err, errlen, -EINVAL,
				    "invalid module list '%.300s' (-m): write module names separated "
				    "by single commas, each 1..%d letters, digits or '_' (a name "
				    "selects lib<name>.so in the module directory %.300s)", list,
				    DSS_MODULE_NAME_MAX, dir);
	}
	for (p = list, last = 0; !last;) {
		p = next_name(p, name, &last);
		rc = dss_module_open(reg, dir, name, eng, err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int dss_module_default_dir(char *dir, size_t len)
{
	Dl_info info;
	char self[PATH_MAX], *slash;

	/* the image holding this function: libdaos_engine.so, or a program linking it in */
	if (dladdr((void *)dss_module_default_dir, &info) == 0 || info.dli_fname == NULL ||
	    strchr(info.dli_fname, '/') == NULL || realpath(info.dli_fname, self) == NULL) {
		/* dladdr names the main program by argv[0], which may not be a path */
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n <= 0)
			return -ENOENT;
		self[n] = '\0';
	}
	slash = strrchr(self, '/');
	if (slash == NULL)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(dir, len, "%s/modules", self) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int dss_modules_setup(struct dss_module_registry *reg, struct dss_engine *eng)
{
	for (int i = 0; i < reg->nmods; i++) {
		const struct dss_module *m = reg->mods[i];
		int rc;

		if (reg->set_up[i])
			continue;
		rc = m->setup != NULL ? m->setup(eng) : 0;
		if (rc != 0) {
			D_ERROR("module %s: setup failed: %d", m->name, rc);
			return rc;
		}
		reg->set_up[i] = 1;
	}
	return 0;
}

void dss_modules_unload(struct dss_module_registry *reg, struct dss_engine *eng)
{
	/* every cleanup before any fini: a module's cleanup may still use another module */
	for (int i = reg->nmods - 1; i >= 0; i--)
		if (reg->loaded[i] && reg->set_up[i] && reg->mods[i]->cleanup != NULL)
			reg->mods[i]->cleanup(eng);
	for (int i = reg->nmods - 1; i >= 0; i--) {
		const struct dss_module *m = reg->mods[i];

		if (!reg->loaded[i])
			continue;
		m->fini(eng);
		if (m->key != NULL)
			m->key->index = -1;
		/* after fini: nothing of the module runs any more (xstreams are joined) */
		if (reg->handles[i] != NULL && dlclose(reg->handles[i]) != 0)
			D_ERROR("module %s: dlclose: %s", m->name, dlerror());
	}
	dss_registry_init(reg);
}

const struct dss_module *dss_module_by_drpc_id(const struct dss_module_registry *reg,
					       int32_t id)
{
	for (int i = 0; i < reg->nmods; i++)
		if (reg->mods[i]->drpc_module_id == id && reg->mods[i]->handlers != NULL)
			return reg->mods[i];
	return NULL;
}

const struct dss_module *dss_module_by_name(const struct dss_module_registry *reg,
					    const char *name)
{
	for (int i = 0; i < reg->nmods; i++)
		if (strcmp(reg->mods[i]->name, name) == 0)
			return reg->mods[i];
	return NULL;
}

/* The handler of method in mod's table, or NULL. */
static dss_drpc_handler_fn handler_of(const struct dss_module *mod, int32_t method)
{
	if (mod->handlers == NULL)
		return NULL;
	for (const struct dss_drpc_handler *h = mod->handlers; h->handler != NULL; h++)
		if (h->method == method)
			return h->handler;
	return NULL;
}

const struct dss_module *dss_module_by_drpc_method(const struct dss_module_registry *reg,
						   int32_t id, int32_t method)
{
	for (int i = 0; i < reg->nmods; i++)
		if (reg->mods[i]->drpc_module_id == id && handler_of(reg->mods[i], method) != NULL)
			return reg->mods[i];
	return NULL;
}

void dss_drpc_dispatch(const struct dss_module_registry *reg, struct dss_engine *eng,
		       const Drpc__Call *call, Drpc__Response *resp)
{
	const struct dss_module *mod = dss_module_by_drpc_method(reg, call->module, call->method);
	dss_drpc_handler_fn handler;
	uint8_t *body = NULL;
	size_t body_len = 0;
	uint64_t t0;
	int status;

	resp->sequence = call->sequence;
	resp->body.data = NULL;
	resp->body.len = 0;
	if (mod == NULL) {
		/* some module serves the id but none has the method: UNKNOWN_METHOD */
		resp->status = dss_module_by_drpc_id(reg, call->module) == NULL
				       ? DRPC__STATUS__UNKNOWN_MODULE
				       : DRPC__STATUS__UNKNOWN_METHOD;
		return;
	}
	handler = handler_of(mod, call->method);
	/* telemetry: drpc/<module>/<method>/{calls,latency}; no clock reads without a tree */
	t0 = dss_tm_global() != NULL ? dss_tm_mono_ns() : 0;
	status = handler(eng, call->body.data, call->body.len, &body, &body_len);
	if (t0 != 0)
		dss_tm_drpc_call(mod->name, call->module, call->method, dss_tm_mono_ns() - t0);
	resp->status = (Drpc__Status)status;
	if (status == DRPC__STATUS__SUCCESS) {
		resp->body.data = body;
		resp->body.len = body_len;
	} else {
		free(body);
	}
}

int dss_drpc_handle_bytes(const struct dss_module_registry *reg, struct dss_engine *eng,
			  const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	Drpc__Response resp = DRPC__RESPONSE__INIT;
	Drpc__Call *call = drpc__call__unpack(NULL, in_len, in);
	size_t len;
	uint8_t *buf;

	if (call == NULL) {
		resp.sequence = -1;
		resp.status = DRPC__STATUS__FAILED_UNMARSHAL_CALL;
	} else {
		dss_drpc_dispatch(reg, eng, call, &resp);
		D_DEBUG("dRPC module %d method %d seq %lld -> status %d", call->module,
			call->method, (long long)call->sequence, resp.status);
		drpc__call__free_unpacked(call, NULL);
	}
	len = drpc__response__get_packed_size(&resp);
	/* +1: a default Response packs to 0 bytes and malloc(0) may return NULL */
	buf = malloc(len + 1);
	if (buf == NULL) {
		free(resp.body.data);
		return -ENOMEM;
	}
	drpc__response__pack(&resp, buf);
	free(resp.body.data);
	*out = buf;
	*out_len = len;
	return 0;
}
