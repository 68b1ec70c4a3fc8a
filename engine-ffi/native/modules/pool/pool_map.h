/*
 * The pool module's pure parts (no engine, no RPC): the per-target size split of a per-rank
 * request, an engine's copy of a pool map with version checks (POOL_MAP_SET, 253: a map not
 * newer than the held one is accepted and ignored), the tier statistics of POOL_QUERY (223)
 * over the targets the map counts as in the pool, and the aggregation of per-rank collective
 * results into one POOL_CREATE reply (all or nothing; NOSPACE largest = minimum over ranks).
 * Contract: _prompts/pool_contract.md. Not wired into an engine module yet.
 */
#ifndef POOL_MAP_H
#define POOL_MAP_H

#include <stddef.h>
#include <stdint.h>

/** Target states, numbered as PoolQueryTargetInfo.TargetState (mgmt/pool.proto). */
enum pool_tgt_state {
	POOL_TGT_UNKNOWN = 0,
	POOL_TGT_DOWN_OUT = 1,
	POOL_TGT_DOWN = 2,
	POOL_TGT_UP = 3,
	POOL_TGT_UP_IN = 4,
	POOL_TGT_NEW = 5,
	POOL_TGT_DRAIN = 6,
};

#define POOL_MAP_MAX_RANKS 1024
#define POOL_MAP_MAX_TGTS  64 /* per rank */

/** One rank of a pool map: its targets' states. */
struct pool_map_rank {
	uint32_t rank;
	int ntgts;
	uint8_t states[POOL_MAP_MAX_TGTS];
};

/** An engine's copy of one pool's map. */
struct pool_map {
	uint8_t uuid[16];
	uint32_t version; /* 0 = none held yet */
	int nranks;
	struct pool_map_rank *ranks; /* malloc'd, nranks entries, sorted by rank */
};

/**
 * Per-target size of a per-rank request: per_rank / ntargets (each engine divides by its own
 * target count). 0, or -EINVAL (ntargets < 1) / -ERANGE (a nonzero request smaller than one
 * byte per target), with err naming the input.
 */
int pool_split(uint64_t per_rank, int ntargets, uint64_t *per_tgt, char *err, size_t errlen);

/** 1 when a target in state s counts in the pool's space (UP, UP_IN, DRAIN). */
int pool_tgt_active(int s);

/**
 * Applies an incoming map (version, nranks ranks) to held: 1 = applied (held now a copy),
 * 0 = ignored (version not newer than held->version), -EINVAL (version 0, duplicate rank,
 * bad target count or state; err says which), -ENOMEM. held keeps its old content on error.
 */
int pool_map_apply(struct pool_map *held, const uint8_t uuid[16], uint32_t version,
		   const struct pool_map_rank *ranks, int nranks, char *err, size_t errlen);

/** The map's entry for rank, or NULL. */
const struct pool_map_rank *pool_map_find(const struct pool_map *m, uint32_t rank);

/** Frees the ranks; the map is empty (version 0) again. */
void pool_map_clear(struct pool_map *m);

/**
 * A pool map received in chunks (POOL_MAP_SET over more ranks than one fabric message holds):
 * the chunks of one (pool, version) arrive in order from one root, offset 0 first.
 */
struct pool_map_stage {
	uint8_t uuid[16];
	uint32_t version;            /* 0 = nothing staged */
	int total;                   /* ranks of the whole map */
	int have;                    /* ranks staged: the next chunk starts here */
	struct pool_map_rank *ranks; /* malloc'd, total entries */
};

/**
 * Which of n stages takes a chunk of pool uuid at offset: the pool's own stage; else, for a
 * first chunk (offset 0), a free one, or the one idle longest (smallest used[]) when all are
 * taken, so that maps abandoned half-sent cannot lock new ones out; -1 for a later chunk with
 * nothing staged (pool_map_stage_add then refuses it on an empty stage). Pure.
 */
int pool_map_stage_slot(const struct pool_map_stage *st, const uint64_t *used, int n,
			const uint8_t uuid[16], uint32_t offset);

/**
 * Stages one chunk: count ranks at offset of a map of total ranks (all untrusted). A chunk at
 * offset 0 starts a new stage (whatever was staged is dropped: the root starts over); any
 * other chunk must continue the stage of the same pool, version and total exactly where it
 * ends. 1 = the map is complete (st->ranks holds total ranks, unchecked: the caller applies
 * them with pool_map_apply, then clears st), 0 = staged, more to come; -EINVAL (version 0,
 * count 0, offset + count > total, total > limit), -EPROTO (out of order, missing, repeated,
 * another version or total), -ENOMEM. On any error the stage is discarded and err says why.
 */
int pool_map_stage_add(struct pool_map_stage *st, const uint8_t uuid[16], uint32_t version,
		       uint32_t offset, uint32_t count, uint32_t total, uint32_t limit,
		       const struct pool_map_rank *ranks, char *err, size_t errlen);

/** Drops what st holds: nothing staged (version 0) again. */
void pool_map_stage_clear(struct pool_map_stage *st);

/** Space of one tier of one target. */
struct pool_tgt_space {
	uint64_t total;
	uint64_t free;
};

/** POOL_QUERY tier statistics (mgmt.StorageUsageStats without media type). */
struct pool_tier_stats {
	uint64_t total, free, min, max, mean;
};

/**
 * Tier stats over the targets whose state is active: total and free are sums, min/max/mean
 * of the per-target free. n targets, sp[i] with state[i]. All zero when none is active;
 * *nactive gets the count.
 */
void pool_tier_stats(const struct pool_tgt_space *sp, const uint8_t *state, int n,
		     struct pool_tier_stats *out, int *nactive);

/** One rank's result of a collective target create. */
struct pool_rank_result {
	uint32_t rank;
	int rc;                /* 0 or -DER_* */
	int ntargets;
	uint64_t tier_bytes[2]; /* as allocated, per rank */
	uint64_t largest[2];    /* -DER_NOSPACE: largest per-rank size that fits, per tier */
};

/** A collective create's reply, before encoding (mgmt.PoolShardsResp). */
struct pool_create_reply {
	int status;             /* 0 or the first failure's rc (NOSPACE preferred) */
	uint32_t failed_rank;   /* the rank of status when status != 0 */
	uint64_t largest[2];    /* NOSPACE: per tier, the minimum over the ranks */
	int nospace_tier;       /* NOSPACE: 0 = SCM, 1 = NVMe, -1 none */
};

/**
 * Aggregates n per-rank results: status 0 only when every rank succeeded. Any -DER_NOSPACE
 * wins over other failures (the caller can name the tier and a size that fits everywhere);
 * largest is the minimum over every rank's largest (ranks without NOSPACE report what they
 * could fit too, or UINT64_MAX when unknown), per tier.
 */
void pool_create_aggregate(const struct pool_rank_result *res, int n,
			   const uint64_t request[2], struct pool_create_reply *out);

#endif
