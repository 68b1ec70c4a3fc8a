/*
 * The engine's pool module (libpool.so, dRPC module MGMT): the dRPC pool methods of
 * _prompts/pool_contract.md on top of the storage core (vos.h) and the RPC layer (crt.h).
 *
 * Engine to engine: the "pool" RPC protocol (base POOL_OPC_BASE) with collectives over an
 * explicit rank list (every other group member excluded; the sender is always the tree's root,
 * so when it is not one of the ranks it is told to skip the work) and one point-to-point RPC:
 *  - TGT_CREATE (check pass: space and existence, nothing allocated; then the create pass),
 *  - TGT_DESTROY (sent point to point to each rank, see destroy_on),
 *  - TGT_QUERY (tier stats over the targets a mask marks active),
 *  - MAP_SET (the pool map, applied by every rank of the map),
 *  - TGT_SPACE (p2p: per-target space of one rank).
 * Outputs are fixed-size and folded up the tree (pool_*_fold). The map is distributed with a
 * collective MAP_SET from the engine that received POOL_MAP_SET (no IV class yet).
 *
 * A pool spans up to CRT_CORPC_MAX_RANKS ranks; a message holds POOL_CO_MAX_RANKS per-rank
 * entries, so create and query run one collective per chunk of the pool's ranks (the chunk's
 * ranks as members) and fold the chunks at the root, and map set sends the map chunk by chunk
 * to all its ranks, each engine staging the chunks until the last one (pool_map_stage_add).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/smd.pb-c.h"
#include "engine_internal.h"
#include "log.h"
#include "mgmt/pool.pb-c.h"
#include "mgmt/pool_engine.pb-c.h"
#include "mgmt/srv.pb-c.h"
#include "pool_map.h"
#include "pool_module.h"
#include "vos.h"

#define POOL_MAX_POOLS 256 /* pools an engine keeps maps of (and lists) */
#define POOL_MAX_STAGES 16 /* pool maps an engine receives in chunks at the same time */

/* The module's state: one engine per process (daos_engine_create refuses a second). */
/* A per-target size as vos allocates it: rounded up to VOS_BLK_SZ. */
static uint64_t blk_up(uint64_t n)
{
	return (n + VOS_BLK_SZ - 1) / VOS_BLK_SZ * VOS_BLK_SZ;
}

static struct {
	pthread_mutex_t lock;
	struct vos_engine *vos;
	char open_err[256];
	int open_tried;
	struct pool_map maps[POOL_MAX_POOLS];
	int nmaps;
	int create_timeout_ms; /* POOL_CREATE_TIMEOUT_ENV, read at init */
	int fi_create_delay_ms; /* POOL_FI_CREATE_DELAY_ENV, read at init (tests) */
	size_t chunk;           /* ranks per message: POOL_CHUNK_RANKS_ENV or POOL_CO_MAX_RANKS */
	struct pool_map_stage stages[POOL_MAX_STAGES]; /* maps being received in chunks */
	uint64_t stage_used[POOL_MAX_STAGES];          /* stage_clock at each stage's last chunk */
	uint64_t stage_clock;
} pm = {.lock = PTHREAD_MUTEX_INITIALIZER, .chunk = POOL_CO_MAX_RANKS};

/* ---- storage ------------------------------------------------------------------------- */

/* Opens the storage core once (setup, or the first pool call before it); NULL if it failed. */
static struct vos_engine *pool_vos(struct dss_engine *eng)
{
	struct vos_engine *v;

	pthread_mutex_lock(&pm.lock);
	if (pm.vos == NULL && !pm.open_tried && eng != NULL) {
		int rc = vos_engine_open(&eng->storage, eng->args.targets, &pm.vos, pm.open_err,
					 sizeof(pm.open_err));

		pm.open_tried = 1;
		if (rc != 0) {
			D_ERROR("pool: cannot open the storage core on %s: %s (%d)",
				eng->args.scm_mount, pm.open_err, rc);
			pm.vos = NULL;
		} else {
			for (int i = 0; i < vos_engine_nproblems(pm.vos); i++) {
				const struct vos_problem *p = vos_engine_problem(pm.vos, i);

				D_ERROR("pool: storage problem at %s: %s (%d)", p->path, p->msg,
					p->rc);
			}
			D_INFO("pool: storage core open on %s, %d targets", eng->args.scm_mount,
			       eng->args.targets);
		}
	}
	v = pm.vos;
	pthread_mutex_unlock(&pm.lock);
	return v;
}

/* The engine of a collective handler (the transport's user pointer). */
static struct dss_engine *ri_eng(const struct crt_req_info *ri)
{
	return ri->user;
}

static uint32_t self_rank(struct dss_engine *eng)
{
	uint32_t r;

	pthread_mutex_lock(&eng->lock);
	r = eng->rank;
	pthread_mutex_unlock(&eng->lock);
	return r;
}

/* ---- maps ---------------------------------------------------------------------------- */

/* The held map of uuid, or NULL; pm.lock held. */
static struct pool_map *map_find_locked(const uint8_t uuid[16])
{
	for (int i = 0; i < pm.nmaps; i++)
		if (memcmp(pm.maps[i].uuid, uuid, 16) == 0)
			return &pm.maps[i];
	return NULL;
}

/* Applies a map to this engine's copy: 1 applied, 0 ignored (not newer), -DER_*. */
static int map_apply(const uint8_t uuid[16], uint32_t version, const struct pool_map_rank *r,
		     int n, char *err, size_t errlen)
{
	struct pool_map *m;
	int rc;

	pthread_mutex_lock(&pm.lock);
	m = map_find_locked(uuid);
	if (m == NULL) {
		if (pm.nmaps == POOL_MAX_POOLS) {
			pthread_mutex_unlock(&pm.lock);
			snprintf(err, errlen, "this engine holds the maps of %d pools already",
				 POOL_MAX_POOLS);
			return -DER_NOSPACE;
		}
		m = &pm.maps[pm.nmaps];
		memset(m, 0, sizeof(*m));
		rc = pool_map_apply(m, uuid, version, r, n, err, errlen);
		if (rc == 1)
			pm.nmaps++;
	} else {
		rc = pool_map_apply(m, uuid, version, r, n, err, errlen);
	}
	pthread_mutex_unlock(&pm.lock);
	return rc == -EINVAL ? -DER_INVAL : rc == -ENOMEM ? -DER_NOMEM : rc;
}

/* Forgets the map of a destroyed pool. */
static void map_drop(const uint8_t uuid[16])
{
	pthread_mutex_lock(&pm.lock);
	for (int i = 0; i < pm.nmaps; i++) {
		if (memcmp(pm.maps[i].uuid, uuid, 16) != 0)
			continue;
		pool_map_clear(&pm.maps[i]);
		pm.maps[i] = pm.maps[--pm.nmaps];
		break;
	}
	for (int i = 0; i < POOL_MAX_STAGES; i++)
		if (pm.stages[i].version != 0 && memcmp(pm.stages[i].uuid, uuid, 16) == 0)
			pool_map_stage_clear(&pm.stages[i]);
	pthread_mutex_unlock(&pm.lock);
}

/*
 * Stages a map chunk from the root: 1 with *whole (malloc'd, the caller frees) holding the
 * complete map when this was its last chunk, 0 when more are to come, -DER_*: -DER_MISMATCH
 * (out of order, missing, repeated, another version: the stage is dropped), -DER_INVAL,
 * -DER_NOMEM. A first chunk with every stage taken evicts the stage idle longest: maps
 * abandoned half-sent (a root that died, a hostile peer) must not lock new ones out.
 */
