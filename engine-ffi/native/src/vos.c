/* Pool shards on SCM (pmemobj) and NVMe extents (allocation table on SCM); see vos.h. */
#include "vos.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpmemobj.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pmem_tx.h"
#include "vea.h"

#define POOL_DF_MAGIC   0x5ca1ab1eu
#define POOL_DF_VERSION 1u
#define SMD_MAGIC       0x5d0a11c0u
#define SMD_VERSION     1u
#define SMD_SIZE        VOS_SCM_MIN
#define SMD_INIT_CAP    16u
/* Kept free per file on the SCM file system for its own metadata (inodes, extent trees). */
#define SCM_FILE_MARGIN (64u << 10)
#define BDEV_MAGIC      "DAOS_AIO_BDEV v1\n"

/* Root object of a shard's pmemobj pool (durable format: fields only appended). */
struct vos_pool_df {
	uint32_t pd_magic;
	uint32_t pd_version;
	uint64_t pd_compat_flags;
	uint64_t pd_incompat_flags;
	uint8_t pd_id[16];
	uint32_t pd_tgt_idx;
	uint32_t pd_ntgt;
	uint64_t pd_scm_sz;
	uint64_t pd_nvme_sz;
	uint64_t pd_ctime;
	char pd_dev_uuid[40];
	uint64_t pd_nvme_off;
	uint64_t pd_nvme_len;
	uint64_t pd_csum;       /* FNV-1a of every field above: they never change after create */
	struct vea_space_df pd_vea_df;
};

/* The NVMe extent of one target in the allocation table. */
struct smd_ext_df {
	char se_dev[40];        /* bdev uuid (storage.c), "" when the pool has no NVMe */
	uint64_t se_off;        /* bytes on the bdev */
	uint64_t se_len;
};

/* One pool in the allocation table. */
struct smd_pool_df {
	uint8_t sp_uuid[16];
	uint32_t sp_state;      /* enum vos_pool_state: CREATING, READY or DESTROYING */
	uint32_t sp_ntgt;
	uint64_t sp_scm_sz;
	uint64_t sp_nvme_sz;
	uint64_t sp_ctime;
	PMEMoid sp_exts;        /* struct smd_ext_df[sp_ntgt], OID_NULL when sp_nvme_sz is 0 */
};

/* Root of the allocation table <scm>/daos_sys/vos_smd. */
struct smd_df {
	uint32_t sd_magic;
	uint32_t sd_version;
	uint32_t sd_npools;
	uint32_t sd_cap;
	PMEMoid sd_pools;       /* struct smd_pool_df[sd_cap] */
	uint64_t sd_reserved[6];
};

struct vos_dev {
	char uuid[37];
	char name[128];
	char path[4096];
	uint64_t end;           /* end of the data area: size rounded down to 4 KiB */
};

struct vos_shard {
	PMEMobjpool *pop;
	struct vos_pool_df *df;
};

struct vos_pool {
	uint8_t uuid[16];
	int state;
	uint32_t ntgt;
	uint64_t scm_sz, nvme_sz, ctime;
	struct vos_shard *shards;
};

struct vos_engine {
	pthread_mutex_t lock;
	char scm[4096];
	int ntgt;
	struct vos_dev *devs;
	int ndevs;
	char smd_path[4200];
	PMEMobjpool *smd;
	struct smd_df *sd;
	struct vos_pool *pools;
	int npools, pcap;
	struct vos_problem *probs;
	int nprobs;
};

struct extent {
	uint64_t off, len;
};

/* ---- fault injection (tests) ---- */

static int fi_kind, fi_arg, fi_count;

void vos_fault_set(int fault, int arg)
{
	fi_kind = fault;
	fi_arg = arg;
	fi_count = 0;
}

/* A point where a power loss is simulated under VOS_FI_CRASH. */
static void fi_crash_point(void)
{
	/* atomic: shards are created by several threads */
	if (fi_kind == VOS_FI_CRASH && __atomic_add_fetch(&fi_count, 1, __ATOMIC_SEQ_CST) == fi_arg)
		_exit(VOS_FI_EXIT);
}

/* ---- helpers ---- */

int vos_uuid_parse(const char *s, uint8_t out[16])
{
	int n = 0;

	if (s == NULL || strlen(s) != 36)
		return -DER_INVAL;
	for (int i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -DER_INVAL;
			continue;
		}
#define HEXV(c) ((c) >= '0' && (c) <= '9' ? (c) - '0' : (c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10 \
		 : (c) >= 'A' && (c) <= 'F' ? (c) - 'A' + 10 : -1)
		hi = HEXV(s[i]);
		lo = HEXV(s[i + 1]);
#undef HEXV
		if (hi < 0 || lo < 0 || i + 1 == 8 || i + 1 == 13 || i + 1 == 18 || i + 1 == 23)
			return -DER_INVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return 0;
}

void vos_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static uint64_t fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static uint64_t pool_df_csum(const struct vos_pool_df *df)
{
	return fnv1a(df, offsetof(struct vos_pool_df, pd_csum));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Human form of a byte count for messages, e.g. "64.00 MiB". */
static const char *hsize(uint64_t b, char buf[32])
{
	static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)b;
	int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	snprintf(buf, 32, i == 0 ? "%.0f %s" : "%.2f %s", v, u[i]);
	return buf;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return v > UINT64_MAX - (a - 1) ? 0 : (v + a - 1) / a * a;
}

static void fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

static void pool_dir(const struct vos_engine *eng, const uint8_t uuid[16], char *out, size_t n)
{
	char us[37];

	vos_uuid_format(uuid, us);
	snprintf(out, n, "%s/%s", eng->scm, us);
}

static void shard_path(const struct vos_engine *eng, const uint8_t uuid[16], int tgt, char *out,
		       size_t n)
{
	char us[37];

	vos_uuid_format(uuid, us);
	snprintf(out, n, "%s/%s/" VOS_FILE_PREFIX "%d", eng->scm, us, tgt);
}

