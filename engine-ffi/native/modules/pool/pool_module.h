/*
 * The pool module's dRPC methods and its engine-to-engine RPC protocol: fixed-layout inputs
 * and outputs (crt.h checks their exact length) and the folds that aggregate collective
 * outputs up the tree (pool_rpc.c, pure, unit tested).
 */
#ifndef POOL_MODULE_H
#define POOL_MODULE_H

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
#define POOL_PROTO_VERSION 1
/* A collective's ranks and a rank's targets are bounded so every message fits CRT_MAX_MSG. */
#define POOL_CO_MAX_RANKS  32
#define POOL_CO_MAX_TGTS   32
#define POOL_TIMEOUT_MS        10000
#define POOL_CREATE_TIMEOUT_MS 60000

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

struct pool_map_set_in {
	uint8_t uuid[16];
	uint32_t version;
	uint32_t nranks;
	uint32_t skip_rank;
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

#endif
