/* mgmt module handlers: decode the request, act on the engine, encode a status-bearing reply. */
#include "mgmt_module.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/smd.pb-c.h"
#include "engine_internal.h"
#include "crt_engine.h"
#include "log.h"
#include "mgmt/srv.pb-c.h"
#include "notify.h"
#include "telemetry.h"
#include "vos.h"

#define PACK_INTO(msg, pfx, out, out_len)                                                    \
	({                                                                                   \
		size_t _n = pfx##__get_packed_size(msg);                                     \
		int _st = DRPC__STATUS__SUCCESS;                                             \
		*(out) = malloc(_n + 1);                                                     \
		if (*(out) == NULL)                                                          \
			_st = DRPC__STATUS__FAILED_MARSHAL;                                  \
		else                                                                         \
			*(out_len) = pfx##__pack(msg, *(out));                               \
		_st;                                                                         \
	})

/* Bytes of bdev b no pool holds; the whole bdev while no storage core is open (no pools). */
static uint64_t bdev_avail(const struct dss_bdev *b)
{
	uint64_t used = 0;

	if (vos_bdev_used(b->uuid, &used) != 0 || used > b->size)
		return b->size;
	return b->size - used;
}

static int daos_resp(int32_t status, uint8_t **out, size_t *out_len)
{
	Mgmt__DaosResp r = MGMT__DAOS_RESP__INIT;

	r.status = status;
	return PACK_INTO(&r, mgmt__daos_resp, out, out_len);
}

static int h_set_rank(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
		      size_t *out_len)
{
	Mgmt__SetRankReq *r = mgmt__set_rank_req__unpack(NULL, len, req);
	int32_t status = 0;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	pthread_mutex_lock(&eng->lock);
	if (r->rank == DSS_NIL_RANK) {
		D_ERROR("SetRank: NilRank is not a valid rank");
		status = -DER_INVAL;
	} else if (eng->rank != DSS_NIL_RANK && eng->rank != r->rank) {
		/* a running engine's rank never changes; a restart gets a fresh process */
		D_ERROR("SetRank: rank already %u, refusing %u", eng->rank, r->rank);
		status = -DER_INVAL;
	} else {
		eng->rank = r->rank;
		eng->map_version = r->map_version;
		dss_tm_node_set(dss_tm_node(DSS_TM_GAUGE, "rank", "rank of this engine", ""),
				r->rank);
		D_INFO("SetRank: rank %u, map version %u", r->rank, r->map_version);
	}
	pthread_mutex_unlock(&eng->lock);
	mgmt__set_rank_req__free_unpacked(r, NULL);
	return daos_resp(status, out, out_len);
}

static int h_set_up(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
		    size_t *out_len)
{
	int rc = 0, done;

	(void)req;
	(void)len;
	pthread_mutex_lock(&eng->lock);
	done = eng->setup_done;
	if (eng->prep_shutdown) {
		/* the shutdown was called off: the targets take work again */
		eng->prep_shutdown = 0;
		dss_xs_targets_close(eng, 0);
		D_INFO("SetUp: PrepShutdown cleared, targets open again");
	}
	pthread_mutex_unlock(&eng->lock);
	if (!done) {
		rc = dss_modules_setup(&eng->reg, eng);
		if (rc == 0) {
			pthread_mutex_lock(&eng->lock);
			eng->setup_done = 1;
			pthread_mutex_unlock(&eng->lock);
			if (!dss_engine_stopping(eng))
				__atomic_store_n(&eng->state, DAOS_ENGINE_SETUP, __ATOMIC_SEQ_CST);
			dss_tm_node_stamp(dss_tm_node(DSS_TM_TIMESTAMP, "servicing_at",
						      "when the engine started servicing", "s"),
					  (uint64_t)time(NULL));
			D_INFO("SetUp: modules set up");
		}
	}
	return daos_resp(rc > 0 ? -rc : rc, out, out_len);
}