static void add_problem(struct vos_engine *eng, const char *path, const uint8_t *pool, int tgt,
			int rc, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add_problem(struct vos_engine *eng, const char *path, const uint8_t *pool, int tgt,
			int rc, const char *fmt, ...)
{
	struct vos_problem *p, *np;
	va_list ap;

	np = realloc(eng->probs, (size_t)(eng->nprobs + 1) * sizeof(*np));
	if (np == NULL)
		return;
	eng->probs = np;
	p = &np[eng->nprobs++];
	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s", path);
	if (pool != NULL)
		memcpy(p->pool, pool, 16);
	p->tgt = tgt;
	p->rc = rc;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	D_WARN("vos: %s: %s", p->path, p->msg);
}

/* ---- the allocation table (SMD) ---- */

static struct smd_pool_df *smd_pools(const struct vos_engine *eng)
{
	return pmemobj_direct(eng->sd->sd_pools);
}

static struct smd_ext_df *smd_exts(const struct smd_pool_df *p)
{
	return OID_IS_NULL(p->sp_exts) ? NULL : pmemobj_direct(p->sp_exts);
}

static int smd_find(const struct vos_engine *eng, const uint8_t uuid[16])
{
	struct smd_pool_df *p = smd_pools(eng);

	for (uint32_t i = 0; i < eng->sd->sd_npools; i++)
		if (memcmp(p[i].sp_uuid, uuid, 16) == 0)
			return (int)i;
	return -1;
}

/* Appends a pool record (and its extents) in one transaction. */
static int smd_add(struct vos_engine *eng, const struct smd_pool_df *rec,
		   const struct smd_ext_df *exts)
{
	struct smd_df *sd = eng->sd;
	struct smd_pool_df *p;
	PMEMoid eo = OID_NULL;
	int rc = 0;

	if (pmemobj_tx_begin(eng->smd, NULL, TX_PARAM_NONE) != 0)
		return tx_errno(errno);
	if (pmemobj_tx_xadd_range_direct(sd, sizeof(*sd), POBJ_XADD_NO_ABORT) != 0) {
		rc = tx_errno(errno);
		goto out;
	}
	if (sd->sd_npools == sd->sd_cap) {
		uint32_t cap = sd->sd_cap * 2;
		PMEMoid no = pmemobj_tx_xalloc((size_t)cap * sizeof(*p), 0,
					       POBJ_XALLOC_NO_ABORT | POBJ_XALLOC_ZERO);

		if (OID_IS_NULL(no)) {
			rc = tx_errno(errno);
			goto out;
		}
		memcpy(pmemobj_direct(no), smd_pools(eng), (size_t)sd->sd_npools * sizeof(*p));
		if (pmemobj_tx_xfree(sd->sd_pools, POBJ_XFREE_NO_ABORT) != 0) {
			rc = tx_errno(errno);
			goto out;
		}
		sd->sd_pools = no;
		sd->sd_cap = cap;
	}
	if (exts != NULL) {
		eo = pmemobj_tx_xalloc((size_t)rec->sp_ntgt * sizeof(*exts), 0, POBJ_XALLOC_NO_ABORT);
		if (OID_IS_NULL(eo)) {
			rc = tx_errno(errno);
			goto out;
		}
		memcpy(pmemobj_direct(eo), exts, (size_t)rec->sp_ntgt * sizeof(*exts));
	}
	p = &smd_pools(eng)[sd->sd_npools];
	if (pmemobj_tx_xadd_range_direct(p, sizeof(*p), POBJ_XADD_NO_ABORT) != 0) {
		rc = tx_errno(errno);
		goto out;
	}
	*p = *rec;
	p->sp_exts = eo;
	sd->sd_npools++;
out:
	return tx_finish(rc);
}

static int smd_set_state(struct vos_engine *eng, int idx, uint32_t state)
{
	struct smd_pool_df *p = &smd_pools(eng)[idx];
	int rc = 0;

	if (pmemobj_tx_begin(eng->smd, NULL, TX_PARAM_NONE) != 0)
		return tx_errno(errno);
	if (pmemobj_tx_xadd_range_direct(&p->sp_state, sizeof(p->sp_state),
					 POBJ_XADD_NO_ABORT) != 0)
		rc = tx_errno(errno);
	else
		p->sp_state = state;
	return tx_finish(rc);
}

/* Drops record idx (the last one moves into its place) and frees its extents. */
static int smd_remove(struct vos_engine *eng, int idx)
{
	struct smd_df *sd = eng->sd;
	struct smd_pool_df *p = smd_pools(eng);
	uint32_t last = sd->sd_npools - 1;
	int rc = 0;

	if (pmemobj_tx_begin(eng->smd, NULL, TX_PARAM_NONE) != 0)
		return tx_errno(errno);
	if (pmemobj_tx_xadd_range_direct(sd, sizeof(*sd), POBJ_XADD_NO_ABORT) != 0 ||
	    pmemobj_tx_xadd_range_direct(&p[idx], sizeof(p[idx]), POBJ_XADD_NO_ABORT) != 0 ||
	    (!OID_IS_NULL(p[idx].sp_exts) &&
	     pmemobj_tx_xfree(p[idx].sp_exts, POBJ_XFREE_NO_ABORT) != 0)) {
		rc = tx_errno(errno);
		goto out;
	}
	if ((uint32_t)idx != last)
		p[idx] = p[last];
	sd->sd_npools--;
out:
	return tx_finish(rc);
}

/* Creates the table atomically: made under a temporary name, then renamed into place. */
static int smd_create(const char *path, char *err, size_t errlen)
{
	char tmp[4300];
	PMEMobjpool *pop;
	struct smd_df *sd;
	PMEMoid root;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	pop = pmemobj_create(tmp, VOS_SMD_LAYOUT, SMD_SIZE, 0600);
	if (pop == NULL) {
		snprintf(err, errlen, "cannot create the pool allocation table %s: %s", tmp,
			 pmemobj_errormsg());
		return errno == ENOSPC ? -DER_NOSPACE : -DER_IO;
	}
	root = pmemobj_root(pop, sizeof(*sd));
	sd = pmemobj_direct(root);
	if (sd == NULL || pmemobj_tx_begin(pop, NULL, TX_PARAM_NONE) != 0) {
		rc = -DER_IO;
	} else {
		PMEMoid a;

		if (pmemobj_tx_xadd_range_direct(sd, sizeof(*sd), POBJ_XADD_NO_ABORT) != 0) {
			rc = tx_errno(errno);
		} else {
			a = pmemobj_tx_xalloc(SMD_INIT_CAP * sizeof(struct smd_pool_df), 0,
					      POBJ_XALLOC_NO_ABORT | POBJ_XALLOC_ZERO);
			if (OID_IS_NULL(a)) {
				rc = tx_errno(errno);
			} else {
				sd->sd_magic = SMD_MAGIC;
				sd->sd_version = SMD_VERSION;
				sd->sd_npools = 0;
				sd->sd_cap = SMD_INIT_CAP;
				sd->sd_pools = a;
			}
		}
		rc = tx_finish(rc);
	}
	pmemobj_close(pop);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -DER_IO;
	if (rc != 0) {
		snprintf(err, errlen, "cannot initialise the pool allocation table %s: %s", path,
			 pmemobj_errormsg());
		unlink(tmp);
	}
	return rc;
}

static int smd_open(struct vos_engine *eng, char *err, size_t errlen)
{
	char dir[4200];
	struct stat sb;
	int rc;

	snprintf(dir, sizeof(dir), "%s/" VOS_SMD_DIR, eng->scm);
	snprintf(eng->smd_path, sizeof(eng->smd_path), "%s/" VOS_SMD_DIR "/" VOS_SMD_FILE,
		 eng->scm);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -DER_IO;
	}
	if (stat(eng->smd_path, &sb) != 0) {
		rc = smd_create(eng->smd_path, err, errlen);
		if (rc != 0)
			return rc;
		fsync_dir(dir);
	}
	eng->smd = pmemobj_open(eng->smd_path, VOS_SMD_LAYOUT);
	if (eng->smd == NULL) {
		snprintf(err, errlen, "pool allocation table %s cannot be opened: %s; without it "
			 "the NVMe space held by pools is unknown: restore it, or remove it together "
			 "with every pool directory under %s", eng->smd_path, pmemobj_errormsg(),
			 eng->scm);
		return -DER_DF_INVAL;
	}
	eng->sd = pmemobj_direct(pmemobj_root(eng->smd, sizeof(struct smd_df)));
	if (eng->sd == NULL || pmemobj_root_size(eng->smd) != sizeof(struct smd_df) ||
	    eng->sd->sd_magic != SMD_MAGIC || eng->sd->sd_version != SMD_VERSION ||
	    eng->sd->sd_npools > eng->sd->sd_cap || OID_IS_NULL(eng->sd->sd_pools) ||
	    eng->sd->sd_pools.pool_uuid_lo != pmemobj_oid(eng->sd).pool_uuid_lo ||
	    eng->sd->sd_pools.off < 4096 || eng->sd->sd_pools.off >= SMD_SIZE ||
	    pmemobj_alloc_usable_size(eng->sd->sd_pools) <
		    (size_t)eng->sd->sd_cap * sizeof(struct smd_pool_df)) {
		snprintf(err, errlen, "pool allocation table %s is damaged or of another version "
			 "(magic %#x version %u)", eng->smd_path, eng->sd ? eng->sd->sd_magic : 0,
			 eng->sd ? eng->sd->sd_version : 0);
		pmemobj_close(eng->smd);
		eng->smd = NULL;
		return -DER_DF_INVAL;
	}
	return 0;
}

/*
 * Checks every record of the table before anything trusts it (a damaged SCM can hold
 * anything): a bad record makes the held NVMe space unknown, so the open fails, naming it.
 */
