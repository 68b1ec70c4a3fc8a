/* Module registry and dRPC dispatch by module id, then method. */
#include "module.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void dss_registry_init(struct dss_module_registry *reg)
{
	memset(reg, 0, sizeof(*reg));
}

static int table_valid(const struct dss_drpc_handler *h)
{
	/* bounded: a table longer than this is certainly missing its terminator */
	for (int i = 0; i < 1024; i++) {
		if (h[i].method == 0 && h[i].handler == NULL)
			return 1;
		if (h[i].handler == NULL || h[i].method <= 0)
			return 0;
		for (int j = 0; j < i; j++)
			if (h[j].method == h[i].method)
				return 0;
	}
	return 0;
}

int dss_module_load(struct dss_module_registry *reg, const struct dss_module *mod,
		    struct dss_engine *eng)
{
	int rc;

	if (mod == NULL || mod->name == NULL || mod->name[0] == '\0' || mod->init == NULL ||
	    mod->fini == NULL)
		return -EINVAL;
	if (mod->drpc_module_id < 0 || mod->drpc_module_id >= DRPC_NUM_MODULES)
		return -EINVAL;
	if (mod->handlers != NULL && !table_valid(mod->handlers))
		return -EINVAL;
	if (dss_module_by_name(reg, mod->name) != NULL)
		return -EEXIST;
	if (mod->handlers != NULL && dss_module_by_drpc_id(reg, mod->drpc_module_id) != NULL)
		return -EEXIST;
	if (reg->nmods >= DSS_MAX_MODULES)
		return -ENOSPC;
	if (mod->key != NULL && reg->nkeys >= DSS_MAX_KEYS)
		return -ENOSPC;
	rc = mod->init(eng);
	if (rc != 0) {
		D_ERROR("module %s: init failed: %d", mod->name, rc);
		return rc;
	}
	if (mod->key != NULL) {
		mod->key->index = reg->nkeys;
		reg->keys[reg->nkeys++] = mod->key;
	}
	reg->mods[reg->nmods] = mod;
	reg->loaded[reg->nmods] = 1;
	reg->nmods++;
	D_INFO("module %s loaded (dRPC module %d)", mod->name, mod->drpc_module_id);
	return 0;
}

int dss_modules_setup(struct dss_module_registry *reg, struct dss_engine *eng)
{
	for (int i = 0; i < reg->nmods; i++) {
		const struct dss_module *m = reg->mods[i];

		if (m->setup != NULL) {
			int rc = m->setup(eng);

			if (rc != 0) {
				D_ERROR("module %s: setup failed: %d", m->name, rc);
				return rc;
			}
		}
	}
	return 0;
}

void dss_modules_unload(struct dss_module_registry *reg, struct dss_engine *eng)
{
	for (int i = reg->nmods - 1; i >= 0; i--) {
		const struct dss_module *m = reg->mods[i];

		if (!reg->loaded[i])
			continue;
		if (m->cleanup != NULL)
			m->cleanup(eng);
		m->fini(eng);
		if (m->key != NULL)
			m->key->index = -1;
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

void dss_drpc_dispatch(const struct dss_module_registry *reg, struct dss_engine *eng,
		       const Drpc__Call *call, Drpc__Response *resp)
{
	const struct dss_module *mod = dss_module_by_drpc_id(reg, call->module);
	uint8_t *body = NULL;
	size_t body_len = 0;
	int status;

	resp->sequence = call->sequence;
	resp->body.data = NULL;
	resp->body.len = 0;
	if (mod == NULL) {
		resp->status = DRPC__STATUS__UNKNOWN_MODULE;
		return;
	}
	for (const struct dss_drpc_handler *h = mod->handlers; h->handler != NULL; h++) {
		if (h->method != call->method)
			continue;
		status = h->handler(eng, call->body.data, call->body.len, &body, &body_len);
		resp->status = (Drpc__Status)status;
		if (status == DRPC__STATUS__SUCCESS) {
			resp->body.data = body;
			resp->body.len = body_len;
		} else {
			free(body);
		}
		return;
	}
	resp->status = DRPC__STATUS__UNKNOWN_METHOD;
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