static int map_stage(const struct pool_map_set_in *in, struct pool_map_stage *whole, char *err,
		     size_t errlen)
{
	struct pool_map_stage none = {0}, *st = NULL;
	int rc, at = -1;

	pthread_mutex_lock(&pm.lock);
	at = pool_map_stage_slot(pm.stages, pm.stage_used, POOL_MAX_STAGES, in->uuid, in->offset);
	if (at >= 0 && pm.stages[at].version != 0 &&
	    memcmp(pm.stages[at].uuid, in->uuid, 16) != 0) {
		D_INFO("pool: map stage of v%u dropped for a new map (all %d stages taken)",
		       pm.stages[at].version, POOL_MAX_STAGES);
		pool_map_stage_clear(&pm.stages[at]);
	}
	/* a later chunk with nothing staged: refused by the staging itself ("no chunk before") */
	st = at < 0 ? &none : &pm.stages[at];
	if (at >= 0)
		pm.stage_used[at] = ++pm.stage_clock;
	rc = pool_map_set_stage(st, in, CRT_CORPC_MAX_RANKS, err, errlen);
	if (rc == 1) {
		*whole = *st; /* the caller owns the ranks now */
		memset(st, 0, sizeof(*st));
	}
	pool_map_stage_clear(&none);
	pthread_mutex_unlock(&pm.lock);
	return rc == -EPROTO ? -DER_MISMATCH : rc == -EINVAL ? -DER_INVAL
	       : rc == -ENOMEM ? -DER_NOMEM : rc;
}

/* ---- RPC handlers (run on the transport's context threads) --------------------------- */

/*
 * The opening every pool RPC handler shares: no failure yet (*failed_rank = CRT_NIL_RANK,
 * when the output has one), the engine (-DER_UNREACH without one) and its rank. When skip is
 * given and this rank is *skip (the collective's root, not one of its ranks), 1: nothing to do.
 */
static int tgt_begin(const struct crt_req_info *ri, uint32_t *failed_rank, const uint32_t *skip,
		     struct dss_engine **eng, uint32_t *self)
{
	if (failed_rank != NULL)
		*failed_rank = CRT_NIL_RANK;
	*eng = ri_eng(ri);
	if (*eng == NULL)
		return -DER_UNREACH;
	*self = self_rank(*eng);
	return skip != NULL && *self == *skip ? 1 : 0;
}

static int h_tgt_create(const struct crt_req_info *ri, const void *in_, void *out_)
{
	const struct pool_tgt_create_in *in = in_;
	struct pool_tgt_create_out *out = out_;
	struct dss_engine *eng;
	struct vos_engine *vos;
	uint32_t self;
	uint64_t per_tgt[2] = {0, 0};
	char err[512] = "";
	int ntgt, rc;

	out->largest[0] = out->largest[1] = UINT64_MAX;
	rc = tgt_begin(ri, &out->failed_rank, &in->skip_rank, &eng, &self);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	vos = pool_vos(eng);
	ntgt = eng->args.targets;
	if (vos == NULL) {
		rc = -DER_IO;
		snprintf(err, sizeof(err), "rank %u: storage core not open: %s", self,
			 pm.open_err);
		goto done;
	}
	for (int t = 0; t < 2; t++) {
		if (in->tier_bytes[t] == 0)
			continue;
		if (pool_split(in->tier_bytes[t], ntgt, &per_tgt[t], err, sizeof(err)) != 0) {
			rc = -DER_INVAL;
			goto done;
		}
	}
	if (in->check_only) {
		struct vos_pool_info info[POOL_MAX_POOLS];
		struct vos_space sp;
		int n = vos_pool_list(vos, info, POOL_MAX_POOLS);

		for (int i = 0; i < n && i < POOL_MAX_POOLS; i++) {
			if (memcmp(info[i].uuid, in->uuid, 16) == 0) {
				rc = -DER_EXIST;
				snprintf(err, sizeof(err), "rank %u already holds the pool", self);
				goto done;
			}
		}
		vos_engine_query(vos, &sp);
		/* what fits now, per rank, in whole 4 KiB blocks per target */
		out->largest[0] = sp.scm_free / (uint64_t)ntgt / VOS_BLK_SZ * VOS_BLK_SZ *
				  (uint64_t)ntgt;
		out->largest[1] = sp.nvme_free / (uint64_t)ntgt / VOS_BLK_SZ * VOS_BLK_SZ *
				  (uint64_t)ntgt;
		if (in->tier_bytes[0] > out->largest[0] ||
		    (in->tier_bytes[1] > 0 && in->tier_bytes[1] > out->largest[1])) {
			rc = -DER_NOSPACE;
			out->nospace_tiers = (in->tier_bytes[0] > out->largest[0] ? 1u : 0u) |
					     (in->tier_bytes[1] > 0 &&
							      in->tier_bytes[1] > out->largest[1]
						      ? 2u
						      : 0u);
			snprintf(err, sizeof(err), "rank %u: not enough %s space", self,
				 out->nospace_tiers & 1 ? "SCM" : "NVMe");
		}
	} else {
		struct vos_nospace ns = {0};

		if (pm.fi_create_delay_ms > 0) {
			/* fault injection: a window in which a test kills this engine mid-create */
			D_WARN("pool: %s: target create delayed %d ms", POOL_FI_CREATE_DELAY_ENV,
			       pm.fi_create_delay_ms);
			dss_engine_sleep(eng, pm.fi_create_delay_ms);
		}
		rc = vos_pool_create(vos, in->uuid, per_tgt[0], per_tgt[1], &ns, err,
				     sizeof(err));
		if (rc == -DER_NOSPACE) {
			out->nospace_tiers = ns.tiers;
			out->largest[0] = ns.scm_largest * (uint64_t)ntgt;
			out->largest[1] = ns.nvme_largest * (uint64_t)ntgt;
		}
	}
done:
	if (rc != 0) {
		out->rc = rc;
		out->failed_rank = self;
		memcpy(out->error, err, sizeof(out->error) - 1); /* err is longer */
		out->error[sizeof(out->error) - 1] = '\0';
		D_ERROR("pool: target %s on rank %u: %s (%d)",
			in->check_only ? "check" : "create", self, err, rc);
		return 0; /* the failure travels in the output, folded with the others */
	}
	if (!in->check_only) {
		out->n = 1;
		out->r[0].rank = self;
		out->r[0].ntgt = (uint32_t)ntgt;
		/* what the shards really take: vos rounds every target's size up to a block */
		out->r[0].tier_bytes[0] = blk_up(per_tgt[0]) * (uint64_t)ntgt;
		out->r[0].tier_bytes[1] = blk_up(per_tgt[1]) * (uint64_t)ntgt;
	}
	return 0;
}

static int h_tgt_destroy(const struct crt_req_info *ri, const void *in_, void *out_)
{
	const struct pool_tgt_destroy_in *in = in_;
	struct pool_tgt_destroy_out *out = out_;
	struct dss_engine *eng;
	struct vos_engine *vos;
	char err[512];
	uint32_t self;
	int rc;

	rc = tgt_begin(ri, &out->failed_rank, &in->skip_rank, &eng, &self);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	map_drop(in->uuid);
	vos = pool_vos(eng);
	if (vos == NULL)
		return 0; /* nothing can be held where no storage opened */
	rc = vos_pool_destroy(vos, in->uuid, err, sizeof(err));
	if (rc != 0 && rc != -DER_NONEXIST) {
		D_ERROR("pool: target destroy on rank %u: %s (%d)", self, err, rc);
		out->rc = rc;
		out->failed_rank = self;
	}
	return 0;
}