static int smd_validate(struct vos_engine *eng, char *err, size_t errlen)
{
	struct smd_pool_df *p = smd_pools(eng);

	for (uint32_t i = 0; i < eng->sd->sd_npools; i++) {
		const char *why = NULL;
		char us[37];

		vos_uuid_format(p[i].sp_uuid, us);
		if (p[i].sp_state < VOS_POOL_CREATING || p[i].sp_state > VOS_POOL_DESTROYING)
			why = "unknown state";
		else if (p[i].sp_ntgt == 0 || p[i].sp_ntgt > VOS_MAX_TARGETS)
			why = "target count out of range";
		else if (p[i].sp_scm_sz < VOS_SCM_MIN || p[i].sp_scm_sz % VOS_BLK_SZ != 0)
			why = "SCM size out of range";
		else if ((p[i].sp_nvme_sz == 0) != OID_IS_NULL(p[i].sp_exts) ||
			 p[i].sp_nvme_sz % VOS_BLK_SZ != 0)
			why = "NVMe size and extents disagree";
		else if (!OID_IS_NULL(p[i].sp_exts) &&
			 (p[i].sp_exts.pool_uuid_lo != eng->sd->sd_pools.pool_uuid_lo ||
			  p[i].sp_exts.off < 4096 || p[i].sp_exts.off >= SMD_SIZE ||
			  pmemobj_alloc_usable_size(p[i].sp_exts) <
				  (size_t)p[i].sp_ntgt * sizeof(struct smd_ext_df)))
			why = "extent table missing or too small";
		for (uint32_t j = 0; why == NULL && j < i; j++)
			if (memcmp(p[j].sp_uuid, p[i].sp_uuid, 16) == 0)
				why = "recorded twice";
		for (uint32_t t = 0; why == NULL && !OID_IS_NULL(p[i].sp_exts) && t < p[i].sp_ntgt;
		     t++) {
			const struct smd_ext_df *e = &smd_exts(&p[i])[t];

			if (memchr(e->se_dev, '\0', sizeof(e->se_dev)) == NULL ||
			    e->se_len != p[i].sp_nvme_sz || e->se_off < VOS_BDEV_HDR ||
			    e->se_off % VOS_BLK_SZ != 0 || e->se_off > UINT64_MAX - e->se_len)
				why = "an extent is out of range";
		}
		if (why != NULL) {
			snprintf(err, errlen, "pool allocation table %s is damaged: record %u (pool %s): "
				 "%s; without it the NVMe space held by pools is unknown: restore it, or "
				 "remove it together with every pool directory under %s", eng->smd_path,
				 i, us, why, eng->scm);
			return -DER_DF_INVAL;
		}
	}
	return 0;
}

/* ---- shards ---- */

static void shard_close(struct vos_shard *sh)
{
	if (sh->pop != NULL)
		pmemobj_close(sh->pop);
	sh->pop = NULL;
	sh->df = NULL;
}

static void enable_stats(PMEMobjpool *pop)
{
	enum pobj_stats_enabled e = POBJ_STATS_ENABLED_BOTH;

	(void)pmemobj_ctl_set(pop, "stats.enabled", &e);
}

static int shard_create(struct vos_engine *eng, const struct smd_pool_df *rec,
			const struct smd_ext_df *ext, int tgt, struct vos_shard *sh, char *err,
			size_t errlen)
{
	char path[4200], b1[32];
	struct vos_pool_df *df;
	PMEMobjpool *pop;
	int rc = 0;

	shard_path(eng, rec->sp_uuid, tgt, path, sizeof(path));
	if (fi_kind == VOS_FI_TGT_CREATE && fi_arg == tgt) {
		snprintf(err, errlen, "target %d: creating %s failed: injected fault", tgt, path);
		return -DER_IO;
	}
	pop = pmemobj_create(path, VOS_POOL_LAYOUT, rec->sp_scm_sz, 0600);
	if (pop == NULL) {
		int e = errno;

		snprintf(err, errlen, "target %d: cannot create the SCM shard %s (%s): %s", tgt, path,
			 hsize(rec->sp_scm_sz, b1), pmemobj_errormsg());
		return e == ENOSPC ? -DER_NOSPACE : -DER_IO;
	}
	enable_stats(pop);
	df = pmemobj_direct(pmemobj_root(pop, sizeof(*df)));
	if (df == NULL || pmemobj_tx_begin(pop, NULL, TX_PARAM_NONE) != 0) {
		rc = -DER_IO;
	} else {
		if (pmemobj_tx_xadd_range_direct(df, sizeof(*df), POBJ_XADD_NO_ABORT) != 0) {
			rc = tx_errno(errno);
		} else {
			df->pd_magic = POOL_DF_MAGIC;
			df->pd_version = POOL_DF_VERSION;
			memcpy(df->pd_id, rec->sp_uuid, 16);
			df->pd_tgt_idx = (uint32_t)tgt;
			df->pd_ntgt = rec->sp_ntgt;
			df->pd_scm_sz = rec->sp_scm_sz;
			df->pd_nvme_sz = rec->sp_nvme_sz;
			df->pd_ctime = rec->sp_ctime;
			if (ext != NULL) {
				memcpy(df->pd_dev_uuid, ext->se_dev, sizeof(df->pd_dev_uuid));
				df->pd_nvme_off = ext->se_off;
				df->pd_nvme_len = ext->se_len;
			}
			df->pd_csum = pool_df_csum(df);
			if (ext != NULL)
				rc = vea_format(pop, &df->pd_vea_df, ext->se_len / VOS_BLK_SZ);
		}
		rc = tx_finish(rc);
	}
	if (rc != 0) {
		snprintf(err, errlen, "target %d: cannot initialise the root object of %s: %s", tgt,
			 path, pmemobj_errormsg());
		pmemobj_close(pop);
		return rc;
	}
	sh->pop = pop;
	sh->df = df;
	return 0;
}

/*
 * Checks a shard's root object (untrusted: read from a file) against the pool's record; 0, or
 * an error with msg saying what is wrong.
 */
static int shard_check(PMEMobjpool *pop, const struct vos_pool_df *df,
		       const struct smd_pool_df *rec, const struct smd_ext_df *ext, int tgt,
		       char *msg, size_t msglen)
{
	char us[37], b1[32], b2[32];
	int rc = -DER_DF_INVAL;

	if (df->pd_magic != POOL_DF_MAGIC) {
		snprintf(msg, msglen, "root object magic %#x, want %#x", df->pd_magic, POOL_DF_MAGIC);
		return rc;
	}
	if (df->pd_version != POOL_DF_VERSION) {
		snprintf(msg, msglen, "durable format version %u, this engine reads %u",
			 df->pd_version, POOL_DF_VERSION);
		rc = -DER_DF_INCOMPT;
		return rc;
	}
	if (df->pd_csum != pool_df_csum(df)) {
		snprintf(msg, msglen, "root object checksum mismatch (stored %#" PRIx64 ", computed %#"
			 PRIx64 "): corrupt", df->pd_csum, pool_df_csum(df));
		rc = -DER_CSUM;
		return rc;
	}
	if (memcmp(df->pd_id, rec->sp_uuid, 16) != 0) {
		vos_uuid_format(df->pd_id, us);
		snprintf(msg, msglen, "belongs to pool %s, not to the pool of its directory", us);
		return rc;
	}
	if (df->pd_tgt_idx != (uint32_t)tgt || df->pd_ntgt != rec->sp_ntgt) {
		snprintf(msg, msglen, "is target %u of %u, expected target %d of %u", df->pd_tgt_idx,
			 df->pd_ntgt, tgt, rec->sp_ntgt);
		return rc;
	}
	if (df->pd_scm_sz != rec->sp_scm_sz || df->pd_nvme_sz != rec->sp_nvme_sz) {
		snprintf(msg, msglen, "sizes SCM %s NVMe %s differ from the pool's record",
			 hsize(df->pd_scm_sz, b1), hsize(df->pd_nvme_sz, b2));
		return rc;
	}
	if (ext != NULL &&
	    (strncmp(df->pd_dev_uuid, ext->se_dev, sizeof(df->pd_dev_uuid)) != 0 ||
	     df->pd_nvme_off != ext->se_off || df->pd_nvme_len != ext->se_len)) {
		snprintf(msg, msglen, "NVMe extent %.40s@%" PRIu64 "+%" PRIu64 " differs from the "
			 "allocation table's %.40s@%" PRIu64 "+%" PRIu64, df->pd_dev_uuid,
			 df->pd_nvme_off, df->pd_nvme_len, ext->se_dev, ext->se_off, ext->se_len);
		return rc;
	}
	if (ext != NULL) {
		char verr[256];

		rc = vea_check(pop, &df->pd_vea_df, rec->sp_scm_sz, verr, sizeof(verr));
		if (rc == 0 && df->pd_vea_df.vsd_tot_blks != ext->se_len / VOS_BLK_SZ) {
			snprintf(verr, sizeof(verr), "NVMe allocator covers %" PRIu64 " blocks, the "
				 "extent %" PRIu64, df->pd_vea_df.vsd_tot_blks,
				 ext->se_len / VOS_BLK_SZ);
			rc = -DER_DF_INVAL;
		}
		if (rc != 0) {
			snprintf(msg, msglen, "%s", verr);
			return rc;
		}
	}
	return 0;
}

