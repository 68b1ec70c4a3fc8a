/*
 * cmocka tests of the pool storage core (src/vos.c, src/vea.c): shards as pmemobj files on a
 * tmpfs SCM directory, NVMe extents on sparse file bdevs carrying the DAOS_AIO_BDEV header,
 * the allocation table, rollback, crash recovery (fork + _exit at every crash point), damaged
 * shards reported by path, and the per-target NVMe allocator.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <inttypes.h>
#include <libpmemobj.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage.h"
#include "vos.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

struct env {
	char dir[256];
	char scm[300];
	char conf[300];
	char bdev[4][300];
	int nbdevs;
	struct dss_storage st;
	struct vos_engine *eng;
	int ntgt;
	int mounted;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes a bdev file as dmg storage format does: header block, then (sparse) data. */
static void make_bdev(const char *path, uint64_t size)
{
	static const char hdr[] = "DAOS_AIO_BDEV v1\nowner=/test\n";
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, hdr, sizeof(hdr) - 1, 0), (ssize_t)sizeof(hdr) - 1);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void write_conf(struct env *e)
{
	FILE *f = fopen(e->conf, "w");

	assert_non_null(f);
	fprintf(f, "{\"daos_data\":{\"config\":[]},\"subsystems\":[{\"subsystem\":\"bdev\","
		"\"config\":[");
	for (int i = 0; i < e->nbdevs; i++)
		fprintf(f, "%s{\"method\":\"bdev_aio_create\",\"params\":{\"name\":\"AIO_t_0_%d\","
			"\"filename\":\"%s\",\"block_size\":4096}}", i ? "," : "", i, e->bdev[i]);
	fprintf(f, "]}]}\n");
	fclose(f);
}

/* A temp dir on tmpfs (/dev/shm) when there is one: SCM is a tmpfs mount in DAOS too. */
static void env_init(struct env *e, int nbdevs, uint64_t bdev_size, int ntgt)
{
	char err[512] = "", dir[256];

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "%s/vos_test.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	assert_non_null(mkdtemp(e->dir));
	memcpy(dir, e->dir, sizeof(dir));
	snprintf(e->scm, sizeof(e->scm), "%s/scm", e->dir);
	assert_int_equal(mkdir(e->scm, 0700), 0);
	snprintf(e->conf, sizeof(e->conf), "%s/scm/daos_nvme.conf", e->dir);
	e->nbdevs = nbdevs;
	for (int i = 0; i < nbdevs; i++) {
		char *b = e->bdev[i];

		assert_true(i < 4);
		snprintf(b, sizeof(e->bdev[0]), "%.200s/bdev%d", dir, i);
		make_bdev(e->bdev[i], bdev_size);
	}
	write_conf(e);
	if (dss_storage_open(&e->st, e->scm, nbdevs ? e->conf : "", err, sizeof(err)) != 0)
		fail_msg("storage open: %s", err);
	e->ntgt = ntgt;
}

static struct vos_engine *env_open(struct env *e)
{
	char err[512] = "";
	int rc = vos_engine_open(&e->st, e->ntgt, &e->eng, err, sizeof(err));

	if (rc != 0)
		fail_msg("vos_engine_open: %d %s", rc, err);
	return e->eng;
}

static void env_close(struct env *e)
{
	vos_engine_close(e->eng);
	e->eng = NULL;
}

static int env_setup(void **state)
{
	*state = calloc(1, sizeof(struct env));
	return *state == NULL ? -1 : 0;
}

/* Runs after every test, also after a failed assertion: nothing stays mounted or on disk. */
static int env_teardown(void **state)
{
	struct env *e = *state;

	vos_fault_set(VOS_FI_NONE, 0);
	vos_engine_close(e->eng);
	if (e->mounted)
		umount2(e->scm, MNT_DETACH);
	if (e->dir[0] != '\0') {
		dss_storage_close(&e->st);
		rm_rf(e->dir);
	}
	free(e);
	return 0;
}

static void mkuuid(uint8_t u[16], int i)
{
	for (int k = 0; k < 16; k++)
		u[k] = (uint8_t)(0x11 * (k + 1) + i);
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
}

static void pool_dir(const struct env *e, const uint8_t u[16], char *out, size_t n)
{
	char us[37];

	vos_uuid_format(u, us);
	snprintf(out, n, "%s/%s", e->scm, us);
}

static void shard_file(const struct env *e, const uint8_t u[16], int t, char *out, size_t n)
{
	char us[37];

	vos_uuid_format(u, us);
	snprintf(out, n, "%s/%s/vos-%d", e->scm, us, t);
}

static int exists(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0;
}

static void create_ok(struct env *e, const uint8_t u[16], uint64_t scm, uint64_t nvme)
{
	char err[1024] = "";
	int rc = vos_pool_create(e->eng, u, scm, nvme, NULL, err, sizeof(err));

	if (rc != 0)
		fail_msg("create: %d %s", rc, err);
}

static void destroy_ok(struct env *e, const uint8_t u[16])
{
	char err[1024] = "";
	int rc = vos_pool_destroy(e->eng, u, err, sizeof(err));

	if (rc != 0)
		fail_msg("destroy: %d %s", rc, err);
}

static void assert_contains(const char *s, const char *needle)
{
	if (strstr(s, needle) == NULL)
		fail_msg("'%s' does not contain '%s'", s, needle);
}

/* No pool directory, no record, all NVMe free: what a rolled-back create must leave. */
static void assert_pristine(struct env *e, const uint8_t u[16], uint64_t nvme_free)
{
	char dir[512];
	struct vos_space sp;
	struct vos_pool_info pi[8];

	pool_dir(e, u, dir, sizeof(dir));
	assert_false(exists(dir));
	assert_int_equal(vos_pool_list(e->eng, pi, 8), 0);
	vos_engine_query(e->eng, &sp);
	assert_int_equal(sp.nvme_free, nvme_free);
}