static int h_tgt_query(const struct crt_req_info *ri, const void *in_, void *out_)
{
	const struct pool_tgt_query_in *in = in_;
	struct pool_tgt_query_out *out = out_;
	struct dss_engine *eng;
	struct vos_space sp[POOL_MAP_MAX_TGTS];
	struct vos_engine *vos;
	uint64_t mask = 0;
	char err[512];
	uint32_t self;
	int n, found = 0;

	for (int t = 0; t < 2; t++)
		out->tier[t].min = UINT64_MAX;
	/* no skip: a rank without an entry (the root among them) reports nothing */
	n = tgt_begin(ri, &out->failed_rank, NULL, &eng, &self);
	if (n < 0)
		return n;
	for (uint32_t i = 0; i < in->n && i < POOL_CO_MAX_RANKS; i++) {
		if (in->ent[i].rank == self) {
			mask = in->ent[i].mask;
			found = 1;
		}
	}
	if (!found || mask == 0)
		return 0;
	vos = pool_vos(eng);
	n = vos == NULL ? -DER_IO
			: vos_pool_space(vos, in->uuid, sp, POOL_MAP_MAX_TGTS, err, sizeof(err));
	if (n < 0) {
		out->rc = n;
		out->failed_rank = self;
		return 0;
	}
	for (int t = 0; t < n; t++) {
		uint64_t tot[2] = {sp[t].scm_total, sp[t].nvme_total};
		uint64_t fr[2] = {sp[t].scm_free, sp[t].nvme_free};

		if (!(mask & (1ULL << t)))
			continue;
		for (int k = 0; k < 2; k++) {
			out->tier[k].total += tot[k];
			out->tier[k].free += fr[k];
			if (fr[k] < out->tier[k].min)
				out->tier[k].min = fr[k];
			if (fr[k] > out->tier[k].max)
				out->tier[k].max = fr[k];
			out->tier[k].n++;
		}
	}
	return 0;
}

static int h_map_set(const struct crt_req_info *ri, const void *in_, void *out_)
{
	const struct pool_map_set_in *in = in_;
	struct pool_map_set_out *out = out_;
	struct pool_map_stage whole = {0};
	struct dss_engine *eng;
	char err[256] = "";
	uint32_t self;
	int rc;

	/* no skip: the root applied the map before sending it, applying it again is a no-op */
	rc = tgt_begin(ri, &out->failed_rank, NULL, &eng, &self);
	if (rc < 0)
		return rc;
	/* one chunk of the map: installed (if newer) once its last chunk is here */
	rc = map_stage(in, &whole, err, sizeof(err));
	if (rc == 1) {
		rc = map_apply(whole.uuid, whole.version, whole.ranks, whole.total, err,
			       sizeof(err));
		pool_map_stage_clear(&whole);
	}
	if (rc < 0) {
		out->rc = rc;
		out->failed_rank = self;
		D_ERROR("pool: map set chunk v%u, ranks %u..%u of %u: %s (%d)", in->version,
			in->offset, in->offset + in->nranks, in->total, err, rc);
	}
	return 0;
}

static int h_tgt_space(const struct crt_req_info *ri, const void *in_, void *out_)
{
	const struct pool_tgt_space_in *in = in_;
	struct pool_tgt_space_out *out = out_;
	struct dss_engine *eng;
	struct vos_space sp[POOL_CO_MAX_TGTS];
	struct vos_engine *vos;
	uint32_t self;
	char err[512];
	int n;

	/* point to point: no skip, and the output has no failed rank */
	n = tgt_begin(ri, NULL, NULL, &eng, &self);
	if (n < 0)
		return n;
	vos = pool_vos(eng);
	if (vos == NULL)
		return -DER_IO;
	n = vos_pool_space(vos, in->uuid, sp, POOL_CO_MAX_TGTS, err, sizeof(err));
	if (n < 0)
		return n;
	out->ntgt = (uint32_t)(n > POOL_CO_MAX_TGTS ? POOL_CO_MAX_TGTS : n);
	for (uint32_t t = 0; t < out->ntgt; t++) {
		out->sp[t].total[0] = sp[t].scm_total;
		out->sp[t].free[0] = sp[t].scm_free;
		out->sp[t].total[1] = sp[t].nvme_total;
		out->sp[t].free[1] = sp[t].nvme_free;
	}
	return 0;
}

static const struct crt_proto_rpc_format pool_rpcs[] = {
	[POOL_RPC_TGT_CREATE] = {"pool-tgt-create", sizeof(struct pool_tgt_create_in),
				 sizeof(struct pool_tgt_create_out), NULL, h_tgt_create,
				 pool_create_fold},
	[POOL_RPC_TGT_DESTROY] = {"pool-tgt-destroy", sizeof(struct pool_tgt_destroy_in),
				  sizeof(struct pool_tgt_destroy_out), NULL, h_tgt_destroy,
				  pool_status_fold},
	[POOL_RPC_TGT_QUERY] = {"pool-tgt-query", sizeof(struct pool_tgt_query_in),
				sizeof(struct pool_tgt_query_out), NULL, h_tgt_query,
				pool_query_fold},
	[POOL_RPC_MAP_SET] = {"pool-map-set", sizeof(struct pool_map_set_in),
			      sizeof(struct pool_map_set_out), NULL, h_map_set, pool_status_fold},
	[POOL_RPC_TGT_SPACE] = {"pool-tgt-space", sizeof(struct pool_tgt_space_in),
				sizeof(struct pool_tgt_space_out), NULL, h_tgt_space, NULL},
};

static const struct crt_proto_format pool_proto = {
	.name = "pool",
	.version = POOL_PROTO_VERSION,
	.count = sizeof(pool_rpcs) / sizeof(pool_rpcs[0]),
	.rpcs = pool_rpcs,
	.base = POOL_OPC_BASE,
};

/* ---- collectives from the dRPC side -------------------------------------------------- */

/*
 * Sends collective rpc index idx with input in to exactly ranks[0..n) (plus this engine as
 * the root, told to skip through *skip_rank when it is not one of them); output into out.
 * Members that failed count as the first failure (*failed_rank). 0 or -DER_*.
 */
static int pool_corpc(struct dss_engine *eng, int idx, void *in, size_t in_size,
		      uint32_t *skip_rank, const uint32_t *ranks, size_t n, int timeout_ms,
		      void *out, size_t out_size, uint32_t *failed_rank, char *err, size_t errlen)
{
	uint32_t group[CRT_CORPC_MAX_RANKS], ex[CRT_CORPC_MAX_RANKS], self, ver;
	const struct crt_failure *f;
	struct crt_rpc *rpc;
	size_t ng, nex = 0, nf;
	int rc, self_in = 0;

	if (eng->crt == NULL) {
		snprintf(err, errlen, "the engine's RPC transport is not up");
		return -DER_UNREACH;
	}
	ng = crt_group_ranks(eng->crt, &self, &ver, group, CRT_CORPC_MAX_RANKS);
	if (ng > CRT_CORPC_MAX_RANKS)
		ng = CRT_CORPC_MAX_RANKS;
	for (size_t i = 0; i < n; i++) {
		size_t g;

		for (g = 0; g < ng && group[g] != ranks[i]; g++)
			;
		if (g == ng) {
			snprintf(err, errlen, "rank %u is not in this engine's group map "
				 "(version %u)", ranks[i], ver);
			*failed_rank = ranks[i];
			return -DER_OOG;
		}
		if (ranks[i] == self)
			self_in = 1;
	}
	for (size_t g = 0; g < ng; g++) {
		size_t i;

		for (i = 0; i < n && ranks[i] != group[g]; i++)
			;
		if (i == n && group[g] != self)
			ex[nex++] = group[g];
	}
	*skip_rank = self_in ? CRT_NIL_RANK : self;
	rc = crt_corpc_create(crt_context_get(eng->crt, 0), CRT_PROTO_OPC(POOL_OPC_BASE,
			      POOL_PROTO_VERSION, idx), ex, nex, 4, &rpc);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create the collective: %d", rc);
		return rc < 0 && rc > -1000 ? -DER_NOMEM : rc;
	}
	memcpy(crt_req_input(rpc), in, in_size);
	crt_req_set_timeout(rpc, timeout_ms);
	rc = crt_req_send_sync(rpc);
	if (rc == 0 || rc == -DER_CORPC_INCOMPLETE)
		memcpy(out, crt_req_output(rpc), out_size);
	nf = crt_req_failures(rpc, &f);
	if (nf > 0) {
		*failed_rank = f[0].rank;
		snprintf(err, errlen, "rank %u did not answer: %d", f[0].rank, f[0].status);
		if (rc == 0)
			rc = f[0].status != 0 ? f[0].status : -DER_UNREACH;
		/* a member built on another group map version: the caller may redo it */
		for (size_t i = 0; i < nf; i++)
			if (f[i].status == -DER_GRPVER)
				rc = -DER_GRPVER;
	} else if (rc != 0) {
		snprintf(err, errlen, "collective failed: %d", rc);
	}
	crt_req_decref(rpc);
	return rc;
}