/* Opens and validates one shard of a READY pool; on failure msg says why. */
static int shard_open(struct vos_engine *eng, const struct smd_pool_df *rec,
		      const struct smd_ext_df *ext, int tgt, struct vos_shard *sh, char *msg,
		      size_t msglen)
{
	char path[4200], b1[32];
	struct vos_pool_df *df;
	PMEMobjpool *pop;
	struct stat sb;
	size_t rsz;
	int rc;

	shard_path(eng, rec->sp_uuid, tgt, path, sizeof(path));
	if (stat(path, &sb) != 0) {
		snprintf(msg, msglen, "shard file missing: %s", strerror(errno));
		return -DER_NONEXIST;
	}
	/* checked before PMDK maps it: a truncated pool must never be opened */
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != rec->sp_scm_sz) {
		snprintf(msg, msglen, "%s of %" PRIu64 " bytes, the pool's record says %" PRIu64
			 " (%s): truncated or replaced", S_ISREG(sb.st_mode) ? "file" : "not a file",
			 (uint64_t)sb.st_size, rec->sp_scm_sz, hsize(rec->sp_scm_sz, b1));
		return -DER_DF_INVAL;
	}
	pop = pmemobj_open(path, VOS_POOL_LAYOUT);
	if (pop == NULL) {
		snprintf(msg, msglen, "not a valid VOS pool file (layout %s): %s", VOS_POOL_LAYOUT,
			 pmemobj_errormsg());
		return -DER_DF_INVAL;
	}
	rsz = pmemobj_root_size(pop);
	if (rsz != sizeof(*df)) {
		snprintf(msg, msglen, "root object of %zu bytes, expected %zu", rsz, sizeof(*df));
		rc = -DER_DF_INVAL;
		goto fail;
	}
	enable_stats(pop);
	df = pmemobj_direct(pmemobj_root(pop, sizeof(*df)));
	rc = shard_check(pop, df, rec, ext, tgt, msg, msglen);
	if (rc != 0)
		goto fail;
	sh->pop = pop;
	sh->df = df;
	return 0;
fail:
	pmemobj_close(pop);
	return rc;
}

/* Removes every regular file of a pool directory, then the directory. */
static int remove_pool_dir(struct vos_engine *eng, const uint8_t uuid[16], char *err,
			   size_t errlen)
{
	char dir[4200], path[4600];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	pool_dir(eng, uuid, dir, sizeof(dir));
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
		return -DER_IO;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
			rc = -DER_IO;
		}
		fi_crash_point();
	}
	closedir(d);
	if (rc != 0)
		return rc;
	if (rmdir(dir) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s: %s", dir, strerror(errno));
		return -DER_IO;
	}
	fsync_dir(eng->scm);
	return 0;
}

/* ---- in-memory pools ---- */

static struct vos_pool *mem_find(struct vos_engine *eng, const uint8_t uuid[16])
{
	for (int i = 0; i < eng->npools; i++)
		if (memcmp(eng->pools[i].uuid, uuid, 16) == 0)
			return &eng->pools[i];
	return NULL;
}

static void mem_drop(struct vos_engine *eng, struct vos_pool *p)
{
	for (uint32_t t = 0; t < p->ntgt; t++)
		shard_close(&p->shards[t]);
	free(p->shards);
	*p = eng->pools[--eng->npools];
}

static struct vos_pool *mem_add(struct vos_engine *eng, const struct smd_pool_df *rec)
{
	struct vos_pool *p;

	if (eng->npools == eng->pcap) {
		int cap = eng->pcap ? eng->pcap * 2 : 16;
		struct vos_pool *np = realloc(eng->pools, (size_t)cap * sizeof(*np));

		if (np == NULL)
			return NULL;
		eng->pools = np;
		eng->pcap = cap;
	}
	p = &eng->pools[eng->npools];
	memset(p, 0, sizeof(*p));
	p->shards = calloc(rec->sp_ntgt ? rec->sp_ntgt : 1, sizeof(*p->shards));
	if (p->shards == NULL)
		return NULL;
	memcpy(p->uuid, rec->sp_uuid, 16);
	p->state = (int)rec->sp_state;
	p->ntgt = rec->sp_ntgt;
	p->scm_sz = rec->sp_scm_sz;
	p->nvme_sz = rec->sp_nvme_sz;
	p->ctime = rec->sp_ctime;
	eng->npools++;
	return p;
}

/* ---- NVMe planning over the allocation table ---- */