static void test_uuid(void **state)
{
	uint8_t u[16], v[16];
	char s[37];

	(void)state;
	mkuuid(u, 3);
	vos_uuid_format(u, s);
	assert_int_equal(strlen(s), 36);
	assert_int_equal(vos_uuid_parse(s, v), 0);
	assert_memory_equal(u, v, 16);
	assert_int_equal(vos_uuid_parse("12345678-1234-1234-1234-12345678901", v), -DER_INVAL);
	assert_int_equal(vos_uuid_parse("12345678-1234-1234-1234-12345678901g", v), -DER_INVAL);
	assert_int_equal(vos_uuid_parse("123456781-234-1234-1234-123456789012", v), -DER_INVAL);
	assert_int_equal(vos_uuid_parse("ABCDEF01-2345-4678-9abc-def012345678", v), 0);
	assert_int_equal(v[0], 0xab);
}

/* Create, check every file and record, reopen, destroy, reopen. */
static void test_create_destroy_reopen(void **state)
{
	struct env *e = *state;
	uint8_t u[16];
	char path[512], err[512];
	struct vos_pool_info pi[4];
	struct vos_target_info ti;
	struct vos_space sp;
	struct stat sb;

	env_init(e, 2, 1 * GiB, 4);
	env_open(e);
	assert_int_equal(vos_engine_nproblems(e->eng), 0);
	assert_int_equal(vos_engine_nbdevs(e->eng), 2);
	mkuuid(u, 1);
	create_ok(e, u, 16 * MiB, 64 * MiB);
	for (int t = 0; t < 4; t++) {
		shard_file(e, u, t, path, sizeof(path));
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_size, 16 * MiB);
		assert_int_equal(vos_target_info(e->eng, u, t, &ti, err, sizeof(err)), 0);
		assert_string_equal(ti.path, path);
		assert_string_equal(ti.dev_path, e->bdev[t % 2]);
		assert_int_equal(ti.nvme_len, 64 * MiB);
		assert_true(ti.nvme_off >= VOS_BDEV_HDR);
		assert_int_equal(vos_target_query(e->eng, u, t, &sp, err, sizeof(err)), 0);
		assert_int_equal(sp.scm_total, 16 * MiB);
		assert_true(sp.scm_free > 8 * MiB && sp.scm_free < 16 * MiB);
		assert_int_equal(sp.nvme_total, 64 * MiB - VOS_BLK_SZ);
		assert_int_equal(sp.nvme_free, 64 * MiB - VOS_BLK_SZ);
	}
	assert_int_equal(vos_target_query(e->eng, u, 4, &sp, err, sizeof(err)), -DER_NONEXIST);
	{
		struct vos_space all[8];

		assert_int_equal(vos_pool_space(e->eng, u, all, 8, err, sizeof(err)), 4);
		for (int t = 0; t < 4; t++) {
			assert_int_equal(all[t].scm_total, 16 * MiB);
			assert_int_equal(all[t].nvme_free, 64 * MiB - VOS_BLK_SZ);
		}
		assert_int_equal(vos_pool_space(e->eng, u, all, 2, err, sizeof(err)), 4);
	}
	assert_contains(err, "no target 4");
	assert_int_equal(vos_pool_create(e->eng, u, 16 * MiB, 0, NULL, err, sizeof(err)),
			 -DER_EXIST);
	assert_contains(err, "already has shards");
	assert_int_equal(vos_pool_list(e->eng, pi, 4), 1);
	assert_int_equal(pi[0].state, VOS_POOL_READY);
	assert_int_equal(pi[0].ntgt, 4);
	env_close(e);
	/* real pmemobj pools of our layout, consistent for PMDK's own checker */
	for (int t = 0; t < 4; t++) {
		shard_file(e, u, t, path, sizeof(path));
		assert_int_equal(pmemobj_check(path, VOS_POOL_LAYOUT), 1);
	}

	env_open(e);
	assert_int_equal(vos_engine_nproblems(e->eng), 0);
	assert_int_equal(vos_pool_list(e->eng, pi, 4), 1);
	assert_memory_equal(pi[0].uuid, u, 16);
	assert_int_equal(pi[0].state, VOS_POOL_READY);
	assert_int_equal(pi[0].scm_sz, 16 * MiB);
	assert_int_equal(pi[0].nvme_sz, 64 * MiB);
	assert_int_equal(vos_target_query(e->eng, u, 3, &sp, err, sizeof(err)), 0);
	assert_int_equal(sp.nvme_free, 64 * MiB - VOS_BLK_SZ);
	destroy_ok(e, u);
	pool_dir(e, u, path, sizeof(path));
	assert_false(exists(path));
	assert_int_equal(vos_pool_destroy(e->eng, u, err, sizeof(err)), -DER_NONEXIST);
	assert_int_equal(vos_target_query(e->eng, u, 0, &sp, err, sizeof(err)), -DER_NONEXIST);
	env_close(e);
	env_open(e);
	assert_int_equal(vos_pool_list(e->eng, pi, 4), 0);
	assert_int_equal(vos_engine_nproblems(e->eng), 0);
}

/* SCM-only pools (no bdev at all, or nvme size 0), sizes rounded up, bad sizes. */
static void test_scm_only_and_bad_args(void **state)
{
	struct env *e = *state;
	uint8_t u[16], nil[16] = {0};
	char err[512], path[512];
	struct vos_nospace ns;
	struct vos_space sp;
	struct stat sb;

	env_init(e, 0, 0, 2);
	env_open(e);
	mkuuid(u, 2);
	assert_int_equal(vos_pool_create(e->eng, nil, 16 * MiB, 0, NULL, err, sizeof(err)),
			 -DER_INVAL);
	assert_int_equal(vos_pool_create(e->eng, u, 4 * MiB, 0, NULL, err, sizeof(err)), -DER_INVAL);
	assert_contains(err, "below the minimum");
	assert_int_equal(vos_pool_create(e->eng, u, 16 * MiB, UINT64_MAX, NULL, err, sizeof(err)),
			 -DER_INVAL);
	/* NVMe asked from an engine without bdevs: no space on NVMe, at most 0 */
	assert_int_equal(vos_pool_create(e->eng, u, 16 * MiB, 4096, &ns, err, sizeof(err)),
			 -DER_NOSPACE);
	assert_int_equal(ns.tiers, 1u << VOS_TIER_NVME);
	assert_int_equal(ns.nvme_largest, 0);
	assert_contains(err, "NVMe");
	assert_contains(err, "no usable bdev");
	create_ok(e, u, 16 * MiB + 1, 0);
	shard_file(e, u, 1, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 16 * MiB + 4096);
	assert_int_equal(vos_target_query(e->eng, u, 1, &sp, err, sizeof(err)), 0);
	assert_int_equal(sp.nvme_total, 0);
	assert_int_equal(vos_target_nvme_reserve(e->eng, u, 1, 4096, &(uint64_t){0}), -DER_NOSPACE);
}

