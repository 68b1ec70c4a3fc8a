/*
 * Aggregation of the pool protocol's collective outputs, over the tree and over a pool's
 * chunks, and the staging of map chunks from peers (pure: unit tested, fuzzed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "der.h"
#include "pool_map.h"
#include "pool_module.h"

void pool_create_fold(void *acc_, const void *child_)
{
	struct pool_tgt_create_out *acc = acc_;
	const struct pool_tgt_create_out *c = child_;

	for (uint32_t i = 0; i < c->n && i < POOL_CO_MAX_RANKS && acc->n < POOL_CO_MAX_RANKS; i++)
		acc->r[acc->n++] = c->r[i];
	for (int t = 0; t < 2; t++)
		if (c->largest[t] < acc->largest[t])
			acc->largest[t] = c->largest[t];
	acc->nospace_tiers |= c->nospace_tiers;
	/* NOSPACE wins over other failures: the admin can retry with a size that fits */
	if (c->rc != 0 && (acc->rc == 0 || (c->rc == -DER_NOSPACE && acc->rc != -DER_NOSPACE))) {
		acc->rc = c->rc;
		acc->failed_rank = c->failed_rank;
		memcpy(acc->error, c->error, sizeof(acc->error));
		acc->error[sizeof(acc->error) - 1] = '\0';
	}
}

void pool_status_fold(void *acc_, const void *child_)
{
	struct pool_tgt_destroy_out *acc = acc_;
	const struct pool_tgt_destroy_out *c = child_;

	if (acc->rc == 0 && c->rc != 0) {
		acc->rc = c->rc;
		acc->failed_rank = c->failed_rank;
	}
}

void pool_query_fold(void *acc_, const void *child_)
{
	struct pool_tgt_query_out *acc = acc_;
	const struct pool_tgt_query_out *c = child_;

	if (acc->rc == 0 && c->rc != 0) {
		acc->rc = c->rc;
		acc->failed_rank = c->failed_rank;
	}
	for (int t = 0; t < 2; t++) {
		acc->tier[t].total += c->tier[t].total;
		acc->tier[t].free += c->tier[t].free;
		acc->tier[t].n += c->tier[t].n;
		if (c->tier[t].min < acc->tier[t].min)
			acc->tier[t].min = c->tier[t].min;
		if (c->tier[t].max > acc->tier[t].max)
			acc->tier[t].max = c->tier[t].max;
	}
}

void pool_create_total_init(struct pool_create_total *t, struct pool_rank_shards *r,
			    uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	t->sum.failed_rank = UINT32_MAX;
	t->sum.largest[0] = t->sum.largest[1] = UINT64_MAX;
	t->r = r;
	t->cap = cap;
}

void pool_create_total_add(struct pool_create_total *t, const struct pool_tgt_create_out *chunk)
{
	for (uint32_t i = 0; i < chunk->n && i < POOL_CO_MAX_RANKS && t->n < t->cap; i++)
		t->r[t->n++] = chunk->r[i];
	t->sum.n = 0; /* the fold appends to sum.r: the shards are kept in t->r instead */
	pool_create_fold(&t->sum, chunk);
	t->sum.n = 0;
}

void pool_query_out_init(struct pool_tgt_query_out *o)
{
	memset(o, 0, sizeof(*o));
	o->failed_rank = UINT32_MAX;
	o->tier[0].min = o->tier[1].min = UINT64_MAX;
}

int pool_map_set_stage(struct pool_map_stage *st, const struct pool_map_set_in *in,
		       uint32_t limit, char *err, size_t errlen)
{
	struct pool_map_rank r[POOL_CO_MAX_RANKS];

	if (in->nranks < 1 || in->nranks > POOL_CO_MAX_RANKS) {
		snprintf(err, errlen, "pool map chunk with %u ranks: must be 1..%d", in->nranks,
			 POOL_CO_MAX_RANKS);
		pool_map_stage_clear(st);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < in->nranks; i++) {
		r[i].rank = in->ranks[i].rank;
		if (in->ranks[i].ntgts < 1 || in->ranks[i].ntgts > POOL_CO_MAX_TGTS) {
			snprintf(err, errlen, "pool map chunk: rank %u has %u targets: must be "
				 "1..%d", in->ranks[i].rank, in->ranks[i].ntgts, POOL_CO_MAX_TGTS);
			pool_map_stage_clear(st);
			return -EINVAL;
		}
		r[i].ntgts = (int)in->ranks[i].ntgts;
		memset(r[i].states, 0, sizeof(r[i].states));
		memcpy(r[i].states, in->ranks[i].states, in->ranks[i].ntgts);
	}
	return pool_map_stage_add(st, in->uuid, in->version, in->offset, in->nranks, in->total,
				  limit, r, err, errlen);
}