static int h_prep_shutdown(struct dss_engine *eng, const uint8_t *req, size_t len,
			   uint8_t **out, size_t *out_len)
{
	Mgmt__PrepShutdownReq *r = mgmt__prep_shutdown_req__unpack(NULL, len, req);

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	/* like the DAOS engine, accepted whatever the rank: daos_server sends the instance's */
	pthread_mutex_lock(&eng->lock);
	eng->prep_shutdown = 1;
	dss_xs_targets_close(eng, 1);
	pthread_mutex_unlock(&eng->lock);
	D_INFO("PrepShutdown for rank %u: targets take no new work", r->rank);
	mgmt__prep_shutdown_req__free_unpacked(r, NULL);
	return daos_resp(0, out, out_len);
}

static void ping_noop(struct dss_engine *eng, int xs_id, void *arg)
{
	(void)eng;
	(void)xs_id;
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static int h_ping_rank(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
		       size_t *out_len)
{
	Mgmt__PingRankReq *r = mgmt__ping_rank_req__unpack(NULL, len, req);
	char uri[160] = "";
	uint32_t self, target;
	uint64_t map_inc = 0;
	int32_t status = 0;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	target = r->rank;
	mgmt__ping_rank_req__free_unpacked(r, NULL);
	pthread_mutex_lock(&eng->lock);
	self = eng->rank;
	for (size_t i = 0; i < eng->ngroup; i++)
		if (eng->group[i].rank == target) {
			snprintf(uri, sizeof(uri), "%s", eng->group[i].uri);
			map_inc = eng->group[i].incarnation;
		}
	pthread_mutex_unlock(&eng->lock);
	if (target == self) {
		/* ourselves: every target xstream must answer; after PrepShutdown none takes work */
		int ran = 0;

		for (int t = 0; t < eng->args.targets && status == 0; t++)
			if (dss_xs_run(eng, t, ping_noop, &ran) != 0)
				status = -DER_SHUTDOWN;
		if (status == 0 && ran != eng->args.targets)
			status = -DER_UNREACH;
	} else if (uri[0] != '\0') {
		/* a ping RPC over the fabric (crt_engine.h), answered by the rank's system context */
		struct crt_ping_out pong;
		int rc = dss_crt_ping_rank(eng, target, 2000, &pong);

		/* another incarnation than the map's answering: our map is stale */
		if (rc == -DER_TIMEDOUT)
			status = -DER_TIMEDOUT;
		else if (rc != 0 || pong.rank != target ||
			 (map_inc != 0 && pong.incarnation != map_inc))
			status = -DER_UNREACH;
	} else {
		status = -DER_NONEXIST;
	}
	return daos_resp(status, out, out_len);
}

/*
 * True when the map just installed (eng->group, under eng->lock) leaves this engine out: it has
 * a rank, and the map is not older than the one it joined with (SetRank's map version; a map
 * held from before its join rightly lacks it), yet does not name that rank.
 */
static int group_excludes(const struct dss_engine *eng, uint32_t map_version)
{
	if (eng->rank == DSS_NIL_RANK || map_version < eng->map_version)
		return 0;
	for (size_t i = 0; i < eng->ngroup; i++)
		if (eng->group[i].rank == eng->rank)
			return 0;
	return 1;
}

/*
 * Excluded from the group: as the DAOS engine does, leave the group and stop, after telling
 * daos_server (RAS engine_self_terminated), which restarts it under its auto-restart rules.
 */
static void self_terminate(struct dss_engine *eng, uint32_t rank, uint32_t version)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "rank %u excluded from the group map (version %u)", rank,
		 version);
	D_ERROR("%s: self-terminating", msg);
	if (dss_notify_self_terminated(eng, rank, msg) != 0)
		D_ERROR("engine_self_terminated for rank %u not acknowledged by daos_server", rank);
	pthread_mutex_lock(&eng->lock);
	free(eng->group);
	eng->group = NULL;
	eng->ngroup = 0;
	pthread_mutex_unlock(&eng->lock);
	dss_engine_fail(eng, msg);
}