struct ext {
	char dev[37];
	uint64_t off, len;
};

/* Every target extent of every pool, checked pairwise and against the bdev bounds. */
static void assert_no_overlap(struct env *e, uint8_t (*uu)[16], int n)
{
	struct ext x[64];
	int nx = 0;
	char err[512];

	for (int i = 0; i < n; i++) {
		for (int t = 0; t < e->ntgt; t++) {
			struct vos_target_info ti;

			assert_int_equal(vos_target_info(e->eng, uu[i], t, &ti, err, sizeof(err)), 0);
			memcpy(x[nx].dev, ti.dev_uuid, 37);
			x[nx].off = ti.nvme_off;
			x[nx].len = ti.nvme_len;
			assert_true(ti.nvme_off >= VOS_BDEV_HDR);
			assert_true(ti.nvme_off % VOS_BLK_SZ == 0);
			nx++;
		}
	}
	for (int a = 0; a < nx; a++)
		for (int b = a + 1; b < nx; b++)
			if (strcmp(x[a].dev, x[b].dev) == 0 && x[a].off < x[b].off + x[b].len &&
			    x[b].off < x[a].off + x[a].len)
				fail_msg("extents %d [%" PRIu64 "+%" PRIu64 ") and %d [%" PRIu64 "+%"
					 PRIu64 ") overlap on %s", a, x[a].off, x[a].len, b, x[b].off,
					 x[b].len, x[a].dev);
}

static void test_no_overlap(void **state)
{
	struct env *e = *state;
	uint8_t u[6][16];
	uint64_t sizes[6] = {8 * MiB, 24 * MiB, 4096, 40 * MiB + 4096, 16 * MiB, 1 * MiB};
	struct vos_space sp0, sp;
	uint64_t sum = 0;

	env_init(e, 2, 256 * MiB, 3);
	env_open(e);
	vos_engine_query(e->eng, &sp0);
	assert_int_equal(sp0.nvme_total, 2 * (256 * MiB - VOS_BDEV_HDR));
	for (int i = 0; i < 6; i++) {
		mkuuid(u[i], 10 + i);
		create_ok(e, u[i], 8 * MiB, sizes[i]);
		sum += 3 * sizes[i];
		assert_no_overlap(e, u, i + 1);
	}
	vos_engine_query(e->eng, &sp);
	assert_int_equal(sp.nvme_free, sp0.nvme_free - sum);
	{
		/* per bdev, as the mgmt module reports device space: together all pools hold */
		uint64_t used, all = 0;

		for (int d = 0; d < e->st.nbdevs; d++) {
			assert_int_equal(vos_bdev_used(e->st.bdevs[d].uuid, &used), 0);
			all += used;
		}
		assert_int_equal(all, sum);
		assert_int_equal(vos_bdev_used("no-such-bdev", &used), -DER_NONEXIST);
		assert_int_equal(used, 0);
	}
	env_close(e);
	{
		uint64_t used;

		/* no storage core open: nothing to report */
		assert_int_equal(vos_bdev_used(e->st.bdevs[0].uuid, &used), -DER_NONEXIST);
	}
	env_open(e);
	assert_int_equal(vos_engine_nproblems(e->eng), 0);
	assert_no_overlap(e, u, 6);
	vos_engine_query(e->eng, &sp);
	assert_int_equal(sp.nvme_free, sp0.nvme_free - sum);
}

static void test_destroy_gives_space_back(void **state)
{
	struct env *e = *state;
	uint8_t a[16], b[16];
	struct vos_space s0, s1, s2;

	env_init(e, 1, 512 * MiB + VOS_BDEV_HDR, 2);
	env_open(e);
	mkuuid(a, 20);
	mkuuid(b, 21);
	vos_engine_query(e->eng, &s0);
	create_ok(e, a, 32 * MiB, 100 * MiB);
	create_ok(e, b, 16 * MiB, 50 * MiB);
	vos_engine_query(e->eng, &s1);
	assert_int_equal(s1.nvme_free, s0.nvme_free - 2 * 150 * MiB);
	/* tmpfs blocks really taken by the pmemobj files (other users may move it a little) */
	assert_true(s0.scm_free - s1.scm_free >= 2 * 48 * MiB - 1 * MiB);
	destroy_ok(e, a);
	destroy_ok(e, b);
	vos_engine_query(e->eng, &s2);
	assert_int_equal(s2.nvme_free, s0.nvme_free);
	assert_true(s2.scm_free + 1 * MiB >= s0.scm_free);
	/* the space is reusable in full: one pool takes the whole bdev */
	create_ok(e, a, 8 * MiB, 256 * MiB);
	vos_engine_query(e->eng, &s1);
	assert_int_equal(s1.nvme_free, 0);
}

