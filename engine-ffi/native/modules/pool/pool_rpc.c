/* Aggregation of the pool protocol's collective outputs (pure: unit tested). */
#include <string.h>

#include "der.h"
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