/* ---- dRPC helpers -------------------------------------------------------------------- */

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

/*
 * The opening the pool dRPC methods that name a pool share: its id parsed into uuid, then,
 * when visit is given, the map this engine holds of it passed to visit under pm.lock.
 * 0, or the reply's status: -DER_INVAL when the id is not a uuid (the message in err, for a
 * reply that carries it; logged here when err is NULL), -DER_NONEXIST when this engine holds
 * no map of the pool (the MS pushes one after the create).
 */
static int req_pool(const char *what, const char *id, uint8_t uuid[16],
		    void (*visit)(const struct pool_map *m, void *arg), void *arg, char *err,
		    size_t errlen)
{
	struct pool_map *m;

	if (vos_uuid_parse(id, uuid) != 0) {
		if (err != NULL)
			snprintf(err, errlen, "%s: pool id \"%s\" is not a uuid", what, id);
		else
			D_ERROR("%s: pool id \"%s\" is not a uuid", what, id);
		return -DER_INVAL;
	}
	if (visit == NULL)
		return 0;
	pthread_mutex_lock(&pm.lock);
	m = map_find_locked(uuid);
	if (m != NULL)
		visit(m, arg);
	pthread_mutex_unlock(&pm.lock);
	return m == NULL ? -DER_NONEXIST : 0;
}

/* The dRPC reply of a create: status, and per rank its shards (t->r) or NOSPACE's sizes. */
static int shards_resp(int status, const char *error, uint32_t failed_rank,
		       const struct pool_create_total *t, uint8_t **out, size_t *out_len)
{
	Mgmt__PoolShardsResp r = MGMT__POOL_SHARDS_RESP__INIT;
	uint32_t *ranks = NULL, *ntgts = NULL;
	uint64_t *tb = NULL, largest[2];
	int st;

	r.status = status;
	r.error = (char *)(error ? error : "");
	if (status != 0)
		r.failed_rank = failed_rank;
	if (status == -DER_NOSPACE && t != NULL) {
		largest[0] = t->sum.largest[0] == UINT64_MAX ? 0 : t->sum.largest[0];
		largest[1] = t->sum.largest[1] == UINT64_MAX ? 0 : t->sum.largest[1];
		r.largest = largest;
		r.n_largest = 2;
	}
	if (status == 0 && t != NULL && t->n > 0) {
		ranks = calloc(t->n, sizeof(*ranks));
		ntgts = calloc(t->n, sizeof(*ntgts));
		tb = calloc(2 * (size_t)t->n, sizeof(*tb));
		if (ranks == NULL || ntgts == NULL || tb == NULL) {
			free(ranks);
			free(ntgts);
			free(tb);
			return DRPC__STATUS__FAILED_MARSHAL;
		}
		for (uint32_t i = 0; i < t->n; i++) {
			ranks[i] = t->r[i].rank;
			ntgts[i] = t->r[i].ntgt;
			tb[2 * i] = t->r[i].tier_bytes[0];
			tb[2 * i + 1] = t->r[i].tier_bytes[1];
		}
		r.n_ranks = r.n_ntargets = t->n;
		r.n_tier_bytes = 2 * (size_t)t->n;
		r.ranks = ranks;
		r.ntargets = ntgts;
		r.tier_bytes = tb;
	}
	st = PACK_INTO(&r, mgmt__pool_shards_resp, out, out_len);
	free(ranks);
	free(ntgts);
	free(tb);
	return st;
}

/*
 * Destroys the pool's shards on ranks (those the group map holds), except skip
 * (CRT_NIL_RANK = none): a rank that did not answer is not waited for again. Point to point,
 * one rank after the other, not a collective: a collective needs every member on the root's
 * group map version, and while this dRPC handler runs the engine cannot take the GroupUpdate
 * that follows a rank's death, so a collective rollback would be refused until it returns.
 */
static int destroy_on(struct dss_engine *eng, const uint8_t uuid[16], const uint32_t *ranks,
		      size_t n, uint32_t skip, uint32_t *failed_rank, char *err, size_t errlen)
{
	uint32_t group[CRT_CORPC_MAX_RANKS], self, ver;
	size_t ng;
	int rc = 0;

	if (eng->crt == NULL) {
		snprintf(err, errlen, "the engine's RPC transport is not up");
		return -DER_UNREACH;
	}
	ng = crt_group_ranks(eng->crt, &self, &ver, group, CRT_CORPC_MAX_RANKS);
	if (ng > CRT_CORPC_MAX_RANKS)
		ng = CRT_CORPC_MAX_RANKS;
	for (size_t i = 0; i < n; i++) {
		struct pool_tgt_destroy_in *in;
		struct pool_tgt_destroy_out o = {0};
		struct crt_rpc *rpc;
		size_t g;
		int r;

		for (g = 0; g < ng && group[g] != ranks[i]; g++)
			;
		/* a rank the group map no longer holds is dead: its restart rolls back */
		if (g == ng || ranks[i] == skip)
			continue;
		if (crt_req_create(crt_context_get(eng->crt, 0), ranks[i], 0,
				   CRT_PROTO_OPC(POOL_OPC_BASE, POOL_PROTO_VERSION,
						 POOL_RPC_TGT_DESTROY), &rpc) != 0) {
			r = -DER_NOMEM;
		} else {
			in = crt_req_input(rpc);
			memcpy(in->uuid, uuid, 16);
			in->skip_rank = CRT_NIL_RANK;
			crt_req_set_timeout(rpc, POOL_TIMEOUT_MS);
			r = crt_req_send_sync(rpc);
			if (r == 0)
				memcpy(&o, crt_req_output(rpc), sizeof(o));
			crt_req_decref(rpc);
			if (r == 0)
				r = o.rc;
		}
		if (r != 0 && rc == 0) {
			rc = r;
			*failed_rank = ranks[i];
			snprintf(err, errlen, "target destroy on rank %u failed: %d", ranks[i], r);
		}
	}
	return rc;
}

/* The ranks of chunk off of a pool's n ranks (at most pm.chunk). */
static size_t chunk_len(size_t n, size_t off)
{
	size_t k = pm.chunk >= 1 && pm.chunk <= POOL_CO_MAX_RANKS ? pm.chunk : POOL_CO_MAX_RANKS;

	return n - off < k ? n - off : k;
}