static void test_nospace_nvme(void **state)
{
	struct env *e = *state;
	uint8_t a[16], b[16], c[16];
	struct vos_nospace ns;
	struct vos_space s0, s1;
	char err[1024], dir[512], want[512];

	/* 3 targets on 2 bdevs: bdev0 holds targets 0 and 2, so it limits */
	env_init(e, 2, 256 * MiB, 3);
	env_open(e);
	mkuuid(a, 30);
	mkuuid(b, 31);
	mkuuid(c, 32);
	create_ok(e, a, 8 * MiB, 100 * MiB);
	vos_engine_query(e->eng, &s0);
	assert_int_equal(vos_pool_create(e->eng, b, 8 * MiB, 100 * MiB, &ns, err, sizeof(err)),
			 -DER_NOSPACE);
	assert_int_equal(ns.tiers, 1u << VOS_TIER_NVME);
	/* bdev0 has 256 MiB - 4 KiB - 200 MiB left for 2 extents */
	assert_int_equal(ns.nvme_largest, (56 * MiB - VOS_BDEV_HDR) / 2 / 4096 * 4096);
	assert_contains(err, "NVMe: 3 targets x 100.00 MiB asked");
	snprintf(want, sizeof(want), "(%" PRIu64 " B) per target fits", ns.nvme_largest);
	assert_contains(err, want);
	assert_true(strstr(err, "SCM:") == NULL);
	/* nothing was left behind */
	pool_dir(e, b, dir, sizeof(dir));
	assert_false(exists(dir));
	vos_engine_query(e->eng, &s1);
	assert_int_equal(s1.nvme_free, s0.nvme_free);
	assert_int_equal(vos_pool_list(e->eng, NULL, 0), 1);
	/* the largest reported fits, and then nothing more does */
	create_ok(e, b, 8 * MiB, ns.nvme_largest);
	assert_int_equal(vos_pool_create(e->eng, c, 8 * MiB, 4096, &ns, err, sizeof(err)),
			 -DER_NOSPACE);
	assert_int_equal(ns.nvme_largest, 0);
}

/* SCM short of space: a real small tmpfs when root, so the reported largest can be tried. */
static void test_nospace_scm(void **state)
{
	struct env *e = *state;
	uint8_t a[16], b[16];
	struct vos_nospace ns;
	char err[1024], dir[512], want[512];
	struct vos_space s0, s1;

	env_init(e, 1, 64 * MiB, 4);
	if (geteuid() == 0 && mount("tmpfs", e->scm, "tmpfs", 0, "size=112m") == 0) {
		e->mounted = 1;
		env_open(e);
		mkuuid(a, 40);
		mkuuid(b, 41);
		vos_engine_query(e->eng, &s0);
		assert_int_equal(vos_pool_create(e->eng, a, 32 * MiB, 4 * MiB, &ns, err, sizeof(err)),
				 -DER_NOSPACE);
		assert_int_equal(ns.tiers, 1u << VOS_TIER_SCM);
		assert_true(ns.scm_largest >= 16 * MiB && ns.scm_largest < 26 * MiB);
		assert_int_equal(ns.scm_largest % 4096, 0);
		assert_contains(err, "SCM: 4 targets x 32.00 MiB asked");
		snprintf(want, sizeof(want), "(%" PRIu64 " B) per target fits in %s", ns.scm_largest,
			 e->scm);
		assert_contains(err, want);
		pool_dir(e, a, dir, sizeof(dir));
		assert_false(exists(dir));
		vos_engine_query(e->eng, &s1);
		assert_int_equal(s1.nvme_free, s0.nvme_free);
		assert_int_equal(s1.scm_free, s0.scm_free);
		/* both tiers short: both named */
		assert_int_equal(vos_pool_create(e->eng, a, 64 * MiB, 64 * MiB, &ns, err,
						 sizeof(err)), -DER_NOSPACE);
		assert_int_equal(ns.tiers, (1u << VOS_TIER_SCM) | (1u << VOS_TIER_NVME));
		assert_contains(err, "SCM:");
		assert_contains(err, "NVMe:");
		/* the reported largest really fits on the real file system */
		assert_int_equal(vos_pool_create(e->eng, a, 32 * MiB, 4 * MiB, &ns, err, sizeof(err)),
				 -DER_NOSPACE);
		create_ok(e, a, ns.scm_largest, 4 * MiB);
		assert_int_equal(vos_pool_create(e->eng, b, 8 * MiB, 0, &ns, err, sizeof(err)),
				 -DER_NOSPACE);
		assert_contains(err, "below the 8 MiB minimum");
		env_close(e);
		assert_int_equal(umount(e->scm), 0);
		e->mounted = 0;
	} else {
		print_message("test_nospace_scm: not root or no tmpfs mount: checking the error "
			      "only\n");
		env_open(e);
		mkuuid(a, 40);
		assert_int_equal(vos_pool_create(e->eng, a, 1ULL << 50, 0, &ns, err, sizeof(err)),
				 -DER_NOSPACE);
		assert_int_equal(ns.tiers, 1u << VOS_TIER_SCM);
		pool_dir(e, a, dir, sizeof(dir));
		assert_false(exists(dir));
	}
}

/* A failure on target N of a create rolls back every target; the retry succeeds. */
static void test_rollback_target_n(void **state)
{
	struct env *e = *state;
	uint8_t u[16];
	char err[1024];
	struct vos_space s0;
	struct vos_pool_info pi[2];

	env_init(e, 2, 256 * MiB, 4);
	env_open(e);
	mkuuid(u, 50);
	vos_engine_query(e->eng, &s0);
	for (int n = 0; n < 4; n++) {
		vos_fault_set(VOS_FI_TGT_CREATE, n);
		assert_int_equal(vos_pool_create(e->eng, u, 8 * MiB, 16 * MiB, NULL, err,
						 sizeof(err)), -DER_IO);
		assert_contains(err, "injected");
		assert_true(strstr(err, "rollback incomplete") == NULL);
		assert_pristine(e, u, s0.nvme_free);
		/* and durably so: a restart finds nothing either */
		env_close(e);
		vos_fault_set(VOS_FI_NONE, 0);
		env_open(e);
		assert_int_equal(vos_engine_nproblems(e->eng), 0);
		assert_pristine(e, u, s0.nvme_free);
	}
	create_ok(e, u, 8 * MiB, 16 * MiB);
	assert_int_equal(vos_pool_list(e->eng, pi, 2), 1);
}

/*
 * Runs op in a child that _exits at crash point k; returns 1 when the child crashed there,
 * 0 when op completed (k is past the last point).
 */