static int ext_cmp(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Free gaps of device d (bytes, 4 KiB aligned), sorted by offset; *n = count. NULL on ENOMEM. */
static struct extent *dev_gaps(struct vos_engine *eng, int d, int *n)
{
	struct smd_pool_df *p = smd_pools(eng);
	struct extent *used = NULL, *gaps;
	size_t nu = 0, cap = 0, ng = 0;
	uint64_t cur = VOS_BDEV_HDR, end = eng->devs[d].end;

	for (uint32_t i = 0; i < eng->sd->sd_npools; i++) {
		struct smd_ext_df *e = smd_exts(&p[i]);

		for (uint32_t t = 0; e != NULL && t < p[i].sp_ntgt; t++) {
			if (strncmp(e[t].se_dev, eng->devs[d].uuid, sizeof(e[t].se_dev)) != 0)
				continue;
			if (nu == cap) {
				struct extent *nx;

				cap = cap ? cap * 2 : 64;
				nx = realloc(used, cap * sizeof(*nx));
				if (nx == NULL) {
					free(used);
					return NULL;
				}
				used = nx;
			}
			used[nu].off = e[t].se_off;
			used[nu++].len = e[t].se_len;
		}
	}
	if (nu > 0)
		qsort(used, nu, sizeof(*used), ext_cmp);
	gaps = calloc(nu + 1, sizeof(*gaps));
	if (gaps == NULL) {
		free(used);
		return NULL;
	}
	for (size_t i = 0; i < nu; i++) {
		if (used[i].off > cur && cur < end)
			gaps[ng++] = (struct extent){cur, (used[i].off < end ? used[i].off : end) - cur};
		if (used[i].off + used[i].len > cur)
			cur = used[i].off + used[i].len;
	}
	if (cur < end)
		gaps[ng++] = (struct extent){cur, end - cur};
	free(used);
	*n = (int)ng;
	return gaps;
}

/* How many extents of len bytes fit in the gaps. */
static uint64_t fits(const struct extent *g, int n, uint64_t len)
{
	uint64_t k = 0;

	for (int i = 0; i < n; i++)
		k += g[i].len / len;
	return k;
}

/* Largest len (4 KiB multiple) such that k extents of it fit in the gaps. */
static uint64_t largest_fit(const struct extent *g, int n, uint64_t k)
{
	uint64_t lo = 0, hi = 0;

	for (int i = 0; i < n; i++)
		if (g[i].len / VOS_BLK_SZ > hi)
			hi = g[i].len / VOS_BLK_SZ;
	while (lo < hi) { /* largest s in blocks with fits(s) >= k; fits(0) is "infinite" */
		uint64_t mid = lo + (hi - lo + 1) / 2;

		if (fits(g, n, mid * VOS_BLK_SZ) >= k)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo * VOS_BLK_SZ;
}

/*
 * Chooses an extent of len bytes for every target (target t on device t % ndevs, best fit).
 * -DER_NOSPACE with *largest = the largest len that would fit on every device.
 */
static int nvme_plan(struct vos_engine *eng, uint64_t len, struct smd_ext_df *out,
		     uint64_t *largest)
{
	uint64_t lg = UINT64_MAX;
	int rc = 0;

	if (eng->ndevs == 0) {
		*largest = 0;
		return -DER_NOSPACE;
	}
	for (int d = 0; d < eng->ndevs && d < eng->ntgt; d++) {
		uint64_t k = (uint64_t)((eng->ntgt - d + eng->ndevs - 1) / eng->ndevs);
		struct extent *g;
		int n;

		g = dev_gaps(eng, d, &n);
		if (g == NULL)
			return -DER_NOMEM;
		if (largest_fit(g, n, k) < lg)
			lg = largest_fit(g, n, k);
		if (fits(g, n, len) < k) {
			rc = -DER_NOSPACE;
		} else if (rc == 0) {
			for (int t = d; t < eng->ntgt; t += eng->ndevs) {
				int best = -1;

				for (int i = 0; i < n; i++)
					if (g[i].len >= len && (best < 0 || g[i].len < g[best].len))
						best = i;
				/* cannot fail: fits() counted every extent of every gap */
				memset(&out[t], 0, sizeof(out[t]));
				snprintf(out[t].se_dev, sizeof(out[t].se_dev), "%s", eng->devs[d].uuid);
				out[t].se_off = g[best].off;
				out[t].se_len = len;
				g[best].off += len;
				g[best].len -= len;
			}
		}
		free(g);
	}
	*largest = lg;
	return rc;
}

/* ---- engine open / close ---- */

static int dev_add(struct vos_engine *eng, const struct dss_bdev *b)
{
	char magic[sizeof(BDEV_MAGIC)] = {0};
	struct vos_dev *d;
	int fd;
	ssize_t n;

	if (strcmp(b->cls, "file") != 0 && strcmp(b->cls, "kdev") != 0) {
		add_problem(eng, b->name, NULL, -1, 0, "%s bdev %s gives no capacity: driving NVMe "
			    "controllers needs SPDK, not available here", b->cls, b->traddr);
		return 0;
	}
	fd = open(b->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		add_problem(eng, b->path, NULL, -1, -DER_NONEXIST, "bdev %s cannot be opened: %s; "
			    "it gives no capacity", b->name, strerror(errno));
		return 0;
	}
	n = pread(fd, magic, sizeof(magic) - 1, 0);
	close(fd);
	/* a kdev carries no header (format only checks it); a file must be one we formatted */
	if (strcmp(b->cls, "file") == 0 &&
	    (n != (ssize_t)sizeof(magic) - 1 || memcmp(magic, BDEV_MAGIC, sizeof(magic) - 1) != 0)) {
		add_problem(eng, b->path, NULL, -1, -DER_DF_INVAL, "bdev %s does not start with the "
			    "DAOS_AIO_BDEV v1 header: not formatted by daos_server, not used (run "
			    "dmg storage format)", b->name);
		return 0;
	}
	if (b->size / VOS_BLK_SZ * VOS_BLK_SZ <= VOS_BDEV_HDR) {
		add_problem(eng, b->path, NULL, -1, -DER_INVAL, "bdev %s of %" PRIu64 " bytes has "
			    "no room after its header", b->name, b->size);
		return 0;
	}
	d = &eng->devs[eng->ndevs++];
	snprintf(d->uuid, sizeof(d->uuid), "%s", b->uuid);
	snprintf(d->name, sizeof(d->name), "%s", b->name);
	snprintf(d->path, sizeof(d->path), "%s", b->path);
	d->end = b->size / VOS_BLK_SZ * VOS_BLK_SZ;
	return 0;
}

static int dev_find(const struct vos_engine *eng, const char *uuid)
{
	for (int d = 0; d < eng->ndevs; d++)
		if (strncmp(eng->devs[d].uuid, uuid, 40) == 0)
			return d;
	return -1;
}

/* Undoes an interrupted create or finishes an interrupted destroy of record idx. */
static int recover(struct vos_engine *eng, int idx, char *err, size_t errlen)
{
	uint8_t uuid[16];
	int rc;

	memcpy(uuid, smd_pools(eng)[idx].sp_uuid, 16);
	rc = remove_pool_dir(eng, uuid, err, errlen);
	if (rc == 0)
		rc = smd_remove(eng, idx);
	return rc;
}

/* Opens the shards of READY record idx, reporting every bad one. */
static void open_pool(struct vos_engine *eng, const struct smd_pool_df *rec)
{
	struct smd_ext_df *e = smd_exts(rec);
	struct vos_pool *p = mem_add(eng, rec);
	char path[4200], msg[512];

	if (p == NULL) {
		pool_dir(eng, rec->sp_uuid, path, sizeof(path));
		add_problem(eng, path, rec->sp_uuid, -1, -DER_NOMEM, "out of memory opening the pool");
		return;
	}
	for (uint32_t t = 0; t < rec->sp_ntgt; t++) {
		int rc;

		shard_path(eng, rec->sp_uuid, (int)t, path, sizeof(path));
		if (e != NULL) {
			int d = dev_find(eng, e[t].se_dev);

			if (d < 0) {
				add_problem(eng, path, rec->sp_uuid, (int)t, -DER_NONEXIST,
					    "its NVMe extent is on bdev %.40s, not among this engine's "
					    "usable bdevs", e[t].se_dev);
				p->state = VOS_POOL_DAMAGED;
				continue;
			}
			if (e[t].se_off + e[t].se_len > eng->devs[d].end) {
				add_problem(eng, path, rec->sp_uuid, (int)t, -DER_DF_INVAL,
					    "its NVMe extent ends at %" PRIu64 ", beyond the end of "
					    "bdev %s (%" PRIu64 ")", e[t].se_off + e[t].se_len,
					    eng->devs[d].path, eng->devs[d].end);
				p->state = VOS_POOL_DAMAGED;
				continue;
			}
		}
		rc = shard_open(eng, rec, e ? &e[t] : NULL, (int)t, &p->shards[t], msg,
				sizeof(msg));
		if (rc != 0) {
			add_problem(eng, path, rec->sp_uuid, (int)t, rc, "%s", msg);
			p->state = VOS_POOL_DAMAGED;
		}
	}
}

/* Reports pool directories the table does not know and stray files in known ones. */
static void scan_mount(struct vos_engine *eng)
{
	DIR *d = opendir(eng->scm);
	struct dirent *de;
	char path[4600];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		uint8_t u[16];
		int idx;

		if (vos_uuid_parse(de->d_name, u) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", eng->scm, de->d_name);
		idx = smd_find(eng, u);
		if (idx < 0) {
			add_problem(eng, path, u, -1, -DER_NONEXIST, "pool directory not in the "
				    "allocation table %s (left by another engine or a lost table); not "
				    "opened: remove it if no pool owns it", eng->smd_path);
			continue;
		}
		{
			DIR *pd = opendir(path);
			struct dirent *pe;
			uint32_t ntgt = smd_pools(eng)[idx].sp_ntgt;

			while (pd != NULL && (pe = readdir(pd)) != NULL) {
				char *endp;
				unsigned long t;

				if (strcmp(pe->d_name, ".") == 0 || strcmp(pe->d_name, "..") == 0)
					continue;
				if (strncmp(pe->d_name, VOS_FILE_PREFIX, 4) == 0) {
					t = strtoul(pe->d_name + 4, &endp, 10);
					if (*endp == '\0' && endp != pe->d_name + 4 && t < ntgt)
						continue;
				}
				add_problem(eng, path, u, -1, 0, "unexpected entry %s in the pool "
					    "directory (the pool has %u targets)", pe->d_name, ntgt);
			}
			if (pd != NULL)
				closedir(pd);
		}
	}
	closedir(d);
}

/*
 * The storage core this process opened last (one engine per process): the mgmt module reads
 * the space pools hold on each bdev through it (vos_bdev_used) without owning it.
 */
static pthread_mutex_t vos_cur_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vos_engine *vos_cur;

int vos_bdev_used(const char *dev_uuid, uint64_t *used)
{
	int rc = -DER_NONEXIST;

	*used = 0;
	pthread_mutex_lock(&vos_cur_lock);
	if (vos_cur != NULL) {
		struct vos_engine *eng = vos_cur;

		pthread_mutex_lock(&eng->lock);
		if (dev_find(eng, dev_uuid) >= 0) {
			for (uint32_t i = 0; i < eng->sd->sd_npools; i++) {
				struct smd_pool_df *p = &smd_pools(eng)[i];
				struct smd_ext_df *e = smd_exts(p);

				for (uint32_t t = 0; e != NULL && t < p->sp_ntgt; t++)
					if (strncmp(e[t].se_dev, dev_uuid, sizeof(e[t].se_dev)) == 0)
						*used += e[t].se_len;
			}
			rc = 0;
		}
		pthread_mutex_unlock(&eng->lock);
	}
	pthread_mutex_unlock(&vos_cur_lock);
	return rc;
}

int vos_engine_open(const struct dss_storage *st, int ntargets, struct vos_engine **out,
		    char *err, size_t errlen)
{
	struct vos_engine *eng;
	struct stat sb;
	int rc;

	*out = NULL;
	if (ntargets <= 0 || ntargets > VOS_MAX_TARGETS) {
		snprintf(err, errlen, "engine targets %d: must be 1..%d", ntargets, VOS_MAX_TARGETS);
		return -DER_INVAL;
	}
	if (stat(st->scm_mount, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "SCM mount %s is not a directory", st->scm_mount);
		return -DER_NONEXIST;
	}
	eng = calloc(1, sizeof(*eng));
	if (eng == NULL || (eng->devs = calloc(DSS_MAX_BDEVS, sizeof(*eng->devs))) == NULL) {
		free(eng);
		snprintf(err, errlen, "out of memory");
		return -DER_NOMEM;
	}
	pthread_mutex_init(&eng->lock, NULL);
	snprintf(eng->scm, sizeof(eng->scm), "%s", st->scm_mount);
	eng->ntgt = ntargets;
	for (int i = 0; i < st->nbdevs && i < DSS_MAX_BDEVS; i++)
		dev_add(eng, &st->bdevs[i]);
	rc = smd_open(eng, err, errlen);
	if (rc == 0)
		rc = smd_validate(eng, err, errlen);
	if (rc != 0) {
		vos_engine_close(eng);
		return rc;
	}
	/* recovery first: it may drop records (the last moves into the freed slot) */
	for (int i = (int)eng->sd->sd_npools - 1; i >= 0; i--) {
		struct smd_pool_df *p = &smd_pools(eng)[i];
		char path[4200], rerr[512];
		uint32_t state = p->sp_state;

		if (state == VOS_POOL_READY)
			continue;
		pool_dir(eng, p->sp_uuid, path, sizeof(path));
		rc = recover(eng, i, rerr, sizeof(rerr));
		if (rc != 0)
			add_problem(eng, path, p->sp_uuid, -1, rc, "interrupted %s could not be "
				    "completed: %s", state == VOS_POOL_CREATING ? "create" : "destroy",
				    rerr);
		else
			D_INFO("vos: %s: interrupted %s of the pool completed (%s)", path,
			       state == VOS_POOL_CREATING ? "create rolled back" : "destroy",
			       state == VOS_POOL_CREATING ? "nothing left" : "files removed");
	}
	for (uint32_t i = 0; i < eng->sd->sd_npools; i++) {
		struct smd_pool_df *p = &smd_pools(eng)[i];

		if (p->sp_state == VOS_POOL_READY)
			open_pool(eng, p);
	}
	scan_mount(eng);
	*out = eng;
	pthread_mutex_lock(&vos_cur_lock);
	vos_cur = eng;
	pthread_mutex_unlock(&vos_cur_lock);
	return 0;
}

void vos_engine_close(struct vos_engine *eng)
{
	if (eng == NULL)
		return;
	pthread_mutex_lock(&vos_cur_lock);
	if (vos_cur == eng)
		vos_cur = NULL;
	pthread_mutex_unlock(&vos_cur_lock);
	while (eng->npools > 0)
		mem_drop(eng, &eng->pools[0]);
	free(eng->pools);
	if (eng->smd != NULL)
		pmemobj_close(eng->smd);
	free(eng->probs);
	free(eng->devs);
	pthread_mutex_destroy(&eng->lock);
	free(eng);
}

int vos_engine_nproblems(const struct vos_engine *eng)
{
	return eng->nprobs;
}

const struct vos_problem *vos_engine_problem(const struct vos_engine *eng, int i)
{
	return i >= 0 && i < eng->nprobs ? &eng->probs[i] : NULL;
}

int vos_engine_ntargets(const struct vos_engine *eng)
{
	return eng->ntgt;
}

int vos_engine_nbdevs(const struct vos_engine *eng)
{
	return eng->ndevs;
}

/* ---- create / destroy ---- */

static int scm_avail(struct vos_engine *eng, uint64_t *avail)
{
	struct statvfs vfs;

	if (statvfs(eng->scm, &vfs) != 0)
		return -DER_IO;
	*avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	return 0;
}

/* Shards of one create, made by a few threads at once (PMDK pools are independent). */
struct create_job {
	struct vos_engine *eng;
	const struct smd_pool_df *rec;
	const struct smd_ext_df *exts;
	struct vos_shard *shards;
	int ntgt;
	int next;               /* atomic: next target to create */
	int failed;             /* atomic: a target failed, hand out no more */
	int rc;                 /* the first failure, under lock */
	char err[4608];
	pthread_mutex_t lock;
};

static void *create_worker(void *arg)
{
	struct create_job *j = arg;
	char err[4608];

	for (;;) {
		int t = __atomic_fetch_add(&j->next, 1, __ATOMIC_SEQ_CST);
		int rc;

		if (t >= j->ntgt || __atomic_load_n(&j->failed, __ATOMIC_SEQ_CST))
			break;
		rc = shard_create(j->eng, j->rec, j->exts ? &j->exts[t] : NULL, t, &j->shards[t],
				  err, sizeof(err));
		if (rc != 0) {
			pthread_mutex_lock(&j->lock);
			if (!j->failed) {
				j->rc = rc;
				snprintf(j->err, sizeof(j->err), "%s", err);
				__atomic_store_n(&j->failed, 1, __ATOMIC_SEQ_CST);
			}
			pthread_mutex_unlock(&j->lock);
			break;
		}
		fi_crash_point();
	}
	return NULL;
}

/* Creates every target's shard; on failure the first error is in err (shards made stay open). */
static int create_shards(struct vos_engine *eng, const struct smd_pool_df *rec,
			 struct vos_shard *shards, char *err, size_t errlen)
{
	struct create_job j = {.eng = eng, .rec = rec, .exts = smd_exts(rec), .shards = shards,
			       .ntgt = (int)rec->sp_ntgt};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nthr = (int)(ncpu < 2 ? 2 : ncpu > 16 ? 16 : ncpu), started = 0;
	pthread_t th[16];

	if (nthr > j.ntgt)
		nthr = j.ntgt;
	pthread_mutex_init(&j.lock, NULL);
	for (int i = 1; i < nthr; i++)
		if (pthread_create(&th[started], NULL, create_worker, &j) == 0)
			started++;
	create_worker(&j); /* this thread works too, so a failed pthread_create only slows it */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.lock);
	if (j.failed)
		snprintf(err, errlen, "%s", j.err);
	return j.failed ? j.rc : 0;
}

static int create_locked(struct vos_engine *eng, const uint8_t uuid[16], uint64_t scm_sz,
			 uint64_t nvme_sz, struct vos_nospace *ns, char *err, size_t errlen)
{
	struct smd_ext_df *exts = NULL;
	struct smd_pool_df rec;
	struct vos_pool *p;
	char us[37], dir[4200], b1[32], b2[32], b3[32];
	uint64_t avail, margin, need, scm_largest = 0, nvme_largest = 0;
	uint32_t short_tiers = 0;
	int ntgt = eng->ntgt, idx, rc;
	struct vos_shard *shards;
	struct stat sb;
	size_t off;

	vos_uuid_format(uuid, us);
	if (memcmp(uuid, (uint8_t[16]){0}, 16) == 0) {
		snprintf(err, errlen, "pool uuid is nil");
		return -DER_INVAL;
	}
	if (scm_sz < VOS_SCM_MIN) {
		snprintf(err, errlen, "pool %s: SCM size per target %s (%" PRIu64 " B) is below the "
			 "minimum %s of a pmemobj pool", us, hsize(scm_sz, b1), scm_sz,
			 hsize(VOS_SCM_MIN, b2));
		return -DER_INVAL;
	}
	if (round_up(scm_sz, VOS_BLK_SZ) == 0 || (nvme_sz > 0 && round_up(nvme_sz, VOS_BLK_SZ) == 0)) {
		snprintf(err, errlen, "pool %s: size out of range (SCM %" PRIu64 ", NVMe %" PRIu64
			 " per target)", us, scm_sz, nvme_sz);
		return -DER_INVAL;
	}
	scm_sz = round_up(scm_sz, VOS_BLK_SZ);
	nvme_sz = round_up(nvme_sz, VOS_BLK_SZ);
	idx = smd_find(eng, uuid);
	if (idx >= 0) {
		uint32_t st = smd_pools(eng)[idx].sp_state;

		snprintf(err, errlen, "pool %s already has shards on this engine (%s)", us,
			 st == VOS_POOL_READY ? "ready" : st == VOS_POOL_CREATING ? "being created"
			 : "being destroyed");
		return -DER_EXIST;
	}
	pool_dir(eng, uuid, dir, sizeof(dir));
	if (lstat(dir, &sb) == 0) {
		snprintf(err, errlen, "pool %s: %s exists but the allocation table has no such pool; "
			 "remove it if no pool owns it", us, dir);
		return -DER_EXIST;
	}

	/* space of both tiers, before anything is allocated */
	rc = scm_avail(eng, &avail);
	if (rc != 0) {
		snprintf(err, errlen, "cannot read the free space of SCM mount %s: %s", eng->scm,
			 strerror(errno));
		return rc;
	}
	margin = (uint64_t)(ntgt + 1) * SCM_FILE_MARGIN;
	need = scm_sz > UINT64_MAX / (uint64_t)ntgt ? UINT64_MAX : scm_sz * (uint64_t)ntgt;
	if (need > avail || margin > avail - need) {
		short_tiers |= 1u << VOS_TIER_SCM;
		scm_largest = avail > margin ? (avail - margin) / (uint64_t)ntgt / VOS_BLK_SZ *
						       VOS_BLK_SZ : 0;
	}
	if (nvme_sz > 0) {
		exts = calloc((size_t)ntgt, sizeof(*exts));
		if (exts == NULL) {
			snprintf(err, errlen, "out of memory");
			return -DER_NOMEM;
		}
		rc = nvme_plan(eng, nvme_sz, exts, &nvme_largest);
		if (rc == -DER_NOSPACE)
			short_tiers |= 1u << VOS_TIER_NVME;
		else if (rc != 0) {
			free(exts);
			snprintf(err, errlen, "out of memory");
			return rc;
		}
	}
	if (short_tiers != 0) {
		off = (size_t)snprintf(err, errlen, "pool %s: no space", us);
		if ((short_tiers & (1u << VOS_TIER_SCM)) && off < errlen)
			off += (size_t)snprintf(err + off, errlen - off, "; SCM: %d targets x %s "
						"asked, at most %s (%" PRIu64 " B) per target fits in "
						"%s (%s free)%s", ntgt, hsize(scm_sz, b1),
						hsize(scm_largest, b2), scm_largest, eng->scm,
						hsize(avail, b3), scm_largest < VOS_SCM_MIN ?
						", below the 8 MiB minimum" : "");
		if ((short_tiers & (1u << VOS_TIER_NVME)) && off < errlen)
			snprintf(err + off, errlen - off, "; NVMe: %d targets x %s asked, at most %s "
				 "(%" PRIu64 " B) per target fits on %s", ntgt, hsize(nvme_sz, b1),
				 hsize(nvme_largest, b2), nvme_largest,
				 eng->ndevs == 0 ? "this engine, which has no usable bdev" :
				 "this engine's bdevs");
		if (ns != NULL) {
			ns->tiers = short_tiers;
			ns->scm_largest = (short_tiers & (1u << VOS_TIER_SCM)) ? scm_largest : scm_sz;
			ns->nvme_largest = (short_tiers & (1u << VOS_TIER_NVME)) ? nvme_largest
										  : nvme_sz;
		}
		free(exts);
		return -DER_NOSPACE;
	}

	/* 1: the durable record (CREATING) holds the extents from now on */
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.sp_uuid, uuid, 16);
	rec.sp_state = VOS_POOL_CREATING;
	rec.sp_ntgt = (uint32_t)ntgt;
	rec.sp_scm_sz = scm_sz;
	rec.sp_nvme_sz = nvme_sz;
	rec.sp_ctime = now_ns();
	rc = smd_add(eng, &rec, exts);
	free(exts);
	if (rc != 0) {
		snprintf(err, errlen, "pool %s: cannot record it in the allocation table %s: %s", us,
			 eng->smd_path, pmemobj_errormsg());
		return rc;
	}
	fi_crash_point();
	idx = smd_find(eng, uuid);
	shards = calloc((size_t)ntgt, sizeof(*shards));
	if (shards == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -DER_NOMEM;
		goto rollback;
	}
	/* 2: the shard files */
	if (mkdir(dir, 0700) != 0) {
		snprintf(err, errlen, "pool %s: cannot create %s: %s", us, dir, strerror(errno));
		rc = errno == ENOSPC ? -DER_NOSPACE : -DER_IO;
		goto rollback;
	}
	fsync_dir(eng->scm);
	fi_crash_point();
	rc = create_shards(eng, &smd_pools(eng)[idx], shards, err, errlen);
	if (rc != 0)
		goto rollback;
	fsync_dir(dir);
	/* 3: complete */
	rc = smd_set_state(eng, idx, VOS_POOL_READY);
	if (rc != 0) {
		snprintf(err, errlen, "pool %s: cannot mark it ready in %s", us, eng->smd_path);
		goto rollback;
	}
	fi_crash_point();
	p = mem_add(eng, &smd_pools(eng)[idx]);
	if (p == NULL) {
		/* durable and complete: it opens at the next start; report the memory shortage */
		for (int t = 0; t < ntgt; t++)
			shard_close(&shards[t]);
		free(shards);
		snprintf(err, errlen, "pool %s created but out of memory to keep it open", us);
		return -DER_NOMEM;
	}
	memcpy(p->shards, shards, (size_t)ntgt * sizeof(*shards));
	free(shards);
	D_INFO("vos: pool %s created: %d targets x SCM %s, NVMe %s", us, ntgt, hsize(scm_sz, b1),
	       hsize(nvme_sz, b2));
	return 0;

rollback:
	for (int t = 0; shards != NULL && t < ntgt; t++)
		shard_close(&shards[t]);
	free(shards);
	{
		char rerr[512];
		int rrc = recover(eng, idx, rerr, sizeof(rerr));

		if (rrc != 0) {
			size_t l = strlen(err);

			/* the CREATING record stays: the next open (or a destroy) finishes it */
			snprintf(err + l, errlen - l, "; rollback incomplete: %s", rerr);
		}
	}
	return rc;
}

