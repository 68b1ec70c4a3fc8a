/* Durable free-extent allocator of a target's NVMe extent (see vea.h). */
#include "vea.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "der.h"
#include "pmem_tx.h"

static struct vea_free_df *vea_arr(const struct vea_space_df *df)
{
	return pmemobj_direct(df->vsd_free);
}

/* Runs inside a transaction: makes room for one more entry, doubling the array. */
static int vea_grow(struct vea_space_df *df)
{
	uint32_t cap = df->vsd_cap * 2;
	PMEMoid oid;

	if (df->vsd_nfree < df->vsd_cap)
		return 0;
	if (cap < df->vsd_cap)
		return -DER_NOSPACE;
	oid = pmemobj_tx_xalloc((size_t)cap * sizeof(struct vea_free_df), 0,
				POBJ_XALLOC_NO_ABORT);
	if (OID_IS_NULL(oid))
		return tx_errno(errno);
	memcpy(pmemobj_direct(oid), vea_arr(df), (size_t)df->vsd_nfree * sizeof(struct vea_free_df));
	if (pmemobj_tx_xadd_range_direct(df, sizeof(*df), POBJ_XADD_NO_ABORT) != 0)
		return tx_errno(errno);
	if (pmemobj_tx_xfree(df->vsd_free, POBJ_XFREE_NO_ABORT) != 0)
		return tx_errno(errno);
	df->vsd_free = oid;
	df->vsd_cap = cap;
	return 0;
}

int vea_format(PMEMobjpool *pop, struct vea_space_df *df, uint64_t tot_blks)
{
	struct vea_free_df *a;
	PMEMoid oid;

	(void)pop;
	if (pmemobj_tx_stage() != TX_STAGE_WORK)
		return -DER_INVAL;
	if (pmemobj_tx_xadd_range_direct(df, sizeof(*df), POBJ_XADD_NO_ABORT) != 0)
		return tx_errno(errno);
	oid = pmemobj_tx_xalloc(VEA_INIT_CAP * sizeof(struct vea_free_df), 0,
				POBJ_XALLOC_NO_ABORT | POBJ_XALLOC_ZERO);
	if (OID_IS_NULL(oid))
		return tx_errno(errno);
	df->vsd_magic = VEA_MAGIC;
	df->vsd_compat = 0;
	df->vsd_blk_sz = VEA_BLK_SZ;
	df->vsd_hdr_blks = VEA_HDR_BLKS;
	df->vsd_tot_blks = tot_blks;
	df->vsd_cap = VEA_INIT_CAP;
	df->vsd_free = oid;
	df->vsd_nfree = 0;
	df->vsd_free_blks = 0;
	if (tot_blks > VEA_HDR_BLKS) {
		a = pmemobj_direct(oid);
		a[0].vfe_off = VEA_HDR_BLKS;
		a[0].vfe_cnt = tot_blks - VEA_HDR_BLKS;
		df->vsd_nfree = 1;
		df->vsd_free_blks = a[0].vfe_cnt;
	}
	return 0;
}