static int crash_at(struct env *e, int k, int destroy, const uint8_t u[16])
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[1024];
		struct vos_engine *eng;
		int rc;

		if (vos_engine_open(&e->st, e->ntgt, &eng, err, sizeof(err)) != 0)
			_exit(2);
		vos_fault_set(VOS_FI_CRASH, k);
		rc = destroy ? vos_pool_destroy(eng, u, err, sizeof(err))
			     : vos_pool_create(eng, u, 8 * MiB, 32 * MiB, NULL, err, sizeof(err));
		_exit(rc == 0 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == VOS_FI_EXIT)
		return 1;
	assert_int_equal(WEXITSTATUS(status), 0);
	return 0;
}

/* A power loss at every point of a create leaves nothing or a complete pool; same for destroy. */
static void test_crash_recovery(void **state)
{
	struct env *e = *state;
	uint8_t u[16];
	struct vos_space s0, s;
	struct vos_pool_info pi[2];
	char err[512];
	int k, complete = 0, rolled = 0;

	env_init(e, 2, 256 * MiB, 3);
	mkuuid(u, 60);
	env_open(e);
	vos_engine_query(e->eng, &s0);
	env_close(e);
	for (k = 1; crash_at(e, k, 0, u); k++) {
		env_open(e);
		assert_int_equal(vos_engine_nproblems(e->eng), 0);
		if (vos_pool_list(e->eng, pi, 2) == 1) {
			/* crashed after the pool was marked ready: every shard is whole */
			assert_int_equal(pi[0].state, VOS_POOL_READY);
			for (int t = 0; t < 3; t++)
				assert_int_equal(vos_target_query(e->eng, u, t, &s, err,
								  sizeof(err)), 0);
			complete++;
			destroy_ok(e, u);
		} else {
			assert_pristine(e, u, s0.nvme_free);
			rolled++;
		}
		env_close(e);
	}
	/* points: record, mkdir, one per target, ready; the run past the last one completed */
	assert_int_equal(k, 7);
	env_open(e);
	assert_int_equal(vos_pool_list(e->eng, pi, 2), 1);
	destroy_ok(e, u);
	env_close(e);
	assert_int_equal(rolled, 5);
	assert_int_equal(complete, 1);
	print_message("create: %d crash points, %d rolled back, %d complete\n", k - 1, rolled,
		      complete);

	/* destroy: the pool is gone after every crash point */
	for (k = 1;; k++) {
		int crashed;

		env_open(e);
		create_ok(e, u, 8 * MiB, 32 * MiB);
		env_close(e);
		crashed = crash_at(e, k, 1, u);
		env_open(e);
		assert_int_equal(vos_engine_nproblems(e->eng), 0);
		assert_pristine(e, u, s0.nvme_free);
		env_close(e);
		if (!crashed)
			break;
	}
	/* points: destroying, one per file */
	assert_int_equal(k, 5);
}

/*
 * SIGKILL at arbitrary instants (inside PMDK transactions and pmemobj_create too) while a
 * child creates and destroys pools: after every kill the engine opens with no problem, every
 * pool it lists is whole and the free NVMe space is exactly what the listed pools leave.
 */
static void test_kill_anytime(void **state)
{
	struct env *e = *state;
	struct vos_space s0, sp;
	struct vos_pool_info pi[64];
	unsigned seed = (unsigned)time(NULL);
	char err[512];

	env_init(e, 2, 512 * MiB, 3);
	env_open(e);
	vos_engine_query(e->eng, &s0);
	env_close(e);
	print_message("test_kill_anytime: seed %u\n", seed);
	for (int round = 0; round < 8; round++) {
		struct timespec delay;
		pid_t pid;
		int status, n;
		uint64_t held = 0;

		int ready[2];
		char c;

		assert_int_equal(pipe(ready), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct vos_engine *eng;

			if (vos_engine_open(&e->st, e->ntgt, &eng, err, sizeof(err)) != 0)
				_exit(2);
			/* the kill is timed from here: it lands among creates and destroys */
			if (write(ready[1], "r", 1) != 1)
				_exit(2);
			for (int i = 0;; i++) {
				uint8_t u[16];

				mkuuid(u, (round * 64 + i) % 250);
				vos_pool_create(eng, u, 8 * MiB, (uint64_t)(1 + i % 5) * MiB, NULL, err,
						sizeof(err));
				if (i % 2 == 1)
					vos_pool_destroy(eng, u, err, sizeof(err));
			}
		}
		close(ready[1]);
		assert_int_equal(read(ready[0], &c, 1), 1);
		close(ready[0]);
		delay.tv_sec = 0;
		delay.tv_nsec = (long)(rand_r(&seed) % 999) * 1000000L;
		if (round % 2 == 1)
			delay.tv_sec = 1; /* odd rounds wait longer: they find whole pools too */
		nanosleep(&delay, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));

		env_open(e);
		for (int i = 0; i < vos_engine_nproblems(e->eng); i++)
			print_message("problem: %s: %s\n", vos_engine_problem(e->eng, i)->path,
				      vos_engine_problem(e->eng, i)->msg);
		assert_int_equal(vos_engine_nproblems(e->eng), 0);
		n = vos_pool_list(e->eng, pi, 64);
		assert_true(n <= 64);
		for (int i = 0; i < n; i++) {
			assert_int_equal(pi[i].state, VOS_POOL_READY);
			for (int t = 0; t < 3; t++)
				assert_int_equal(vos_target_query(e->eng, pi[i].uuid, t, &sp, err,
								  sizeof(err)), 0);
			held += pi[i].nvme_sz * pi[i].ntgt;
		}
		vos_engine_query(e->eng, &sp);
		assert_int_equal(sp.nvme_free, s0.nvme_free - held);
		print_message("round %d: killed after %ld ms, %d pools whole\n", round,
			      (long)delay.tv_sec * 1000 + delay.tv_nsec / 1000000L, n);
		for (int i = 0; i < n; i++)
			destroy_ok(e, pi[i].uuid);
		env_close(e);
	}
}

