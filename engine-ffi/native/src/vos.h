/*
 * The engine's per-target storage core of pools: for every target of this engine a pool shard
 * made of
 *  - on SCM, a PMDK pmemobj pool file <scm_mount>/<pool uuid>/vos-<target> of the per-target
 *    SCM size, whose root object (struct vos_pool_df) holds the pool uuid, target index, sizes,
 *    creation time, the NVMe extent reserved for the target and the durable state of the
 *    target's NVMe block allocator (vea.h);
 *  - on the NVMe tier, an extent of one of the engine's bdevs (target t uses usable bdev
 *    t % n, data after the 4 KiB DAOS_AIO_BDEV header), handed out by the engine's allocation
 *    table <scm_mount>/daos_sys/vos_smd, a pmemobj pool holding one record per pool (state,
 *    sizes, the extent of every target): the role of the reference's SMD (sys_db on SCM).
 *
 * Crash consistency: a create first records the pool as CREATING with its extents (one
 * transaction), then makes the shard files, then marks it READY; a destroy marks it
 * DESTROYING, removes the files, then drops the record. vos_engine_open rolls a CREATING pool
 * back and finishes a DESTROYING one, so an interrupted create leaves nothing and an
 * interrupted destroy completes. All calls are serialised by one engine lock.
 *
 * Errors are negative DAOS numbers (der.h) with a message naming the path or input in err.
 */
#ifndef DSS_VOS_H
#define DSS_VOS_H

#include <stddef.h>
#include <stdint.h>

#include "der.h"
#include "dss_api.h"
#include "storage.h"

#define VOS_POOL_LAYOUT  "vos_pool_layout"
#define VOS_SMD_LAYOUT   "vos_smd_layout"
#define VOS_FILE_PREFIX  "vos-"
#define VOS_SMD_DIR      "daos_sys"
#define VOS_SMD_FILE     "vos_smd"
#define VOS_BDEV_HDR     4096u               /* DAOS_AIO_BDEV v1 header block */
#define VOS_BLK_SZ       4096u
#define VOS_SCM_MIN      (8ULL << 20)        /* PMEMOBJ_MIN_POOL */
#define VOS_MAX_TARGETS  256

enum vos_tier { VOS_TIER_SCM = 0, VOS_TIER_NVME = 1 };

enum vos_pool_state {
	VOS_POOL_CREATING = 1,   /* durable: create in progress (rolled back on open) */
	VOS_POOL_READY = 2,      /* durable: every shard complete */
	VOS_POOL_DESTROYING = 3, /* durable: destroy in progress (finished on open) */
	VOS_POOL_DAMAGED = 4,    /* in memory: READY but a shard failed validation on open */
};

/** Space of one target shard or of the engine, bytes. */
struct vos_space {
	uint64_t scm_total;
	uint64_t scm_free;
	uint64_t nvme_total;
	uint64_t nvme_free;
};

/** Filled by vos_pool_create on -DER_NOSPACE: the tiers short and what would fit per target. */
struct vos_nospace {
	uint32_t tiers;        /* bit 1 << enum vos_tier for each tier short of space */
	uint64_t scm_largest;  /* largest SCM size per target that would fit now */
	uint64_t nvme_largest; /* largest NVMe size per target that would fit now */
};

/** A pool of this engine. */
struct vos_pool_info {
	uint8_t uuid[16];
	int state;             /* enum vos_pool_state */
	uint32_t ntgt;
	uint64_t scm_sz;       /* per target */
	uint64_t nvme_sz;      /* per target */
	uint64_t ctime_ns;     /* creation, CLOCK_REALTIME */
};

/** Where one target shard lives. */
struct vos_target_info {
	char path[4200];       /* the pmemobj file */
	char dev_uuid[37];     /* bdev of the NVMe extent ("" when the pool has no NVMe) */
	char dev_path[4096];
	uint64_t nvme_off;     /* byte offset of the extent on the bdev */
	uint64_t nvme_len;
};

/** Something found wrong by vos_engine_open, reported by path; the engine keeps running. */
struct vos_problem {
	char path[4200];
	char msg[512];
	uint8_t pool[16];      /* zero when not about a known pool */
	int tgt;               /* -1 when not about one target */
	int rc;
};

struct vos_engine;

/**
 * Opens (creating on first use) the allocation table under st->scm_mount, checks the usable
 * bdevs of st (file/kdev; nvme ones need SPDK and give no capacity), rolls back interrupted
 * creates, finishes interrupted destroys and opens every shard of every pool. A damaged or
 * foreign shard or an unknown pool directory is a problem (vos_engine_problem), not an error;
 * an error is only what makes allocating unsafe (unreadable allocation table, bad bdev).
 */