/*
 * The collective create of 207 and 229: check, create, roll back on any failure. The ranks go
 * pm.chunk per collective: the check pass over every chunk before anything is allocated (so
 * NOSPACE's largest is the minimum over all ranks), then the create pass chunk by chunk; a
 * failure in any chunk rolls back every rank of the chunks sent so far.
 */
static int create_shards(struct dss_engine *eng, const char *what, const char *uuid_s,
			 const uint32_t *ranks, size_t n, const uint64_t *tier_bytes,
			 size_t ntier, uint8_t **out, size_t *out_len)
{
	struct pool_tgt_create_in in = {0};
	struct pool_tgt_create_out *o = calloc(1, sizeof(*o));
	/* n is checked below: at most the collective bound is ever needed */
	struct pool_rank_shards *all = calloc(n && n <= CRT_CORPC_MAX_RANKS ? n : 1, sizeof(*all));
	struct pool_create_total tot;
	uint32_t failed = CRT_NIL_RANK, dfailed;
	char err[512] = "", derr[256];
	size_t off, sent = 0;
	int rc, st;

	if (o == NULL || all == NULL) {
		free(o);
		free(all);
		return DRPC__STATUS__FAILURE;
	}
	pool_create_total_init(&tot, all, (uint32_t)(n && n <= CRT_CORPC_MAX_RANKS ? n : 1));
	rc = req_pool(what, uuid_s, in.uuid, NULL, NULL, err, sizeof(err));
	if (rc != 0)
		goto reply;
	if (n == 0 || n > CRT_CORPC_MAX_RANKS) {
		snprintf(err, sizeof(err), "%s: %zu ranks given (1..%d: a pool spans at most the "
			 "engines' collective bound, CRT_CORPC_MAX_RANKS)", what, n,
			 CRT_CORPC_MAX_RANKS);
		rc = -DER_INVAL;
		goto reply;
	}
	if (ntier < 1 || ntier > 2 || tier_bytes[0] == 0) {
		snprintf(err, sizeof(err), "%s: tier_bytes must give the per-rank SCM bytes "
			 "(and optionally NVMe bytes): %zu values given", what, ntier);
		rc = -DER_INVAL;
		goto reply;
	}
	in.tier_bytes[0] = tier_bytes[0];
	in.tier_bytes[1] = ntier > 1 ? tier_bytes[1] : 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (ranks[i] == ranks[j]) {
				snprintf(err, sizeof(err), "%s: rank %u listed twice", what,
					 ranks[i]);
				rc = -DER_INVAL;
				goto reply;
			}
	/* check every chunk (existence, space): each chunk's failure folded, NOSPACE first */
	in.check_only = 1;
	for (off = 0; off < n && rc == 0; off += chunk_len(n, off)) {
		memset(o, 0, sizeof(*o));
		rc = pool_corpc(eng, POOL_RPC_TGT_CREATE, &in, sizeof(in), &in.skip_rank,
				ranks + off, chunk_len(n, off), POOL_TIMEOUT_MS, o, sizeof(*o),
				&failed, err, sizeof(err));
		if (rc == 0)
			pool_create_total_add(&tot, o);
	}
	if (rc == 0 && tot.sum.rc != 0) {
		rc = tot.sum.rc;
		failed = tot.sum.failed_rank;
		if (rc == -DER_NOSPACE)
			snprintf(err, sizeof(err), "%s: not enough %s space: the largest per-rank "
				 "size that fits on every rank is %llu bytes", what,
				 tot.sum.nospace_tiers & 1 ? "SCM" : "NVMe",
				 (unsigned long long)tot.sum.largest[tot.sum.nospace_tiers & 1 ? 0
											: 1]);
		else
			snprintf(err, sizeof(err), "%s", tot.sum.error);
	}
	if (rc != 0)
		goto reply; /* nothing allocated yet */
	pool_create_total_init(&tot, all, (uint32_t)n);
	in.check_only = 0;
	for (off = 0; off < n; off += chunk_len(n, off)) {
		size_t k = chunk_len(n, off);

		memset(o, 0, sizeof(*o));
		sent = off + k;
		rc = pool_corpc(eng, POOL_RPC_TGT_CREATE, &in, sizeof(in), &in.skip_rank,
				ranks + off, k, pm.create_timeout_ms, o, sizeof(*o), &failed, err,
				sizeof(err));
		if (rc == 0 && o->rc != 0) {
			rc = o->rc;
			failed = o->failed_rank;
			snprintf(err, sizeof(err), "%s", o->error);
		}
		if (rc == 0 && o->n != k) {
			rc = -DER_IO;
			snprintf(err, sizeof(err), "%s: %u of %zu ranks (ranks %zu..%zu of %zu) "
				 "reported shards", what, o->n, k, off, off + k - 1, n);
		}
		if (rc == 0)
			pool_create_total_add(&tot, o);
		else
			break;
	}
	if (rc != 0) {
		/* all or nothing: no rank of the request keeps a shard */
		/*
		 * A rank that did not answer (dead, or too slow) is not waited for again: if it
		 * died mid-create, vos_engine_open rolls its unfinished create back at restart.
		 */
		uint32_t skip = o->rc == 0 ? failed : CRT_NIL_RANK;

		/* the failing chunk's NOSPACE sizes: the check pass saw room a moment ago */
		if (o->rc != 0)
			pool_create_total_add(&tot, o);
		if (destroy_on(eng, in.uuid, ranks, sent, skip, &dfailed, derr, sizeof(derr)) != 0)
			D_ERROR("%s: rollback: %s", what, derr);
	}
reply:
	if (rc != 0)
		D_ERROR("%s %s: %s (%d)", what, uuid_s, err, rc);
	else
		D_INFO("%s %s: shards on %zu ranks (%zu per collective)", what, uuid_s, n,
		       pm.chunk);
	st = shards_resp(rc, err, failed, &tot, out, out_len);
	free(o);
	free(all);
	return st;
}

static int h_pool_create(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
			 size_t *out_len)
{
	Mgmt__PoolCreateReq *r = mgmt__pool_create_req__unpack(NULL, len, req);
	int st;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	st = create_shards(eng, "pool create", r->uuid, r->ranks, r->n_ranks, r->tier_bytes,
			   r->n_tier_bytes, out, out_len);
	mgmt__pool_create_req__free_unpacked(r, NULL);
	return st;
}

static int h_pool_extend(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
			 size_t *out_len)
{
	Mgmt__PoolExtendReq *r = mgmt__pool_extend_req__unpack(NULL, len, req);
	int st;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	st = create_shards(eng, "pool extend", r->id, r->ranks, r->n_ranks, r->tier_bytes,
			   r->n_tier_bytes, out, out_len);
	mgmt__pool_extend_req__free_unpacked(r, NULL);
	return st;
}