/* Overwrites len bytes at off in path, as media corruption would. */
static void scribble(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static uint64_t root_off(const char *path)
{
	PMEMobjpool *pop = pmemobj_open(path, VOS_POOL_LAYOUT);
	uint64_t off;

	assert_non_null(pop);
	off = pmemobj_root(pop, 1).off;
	pmemobj_close(pop);
	return off;
}

static const struct vos_problem *find_problem(struct vos_engine *eng, const char *path)
{
	for (int i = 0; i < vos_engine_nproblems(eng); i++)
		if (strcmp(vos_engine_problem(eng, i)->path, path) == 0)
			return vos_engine_problem(eng, i);
	fail_msg("no problem reported for %s", path);
	return NULL;
}

/* Corrupt root, truncated file, another pool's shard, garbage, stray dir: reported by path. */
static void test_damaged_shards(void **state)
{
	struct env *e = *state;
	uint8_t p[16], q[16], stray[16];
	char f[5][512], qf[512], dir[512], err[512], cmd[1200];
	const struct vos_problem *pr;
	struct vos_pool_info pi[4];
	struct vos_space s0, sp;
	uint8_t junk[4096];
	int fd;

	env_init(e, 1, 256 * MiB, 5);
	env_open(e);
	vos_engine_query(e->eng, &s0);
	mkuuid(p, 70);
	mkuuid(q, 71);
	create_ok(e, p, 8 * MiB, 8 * MiB);
	create_ok(e, q, 8 * MiB, 8 * MiB);
	env_close(e);
	for (int t = 0; t < 5; t++)
		shard_file(e, p, t, f[t], sizeof(f[t]));
	/* 0: one byte of the pool uuid in the root object flipped */
	scribble(f[0], root_off(f[0]) + 24, "\xff", 1);
	/* 1: truncated */
	assert_int_equal(truncate(f[1], 4 * MiB), 0);
	/* 2: pool q's shard 2 copied over pool p's */
	shard_file(e, q, 2, qf, sizeof(qf));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", qf, f[2]);
	assert_int_equal(system(cmd), 0);
	/* 3: garbage of the right size */
	memset(junk, 0x5a, sizeof(junk));
	fd = open(f[3], O_WRONLY);
	for (uint64_t o = 0; o < 8 * MiB; o += sizeof(junk))
		assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)o), (ssize_t)sizeof(junk));
	close(fd);
	/* 4: missing */
	assert_int_equal(unlink(f[4]), 0);
	/* a pool directory nobody recorded */
	mkuuid(stray, 72);
	pool_dir(e, stray, dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0700), 0);

	env_open(e);
	pr = find_problem(e->eng, f[0]);
	assert_int_equal(pr->rc, -DER_CSUM);
	assert_int_equal(pr->tgt, 0);
	assert_memory_equal(pr->pool, p, 16);
	assert_contains(pr->msg, "checksum");
	pr = find_problem(e->eng, f[1]);
	assert_contains(pr->msg, "truncated");
	pr = find_problem(e->eng, f[2]);
	assert_contains(pr->msg, "belongs to pool");
	pr = find_problem(e->eng, f[3]);
	assert_contains(pr->msg, "not a valid VOS pool file");
	pr = find_problem(e->eng, f[4]);
	assert_contains(pr->msg, "missing");
	pr = find_problem(e->eng, dir);
	assert_contains(pr->msg, "not in the allocation table");
	assert_int_equal(vos_engine_nproblems(e->eng), 6);
	/* pool p is damaged, q is fine (its shard 2 opened after p's copy was closed) */
	assert_int_equal(vos_pool_list(e->eng, pi, 4), 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pi[i].state, memcmp(pi[i].uuid, p, 16) == 0 ? VOS_POOL_DAMAGED
									    : VOS_POOL_READY);
	assert_int_equal(vos_target_query(e->eng, p, 0, &sp, err, sizeof(err)), -DER_DF_INVAL);
	assert_contains(err, f[0]);
	{
		struct vos_space all[5];

		assert_int_equal(vos_pool_space(e->eng, p, all, 5, err, sizeof(err)), -DER_DF_INVAL);
		assert_contains(err, f[0]);
		assert_int_equal(vos_pool_space(e->eng, q, all, 5, err, sizeof(err)), 5);
	}
	for (int t = 0; t < 5; t++)
		assert_int_equal(vos_target_query(e->eng, q, t, &sp, err, sizeof(err)), 0);
	/* a new pool cannot take the stray directory's name */
	assert_int_equal(vos_pool_create(e->eng, stray, 8 * MiB, 0, NULL, err, sizeof(err)),
			 -DER_EXIST);
	assert_contains(err, dir);
	/* the damaged pool can still be destroyed, and its space comes back */
	destroy_ok(e, p);
	destroy_ok(e, q);
	vos_engine_query(e->eng, &sp);
	assert_int_equal(sp.nvme_free, s0.nvme_free);
}

