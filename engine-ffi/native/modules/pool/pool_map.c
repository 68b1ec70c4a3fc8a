/* The pool module's pure parts: size split, map versioning, tier stats, reply aggregation. */
#include "pool_map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "der.h"

int pool_split(uint64_t per_rank, int ntargets, uint64_t *per_tgt, char *err, size_t errlen)
{
	if (ntargets < 1) {
		snprintf(err, errlen, "engine target count %d: must be >= 1 to split a pool's "
			 "per-rank size", ntargets);
		return -EINVAL;
	}
	if (per_rank != 0 && per_rank < (uint64_t)ntargets) {
		snprintf(err, errlen, "per-rank size %llu bytes is smaller than one byte for each "
			 "of the %d targets: request more", (unsigned long long)per_rank, ntargets);
		return -ERANGE;
	}
	*per_tgt = per_rank / (uint64_t)ntargets;
	return 0;
}

int pool_tgt_active(int s)
{
	return s == POOL_TGT_UP || s == POOL_TGT_UP_IN || s == POOL_TGT_DRAIN;
}

static int rank_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct pool_map_rank *)a)->rank;
	uint32_t y = ((const struct pool_map_rank *)b)->rank;

	return x < y ? -1 : x > y;
}

int pool_map_apply(struct pool_map *held, const uint8_t uuid[16], uint32_t version,
		   const struct pool_map_rank *ranks, int nranks, char *err, size_t errlen)
{
	struct pool_map_rank *copy;

	if (version == 0) {
		snprintf(err, errlen, "pool map version 0: versions start at 1");
		return -EINVAL;
	}
	if (nranks < 1 || nranks > POOL_MAP_MAX_RANKS) {
		snprintf(err, errlen, "pool map with %d ranks: must be 1..%d", nranks,
			 POOL_MAP_MAX_RANKS);
		return -EINVAL;
	}
	/* not newer: accepted and ignored (the MS and the IV may both deliver one version) */
	if (held->version != 0 && version <= held->version)
		return 0;
	for (int i = 0; i < nranks; i++) {
		if (ranks[i].ntgts < 1 || ranks[i].ntgts > POOL_MAP_MAX_TGTS) {
			snprintf(err, errlen, "pool map rank %u has %d targets: must be 1..%d",
				 ranks[i].rank, ranks[i].ntgts, POOL_MAP_MAX_TGTS);
			return -EINVAL;
		}
		for (int t = 0; t < ranks[i].ntgts; t++)
			if (ranks[i].states[t] == POOL_TGT_UNKNOWN ||
			    ranks[i].states[t] > POOL_TGT_DRAIN) {
				snprintf(err, errlen, "pool map rank %u target %d has state %u: "
					 "not a target state (1..6)", ranks[i].rank, t,
					 ranks[i].states[t]);
				return -EINVAL;
			}
	}
	copy = malloc(sizeof(*copy) * (size_t)nranks);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, ranks, sizeof(*copy) * (size_t)nranks);
	qsort(copy, (size_t)nranks, sizeof(*copy), rank_cmp);
	for (int i = 1; i < nranks; i++)
		if (copy[i].rank == copy[i - 1].rank) {
			snprintf(err, errlen, "pool map lists rank %u twice", copy[i].rank);
			free(copy);
			return -EINVAL;
		}
	free(held->ranks);
	memcpy(held->uuid, uuid, 16);
	held->version = version;
	held->nranks = nranks;
	held->ranks = copy;
	return 1;
}

const struct pool_map_rank *pool_map_find(const struct pool_map *m, uint32_t rank)
{
	struct pool_map_rank key = {.rank = rank};

	if (m->ranks == NULL)
		return NULL;
	return bsearch(&key, m->ranks, (size_t)m->nranks, sizeof(key), rank_cmp);
}

void pool_map_clear(struct pool_map *m)
{
	free(m->ranks);
	memset(m, 0, sizeof(*m));
}

void pool_map_stage_clear(struct pool_map_stage *st)
{
	free(st->ranks);
	memset(st, 0, sizeof(*st));
}