static int h_pool_destroy(struct dss_engine *eng, const uint8_t *req, size_t len,
			  uint8_t **out, size_t *out_len)
{
	Mgmt__PoolDestroyReq *r = mgmt__pool_destroy_req__unpack(NULL, len, req);
	Mgmt__PoolDestroyResp resp = MGMT__POOL_DESTROY_RESP__INIT;
	uint32_t group[CRT_CORPC_MAX_RANKS], self, ver, failed;
	uint8_t uuid[16];
	char err[256];
	size_t ng;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	resp.status = req_pool("pool destroy", r->id, uuid, NULL, NULL, NULL, 0);
	if (resp.status == 0 && eng->crt == NULL) {
		resp.status = -DER_UNREACH;
	} else if (resp.status == 0) {
		/* every member of the group map (the MS removes dead ranks from it) */
		ng = crt_group_ranks(eng->crt, &self, &ver, group, CRT_CORPC_MAX_RANKS);
		if (ng > CRT_CORPC_MAX_RANKS)
			ng = CRT_CORPC_MAX_RANKS;
		resp.status = destroy_on(eng, uuid, group, ng, CRT_NIL_RANK, &failed, err,
					 sizeof(err));
		if (resp.status != 0)
			D_ERROR("pool destroy %s: %s (%d)", r->id, err, resp.status);
		else
			D_INFO("pool destroy %s: done on %zu ranks", r->id, ng);
	}
	mgmt__pool_destroy_req__free_unpacked(r, NULL);
	return PACK_INTO(&resp, mgmt__pool_destroy_resp, out, out_len);
}

/* What pool query takes from the held map: the target counts and the ranks to ask. */
struct query_visit {
	Mgmt__PoolQueryResp *resp;
	uint32_t *ranks;              /* the ranks with active targets, n of them (malloc'd) */
	uint64_t *masks;              /* their active targets */
	size_t n;
	int nomem;
};

static void query_visit(const struct pool_map *m, void *arg)
{
	struct query_visit *qv = arg;

	qv->resp->version = m->version;
	qv->ranks = calloc((size_t)m->nranks + 1, sizeof(*qv->ranks));
	qv->masks = calloc((size_t)m->nranks + 1, sizeof(*qv->masks));
	if (qv->ranks == NULL || qv->masks == NULL) {
		qv->nomem = 1;
		return;
	}
	for (int i = 0; i < m->nranks; i++) {
		uint64_t mask = 0;

		for (int t = 0; t < m->ranks[i].ntgts; t++) {
			int s = m->ranks[i].states[t];

			qv->resp->total_targets++;
			if (pool_tgt_active(s)) {
				mask |= 1ULL << t;
				qv->resp->active_targets++;
			} else if (s == POOL_TGT_DOWN || s == POOL_TGT_DOWN_OUT) {
				qv->resp->disabled_targets++;
			}
		}
		if (mask != 0) {
			qv->masks[qv->n] = mask;
			qv->ranks[qv->n++] = m->ranks[i].rank;
		}
	}
}

/*
 * POOL_QUERY: the tier stats over the active targets of the held map, one TGT_QUERY
 * collective per chunk of the ranks with active targets (their masks in the input), the
 * chunks' outputs folded like the tree folds its members'.
 */
static int h_pool_query(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
			size_t *out_len)
{
	Mgmt__PoolQueryReq *r = mgmt__pool_query_req__unpack(NULL, len, req);
	Mgmt__PoolQueryResp resp = MGMT__POOL_QUERY_RESP__INIT;
	Mgmt__StorageUsageStats ts[2] = {MGMT__STORAGE_USAGE_STATS__INIT,
					 MGMT__STORAGE_USAGE_STATS__INIT};
	Mgmt__StorageUsageStats *tsp[2] = {&ts[0], &ts[1]};
	struct pool_tgt_query_in *in = NULL;
	struct pool_tgt_query_out o, chunk;
	uint32_t failed;
	struct query_visit qv = {.resp = &resp};
	char err[256];
	int st;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	pool_query_out_init(&o);
	resp.uuid = r->id;
	in = calloc(1, sizeof(*in));
	if (in == NULL) {
		resp.status = -DER_NOMEM;
		goto reply;
	}
	resp.status = req_pool("pool query", r->id, in->uuid, query_visit, &qv, NULL, 0);
	if (resp.status == 0 && qv.nomem)
		resp.status = -DER_NOMEM;
	if (resp.status != 0)
		goto reply;
	for (size_t off = 0; off < qv.n; off += in->n) {
		in->n = (uint32_t)chunk_len(qv.n, off);
		for (uint32_t i = 0; i < in->n; i++) {
			in->ent[i].rank = qv.ranks[off + i];
			in->ent[i].mask = qv.masks[off + i];
		}
		memset(&chunk, 0, sizeof(chunk));
		resp.status = pool_corpc(eng, POOL_RPC_TGT_QUERY, in, sizeof(*in), &in->skip_rank,
					 qv.ranks + off, in->n, POOL_TIMEOUT_MS, &chunk,
					 sizeof(chunk), &failed, err, sizeof(err));
		if (resp.status == 0) {
			pool_query_fold(&o, &chunk);
			resp.status = o.rc;
		}
		if (resp.status != 0) {
			D_ERROR("pool query %s: ranks %zu..%zu of %zu: %d", r->id, off,
				off + in->n - 1, qv.n, resp.status);
			goto reply;
		}
	}
	for (int t = 0; t < 2; t++) {
		ts[t].total = o.tier[t].total;
		ts[t].free = o.tier[t].free;
		ts[t].min = o.tier[t].n ? o.tier[t].min : 0;
		ts[t].max = o.tier[t].max;
		ts[t].mean = o.tier[t].n ? o.tier[t].free / o.tier[t].n : 0;
		ts[t].media_type = t == 0 ? MGMT__STORAGE_MEDIA_TYPE__SCM
					  : MGMT__STORAGE_MEDIA_TYPE__NVME;
	}
	resp.tier_stats = tsp;
	resp.n_tier_stats = 2;
reply:
	st = PACK_INTO(&resp, mgmt__pool_query_resp, out, out_len);
	free(in);
	free(qv.ranks);
	free(qv.masks);
	mgmt__pool_query_req__free_unpacked(r, NULL);
	return st;
}

/* What pool query targets takes from the held map: the target states of one rank. */
struct rank_states {
	uint32_t rank;
	int ntgt; /* 0: the map has no such rank */
	uint8_t states[POOL_CO_MAX_TGTS];
};

static void rank_states_visit(const struct pool_map *m, void *arg)
{
	struct rank_states *rs = arg;
	const struct pool_map_rank *mr = pool_map_find(m, rs->rank);

	if (mr != NULL) {
		rs->ntgt = mr->ntgts > POOL_CO_MAX_TGTS ? POOL_CO_MAX_TGTS : mr->ntgts;
		memcpy(rs->states, mr->states, (size_t)rs->ntgt);
	}
}