DSS_API int vos_engine_open(const struct dss_storage *st, int ntargets, struct vos_engine **out,
			    char *err, size_t errlen);

/** Closes every shard and the allocation table. */
DSS_API void vos_engine_close(struct vos_engine *eng);

/** Problems found by the last open. */
DSS_API int vos_engine_nproblems(const struct vos_engine *eng);
DSS_API const struct vos_problem *vos_engine_problem(const struct vos_engine *eng, int i);

/**
 * Creates the shards of pool uuid on all of this engine's targets: scm_sz bytes of SCM
 * (>= VOS_SCM_MIN, rounded up to 4 KiB) and nvme_sz bytes of NVMe (rounded up to 4 KiB, 0 =
 * none) per target. All or nothing: on any failure every target is rolled back. Space is
 * checked before anything is allocated: -DER_NOSPACE names the tier(s) and the largest size
 * per target that would fit (also in *ns when ns is not NULL). -DER_EXIST if the pool exists.
 */
DSS_API int vos_pool_create(struct vos_engine *eng, const uint8_t uuid[16], uint64_t scm_sz,
			    uint64_t nvme_sz, struct vos_nospace *ns, char *err, size_t errlen);

/** Destroys the pool's shards and frees its NVMe extents; -DER_NONEXIST if unknown. */
DSS_API int vos_pool_destroy(struct vos_engine *eng, const uint8_t uuid[16], char *err,
			     size_t errlen);

/** Copies up to max pools into out; returns how many pools there are. */
DSS_API int vos_pool_list(struct vos_engine *eng, struct vos_pool_info *out, int max);

/**
 * Space of one target shard: SCM total = pool file size, free = what pmemobj objects do not
 * use (PMDK's own metadata counted as used); NVMe total = the target's extent minus its header
 * block, free = from the target's allocator.
 */
DSS_API int vos_target_query(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
			     struct vos_space *sp, char *err, size_t errlen);

/**
 * Space of every target of a pool on this engine (what pool query's per-tier total, free, min,
 * max and mean are made of): fills per_tgt[0..n) for n = min(max, targets); returns the number
 * of targets, or the first target's error (a damaged shard) with err naming its file.
 */
DSS_API int vos_pool_space(struct vos_engine *eng, const uint8_t uuid[16],
			   struct vos_space *per_tgt, int max, char *err, size_t errlen);

/** Where a target shard lives. */
DSS_API int vos_target_info(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
			    struct vos_target_info *ti, char *err, size_t errlen);

/**
 * Engine totals: SCM of the mount (statvfs total/available) and NVMe of the usable bdevs
 * (data bytes / bytes no pool holds).
 */
DSS_API void vos_engine_query(struct vos_engine *eng, struct vos_space *sp);

/**
 * Bytes the pools of this process's open storage core hold on bdev dev_uuid (their targets'
 * NVMe extents): 0, or -DER_NONEXIST when no core is open or the bdev is not one of its usable
 * bdevs (*used is 0 then).
 */
DSS_API int vos_bdev_used(const char *dev_uuid, uint64_t *used);

/** Number of targets and of usable bdevs of the engine. */
DSS_API int vos_engine_ntargets(const struct vos_engine *eng);
DSS_API int vos_engine_nbdevs(const struct vos_engine *eng);

/**
 * Reserves bytes (rounded up to 4 KiB) of a target's NVMe extent through its durable
 * allocator; *bdev_off = byte offset on the target's bdev. -DER_NOSPACE when no free extent is
 * large enough.
 */
DSS_API int vos_target_nvme_reserve(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
				    uint64_t bytes, uint64_t *bdev_off);

/** Frees what vos_target_nvme_reserve returned; -DER_INVAL if it is not allocated. */
DSS_API int vos_target_nvme_free(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
				 uint64_t bdev_off, uint64_t bytes);

/** Parses a canonical uuid string; 0 or -DER_INVAL. */
DSS_API int vos_uuid_parse(const char *s, uint8_t out[16]);
/** Formats a uuid as 36 lower-case characters plus NUL. */
DSS_API void vos_uuid_format(const uint8_t uuid[16], char out[37]);

/*
 * Fault injection for tests. VOS_FI_TGT_CREATE: creating target arg's shard fails with
 * -DER_IO (the create rolls back). VOS_FI_CRASH: the process _exits (status VOS_FI_EXIT) at
 * the arg-th crash point passed by create/destroy, as a power loss would stop it there.
 */
enum vos_fault { VOS_FI_NONE = 0, VOS_FI_TGT_CREATE = 1, VOS_FI_CRASH = 2 };
#define VOS_FI_EXIT 86
DSS_API void vos_fault_set(int fault, int arg);

#endif