/* Bad inputs around the table and the bdevs: errors or problems naming the path. */
static void test_bad_table_and_bdev(void **state)
{
	struct env *e = *state;
	char err[1024], smd[512], junk[4096];
	int fd;

	env_init(e, 2, 64 * MiB, 2);
	/* bdev1 lost its header: not used, reported */
	scribble(e->bdev[1], 0, "NOT A BDEV", 10);
	env_open(e);
	assert_int_equal(vos_engine_nbdevs(e->eng), 1);
	assert_int_equal(vos_engine_nproblems(e->eng), 1);
	assert_string_equal(vos_engine_problem(e->eng, 0)->path, e->bdev[1]);
	assert_contains(vos_engine_problem(e->eng, 0)->msg, "DAOS_AIO_BDEV");
	env_close(e);
	/* a garbage allocation table stops the open, naming it */
	snprintf(smd, sizeof(smd), "%s/daos_sys/vos_smd", e->scm);
	memset(junk, 0x33, sizeof(junk));
	fd = open(smd, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(vos_engine_open(&e->st, 2, &e->eng, err, sizeof(err)), -DER_DF_INVAL);
	assert_null(e->eng);
	assert_contains(err, smd);
	assert_int_equal(vos_engine_open(&e->st, 0, &e->eng, err, sizeof(err)), -DER_INVAL);
}

/* A damaged record of the allocation table stops the open, naming the table and the pool. */
static void test_bad_table_record(void **state)
{
	struct env *e = *state;
	char err[1024], smd[512], us[37];
	PMEMobjpool *pop;
	uint8_t u[16], *root;
	uint64_t recs;

	env_init(e, 1, 64 * MiB, 2);
	env_open(e);
	mkuuid(u, 130);
	create_ok(e, u, 8 * MiB, 4 * MiB);
	env_close(e);
	/* white box: smd_df.sd_pools.off is at root + 24, smd_pool_df.sp_state at record + 16 */
	snprintf(smd, sizeof(smd), "%s/daos_sys/vos_smd", e->scm);
	pop = pmemobj_open(smd, VOS_SMD_LAYOUT);
	assert_non_null(pop);
	root = pmemobj_direct(pmemobj_root(pop, 1));
	memcpy(&recs, root + 24, 8);
	assert_memory_equal((uint8_t *)pop + recs, u, 16);
	memset((uint8_t *)pop + recs + 16, 0x7f, 4);
	pmemobj_persist(pop, (uint8_t *)pop + recs + 16, 4);
	pmemobj_close(pop);
	assert_int_equal(vos_engine_open(&e->st, 2, &e->eng, err, sizeof(err)), -DER_DF_INVAL);
	assert_null(e->eng);
	assert_contains(err, smd);
	vos_uuid_format(u, us);
	assert_contains(err, us);
	assert_contains(err, "unknown state");
}

/* A pool whose bdev is gone from the engine's config is damaged, reported by shard path. */
static void test_missing_bdev(void **state)
{
	struct env *e = *state;
	struct dss_storage one;
	struct vos_pool_info pi[1];
	const struct vos_problem *pr;
	uint8_t u[16];
	char f1[512], err[512];

	env_init(e, 2, 64 * MiB, 2);
	env_open(e);
	mkuuid(u, 110);
	create_ok(e, u, 8 * MiB, 8 * MiB);
	env_close(e);
	/* the same storage with bdev1 removed from the config */
	one = e->st;
	one.nbdevs = 1;
	assert_int_equal(vos_engine_open(&one, 2, &e->eng, err, sizeof(err)), 0);
	shard_file(e, u, 1, f1, sizeof(f1));
	assert_int_equal(vos_engine_nproblems(e->eng), 1);
	pr = find_problem(e->eng, f1);
	assert_int_equal(pr->tgt, 1);
	assert_contains(pr->msg, "not among this engine's usable bdevs");
	assert_int_equal(vos_pool_list(e->eng, pi, 1), 1);
	assert_int_equal(pi[0].state, VOS_POOL_DAMAGED);
	assert_int_equal(vos_target_query(e->eng, u, 0, &(struct vos_space){0}, err, sizeof(err)),
			 0);
	env_close(e);
	/* with the bdev back, the pool is whole again */
	env_open(e);
	assert_int_equal(vos_engine_nproblems(e->eng), 0);
	assert_int_equal(vos_pool_list(e->eng, pi, 1), 1);
	assert_int_equal(pi[0].state, VOS_POOL_READY);
}

/* The per-target NVMe allocator: reserve/free, persistence across reopen, growth. */
static void test_allocator_survives_reopen(void **state)
{
	struct env *e = *state;
	uint8_t u[16];
	uint64_t off[200], base, o;
	struct vos_space sp, sp2;
	struct vos_target_info ti;
	char err[512];

	env_init(e, 1, 64 * MiB, 1);
	env_open(e);
	mkuuid(u, 80);
	create_ok(e, u, 8 * MiB, 4 * MiB);
	assert_int_equal(vos_target_info(e->eng, u, 0, &ti, err, sizeof(err)), 0);
	base = ti.nvme_off;
	/* 200 blocks one by one, lowest offsets first (after the header block) */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(vos_target_nvme_reserve(e->eng, u, 0, 4096, &off[i]), 0);
		assert_int_equal(off[i], base + (uint64_t)(i + 1) * 4096);
	}
	/* free every other one: 100 free extents (the table grows past its first 64) */
	for (int i = 0; i < 200; i += 2)
		assert_int_equal(vos_target_nvme_free(e->eng, u, 0, off[i], 4096), 0);
	assert_int_equal(vos_target_nvme_free(e->eng, u, 0, off[0], 4096), -DER_INVAL);
	assert_int_equal(vos_target_nvme_free(e->eng, u, 0, base, 4096), -DER_INVAL);
	assert_int_equal(vos_target_nvme_free(e->eng, u, 0, base + 4 * MiB, 4096), -DER_INVAL);
	assert_int_equal(vos_target_nvme_free(e->eng, u, 0, off[1] + 1, 4096), -DER_INVAL);
	assert_int_equal(vos_target_query(e->eng, u, 0, &sp, err, sizeof(err)), 0);
	assert_int_equal(sp.nvme_free, 4 * MiB - 4096 - 100 * 4096);
	env_close(e);

	env_open(e);
	assert_int_equal(vos_engine_nproblems(e->eng), 0);
	assert_int_equal(vos_target_query(e->eng, u, 0, &sp2, err, sizeof(err)), 0);
	assert_int_equal(sp2.nvme_free, sp.nvme_free);
	/* two blocks do not fit in any single-block hole: they come from the tail */
	assert_int_equal(vos_target_nvme_reserve(e->eng, u, 0, 8192, &o), 0);
	assert_int_equal(o, base + 201 * 4096);
	/* one block: best fit is the first single-block hole */
	assert_int_equal(vos_target_nvme_reserve(e->eng, u, 0, 1, &o), 0);
	assert_int_equal(o, off[0]);
	/* freeing the odd ones merges everything back into one extent */
	for (int i = 1; i < 200; i += 2)
		assert_int_equal(vos_target_nvme_free(e->eng, u, 0, off[i], 4096), 0);
	assert_int_equal(vos_target_nvme_free(e->eng, u, 0, off[0], 4096), 0);
	assert_int_equal(vos_target_nvme_free(e->eng, u, 0, base + 201 * 4096, 8192), 0);
	assert_int_equal(vos_target_query(e->eng, u, 0, &sp, err, sizeof(err)), 0);
	assert_int_equal(sp.nvme_free, 4 * MiB - 4096);
	assert_int_equal(vos_target_nvme_reserve(e->eng, u, 0, 4 * MiB - 4096, &o), 0);
	assert_int_equal(o, base + 4096);
	assert_int_equal(vos_target_nvme_reserve(e->eng, u, 0, 4096, &o), -DER_NOSPACE);
	env_close(e);
	env_open(e);
	assert_int_equal(vos_engine_nproblems(e->eng), 0);
	assert_int_equal(vos_target_query(e->eng, u, 0, &sp, err, sizeof(err)), 0);
	assert_int_equal(sp.nvme_free, 0);
}