static int h_group_update(struct dss_engine *eng, const uint8_t *req, size_t len,
			  uint8_t **out, size_t *out_len)
{
	Mgmt__GroupUpdateReq *r = mgmt__group_update_req__unpack(NULL, len, req);
	Mgmt__GroupUpdateResp resp = MGMT__GROUP_UPDATE_RESP__INIT;
	struct dss_group_member *g = NULL;
	uint32_t self = DSS_NIL_RANK, version = 0;
	int excluded = 0;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	for (size_t i = 0; i < r->n_engines && resp.status == 0; i++)
		if (r->engines[i]->uri[0] == '\0' || r->engines[i]->rank == DSS_NIL_RANK ||
		    strlen(r->engines[i]->uri) >= sizeof(g->uri))
			resp.status = -DER_INVAL;
	if (resp.status == 0 && r->n_engines > 0) {
		g = calloc(r->n_engines, sizeof(*g));
		if (g == NULL)
			resp.status = -DER_NOMEM;
	}
	if (resp.status == 0) {
		for (size_t i = 0; i < r->n_engines; i++) {
			g[i].rank = r->engines[i]->rank;
			g[i].incarnation = r->engines[i]->incarnation;
			memcpy(g[i].uri, r->engines[i]->uri, strlen(r->engines[i]->uri) + 1);
		}
		pthread_mutex_lock(&eng->lock);
		if (r->map_version <= eng->group_version && eng->group != NULL) {
			/* an older or repeated map is ignored, as the DAOS engine does */
			D_INFO("GroupUpdate: version %u <= current %u, ignored", r->map_version,
			       eng->group_version);
			free(g);
		} else {
			free(eng->group);
			eng->group = g;
			eng->ngroup = r->n_engines;
			eng->group_version = r->map_version;
			D_INFO("GroupUpdate: version %u, %zu engines", r->map_version,
			       r->n_engines);
			self = eng->rank;
			version = r->map_version;
			excluded = group_excludes(eng, r->map_version);
		}
		pthread_mutex_unlock(&eng->lock);
	}
	mgmt__group_update_req__free_unpacked(r, NULL);
	if (excluded)
		self_terminate(eng, self, version);
	return PACK_INTO(&resp, mgmt__group_update_resp, out, out_len);
}

static int h_smd_list_devs(struct dss_engine *eng, const uint8_t *req, size_t len,
			   uint8_t **out, size_t *out_len)
{
	Ctl__SmdDevReq *r = ctl__smd_dev_req__unpack(NULL, len, req);
	Ctl__SmdDevResp resp = CTL__SMD_DEV_RESP__INIT;
	struct dss_storage *st = &eng->storage;
	int n = st->nbdevs, ntgt = eng->args.targets, status;
	Ctl__SmdDevice *devs = NULL, **pdevs = NULL;
	Ctl__NvmeController *ctrlrs = NULL;
	int32_t *tgts = NULL;
	size_t pos = 0;
	uint32_t rank;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	ctl__smd_dev_req__free_unpacked(r, NULL);
	pthread_mutex_lock(&eng->lock);
	rank = eng->rank;
	dss_storage_refresh(st);
	pthread_mutex_unlock(&eng->lock);
	if (n > 0) {
		devs = calloc((size_t)n, sizeof(*devs));
		pdevs = calloc((size_t)n, sizeof(*pdevs));
		ctrlrs = calloc((size_t)n, sizeof(*ctrlrs));
		tgts = calloc((size_t)ntgt, sizeof(*tgts));
		if (!devs || !pdevs || !ctrlrs || !tgts) {
			free(devs), free(pdevs), free(ctrlrs), free(tgts);
			return DRPC__STATUS__FAILED_MARSHAL;
		}
	}
	/* targets are spread over the devices round-robin, as VOS places them */
	for (int i = 0; i < n; i++) {
		struct dss_bdev *b = &st->bdevs[i];
		Ctl__SmdDevice *d = &devs[i];
		size_t first = pos;

		ctl__smd_device__init(d);
		ctl__nvme_controller__init(&ctrlrs[i]);
		d->uuid = b->uuid;
		for (int t = i; t < ntgt; t += n)
			tgts[pos++] = t;
		d->n_tgt_ids = pos - first;
		d->tgt_ids = pos > first ? &tgts[first] : NULL;
		d->total_bytes = b->size;
		/* free = what no pool's NVMe extents hold (the pool module's storage core) */
		d->avail_bytes = bdev_avail(b);
		d->usable_bytes = d->avail_bytes;
		d->cluster_size = 1u << 20;
		d->rank = rank;
		d->bdev_path = b->path;
		d->bdev_class = b->cls;
		ctrlrs[i].pci_addr = b->traddr;
		ctrlrs[i].dev_state = (Ctl__NvmeDevState)b->state;
		ctrlrs[i].led_state = CTL__LED_STATE__NA;
		d->ctrlr = &ctrlrs[i];
		pdevs[i] = d;
	}
	resp.n_devices = (size_t)n;
	resp.devices = pdevs;
	status = PACK_INTO(&resp, ctl__smd_dev_resp, out, out_len);
	free(devs);
	free(pdevs);
	free(ctrlrs);
	free(tgts);
	return status;
}