int vos_pool_create(struct vos_engine *eng, const uint8_t uuid[16], uint64_t scm_sz,
		    uint64_t nvme_sz, struct vos_nospace *ns, char *err, size_t errlen)
{
	int rc;

	if (ns != NULL)
		memset(ns, 0, sizeof(*ns));
	err[0] = '\0';
	pthread_mutex_lock(&eng->lock);
	rc = create_locked(eng, uuid, scm_sz, nvme_sz, ns, err, errlen);
	pthread_mutex_unlock(&eng->lock);
	return rc;
}

int vos_pool_destroy(struct vos_engine *eng, const uint8_t uuid[16], char *err, size_t errlen)
{
	struct vos_pool *p;
	char us[37];
	int idx, rc;

	err[0] = '\0';
	vos_uuid_format(uuid, us);
	pthread_mutex_lock(&eng->lock);
	idx = smd_find(eng, uuid);
	if (idx < 0) {
		pthread_mutex_unlock(&eng->lock);
		snprintf(err, errlen, "pool %s has no shards on this engine", us);
		return -DER_NONEXIST;
	}
	rc = smd_set_state(eng, idx, VOS_POOL_DESTROYING);
	if (rc != 0) {
		pthread_mutex_unlock(&eng->lock);
		snprintf(err, errlen, "pool %s: cannot mark it destroying in %s", us, eng->smd_path);
		return rc;
	}
	fi_crash_point();
	p = mem_find(eng, uuid);
	if (p != NULL)
		mem_drop(eng, p);
	rc = recover(eng, idx, err, errlen);
	if (rc == 0)
		D_INFO("vos: pool %s destroyed", us);
	/* on failure the DESTROYING record stays: a retry or the next open finishes it */
	pthread_mutex_unlock(&eng->lock);
	return rc;
}