int vea_check(PMEMobjpool *pop, const struct vea_space_df *df, uint64_t pool_sz, char *err,
	      size_t errlen)
{
	const struct vea_free_df *a;
	uint64_t sum = 0, end = 0;

	if (df->vsd_magic != VEA_MAGIC) {
		snprintf(err, errlen, "NVMe allocator magic %#x, want %#x", df->vsd_magic, VEA_MAGIC);
		return -DER_DF_INVAL;
	}
	if (df->vsd_blk_sz != VEA_BLK_SZ || df->vsd_hdr_blks != VEA_HDR_BLKS ||
	    df->vsd_tot_blks < VEA_HDR_BLKS) {
		snprintf(err, errlen, "NVMe allocator geometry (block %u, header %u, total %" PRIu64
			 ") is not this engine's", df->vsd_blk_sz, df->vsd_hdr_blks,
			 df->vsd_tot_blks);
		return -DER_DF_INVAL;
	}
	/* bounds first: pmemobj_alloc_usable_size reads the allocation header before off */
	if (df->vsd_cap == 0 || df->vsd_nfree > df->vsd_cap || OID_IS_NULL(df->vsd_free) ||
	    df->vsd_free.pool_uuid_lo != pmemobj_oid(df).pool_uuid_lo ||
	    df->vsd_free.off < 4096 || df->vsd_free.off > pool_sz ||
	    (uint64_t)df->vsd_cap * sizeof(struct vea_free_df) > pool_sz - df->vsd_free.off ||
	    pmemobj_alloc_usable_size(df->vsd_free) <
		    (size_t)df->vsd_cap * sizeof(struct vea_free_df)) {
		snprintf(err, errlen, "NVMe allocator free-extent table is damaged (%u of %u)",
			 df->vsd_nfree, df->vsd_cap);
		return -DER_DF_INVAL;
	}
	/* the table must be one of the pool's allocated objects (never the root, nor freed) */
	{
		int found = 0;

		for (PMEMoid o = pmemobj_first(pop); !OID_IS_NULL(o); o = pmemobj_next(o))
			if (o.off == df->vsd_free.off) {
				found = 1;
				break;
			}
		if (!found || df->vsd_free.off == pmemobj_oid(df).off) {
			snprintf(err, errlen, "NVMe allocator free-extent table at %#" PRIx64 " is not "
				 "an allocated object of the pool", df->vsd_free.off);
			return -DER_DF_INVAL;
		}
	}
	a = vea_arr(df);
	end = VEA_HDR_BLKS;
	for (uint32_t i = 0; i < df->vsd_nfree; i++) {
		/* sorted, non-overlapping, non-adjacent, inside [hdr, tot) */
		if (a[i].vfe_cnt == 0 || a[i].vfe_off < end || (i > 0 && a[i].vfe_off == end) ||
		    a[i].vfe_off > df->vsd_tot_blks ||
		    a[i].vfe_cnt > df->vsd_tot_blks - a[i].vfe_off) {
			snprintf(err, errlen, "NVMe allocator free extent %u [%" PRIu64 ", +%" PRIu64
				 ") is out of order or out of range", i, a[i].vfe_off,
				 a[i].vfe_cnt);
			return -DER_DF_INVAL;
		}
		end = a[i].vfe_off + a[i].vfe_cnt;
		sum += a[i].vfe_cnt;
	}
	if (sum != df->vsd_free_blks) {
		snprintf(err, errlen, "NVMe allocator free count %" PRIu64 " != sum of extents %"
			 PRIu64, df->vsd_free_blks, sum);
		return -DER_DF_INVAL;
	}
	return 0;
}

/* Runs fn inside a (possibly nested) transaction of pop; maps an abort to its error. */
static int vea_tx(PMEMobjpool *pop, int (*fn)(struct vea_space_df *, uint64_t, uint64_t *),
		  struct vea_space_df *df, uint64_t a, uint64_t *b)
{
	if (pmemobj_tx_begin(pop, NULL, TX_PARAM_NONE) != 0)
		return tx_errno(errno);
	return tx_finish(fn(df, a, b));
}

static int do_reserve(struct vea_space_df *df, uint64_t nblks, uint64_t *off)
{
	struct vea_free_df *a = vea_arr(df);
	uint32_t best = UINT32_MAX;

	for (uint32_t i = 0; i < df->vsd_nfree; i++)
		if (a[i].vfe_cnt >= nblks && (best == UINT32_MAX || a[i].vfe_cnt < a[best].vfe_cnt))
			best = i;
	if (best == UINT32_MAX)
		return -DER_NOSPACE;
	if (pmemobj_tx_xadd_range_direct(df, sizeof(*df), POBJ_XADD_NO_ABORT) != 0)
		return tx_errno(errno);
	*off = a[best].vfe_off;
	if (a[best].vfe_cnt == nblks) {
		/* the extent is used up: close the gap */
		size_t tail = (size_t)(df->vsd_nfree - best - 1) * sizeof(*a);

		if (pmemobj_tx_xadd_range_direct(&a[best], tail + sizeof(*a),
						 POBJ_XADD_NO_ABORT) != 0)
			return tx_errno(errno);
		memmove(&a[best], &a[best + 1], tail);
		df->vsd_nfree--;
	} else {
		if (pmemobj_tx_xadd_range_direct(&a[best], sizeof(*a), POBJ_XADD_NO_ABORT) != 0)
			return tx_errno(errno);
		a[best].vfe_off += nblks;
		a[best].vfe_cnt -= nblks;
	}
	df->vsd_free_blks -= nblks;
	return 0;
}