/* Create A, B, C; destroy B; D fits in B's hole; E larger than any hole does not. */
static void test_fragmentation(void **state)
{
	struct env *e = *state;
	uint8_t a[16], b[16], c[16], d[16], x[16];
	uint64_t boff[2], chunk = 60 * MiB;
	struct vos_target_info ti;
	struct vos_nospace ns;
	char err[1024];

	/* 2 targets on 1 bdev of 4 KiB + 400 MiB: A, B, C take 360 MiB, 40 MiB stay at the end */
	env_init(e, 1, 400 * MiB + VOS_BDEV_HDR, 2);
	env_open(e);
	mkuuid(a, 90);
	mkuuid(b, 91);
	mkuuid(c, 92);
	mkuuid(d, 93);
	mkuuid(x, 94);
	create_ok(e, a, 8 * MiB, chunk);
	create_ok(e, b, 8 * MiB, chunk);
	create_ok(e, c, 8 * MiB, chunk);
	for (int t = 0; t < 2; t++) {
		assert_int_equal(vos_target_info(e->eng, b, t, &ti, err, sizeof(err)), 0);
		boff[t] = ti.nvme_off;
	}
	destroy_ok(e, b);
	/* 2 x 60 MiB no longer fit at the end (40 MiB) but do in B's hole (120 MiB) */
	create_ok(e, d, 8 * MiB, chunk);
	for (int t = 0; t < 2; t++) {
		assert_int_equal(vos_target_info(e->eng, d, t, &ti, err, sizeof(err)), 0);
		assert_int_equal(ti.nvme_off, boff[t]);
	}
	uint8_t all[3][16];

	memcpy(all[0], a, 16);
	memcpy(all[1], c, 16);
	memcpy(all[2], d, 16);
	assert_no_overlap(e, all, 3);
	/* 40 MiB free in one gap: 2 x 20 MiB is the largest */
	assert_int_equal(vos_pool_create(e->eng, x, 8 * MiB, 30 * MiB, &ns, err, sizeof(err)),
			 -DER_NOSPACE);
	assert_int_equal(ns.nvme_largest, 20 * MiB);
	create_ok(e, x, 8 * MiB, 20 * MiB);
}

struct racer {
	struct env *e;
	int base;
	int failures;
};

/* Creates 9 pools, destroying every third, while another racer does the same. */
static void *race(void *arg)
{
	struct racer *r = arg;
	char err[1024];

	for (int i = 0; i < 9; i++) {
		uint8_t u[16];
		struct vos_space sp;

		mkuuid(u, r->base + i);
		if (vos_pool_create(r->e->eng, u, 8 * MiB, 1 * MiB, NULL, err, sizeof(err)) != 0)
			r->failures++;
		vos_engine_query(r->e->eng, &sp);
		if (i % 3 == 2 && vos_pool_destroy(r->e->eng, u, err, sizeof(err)) != 0)
			r->failures++;
	}
	return NULL;
}

/* Concurrent callers are serialised; the table grows past its first 16 records. */
static void test_concurrent_and_many(void **state)
{
	struct env *e = *state;
	struct racer r[2] = {{e, 120, 0}, {e, 140, 0}};
	pthread_t th[2];
	struct vos_pool_info pi[32];
	uint8_t uu[12][16];
	struct vos_space s0, sp;
	int n = 0;

	env_init(e, 1, 64 * MiB, 1);
	env_open(e);
	vos_engine_query(e->eng, &s0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(r[0].failures + r[1].failures, 0);
	/* 18 made, 6 destroyed: then 8 more make 20 records at once (table capacity 16) */
	for (int i = 0; i < 8; i++) {
		uint8_t u[16];

		mkuuid(u, 160 + i);
		create_ok(e, u, 8 * MiB, 1 * MiB);
	}
	assert_int_equal(vos_pool_list(e->eng, pi, 32), 20);
	env_close(e);
	env_open(e);
	assert_int_equal(vos_engine_nproblems(e->eng), 0);
	assert_int_equal(vos_pool_list(e->eng, pi, 32), 20);
	for (int i = 0; i < 20 && n < 12; i++)
		memcpy(uu[n++], pi[i].uuid, 16);
	assert_no_overlap(e, uu, n);
	vos_engine_query(e->eng, &sp);
	assert_int_equal(sp.nvme_free, s0.nvme_free - 20 * MiB);
	for (int i = 0; i < 20; i++)
		destroy_ok(e, pi[i].uuid);
	vos_engine_query(e->eng, &sp);
	assert_int_equal(sp.nvme_free, s0.nvme_free);
}

/* Measures shard creation: 8 targets x 64 MiB SCM (+ 1 GiB NVMe each) on the test's tmpfs. */
static void test_create_time(void **state)
{
	struct env *e = *state;
	uint8_t u[16];
	struct timespec t0, t1, t2;
	double c, d;

	env_init(e, 2, 16 * GiB, 8);
	env_open(e);
	mkuuid(u, 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	create_ok(e, u, 64 * MiB, 1 * GiB);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	destroy_ok(e, u);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	c = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	d = (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
	print_message("pool create, 8 targets x 64 MiB SCM on %s: %.3f s (%.1f ms per shard); "
		      "destroy %.3f s\n", e->dir, c, c * 1000 / 8, d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uuid, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_create_destroy_reopen, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_scm_only_and_bad_args, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_no_overlap, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_destroy_gives_space_back, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_nospace_nvme, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_nospace_scm, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_rollback_target_n, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_crash_recovery, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_kill_anytime, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_shards, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_bad_table_and_bdev, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_bad_table_record, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_missing_bdev, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_allocator_survives_reopen, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_fragmentation, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_and_many, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_create_time, env_setup, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