static int h_pool_query_targets(struct dss_engine *eng, const uint8_t *req, size_t len,
				uint8_t **out, size_t *out_len)
{
	Mgmt__PoolQueryTargetReq *r = mgmt__pool_query_target_req__unpack(NULL, len, req);
	Mgmt__PoolQueryTargetResp resp = MGMT__POOL_QUERY_TARGET_RESP__INIT;
	Mgmt__PoolQueryTargetInfo *infos = NULL, **pinfos = NULL;
	Mgmt__StorageTargetUsage *use = NULL, **puse = NULL;
	struct pool_tgt_space_out so = {0};
	struct rank_states rs = {0};
	const uint8_t *states = rs.states;
	struct crt_rpc *rpc = NULL;
	uint8_t uuid[16];
	size_t nt = 0;
	int st, ntgt;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	rs.rank = r->rank;
	resp.status = req_pool("pool query targets", r->id, uuid, rank_states_visit, &rs, NULL,
			       0);
	if (resp.status != 0)
		goto reply;
	ntgt = rs.ntgt;
	if (ntgt == 0) {
		resp.status = -DER_NONEXIST;
		goto reply;
	}
	for (size_t i = 0; i < r->n_targets; i++)
		if (r->targets[i] >= (uint32_t)ntgt) {
			D_ERROR("pool query targets: rank %u has targets 0..%d, not %u", r->rank,
				ntgt - 1, r->targets[i]);
			resp.status = -DER_INVAL;
			goto reply;
		}
	if (eng->crt == NULL) {
		resp.status = -DER_UNREACH;
		goto reply;
	}
	resp.status = crt_req_create(crt_context_get(eng->crt, 0), r->rank, 0,
				     CRT_PROTO_OPC(POOL_OPC_BASE, POOL_PROTO_VERSION,
						   POOL_RPC_TGT_SPACE), &rpc);
	if (resp.status != 0) {
		resp.status = -DER_NOMEM;
		goto reply;
	}
	memcpy(((struct pool_tgt_space_in *)crt_req_input(rpc))->uuid, uuid, 16);
	crt_req_set_timeout(rpc, POOL_TIMEOUT_MS);
	resp.status = crt_req_send_sync(rpc);
	if (resp.status == 0)
		memcpy(&so, crt_req_output(rpc), sizeof(so));
	crt_req_decref(rpc);
	if (resp.status != 0)
		goto reply;
	nt = r->n_targets ? r->n_targets : (size_t)ntgt;
	infos = calloc(nt, sizeof(*infos));
	pinfos = calloc(nt, sizeof(*pinfos));
	use = calloc(2 * nt, sizeof(*use));
	puse = calloc(2 * nt, sizeof(*puse));
	if (infos == NULL || pinfos == NULL || use == NULL || puse == NULL) {
		resp.status = -DER_NOMEM;
		goto reply;
	}
	for (size_t i = 0; i < nt; i++) {
		uint32_t t = r->n_targets ? r->targets[i] : (uint32_t)i;

		mgmt__pool_query_target_info__init(&infos[i]);
		infos[i].type = MGMT__POOL_QUERY_TARGET_INFO__TARGET_TYPE__PM;
		infos[i].state = states[t];
		for (int k = 0; k < 2; k++) {
			Mgmt__StorageTargetUsage *u = &use[2 * i + (size_t)k];

			mgmt__storage_target_usage__init(u);
			if (t < so.ntgt) {
				u->total = so.sp[t].total[k];
				u->free = so.sp[t].free[k];
			}
			u->media_type = k == 0 ? MGMT__STORAGE_MEDIA_TYPE__SCM
					       : MGMT__STORAGE_MEDIA_TYPE__NVME;
			puse[2 * i + (size_t)k] = u;
		}
		infos[i].space = &puse[2 * i];
		infos[i].n_space = 2;
		pinfos[i] = &infos[i];
	}
	resp.infos = pinfos;
	resp.n_infos = nt;
reply:
	if (resp.status != 0)
		resp.n_infos = 0;
	st = PACK_INTO(&resp, mgmt__pool_query_target_resp, out, out_len);
	free(infos);
	free(pinfos);
	free(use);
	free(puse);
	mgmt__pool_query_target_req__free_unpacked(r, NULL);
	return st;
}

/*
 * POOL_MAP_SET: the map checked and applied here first, then sent to the map's ranks this
 * engine can reach in chunks of pm.chunk ranks, one collective per chunk over all those
 * ranks, chunk k+1 after chunk k completed: each engine installs the map with its last chunk.
 * A rank that refused a chunk (out of order, say after it missed one) fails the call with its
 * status; a rank that did not answer is only logged (the MS pushes the map again when it
 * rejoins), as a rank the group map does not hold.
 */
static int h_pool_map_set(struct dss_engine *eng, const uint8_t *req, size_t len, uint8_t **out,
			  size_t *out_len)
{
	Mgmt__PoolMapSetReq *r = mgmt__pool_map_set_req__unpack(NULL, len, req);
	Mgmt__DaosResp resp = MGMT__DAOS_RESP__INIT;
	struct pool_map_set_in *in = NULL;
	struct pool_map_set_out o = {0};
	struct pool_map_rank *mr = NULL;
	uint32_t *ranks = NULL, failed;
	char err[256] = "";
	int rc;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	in = calloc(1, sizeof(*in));
	if (in == NULL) {
		resp.status = -DER_NOMEM;
		goto reply;
	}
	resp.status = req_pool("pool map set", r->uuid, in->uuid, NULL, NULL, NULL, 0);
	if (resp.status != 0)
		goto reply;
	if (r->n_ranks < 1 || r->n_ranks > CRT_CORPC_MAX_RANKS) {
		D_ERROR("pool map set %s: %zu ranks: must be 1..%d (a pool spans at most the "
			"engines' collective bound, CRT_CORPC_MAX_RANKS)", r->uuid, r->n_ranks,
			CRT_CORPC_MAX_RANKS);
		resp.status = -DER_INVAL;
		goto reply;
	}
	mr = calloc(r->n_ranks, sizeof(*mr));
	ranks = calloc(r->n_ranks, sizeof(*ranks));
	if (mr == NULL || ranks == NULL) {
		resp.status = -DER_NOMEM;
		goto reply;
	}
	for (size_t i = 0; i < r->n_ranks; i++) {
		const Mgmt__PoolMapRank *pr = r->ranks[i];

		if (pr->n_target_states > POOL_CO_MAX_TGTS) {
			D_ERROR("pool map set %s: rank %u has %zu targets (at most %d)", r->uuid,
				pr->rank, pr->n_target_states, POOL_CO_MAX_TGTS);
			resp.status = -DER_INVAL;
			goto reply;
		}
		mr[i].rank = pr->rank;
		mr[i].ntgts = (int)pr->n_target_states;
		for (size_t t = 0; t < pr->n_target_states; t++) {
			if ((int)pr->target_states[t] < 0 || (int)pr->target_states[t] > POOL_TGT_DRAIN) {
				D_ERROR("pool map set %s: rank %u target %zu: state %d unknown",
					r->uuid, pr->rank, t, (int)pr->target_states[t]);
				resp.status = -DER_INVAL;
				goto reply;
			}
			mr[i].states[t] = (uint8_t)pr->target_states[t];
		}
	}
	/* check and keep it here first: a bad map is refused before it travels */
	rc = map_apply(in->uuid, r->version, mr, (int)r->n_ranks, err, sizeof(err));
	if (rc < 0) {
		D_ERROR("pool map set %s: %s", r->uuid, err);
		resp.status = rc;
		goto reply;
	}
	/*
	 * Distribute to the map's ranks this engine can reach (its group map): a rank that is
	 * down gets the map again from the MS when it rejoins.
	 */
	{
		uint32_t group[CRT_CORPC_MAX_RANKS], self, ver;
		size_t ng = eng->crt ? crt_group_ranks(eng->crt, &self, &ver, group,
						       CRT_CORPC_MAX_RANKS)
				     : 0, n = 0;

		if (ng > CRT_CORPC_MAX_RANKS)
			ng = CRT_CORPC_MAX_RANKS;
		for (size_t i = 0; i < r->n_ranks; i++)
			for (size_t g = 0; g < ng; g++)
				if (group[g] == mr[i].rank)
					ranks[n++] = mr[i].rank;
		in->version = r->version;
		in->total = (uint32_t)r->n_ranks;
		for (size_t off = 0; n > 0 && off < r->n_ranks; off += in->nranks) {
			in->offset = (uint32_t)off;
			in->nranks = (uint32_t)chunk_len(r->n_ranks, off);
			for (uint32_t i = 0; i < in->nranks; i++) {
				in->ranks[i].rank = mr[off + i].rank;
				in->ranks[i].ntgts = (uint32_t)mr[off + i].ntgts;
				memcpy(in->ranks[i].states, mr[off + i].states, POOL_CO_MAX_TGTS);
			}
			memset(&o, 0, sizeof(o));
			rc = pool_corpc(eng, POOL_RPC_MAP_SET, in, sizeof(*in), &in->skip_rank,
					ranks, n, POOL_TIMEOUT_MS, &o, sizeof(o), &failed, err,
					sizeof(err));
			if (o.rc != 0) {
				/* a rank refused the chunk: it will not hold this map */
				D_ERROR("pool map set %s v%u: rank %u refused ranks %zu..%u of %zu: "
					"%d", r->uuid, r->version, o.failed_rank, off,
					in->offset + in->nranks - 1, r->n_ranks, o.rc);
				resp.status = o.rc;
				goto reply;
			}
			if (rc != 0)
				D_WARN("pool map set %s v%u: ranks %zu..%u of %zu: not every rank "
				       "took them: %s (%d)", r->uuid, r->version, off,
				       in->offset + in->nranks - 1, r->n_ranks, err, rc);
		}
	}
	D_INFO("pool map set %s: version %u, %zu ranks (%zu per message)", r->uuid, r->version,
	       r->n_ranks, pm.chunk);
reply:
	free(in);
	free(mr);
	free(ranks);
	mgmt__pool_map_set_req__free_unpacked(r, NULL);
	return PACK_INTO(&resp, mgmt__daos_resp, out, out_len);
}