int vea_reserve(PMEMobjpool *pop, struct vea_space_df *df, uint64_t nblks, uint64_t *off)
{
	if (nblks == 0)
		return -DER_INVAL;
	return vea_tx(pop, do_reserve, df, nblks, off);
}

static int do_free(struct vea_space_df *df, uint64_t off, uint64_t *nblksp)
{
	uint64_t nblks = *nblksp;
	struct vea_free_df *a;
	uint32_t i, n = df->vsd_nfree;
	int merge_prev, merge_next, rc;

	if (off < df->vsd_hdr_blks || off > df->vsd_tot_blks || nblks > df->vsd_tot_blks - off)
		return -DER_INVAL;
	a = vea_arr(df);
	/* i = first free extent starting after off */
	for (i = 0; i < n && a[i].vfe_off <= off; i++)
		;
	if (i > 0 && a[i - 1].vfe_off + a[i - 1].vfe_cnt > off)
		return -DER_INVAL; /* overlaps the previous free extent: not allocated */
	if (i < n && off + nblks > a[i].vfe_off)
		return -DER_INVAL; /* overlaps the next one */
	merge_prev = i > 0 && a[i - 1].vfe_off + a[i - 1].vfe_cnt == off;
	merge_next = i < n && off + nblks == a[i].vfe_off;
	if (pmemobj_tx_xadd_range_direct(df, sizeof(*df), POBJ_XADD_NO_ABORT) != 0)
		return tx_errno(errno);
	if (merge_prev && merge_next) {
		size_t tail = (size_t)(n - i - 1) * sizeof(*a);

		if (pmemobj_tx_xadd_range_direct(&a[i - 1], tail + 2 * sizeof(*a),
						 POBJ_XADD_NO_ABORT) != 0)
			return tx_errno(errno);
		a[i - 1].vfe_cnt += nblks + a[i].vfe_cnt;
		memmove(&a[i], &a[i + 1], tail);
		df->vsd_nfree--;
	} else if (merge_prev) {
		if (pmemobj_tx_xadd_range_direct(&a[i - 1], sizeof(*a), POBJ_XADD_NO_ABORT) != 0)
			return tx_errno(errno);
		a[i - 1].vfe_cnt += nblks;
	} else if (merge_next) {
		if (pmemobj_tx_xadd_range_direct(&a[i], sizeof(*a), POBJ_XADD_NO_ABORT) != 0)
			return tx_errno(errno);
		a[i].vfe_off = off;
		a[i].vfe_cnt += nblks;
	} else {
		size_t tail;

		rc = vea_grow(df);
		if (rc != 0)
			return rc;
		a = vea_arr(df);
		tail = (size_t)(n - i) * sizeof(*a);
		if (pmemobj_tx_xadd_range_direct(&a[i], tail + sizeof(*a),
						 POBJ_XADD_NO_ABORT) != 0)
			return tx_errno(errno);
		memmove(&a[i + 1], &a[i], tail);
		a[i].vfe_off = off;
		a[i].vfe_cnt = nblks;
		df->vsd_nfree++;
	}
	df->vsd_free_blks += nblks;
	return 0;
}

int vea_free(PMEMobjpool *pop, struct vea_space_df *df, uint64_t off, uint64_t nblks)
{
	if (nblks == 0)
		return -DER_INVAL;
	return vea_tx(pop, do_free, df, off, &nblks);
}

uint64_t vea_free_blks(PMEMobjpool *pop, const struct vea_space_df *df, uint64_t *largest)
{
	const struct vea_free_df *a = vea_arr(df);

	(void)pop;
	if (largest != NULL) {
		*largest = 0;
		for (uint32_t i = 0; i < df->vsd_nfree; i++)
			if (a[i].vfe_cnt > *largest)
				*largest = a[i].vfe_cnt;
	}
	return df->vsd_free_blks;
}
