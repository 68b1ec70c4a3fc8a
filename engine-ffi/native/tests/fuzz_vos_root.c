/*
 * libFuzzer target for what the storage core reads back from SCM files, which a damaged disk or
 * a foreign file can fill with anything: a shard's root object (struct vos_pool_df) and its
 * NVMe allocator's free-extent table. One real shard (1 target, 1 MiB of NVMe) is created once
 * on /dev/shm; every input is written in place over its root object and table, then
 *  1. shard_check must accept or reject it without crashing (ASan/UBSan watch);
 *  2. when it accepts, reserve/free operations taken from the rest of the input run on that
 *     state, and vea_check must still accept the state after each one (the allocator keeps its
 *     invariants whatever valid state it starts from);
 *  3. the original root and table are put back for the next input.
 * Input: [flags][root: sizeof(struct vos_pool_df)][table: 64 x 16 bytes][ops: 3 bytes each].
 * flags: bit0 recompute the root checksum, bit1 keep the identity fields (magic, version, uuid,
 * target, sizes, extent), bit2 keep the allocator header (magic, geometry, table oid and capacity), bit3 keep
 * the table contents: so inputs reach the deeper checks and the allocator.
 */
#include "vos.c"

#define TBL_CAP 64u

static struct {
	struct vos_engine eng;
	PMEMobjpool *pop;
	struct vos_pool_df *df;
	struct vos_pool_df saved;
	struct smd_pool_df rec;
	struct smd_ext_df ext;
	PMEMoid tbl;
	struct vea_free_df tbl_saved[TBL_CAP];
	char dir[64];
	char path[4200];
} F;

static void cleanup(void)
{
	char d[4200];

	if (F.pop != NULL)
		pmemobj_close(F.pop);
	unlink(F.path);
	pool_dir(&F.eng, F.rec.sp_uuid, d, sizeof(d));
	rmdir(d);
	rmdir(F.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vos_shard sh;
	char err[512], d[4200];

	(void)argc;
	(void)argv;
	snprintf(F.dir, sizeof(F.dir), "/dev/shm/fuzz_vos.XXXXXX");
	if (mkdtemp(F.dir) == NULL)
		abort();
	snprintf(F.eng.scm, sizeof(F.eng.scm), "%s", F.dir);
	for (int i = 0; i < 16; i++)
		F.rec.sp_uuid[i] = (uint8_t)(0xa0 + i);
	F.rec.sp_state = VOS_POOL_READY;
	F.rec.sp_ntgt = 1;
	F.rec.sp_scm_sz = VOS_SCM_MIN;
	F.rec.sp_nvme_sz = 1 << 20;
	F.rec.sp_ctime = 1;
	snprintf(F.ext.se_dev, sizeof(F.ext.se_dev), "00000000-0000-4000-8000-000000000000");
	F.ext.se_off = VOS_BDEV_HDR;
	F.ext.se_len = 1 << 20;
	pool_dir(&F.eng, F.rec.sp_uuid, d, sizeof(d));
	if (mkdir(d, 0700) != 0)
		abort();
	shard_path(&F.eng, F.rec.sp_uuid, 0, F.path, sizeof(F.path));
	atexit(cleanup);
	if (shard_create(&F.eng, &F.rec, &F.ext, 0, &sh, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_vos_root: %s\n", err);
		abort();
	}
	F.pop = sh.pop;
	F.df = sh.df;
	F.saved = *F.df;
	F.tbl = F.df->pd_vea_df.vsd_free;
	if (F.df->pd_vea_df.vsd_cap != TBL_CAP)
		abort();
	memcpy(F.tbl_saved, pmemobj_direct(F.tbl), sizeof(F.tbl_saved));
	return 0;
}

static void restore(void)
{
	*F.df = F.saved;
	memset(pmemobj_direct(F.tbl), 0, (size_t)F.saved.pd_vea_df.vsd_cap * 16);
	memcpy(pmemobj_direct(F.tbl), F.tbl_saved, sizeof(F.tbl_saved));
	pmemobj_persist(F.pop, F.df, sizeof(*F.df));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t need = 1 + sizeof(struct vos_pool_df) + sizeof(F.tbl_saved);
	struct vea_space_df *v = &F.df->pd_vea_df;
	char msg[512];
	uint8_t flags;
	int rc;

	if (size < need)
		return 0;
	flags = data[0];
	memcpy(F.df, data + 1, sizeof(*F.df));
	if (flags & 2) {
		memcpy(F.df, &F.saved, offsetof(struct vos_pool_df, pd_csum));
	}
	if (flags & 4) {
		v->vsd_magic = F.saved.pd_vea_df.vsd_magic;
		v->vsd_blk_sz = F.saved.pd_vea_df.vsd_blk_sz;
		v->vsd_hdr_blks = F.saved.pd_vea_df.vsd_hdr_blks;
		v->vsd_tot_blks = F.saved.pd_vea_df.vsd_tot_blks;
		v->vsd_cap = F.saved.pd_vea_df.vsd_cap;
		v->vsd_free = F.saved.pd_vea_df.vsd_free;
	}
	if (flags & 1)
		F.df->pd_csum = pool_df_csum(F.df);
	if (!(flags & 8))
		memcpy(pmemobj_direct(F.tbl), data + 1 + sizeof(*F.df), sizeof(F.tbl_saved));
	pmemobj_persist(F.pop, F.df, sizeof(*F.df));

	rc = shard_check(F.pop, F.df, &F.rec, &F.ext, 0, msg, sizeof(msg));
	if (rc == 0) {
		for (size_t i = need; i + 3 <= size; i += 3) {
			uint64_t off, n = (uint64_t)(data[i + 1] % 16) + 1;
			char err[256];

			if (data[i] & 1) {
				rc = vea_reserve(F.pop, v, n, &off);
				if (rc == 0 && (off < VEA_HDR_BLKS || off + n > v->vsd_tot_blks))
					abort();
			} else {
				(void)vea_free(F.pop, v, data[i + 2], n);
			}
			if (vea_check(F.pop, v, F.rec.sp_scm_sz, err, sizeof(err)) != 0) {
				fprintf(stderr, "allocator invariant broken: %s\n", err);
				abort();
			}
			(void)vea_free_blks(F.pop, v, &off);
		}
		/* the table may have grown: the old object was freed, the new one is live */
		F.tbl = v->vsd_free;
		F.saved.pd_vea_df.vsd_free = v->vsd_free;
		F.saved.pd_vea_df.vsd_cap = v->vsd_cap;
	} else if (msg[0] == '\0') {
		abort(); /* a rejection must say why */
	}
	restore();
	return 0;
}