static int h_smd_list_pools(struct dss_engine *eng, const uint8_t *req, size_t len,
			    uint8_t **out, size_t *out_len)
{
	Ctl__SmdPoolReq *r = ctl__smd_pool_req__unpack(NULL, len, req);
	Ctl__SmdPoolResp resp = CTL__SMD_POOL_RESP__INIT;
	struct vos_pool_info info[POOL_MAX_POOLS];
	Ctl__SmdPoolResp__Pool pools[POOL_MAX_POOLS], *pp[POOL_MAX_POOLS];
	char uuids[POOL_MAX_POOLS][37];
	int32_t *ids = NULL;
	uint64_t *blobs = NULL;
	struct vos_engine *vos;
	int n = 0, st, ntgt = eng->args.targets;

	if (r == NULL)
		return DRPC__STATUS__FAILED_UNMARSHAL_PAYLOAD;
	ctl__smd_pool_req__free_unpacked(r, NULL);
	vos = pool_vos(eng);
	if (vos == NULL) {
		resp.status = -DER_IO;
		goto reply;
	}
	n = vos_pool_list(vos, info, POOL_MAX_POOLS);
	if (n > POOL_MAX_POOLS)
		n = POOL_MAX_POOLS;
	ids = calloc((size_t)(n * ntgt + 1), sizeof(*ids));
	blobs = calloc((size_t)(n * ntgt + 1), sizeof(*blobs));
	if (ids == NULL || blobs == NULL) {
		resp.status = -DER_NOMEM;
		n = 0;
		goto reply;
	}
	for (int i = 0; i < n; i++) {
		ctl__smd_pool_resp__pool__init(&pools[i]);
		vos_uuid_format(info[i].uuid, uuids[i]);
		pools[i].uuid = uuids[i];
		pools[i].tgt_ids = &ids[i * ntgt];
		pools[i].blobs = &blobs[i * ntgt];
		pools[i].n_tgt_ids = pools[i].n_blobs = info[i].ntgt > (uint32_t)ntgt
								 ? (size_t)ntgt
								 : info[i].ntgt;
		for (size_t t = 0; t < pools[i].n_tgt_ids; t++) {
			struct vos_target_info ti;
			char err[256];

			ids[i * ntgt + (int)t] = (int32_t)t;
			if (vos_target_info(vos, info[i].uuid, (int)t, &ti, err, sizeof(err)) == 0)
				blobs[i * ntgt + (int)t] = ti.nvme_len ? ti.nvme_off : 0;
		}
		pp[i] = &pools[i];
	}
	resp.pools = pp;
	resp.n_pools = (size_t)n;
reply:
	st = PACK_INTO(&resp, ctl__smd_pool_resp, out, out_len);
	free(ids);
	free(blobs);
	return st;
}

static const struct dss_drpc_handler pool_handlers[] = {
	{DRPC_METHOD_POOL_CREATE, h_pool_create},
	{DRPC_METHOD_POOL_DESTROY, h_pool_destroy},
	{DRPC_METHOD_SMD_LIST_POOLS, h_smd_list_pools},
	{DRPC_METHOD_POOL_QUERY, h_pool_query},
	{DRPC_METHOD_POOL_EXTEND, h_pool_extend},
	{DRPC_METHOD_POOL_QUERY_TARGETS, h_pool_query_targets},
	{DRPC_METHOD_POOL_MAP_SET, h_pool_map_set},
	{0, NULL},
};

/* A non-negative integer environment variable, or def when unset; -1 when not a number. */
static int env_ms(const char *name, int def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < 0 || n > 3600000)
		return -1;
	return (int)n;
}

static int pool_init(struct dss_engine *eng)
{
	(void)eng;
	pm.create_timeout_ms = env_ms(POOL_CREATE_TIMEOUT_ENV, POOL_CREATE_TIMEOUT_MS);
	pm.fi_create_delay_ms = env_ms(POOL_FI_CREATE_DELAY_ENV, 0);
	if (pm.create_timeout_ms < 1) {
		D_ERROR("pool: %s=%s: not a timeout in ms (1..3600000)", POOL_CREATE_TIMEOUT_ENV,
			getenv(POOL_CREATE_TIMEOUT_ENV));
		return -EINVAL;
	}
	pm.chunk = POOL_CO_MAX_RANKS;
	{
		const char *v = getenv(POOL_CHUNK_RANKS_ENV);
		char *end;
		long k;

		if (v != NULL && *v != '\0') {
			k = strtol(v, &end, 10);
			if (*end != '\0' || k < 1 || k > POOL_CO_MAX_RANKS)
				D_ERROR("pool: %s=%s: not a chunk size (1..%d ranks per message): "
					"keeping %d", POOL_CHUNK_RANKS_ENV, v, POOL_CO_MAX_RANKS,
					POOL_CO_MAX_RANKS);
			else
				pm.chunk = (size_t)k;
		}
	}
	if (pm.fi_create_delay_ms < 0) {
		D_ERROR("pool: %s=%s: not a delay in ms (0..3600000)", POOL_FI_CREATE_DELAY_ENV,
			getenv(POOL_FI_CREATE_DELAY_ENV));
		return -EINVAL;
	}
	return 0;
}

/* SetUp: the storage is formatted and mounted by now; reopen the shards (engine restart). */
static int pool_setup(struct dss_engine *eng)
{
	(void)pool_vos(eng); /* a failure is logged and answered per call, never fatal */
	return 0;
}

static int pool_fini(struct dss_engine *eng)
{
	(void)eng;
	pthread_mutex_lock(&pm.lock);
	if (pm.vos != NULL)
		vos_engine_close(pm.vos);
	pm.vos = NULL;
	pm.open_tried = 0;
	for (int i = 0; i < pm.nmaps; i++)
		pool_map_clear(&pm.maps[i]);
	pm.nmaps = 0;
	for (int i = 0; i < POOL_MAX_STAGES; i++)
		pool_map_stage_clear(&pm.stages[i]);
	pthread_mutex_unlock(&pm.lock);
	return 0;
}

DSS_MODULE_EXPORT const struct dss_module pool_module = {
	.interface_version = DSS_MODULE_INTERFACE_VERSION,
	.name = "pool",
	.drpc_module_id = DRPC_MODULE_MGMT,
	.init = pool_init,
	.fini = pool_fini,
	.setup = pool_setup,
	.handlers = pool_handlers,
	.proto = &pool_proto,
};
