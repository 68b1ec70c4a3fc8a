/*
 * VEA: the block allocator of one target's NVMe extent, its state kept durably in the target's
 * pmemobj pool (as the reference's versioned extent allocator keeps its free-extent tree in the
 * VOS pool root, vos_pool_df.pd_vea_df). Blocks are counted from the start of the target's
 * extent; the first vsd_hdr_blks are reserved. Free space is a sorted array of maximal free
 * extents (no two adjacent), stored in a pmemobj object that grows by doubling; every change
 * runs in a pmemobj transaction, so a crash leaves the state before or after it.
 */
#ifndef DSS_VEA_H
#define DSS_VEA_H

#include <libpmemobj.h>
#include <stddef.h>
#include <stdint.h>

#define VEA_MAGIC     0xea201804u
#define VEA_BLK_SZ    4096u
#define VEA_HDR_BLKS  1u
#define VEA_INIT_CAP  64u

/** One free extent, in blocks from the start of the target's extent. */
struct vea_free_df {
	uint64_t vfe_off;
	uint64_t vfe_cnt;
};

/** Durable allocator state (inside the shard's root object). */
struct vea_space_df {
	uint32_t vsd_magic;
	uint32_t vsd_compat;
	uint32_t vsd_blk_sz;
	uint32_t vsd_hdr_blks;
	uint64_t vsd_tot_blks;
	uint64_t vsd_free_blks; /* sum of the free extents, checked on open */
	uint32_t vsd_nfree;
	uint32_t vsd_cap;
	PMEMoid vsd_free;       /* struct vea_free_df[vsd_cap], sorted by offset */
};

/**
 * Formats df (inside pop) for tot_blks blocks, all free but the header blocks. Must run inside
 * a transaction of pop (the caller's): on error the caller aborts it. 0 or -DER_*.
 */
int vea_format(PMEMobjpool *pop, struct vea_space_df *df, uint64_t tot_blks);

/**
 * Structural check of df (magic, bounds, order, totals) in a pool of pool_sz bytes; 0 or
 * -DER_DF_INVAL with err set.
 */
int vea_check(PMEMobjpool *pop, const struct vea_space_df *df, uint64_t pool_sz, char *err,
	      size_t errlen);

/** Allocates nblks contiguous blocks (best fit, lowest offset); *off = first block. */
int vea_reserve(PMEMobjpool *pop, struct vea_space_df *df, uint64_t nblks, uint64_t *off);

/** Frees [off, off+nblks): -DER_INVAL when out of range or not allocated (double free). */
int vea_free(PMEMobjpool *pop, struct vea_space_df *df, uint64_t off, uint64_t nblks);

/** Free blocks, and the largest free extent (blocks) when largest is not NULL. */
uint64_t vea_free_blks(PMEMobjpool *pop, const struct vea_space_df *df, uint64_t *largest);

#endif