int vos_pool_list(struct vos_engine *eng, struct vos_pool_info *out, int max)
{
	int n;

	pthread_mutex_lock(&eng->lock);
	n = eng->npools;
	for (int i = 0; i < n && i < max; i++) {
		struct vos_pool *p = &eng->pools[i];

		memcpy(out[i].uuid, p->uuid, 16);
		out[i].state = p->state;
		out[i].ntgt = p->ntgt;
		out[i].scm_sz = p->scm_sz;
		out[i].nvme_sz = p->nvme_sz;
		out[i].ctime_ns = p->ctime;
	}
	pthread_mutex_unlock(&eng->lock);
	return n;
}

/* The open shard of (uuid, tgt), or NULL with *rc and err set; called locked. */
static struct vos_shard *get_shard(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
				   int *rc, char *err, size_t errlen)
{
	struct vos_pool *p = mem_find(eng, uuid);
	char us[37], path[4200];

	vos_uuid_format(uuid, us);
	*rc = -DER_NONEXIST;
	if (p == NULL) {
		snprintf(err, errlen, "pool %s has no shards on this engine", us);
		return NULL;
	}
	if (tgt < 0 || (uint32_t)tgt >= p->ntgt) {
		snprintf(err, errlen, "pool %s: no target %d (it has %u)", us, tgt, p->ntgt);
		return NULL;
	}
	if (p->shards[tgt].pop == NULL) {
		shard_path(eng, uuid, tgt, path, sizeof(path));
		snprintf(err, errlen, "pool %s target %d: shard %s is damaged (see the engine's "
			 "start-up report)", us, tgt, path);
		*rc = -DER_DF_INVAL;
		return NULL;
	}
	*rc = 0;
	return &p->shards[tgt];
}