static int h_bio_health(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
			size_t *out_len)
{
	Ctl__BioHealthReq *r = ctl__bio_health_req__unpack(NULL, len, req);
	Ctl__BioHealthResp resp = CTL__BIO_HEALTH_RESP__INIT;
	struct dss_bdev *b;
	int status;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	pthread_mutex_lock(&eng->lock);
	dss_storage_refresh(&eng->storage);
	/* an empty uuid means the first device, as in DAOS */
	b = r->dev_uuid[0] == '\0' ? (eng->storage.nbdevs ? &eng->storage.bdevs[0] : NULL)
				   : dss_storage_bdev(&eng->storage, r->dev_uuid);
	if (b == NULL) {
		resp.status = -DER_NONEXIST;
		resp.dev_uuid = r->dev_uuid;
	} else {
		resp.dev_uuid = b->uuid;
		resp.timestamp = (uint64_t)time(NULL);
		resp.total_bytes = b->size;
		resp.avail_bytes = bdev_avail(b);
		resp.read_only_warn = b->state != DSS_BDEV_NORMAL;
	}
	status = PACK_INTO(&resp, ctl__bio_health_resp, out, out_len);
	pthread_mutex_unlock(&eng->lock);
	ctl__bio_health_req__free_unpacked(r, NULL);
	return status;
}

static int h_set_log_masks(struct dss_engine *eng, const uint8_t *req, size_t len,
			   uint8_t **out, size_t *out_len)
{
	Mgmt__SetLogMasksReq *r = mgmt__set_log_masks_req__unpack(NULL, len, req);
	Mgmt__SetLogMasksResp resp = MGMT__SET_LOG_MASKS_RESP__INIT;
	const char *mask;

	(void)eng;
	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	/* empty masks resets to the mask the engine started with */
	mask = r->masks[0] != '\0' ? r->masks : getenv("D_LOG_MASK");
	if (mask == NULL || mask[0] == '\0')
		mask = "ERR";
	resp.status = dss_log_set_mask(mask) == 0 ? 0 : -DER_INVAL;
	if (resp.status != 0)
		D_ERROR("SetLogMasks: invalid mask '%s'", mask);
	mgmt__set_log_masks_req__free_unpacked(r, NULL);
	return PACK_INTO(&resp, mgmt__set_log_masks_resp, out, out_len);
}

/*
 * Device states other than NORMAL survive an engine restart, as DAOS's SMD keeps them on SCM:
 * one "<uuid> <state>" line per such device in DEV_STATE_FILE under the SCM mount, rewritten
 * (temp file + rename) on every change. A reformat of the SCM wipes it with the rest.
 */