int pool_map_stage_slot(const struct pool_map_stage *st, const uint64_t *used, int n,
			const uint8_t uuid[16], uint32_t offset)
{
	int oldest = 0;

	for (int i = 0; i < n; i++)
		if (st[i].version != 0 && memcmp(st[i].uuid, uuid, 16) == 0)
			return i;
	if (offset != 0 || n <= 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (st[i].version == 0)
			return i;
	for (int i = 1; i < n; i++)
		if (used[i] < used[oldest])
			oldest = i;
	return oldest;
}

int pool_map_stage_add(struct pool_map_stage *st, const uint8_t uuid[16], uint32_t version,
		       uint32_t offset, uint32_t count, uint32_t total, uint32_t limit,
		       const struct pool_map_rank *ranks, char *err, size_t errlen)
{
	if (version == 0 || count == 0 || total == 0 || total > limit || offset > total ||
	    count > total - offset) {
		snprintf(err, errlen, "pool map chunk v%u: %u ranks at offset %u of %u: must be "
			 "version >= 1, 1 <= offset + ranks <= total <= %u", version, count, offset,
			 total, limit);
		pool_map_stage_clear(st);
		return -EINVAL;
	}
	if (offset == 0) {
		/* a first chunk: the root starts (over) sending this map */
		pool_map_stage_clear(st);
		st->ranks = calloc(total, sizeof(*st->ranks));
		if (st->ranks == NULL)
			return -ENOMEM;
		memcpy(st->uuid, uuid, 16);
		st->version = version;
		st->total = (int)total;
	} else if (st->version == 0) {
		snprintf(err, errlen, "pool map chunk v%u at offset %u of %u: no chunk before it "
			 "(the first is missing or was refused)", version, offset, total);
		return -EPROTO;
	} else if (memcmp(st->uuid, uuid, 16) != 0 || st->version != version ||
		   (uint32_t)st->total != total || (uint32_t)st->have != offset) {
		snprintf(err, errlen, "pool map chunk v%u at offset %u of %u does not continue the "
			 "staged map v%u (%d of %d ranks received): chunk %s; the stage is dropped",
			 version, offset, total, st->version, st->have, st->total,
			 memcmp(st->uuid, uuid, 16) != 0 ? "of another pool"
			 : st->version != version         ? "of another version"
			 : (uint32_t)st->total != total   ? "with another total"
			 : offset < (uint32_t)st->have    ? "repeated"
							  : "after a missing one");
		pool_map_stage_clear(st);
		return -EPROTO;
	}
	memcpy(&st->ranks[offset], ranks, sizeof(*ranks) * count);
	st->have = (int)(offset + count);
	return st->have == st->total ? 1 : 0;
}

void pool_tier_stats(const struct pool_tgt_space *sp, const uint8_t *state, int n,
		     struct pool_tier_stats *out, int *nactive)
{
	int k = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++) {
		if (!pool_tgt_active(state[i]))
			continue;
		out->total += sp[i].total;
		out->free += sp[i].free;
		if (k == 0 || sp[i].free < out->min)
			out->min = sp[i].free;
		if (sp[i].free > out->max)
			out->max = sp[i].free;
		k++;
	}
	out->mean = k > 0 ? out->free / (uint64_t)k : 0;
	*nactive = k;
}

void pool_create_aggregate(const struct pool_rank_result *res, int n,
			   const uint64_t request[2], struct pool_create_reply *out)
{
	int nospace = 0;

	memset(out, 0, sizeof(*out));
	out->largest[0] = out->largest[1] = UINT64_MAX;
	out->nospace_tier = -1;
	for (int i = 0; i < n; i++) {
		for (int t = 0; t < 2; t++)
			if (res[i].largest[t] < out->largest[t])
				out->largest[t] = res[i].largest[t];
		if (res[i].rc == 0)
			continue;
		/* the first failure, unless a later one is NOSPACE and the first is not */
		if (out->status == 0 || (res[i].rc == -DER_NOSPACE && !nospace)) {
			out->status = res[i].rc;
			out->failed_rank = res[i].rank;
			nospace = res[i].rc == -DER_NOSPACE;
		}
	}
	if (!nospace)
		return;
	for (int t = 0; t < 2; t++)
		if (request[t] > out->largest[t]) {
			out->nospace_tier = t;
			break;
		}
}
