/*
 * libFuzzer target for the pool map chunks a peer sends (POOL_RPC_MAP_SET inputs, untrusted):
 * the bytes are a sequence of chunks whose version, offset, count and total are taken raw
 * (any 32-bit value) and whose entries are compact (rank, target count, states). Each chunk
 * goes through pool_map_set_stage as the engine's handler does; a completed map goes through
 * pool_map_apply. Whatever is accepted must stay within the bounds the handler relies on
 * (offset + count <= total <= limit, the stage never past its array), and every refusal must
 * say why and leave nothing staged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool_map.h"
#include "pool_module.h"

#define LIMIT 900 /* CRT_CORPC_MAX_RANKS, as the engine passes it */

static uint32_t take32(const uint8_t **p, const uint8_t *end)
{
	uint32_t v = 0;

	for (int i = 0; i < 4 && *p < end; i++)
		v |= (uint32_t)*(*p)++ << (8 * i);
	return v;
}

static uint8_t take8(const uint8_t **p, const uint8_t *end)
{
	return *p < end ? *(*p)++ : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct pool_map_set_in *in = malloc(sizeof(*in));
	struct pool_map_stage st = {0};
	struct pool_map held = {0};
	char err[256];

	if (in == NULL)
		return 0;
	while (p < end) {
		uint32_t n;
		int rc;

		memset(in, 0, sizeof(*in));
		in->uuid[0] = take8(&p, end) & 1; /* two pools */
		in->version = take32(&p, end);
		in->offset = take32(&p, end);
		in->nranks = take32(&p, end);
		in->total = take32(&p, end);
		n = in->nranks < POOL_CO_MAX_RANKS ? in->nranks : POOL_CO_MAX_RANKS;
		for (uint32_t i = 0; i < n; i++) {
			in->ranks[i].rank = take8(&p, end);
			in->ranks[i].ntgts = take8(&p, end);
			for (uint32_t t = 0; t < in->ranks[i].ntgts && t < POOL_CO_MAX_TGTS; t++)
				in->ranks[i].states[t] = take8(&p, end);
		}
		err[0] = '\0';
		rc = pool_map_set_stage(&st, in, LIMIT, err, sizeof(err));
		if (rc < 0) {
			if (err[0] == '\0' && rc != -ENOMEM)
				abort(); /* a refusal names its reason */
			if (st.version != 0 || st.ranks != NULL || (rc != -EINVAL && rc != -EPROTO &&
								    rc != -ENOMEM))
				abort();
			continue;
		}
		if (in->nranks < 1 || in->nranks > POOL_CO_MAX_RANKS || in->version == 0 ||
		    (uint64_t)in->offset + in->nranks > in->total || in->total > LIMIT)
			abort(); /* accepted out of bounds */
		if (st.total < 1 || st.total > LIMIT || st.have < 1 || st.have > st.total ||
		    st.have != (int)(in->offset + in->nranks) || st.ranks == NULL)
			abort();
		if (rc == 0) {
			if (st.have == st.total)
				abort();
			continue;
		}
		if (rc != 1 || st.have != st.total)
			abort();
		rc = pool_map_apply(&held, st.uuid, st.version, st.ranks, st.total, err,
				    sizeof(err));
		if (rc < 0 && rc != -EINVAL && rc != -ENOMEM)
			abort();
		if (rc == 1) {
			if (held.nranks != st.total || held.version != st.version)
				abort();
			for (int i = 1; i < held.nranks; i++)
				if (held.ranks[i - 1].rank >= held.ranks[i].rank)
					abort();
		}
		pool_map_stage_clear(&st);
	}
	pool_map_stage_clear(&st);
	pool_map_clear(&held);
	free(in);
	return 0;
}