int vos_target_query(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
		     struct vos_space *sp, char *err, size_t errlen)
{
	struct vos_shard *sh;
	uint64_t alloc = 0, meta;
	int rc;

	memset(sp, 0, sizeof(*sp));
	pthread_mutex_lock(&eng->lock);
	sh = get_shard(eng, uuid, tgt, &rc, err, errlen);
	if (sh == NULL) {
		pthread_mutex_unlock(&eng->lock);
		return rc;
	}
	/* PMDK's metadata (pool header, lanes, heap headers) lies before the first object */
	meta = pmemobj_oid(sh->df).off;
	(void)pmemobj_ctl_get(sh->pop, "stats.heap.curr_allocated", &alloc);
	sp->scm_total = sh->df->pd_scm_sz;
	sp->scm_free = sp->scm_total > meta + alloc ? sp->scm_total - meta - alloc : 0;
	if (sh->df->pd_nvme_len > 0) {
		sp->nvme_total = (sh->df->pd_vea_df.vsd_tot_blks - VEA_HDR_BLKS) * VOS_BLK_SZ;
		sp->nvme_free = vea_free_blks(sh->pop, &sh->df->pd_vea_df, NULL) * VOS_BLK_SZ;
	}
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

int vos_pool_space(struct vos_engine *eng, const uint8_t uuid[16], struct vos_space *per_tgt,
		   int max, char *err, size_t errlen)
{
	struct vos_pool *p;
	int n;

	pthread_mutex_lock(&eng->lock);
	p = mem_find(eng, uuid);
	n = p != NULL ? (int)p->ntgt : 0;
	pthread_mutex_unlock(&eng->lock);
	if (p == NULL) {
		char us[37];

		vos_uuid_format(uuid, us);
		snprintf(err, errlen, "pool %s has no shards on this engine", us);
		return -DER_NONEXIST;
	}
	/* per target under the lock each time: a destroy in between is seen as NONEXIST */
	for (int t = 0; t < n && t < max; t++) {
		int rc = vos_target_query(eng, uuid, t, &per_tgt[t], err, errlen);

		if (rc != 0)
			return rc;
	}
	return n;
}

int vos_target_info(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
		    struct vos_target_info *ti, char *err, size_t errlen)
{
	struct vos_shard *sh;
	int d, rc;

	memset(ti, 0, sizeof(*ti));
	pthread_mutex_lock(&eng->lock);
	sh = get_shard(eng, uuid, tgt, &rc, err, errlen);
	if (sh == NULL) {
		pthread_mutex_unlock(&eng->lock);
		return rc;
	}
	shard_path(eng, uuid, tgt, ti->path, sizeof(ti->path));
	snprintf(ti->dev_uuid, sizeof(ti->dev_uuid), "%.36s", sh->df->pd_dev_uuid);
	d = dev_find(eng, sh->df->pd_dev_uuid);
	if (d >= 0)
		snprintf(ti->dev_path, sizeof(ti->dev_path), "%s", eng->devs[d].path);
	ti->nvme_off = sh->df->pd_nvme_off;
	ti->nvme_len = sh->df->pd_nvme_len;
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

void vos_engine_query(struct vos_engine *eng, struct vos_space *sp)
{
	uint64_t used = 0;

	memset(sp, 0, sizeof(*sp));
	pthread_mutex_lock(&eng->lock);
	{
		struct statvfs vfs;

		if (statvfs(eng->scm, &vfs) == 0) {
			sp->scm_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
			sp->scm_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		}
	}
	for (int d = 0; d < eng->ndevs; d++)
		sp->nvme_total += eng->devs[d].end - VOS_BDEV_HDR;
	for (uint32_t i = 0; i < eng->sd->sd_npools; i++) {
		struct smd_pool_df *p = &smd_pools(eng)[i];
		struct smd_ext_df *e = smd_exts(p);

		for (uint32_t t = 0; e != NULL && t < p->sp_ntgt; t++)
			if (dev_find(eng, e[t].se_dev) >= 0)
				used += e[t].se_len;
	}
	sp->nvme_free = sp->nvme_total > used ? sp->nvme_total - used : 0;
	pthread_mutex_unlock(&eng->lock);
}

/*
 * Reserves (reserve: *bdev_off set) or frees (*bdev_off given) `bytes` of target tgt's NVMe
 * extent of pool uuid, under the engine lock: the shard lookup and block rounding both share.
 */
static int nvme_extent_op(struct vos_engine *eng, const uint8_t uuid[16], int tgt, int reserve,
			  uint64_t bytes, uint64_t *bdev_off)
{
	struct vos_shard *sh;
	uint64_t blk = 0, n = round_up(bytes, VOS_BLK_SZ) / VOS_BLK_SZ;
	char err[256];
	int rc;

	if (n == 0)
		return -DER_INVAL;
	pthread_mutex_lock(&eng->lock);
	sh = get_shard(eng, uuid, tgt, &rc, err, sizeof(err));
	if (sh == NULL) {
		;
	} else if (reserve) {
		if (sh->df->pd_nvme_len == 0)
			rc = -DER_NOSPACE;
		else
			rc = vea_reserve(sh->pop, &sh->df->pd_vea_df, n, &blk);
		if (rc == 0)
			*bdev_off = sh->df->pd_nvme_off + blk * VOS_BLK_SZ;
	} else if (*bdev_off < sh->df->pd_nvme_off ||
		   (*bdev_off - sh->df->pd_nvme_off) % VOS_BLK_SZ) {
		rc = -DER_INVAL;
	} else {
		rc = vea_free(sh->pop, &sh->df->pd_vea_df,
			      (*bdev_off - sh->df->pd_nvme_off) / VOS_BLK_SZ, n);
	}
	pthread_mutex_unlock(&eng->lock);
	return rc;
}

int vos_target_nvme_reserve(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
			    uint64_t bytes, uint64_t *bdev_off)
{
	return nvme_extent_op(eng, uuid, tgt, 1, bytes, bdev_off);
}

int vos_target_nvme_free(struct vos_engine *eng, const uint8_t uuid[16], int tgt,
			 uint64_t bdev_off, uint64_t bytes)
{
	return nvme_extent_op(eng, uuid, tgt, 0, bytes, &bdev_off);
}