#define DEV_STATE_FILE "daos_dev_state"

static int dev_state_save(struct dss_storage *st)
{
	char path[4200], tmp[4210];
	FILE *fp;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", st->scm_mount, DEV_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (fp == NULL) {
		D_ERROR("cannot write %s: %s", tmp, strerror(errno));
		return -DER_IO;
	}
	for (int i = 0; i < st->nbdevs; i++)
		if (st->bdevs[i].state == DSS_BDEV_EVICTED)
			fprintf(fp, "%s %d\n", st->bdevs[i].uuid, st->bdevs[i].state);
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		rc = -DER_IO;
	if (fclose(fp) != 0)
		rc = -DER_IO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -DER_IO;
	if (rc != 0) {
		D_ERROR("cannot save device states to %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

static void dev_state_load(struct dss_storage *st)
{
	char path[4200], uuid[64];
	int state;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", st->scm_mount, DEV_STATE_FILE);
	fp = fopen(path, "r");
	if (fp == NULL)
		return; /* none saved: every device as opened */
	while (fscanf(fp, "%63s %d", uuid, &state) == 2) {
		struct dss_bdev *b = dss_storage_bdev(st, uuid);

		if (b != NULL && state == DSS_BDEV_EVICTED && b->state == DSS_BDEV_NORMAL) {
			b->state = DSS_BDEV_EVICTED;
			D_INFO("device %s: EVICTED (saved state)", uuid);
		}
	}
	fclose(fp);
}

/* A device record for a DevManageResp: uuid, rank and the controller's state. */
static void dev_manage_device(struct dss_engine *eng, struct dss_bdev *b, Ctl__SmdDevice *d,
			      Ctl__NvmeController *c)
{
	ctl__smd_device__init(d);
	ctl__nvme_controller__init(c);
	d->uuid = b->uuid;
	d->rank = eng->rank;
	d->bdev_path = b->path;
	d->bdev_class = b->cls;
	c->pci_addr = b->traddr;
	c->dev_state = (Ctl__NvmeDevState)b->state;
	c->led_state = CTL__LED_STATE__NA;
	d->ctrlr = c;
}

/* Moves b to state `to`, persisted; back to `from` when the state file cannot be written. */
static int dev_state_move(struct dss_storage *st, struct dss_bdev *b, int from, int to)
{
	int rc;

	b->state = to;
	rc = dev_state_save(st);
	if (rc != 0)
		b->state = from;
	return rc;
}

/* Packs a DevManage answer: resp's status and, when b is known, that device. */
static int dev_manage_pack(struct dss_engine *eng, struct dss_bdev *b, Ctl__DevManageResp *resp,
			   uint8_t **out, size_t *out_len)
{
	Ctl__SmdDevice dev;
	Ctl__NvmeController ctrlr;

	if (b != NULL) {
		dev_manage_device(eng, b, &dev, &ctrlr);
		resp->device = &dev;
	}
	return PACK_INTO(resp, ctl__dev_manage_resp, out, out_len);
}

/* SetFaulty (220): the device state rule of DAOS bio: only a NORMAL device becomes EVICTED. */
static int h_dev_set_faulty(struct dss_engine *eng, const uint8_t *req, size_t len,
			    uint8_t **out, size_t *out_len)
{
	Ctl__SetFaultyReq *r = ctl__set_faulty_req__unpack(NULL, len, req);
	Ctl__DevManageResp resp = CTL__DEV_MANAGE_RESP__INIT;
	struct dss_bdev *b;
	int status;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	pthread_mutex_lock(&eng->lock);
	dss_storage_refresh(&eng->storage);
	b = dss_storage_bdev(&eng->storage, r->uuid);
	if (b == NULL) {
		resp.status = -DER_NONEXIST;
	} else if (b->state != DSS_BDEV_NORMAL) {
		D_ERROR("SetFaulty: device %s is not NORMAL (state %d)", b->uuid, b->state);
		resp.status = -DER_INVAL;
	} else {
		resp.status = dev_state_move(&eng->storage, b, DSS_BDEV_NORMAL, DSS_BDEV_EVICTED);
		if (resp.status == 0)
			D_INFO("SetFaulty: device %s evicted", b->uuid);
	}
	status = dev_manage_pack(eng, b, &resp, out, out_len);
	pthread_mutex_unlock(&eng->lock);
	ctl__set_faulty_req__free_unpacked(r, NULL);
	return status;
}

/*
 * DevReplace (221): the old device must be EVICTED; the same uuid brings it back to NORMAL
 * (reuse), another uuid must name a NEW device (this engine has none: its devices are all in
 * use from start-up), which then takes the old one's place.
 */
static int h_dev_replace(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
			 size_t *out_len)
{
	Ctl__DevReplaceReq *r = ctl__dev_replace_req__unpack(NULL, len, req);
	Ctl__DevManageResp resp = CTL__DEV_MANAGE_RESP__INIT;
	struct dss_bdev *old, *nb;
	int status;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	pthread_mutex_lock(&eng->lock);
	dss_storage_refresh(&eng->storage);
	old = dss_storage_bdev(&eng->storage, r->old_dev_uuid);
	nb = dss_storage_bdev(&eng->storage, r->new_dev_uuid);
	if (old == NULL || nb == NULL) {
		resp.status = -DER_NONEXIST;
	} else if (old->state != DSS_BDEV_EVICTED) {
		D_ERROR("DevReplace: old device %s is not EVICTED (state %d)", old->uuid,
			old->state);
		resp.status = -DER_INVAL;
	} else if (nb != old) {
		D_ERROR("DevReplace: new device %s is in use (state %d)", nb->uuid, nb->state);
		resp.status = -DER_INVAL;
	} else {
		resp.status = dev_state_move(&eng->storage, old, DSS_BDEV_EVICTED, DSS_BDEV_NORMAL);
		if (resp.status == 0)
			D_INFO("DevReplace: device %s back in use", old->uuid);
	}
	status = dev_manage_pack(eng, nb != NULL ? nb : old, &resp, out, out_len);
	pthread_mutex_unlock(&eng->lock);
	ctl__dev_replace_req__free_unpacked(r, NULL);
	return status;
}

static const struct dss_drpc_handler mgmt_handlers[] = {
	{DRPC_METHOD_MGMT_SET_RANK, h_set_rank},
	{DRPC_METHOD_MGMT_SET_UP, h_set_up},
	{DRPC_METHOD_MGMT_BIO_HEALTH_QUERY, h_bio_health},
	{DRPC_METHOD_MGMT_SMD_LIST_DEVS, h_smd_list_devs},
	{DRPC_METHOD_MGMT_PREP_SHUTDOWN, h_prep_shutdown},
	{DRPC_METHOD_MGMT_PING_RANK, h_ping_rank},
	{DRPC_METHOD_MGMT_GROUP_UPDATE, h_group_update},
	{DRPC_METHOD_MGMT_SET_LOG_MASKS, h_set_log_masks},
	{DRPC_METHOD_MGMT_DEV_SET_FAULTY, h_dev_set_faulty},
	{DRPC_METHOD_MGMT_DEV_REPLACE, h_dev_replace},
	{0, NULL},
};

static int mgmt_init(struct dss_engine *eng)
{
	dev_state_load(&eng->storage);
	return 0;
}

static int mgmt_fini(struct dss_engine *eng)
{
	pthread_mutex_lock(&eng->lock);
	free(eng->group);
	eng->group = NULL;
	eng->ngroup = 0;
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

const struct dss_module mgmt_module = {
	.interface_version = DSS_MODULE_INTERFACE_VERSION,
	.name = "mgmt",
	.drpc_module_id = DRPC_MODULE_MGMT,
	.init = mgmt_init,
	.fini = mgmt_fini,
	.handlers = mgmt_handlers,
};
