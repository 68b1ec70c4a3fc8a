/*
 * The pool module's dRPC methods and its engine-to-engine RPC protocol: fixed-layout inputs
 * and outputs (crt.h checks their exact length) and the folds that aggregate collective
 * outputs up the tree (pool_rpc.c, pure, unit tested).
 *
 * A pool spans up to CRT_CORPC_MAX_RANKS ranks (the collective layer's bound), but every
 * message must fit one fabric datagram (CRT_MAX_MSG), so the messages that carry one entry per
 * rank hold at most POOL_CO_MAX_RANKS of them: a pool's ranks are handled in chunks of that
 * many (fewer with POOL_CHUNK_RANKS_ENV). Create and query run one collective per chunk, the
 * chunk's ranks as its members, and fold the chunks' outputs at the root; map set sends every
 * chunk of the map to all the map's ranks, one collective after the other, and each engine
 * assembles them (pool_map_stage_add) before it installs the whole map.
 */
#ifndef POOL_MODULE_H
#define POOL_MODULE_H

#include <stddef.h>
#include <stdint.h>

/* dRPC methods of module MGMT served by the pool module (control/drpc/ids.ts). */
enum pool_drpc_method {
	DRPC_METHOD_POOL_CREATE = 207,
	DRPC_METHOD_POOL_DESTROY = 208,
	DRPC_METHOD_SMD_LIST_POOLS = 212,
	DRPC_METHOD_POOL_QUERY = 223,
	DRPC_METHOD_POOL_EXTEND = 229,
	DRPC_METHOD_POOL_QUERY_TARGETS = 240,
	DRPC_METHOD_POOL_MAP_SET = 253,
};

#define POOL_OPC_BASE      0xFC000000u
#define POOL_PROTO_VERSION 2 /* 2: map set in chunks (offset, total) */
/*
 * The per-rank entries one message holds (a chunk of a pool's ranks) and a rank's targets:
 * bounded so every message fits CRT_MAX_MSG. A pool's own bound is CRT_CORPC_MAX_RANKS.
 */
#define POOL_CO_MAX_RANKS  32
#define POOL_CO_MAX_TGTS   32
#define POOL_TIMEOUT_MS        10000
#define POOL_CREATE_TIMEOUT_MS 60000
/* Overrides POOL_CREATE_TIMEOUT_MS (the collective target create's budget), read at init. */
#define POOL_CREATE_TIMEOUT_ENV "DAOS_POOL_CREATE_TIMEOUT_MS"
/* Overrides the chunk size (ranks per message, 1..POOL_CO_MAX_RANKS), read at init (tests). */
#define POOL_CHUNK_RANKS_ENV "DAOS_POOL_CHUNK_RANKS"
/* Fault injection for tests: every target create of this engine first sleeps this long. */
#define POOL_FI_CREATE_DELAY_ENV "DAOS_POOL_FI_CREATE_DELAY_MS"

enum pool_rpc {
	POOL_RPC_TGT_CREATE = 0,
	POOL_RPC_TGT_DESTROY = 1,
	POOL_RPC_TGT_QUERY = 2,
	POOL_RPC_MAP_SET = 3,
	POOL_RPC_TGT_SPACE = 4,
};

/* The root sends to itself too; skip_rank = its rank when it is not one of the ranks. */
struct pool_tgt_create_in {
	uint8_t uuid[16];
	uint64_t tier_bytes[2]; /* per rank: SCM, NVMe (0 = none) */
	uint32_t skip_rank;
	uint32_t check_only;    /* 1: check existence and space, allocate nothing */
};

struct pool_rank_shards {
	uint32_t rank;
	uint32_t ntgt;
	uint64_t tier_bytes[2]; /* allocated on the rank */
};

struct pool_tgt_create_out {
	int32_t rc;             /* first failure, NOSPACE preferred */
	uint32_t failed_rank;
	uint32_t n;             /* entries of r */
	uint32_t nospace_tiers; /* bit 0 SCM, bit 1 NVMe */
	uint64_t largest[2];    /* per rank, minimum over the ranks; UINT64_MAX = unknown */
	struct pool_rank_shards r[POOL_CO_MAX_RANKS];
	char error[160];        /* the failure's message, from the failing rank */
};

struct pool_tgt_destroy_in {
	uint8_t uuid[16];
	uint32_t skip_rank;
	uint32_t pad;
};

/* Output of destroy and map set: the first failure. */
struct pool_tgt_destroy_out {
	int32_t rc;
	uint32_t failed_rank;
};
#define pool_map_set_out pool_tgt_destroy_out

struct pool_tgt_query_in {
	uint8_t uuid[16];
	uint32_t skip_rank;     /* unused: ranks without an entry report nothing */
	uint32_t n;
	struct {
		uint32_t rank;
		uint32_t pad;
		uint64_t mask;  /* targets counted (bit t = target t) */
	} ent[POOL_CO_MAX_RANKS];
};

struct pool_tier_acc {
	uint64_t total, free, min, max, n;
};

struct pool_tgt_query_out {
	int32_t rc;
	uint32_t failed_rank;
	struct pool_tier_acc tier[2];
};

/* One chunk of a pool map: ranks[0..nranks) are the map's ranks offset.. of total. */
struct pool_map_set_in {
	uint8_t uuid[16];
	uint32_t version;
	uint32_t nranks;        /* entries of ranks (this chunk) */
	uint32_t skip_rank;
	uint32_t offset;        /* index of ranks[0] in the whole map */
	uint32_t total;         /* ranks of the whole map */
	uint32_t pad;
	struct {
		uint32_t rank;
		uint32_t ntgts;
		uint8_t states[POOL_CO_MAX_TGTS];
	} ranks[POOL_CO_MAX_RANKS];
};

struct pool_tgt_space_in {
	uint8_t uuid[16];
};

struct pool_tgt_space_out {
	uint32_t ntgt;
	uint32_t pad;
	struct {
		uint64_t total[2];
		uint64_t free[2];
	} sp[POOL_CO_MAX_TGTS];
};

/* Folds (crt_aggregate_t): acc already holds this node's output. */
void pool_create_fold(void *acc, const void *child);
void pool_status_fold(void *acc, const void *child);
void pool_query_fold(void *acc, const void *child);

/* A create's outputs over every chunk of the pool's ranks (the dRPC reply's content). */
struct pool_create_total {
	struct pool_tgt_create_out sum; /* status, largest, error folded; sum.r unused */
	struct pool_rank_shards *r;     /* every chunk's shards, cap entries (caller's array) */
	uint32_t n, cap;
};

/* Starts a total over r[0..cap): no failure, nothing known of the largest sizes. */
void pool_create_total_init(struct pool_create_total *t, struct pool_rank_shards *r,
			    uint32_t cap);

/* Folds one chunk's collective output into t (pool_create_fold, its shards appended). */
void pool_create_total_add(struct pool_create_total *t, const struct pool_tgt_create_out *chunk);

/* The query output a fold starts from: no failure, no target counted. */
void pool_query_out_init(struct pool_tgt_query_out *o);

struct pool_map_stage;

/*
 * Stages a MAP_SET chunk from a peer (untrusted: nranks, offset, total, ntgts bounds-checked;
 * total at most limit) with pool_map_stage_add: 1 complete, 0 staged, -EINVAL / -EPROTO /
 * -ENOMEM with err.
 */
int pool_map_set_stage(struct pool_map_stage *st, const struct pool_map_set_in *in,
		       uint32_t limit, char *err, size_t errlen);

#endif
