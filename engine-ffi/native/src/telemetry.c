/* Engine telemetry producer: the shared-memory metrics tree (telemetry.h). */
#include "telemetry.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "telemetry_names.h"

struct dss_tm {
	int fd;                  /* holds flock(LOCK_EX) while we live */
	char file[PATH_MAX];
	dev_t dev;
	ino_t ino;
	struct dss_tm_header *hdr;
	struct dss_tm_slot *slots;
	size_t map_len;
	uint32_t nslots;
	pthread_mutex_t add_lock; /* serialises adding slots; updates take no lock */
	uint32_t *index;         /* open addressing: slot + 1, 0 = empty; entries never change */
	uint32_t index_mask;
	/*
	 * dRPC metrics by module id and method: method ids are <module>*100 + n, so n indexes.
	 * Filled on first use (a benign race: both threads store the same node), it spares the
	 * per-call path formatting and lookup.
	 */
	struct dss_tm_node *drpc_nodes[DSS_TM_DRPC_MODULES][100][2];
};

static struct dss_tm *tm_global;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int dss_tm_name_valid(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int dss_tm_path_valid(const char *p, size_t max)
{
	size_t n = strnlen(p, max);

	if (n == 0 || n >= max || p[0] == '/' || p[n - 1] == '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '/') {
			if (p[i + 1] == '/')
				return 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == ':' || c == '+'))
			return 0;
	}
	return 1;
}

int dss_tm_disabled(char *err, size_t errlen)
{
	const char *v = getenv(DSS_TM_DISABLE_ENV);

	if (v == NULL || v[0] == '\0' || strcmp(v, "0") == 0)
		return 0;
	if (strcmp(v, "1") == 0)
		return 1;
	seterr(err, errlen, "%s='%.100s' is not understood: set 1 to run without telemetry, 0 or "
	       "unset to keep it", DSS_TM_DISABLE_ENV, v);
	return -EINVAL;
}

int dss_tm_file_path(const char *dir, const char *system, int instance_idx, char *out,
		     size_t outlen, char *err, size_t errlen)
{
	if (dir == NULL || dir[0] == '\0') {
		dir = getenv(DSS_TM_DIR_ENV);
		if (dir == NULL || dir[0] == '\0')
			dir = DSS_TM_DEFAULT_DIR;
	}
	if (dir[0] != '/') {
		seterr(err, errlen, "telemetry directory '%.200s' (%s) is not absolute: give an "
		       "absolute directory or unset it (default %s)", dir, DSS_TM_DIR_ENV,
		       DSS_TM_DEFAULT_DIR);
		return -EINVAL;
	}
	if (system == NULL || !dss_tm_name_valid(system, DSS_TM_SYSTEM_MAX)) {
		seterr(err, errlen, "system name '%.100s' cannot name a telemetry tree: use 1-%d "
		       "letters, digits, '_', '-' or '.'", system ? system : "(null)",
		       DSS_TM_SYSTEM_MAX - 1);
		return -EINVAL;
	}
	if (instance_idx < 0) {
		seterr(err, errlen, "engine instance index %d is negative", instance_idx);
		return -EINVAL;
	}
	if ((size_t)snprintf(out, outlen, "%s/%s%s_%d", dir, DSS_TM_FILE_PREFIX, system,
			     instance_idx) >= outlen) {
		seterr(err, errlen, "telemetry directory '%.200s' is too long", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* 1 when a live process holds the lock of the tree at path, 0 if not (or no file). */
static int tree_owned(const char *path, uint32_t *owner)
{
	struct dss_tm_header h;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int live = 0;

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		live = errno == EWOULDBLOCK;
		*owner = 0;
		if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h))
			*owner = h.pid;
	}
	close(fd); /* drops our LOCK_SH, if we got it */
	return live;
}

int dss_tm_create(const char *dir, const char *system, int instance_idx, uint32_t nslots,
		  struct dss_tm **out, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	struct dss_tm *tm;
	struct stat st;
	uint32_t owner = 0, isize = 1;
	int rc;

	*out = NULL;
	if (nslots == 0 || nslots > DSS_TM_MAX_SLOTS) {
		seterr(err, errlen, "telemetry tree size %u slots: use 1..%d", nslots,
		       DSS_TM_MAX_SLOTS);
		return -EINVAL;
	}
	tm = calloc(1, sizeof(*tm));
	if (tm == NULL)
		return -ENOMEM;
	tm->fd = -1;
	pthread_mutex_init(&tm->add_lock, NULL);
	rc = dss_tm_file_path(dir, system, instance_idx, tm->file, sizeof(tm->file), err,
			      errlen);
	if (rc != 0)
		goto fail;
	if (tree_owned(tm->file, &owner)) {
		seterr(err, errlen, "telemetry tree %s belongs to a running engine (pid %u): "
		       "another engine of system '%s' runs as instance %d on this host; give "
		       "each engine its own instance index", tm->file, owner, system,
		       instance_idx);
		rc = -EBUSY;
		goto fail;
	}
	/* built under a private name and renamed into place: readers never see half a tree,
	 * and a stale tree of a dead engine is replaced in one step */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", tm->file, (int)getpid()) >=
	    sizeof(tmp)) {
		seterr(err, errlen, "telemetry tree path %s is too long", tm->file);
		rc = -ENAMETOOLONG;
		goto fail;
	}
	unlink(tmp);
	tm->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (tm->fd < 0) {
		rc = -errno;
		seterr(err, errlen, "cannot create telemetry tree %s: %s (check that the directory "
		       "exists and is writable, or set %s)", tmp, strerror(errno), DSS_TM_DIR_ENV);
		goto fail;
	}
	tm->nslots = nslots;
	tm->map_len = sizeof(struct dss_tm_header) + (size_t)nslots * sizeof(struct dss_tm_slot);
	if (fchmod(tm->fd, 0640) != 0 || flock(tm->fd, LOCK_EX | LOCK_NB) != 0 ||
	    ftruncate(tm->fd, (off_t)tm->map_len) != 0 || fstat(tm->fd, &st) != 0) {
		rc = -errno;
		seterr(err, errlen, "cannot set up telemetry tree %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	tm->dev = st.st_dev;
	tm->ino = st.st_ino;
	tm->hdr = mmap(NULL, tm->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, tm->fd, 0);
	if (tm->hdr == MAP_FAILED) {
		rc = -errno;
		tm->hdr = NULL;
		seterr(err, errlen, "cannot map telemetry tree %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	tm->slots = (struct dss_tm_slot *)(tm->hdr + 1);
	while (isize < 2 * nslots)
		isize <<= 1;
	tm->index = calloc(isize, sizeof(*tm->index));
	if (tm->index == NULL) {
		rc = -ENOMEM;
		unlink(tmp);
		goto fail;
	}
	tm->index_mask = isize - 1;
	memcpy(tm->hdr->magic, DSS_TM_MAGIC, sizeof(tm->hdr->magic));
	tm->hdr->version = DSS_TM_VERSION;
	tm->hdr->header_size = sizeof(struct dss_tm_header);
	tm->hdr->slot_size = sizeof(struct dss_tm_slot);
	tm->hdr->nslots = nslots;
	tm->hdr->nused = 0;
	tm->hdr->pid = (uint32_t)getpid();
	tm->hdr->created = (uint64_t)time(NULL);
	tm->hdr->instance_idx = instance_idx;
	snprintf(tm->hdr->system, sizeof(tm->hdr->system), "%s", system);
	if (rename(tmp, tm->file) != 0) {
		rc = -errno;
		seterr(err, errlen, "cannot put telemetry tree in place as %s: %s", tm->file,
		       strerror(errno));
		unlink(tmp);
		goto fail;
	}
	*out = tm;
	return 0;
fail:
	if (tm->hdr != NULL)
		munmap(tm->hdr, tm->map_len);
	if (tm->fd >= 0)
		close(tm->fd);
	free(tm->index);
	pthread_mutex_destroy(&tm->add_lock);
	free(tm);
	return rc;
}

void dss_tm_destroy(struct dss_tm *tm)
{
	struct stat st;

	if (tm == NULL)
		return;
	if (__atomic_load_n(&tm_global, __ATOMIC_ACQUIRE) == tm)
		dss_tm_set_global(NULL);
	/* only our own file: a later engine of this instance may have replaced it already */
	if (stat(tm->file, &st) == 0 && st.st_dev == tm->dev && st.st_ino == tm->ino)
		unlink(tm->file);
	munmap(tm->hdr, tm->map_len);
	close(tm->fd);
	free(tm->index);
	pthread_mutex_destroy(&tm->add_lock);
	free(tm);
}

const char *dss_tm_file(const struct dss_tm *tm)
{
	return tm->file;
}

void dss_tm_set_global(struct dss_tm *tm)
{
	__atomic_store_n(&tm_global, tm, __ATOMIC_RELEASE);
}

struct dss_tm *dss_tm_global(void)
{
	return __atomic_load_n(&tm_global, __ATOMIC_ACQUIRE);
}

static uint32_t path_hash(const char *p)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

/* Lock-free: index entries are written once (release) and never change. */
static struct dss_tm_slot *lookup(struct dss_tm *tm, const char *path, uint32_t h)
{
	for (uint32_t i = h & tm->index_mask;; i = (i + 1) & tm->index_mask) {
		uint32_t e = __atomic_load_n(&tm->index[i], __ATOMIC_ACQUIRE);

		if (e == 0)
			return NULL;
		if (strcmp(tm->slots[e - 1].path, path) == 0)
			return &tm->slots[e - 1];
	}
}

struct dss_tm_node *dss_tm_node_in(struct dss_tm *tm, enum dss_tm_type type, const char *path,
				   const char *desc, const char *units)
{
	struct dss_tm_slot *s;
	uint32_t h, n, i;

	if (tm == NULL || path == NULL)
		return NULL;
	h = path_hash(path);
	s = lookup(tm, path, h);
	if (s == NULL) {
		if (!dss_tm_path_valid(path, DSS_TM_PATH_LEN) || type < DSS_TM_COUNTER ||
		    type > DSS_TM_DURATION)
			return NULL;
		pthread_mutex_lock(&tm->add_lock);
		s = lookup(tm, path, h); /* another thread may have added it meanwhile */
		n = tm->hdr->nused;
		if (s == NULL && n < tm->nslots) {
			s = &tm->slots[n];
			memset(s, 0, sizeof(*s));
			s->type = type;
			snprintf(s->path, sizeof(s->path), "%s", path);
			snprintf(s->desc, sizeof(s->desc), "%s", desc ? desc : "");
			snprintf(s->units, sizeof(s->units), "%s", units ? units : "");
			if (type == DSS_TM_DURATION)
				s->v[DSS_TM_D_MIN] = UINT64_MAX;
			/* the slot is complete before readers (nused) or updaters (index) see it */
			__atomic_store_n(&tm->hdr->nused, n + 1, __ATOMIC_RELEASE);
			for (i = h & tm->index_mask; tm->index[i] != 0; i = (i + 1) & tm->index_mask)
				;
			__atomic_store_n(&tm->index[i], n + 1, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&tm->add_lock);
		if (s == NULL)
			return NULL;
	}
	return s->type == (uint32_t)type ? (struct dss_tm_node *)s : NULL;
}

struct dss_tm_node *dss_tm_node(enum dss_tm_type type, const char *path, const char *desc,
				const char *units)
{
	return dss_tm_node_in(dss_tm_global(), type, path, desc, units);
}

static uint64_t *vals(struct dss_tm_node *n)
{
	return ((struct dss_tm_slot *)n)->v;
}

void dss_tm_node_add(struct dss_tm_node *n, uint64_t v)
{
	if (n != NULL)
		__atomic_add_fetch(&vals(n)[0], v, __ATOMIC_RELAXED);
}

void dss_tm_node_sub(struct dss_tm_node *n, uint64_t v)
{
	if (n != NULL)
		__atomic_sub_fetch(&vals(n)[0], v, __ATOMIC_RELAXED);
}

void dss_tm_node_set(struct dss_tm_node *n, int64_t v)
{
	if (n != NULL)
		__atomic_store_n(&vals(n)[0], (uint64_t)v, __ATOMIC_RELAXED);
}

void dss_tm_node_stamp(struct dss_tm_node *n, uint64_t secs)
{
	if (n != NULL)
		__atomic_store_n(&vals(n)[0], secs, __ATOMIC_RELAXED);
}

void dss_tm_node_sample(struct dss_tm_node *n, uint64_t ns)
{
	uint64_t *v, cur, want;
	double sq;

	if (n == NULL)
		return;
	v = vals(n);
	__atomic_add_fetch(&v[DSS_TM_D_COUNT], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&v[DSS_TM_D_SUM], ns, __ATOMIC_RELAXED);
	__atomic_store_n(&v[DSS_TM_D_LAST], ns, __ATOMIC_RELAXED);
	cur = __atomic_load_n(&v[DSS_TM_D_MIN], __ATOMIC_RELAXED);
	while (ns < cur && !__atomic_compare_exchange_n(&v[DSS_TM_D_MIN], &cur, ns, 1,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	cur = __atomic_load_n(&v[DSS_TM_D_MAX], __ATOMIC_RELAXED);
	while (ns > cur && !__atomic_compare_exchange_n(&v[DSS_TM_D_MAX], &cur, ns, 1,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	cur = __atomic_load_n(&v[DSS_TM_D_SUMSQ], __ATOMIC_RELAXED);
	do {
		memcpy(&sq, &cur, sizeof(sq));
		sq += (double)ns * (double)ns;
		memcpy(&want, &sq, sizeof(want));
	} while (!__atomic_compare_exchange_n(&v[DSS_TM_D_SUMSQ], &cur, want, 1, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
}

void dss_tm_counter_add(const char *path, uint64_t v)
{
	dss_tm_node_add(dss_tm_node(DSS_TM_COUNTER, path, NULL, NULL), v);
}

void dss_tm_gauge_set(const char *path, int64_t v)
{
	dss_tm_node_set(dss_tm_node(DSS_TM_GAUGE, path, NULL, NULL), v);
}

void dss_tm_gauge_add(const char *path, int64_t delta)
{
	struct dss_tm_node *n = dss_tm_node(DSS_TM_GAUGE, path, NULL, NULL);

	/* two's complement: adding the u64 image of a negative delta subtracts */
	dss_tm_node_add(n, (uint64_t)delta);
}

void dss_tm_timestamp_now(const char *path)
{
	dss_tm_node_stamp(dss_tm_node(DSS_TM_TIMESTAMP, path, NULL, NULL), (uint64_t)time(NULL));
}

void dss_tm_duration_add(const char *path, uint64_t ns)
{
	dss_tm_node_sample(dss_tm_node(DSS_TM_DURATION, path, NULL, "ns"), ns);
}

uint64_t dss_tm_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct {
	int32_t id;
	const char *name;
} mgmt_methods[] = {
	{201, "kill_rank"}, {202, "set_rank"}, {206, "get_attach_info"}, {207, "pool_create"},
	{208, "pool_destroy"}, {209, "set_up"}, {210, "bio_health_query"},
	{211, "smd_list_devs"}, {212, "smd_list_pools"}, {213, "pool_get_acl"},
	{215, "pool_overwrite_acl"}, {216, "pool_update_acl"}, {217, "pool_delete_acl"},
	{218, "prep_shutdown"}, {220, "dev_set_faulty"}, {221, "dev_replace"},
	{222, "list_containers"}, {223, "pool_query"}, {224, "pool_set_prop"},
	{225, "ping_rank"}, {226, "pool_reint"}, {227, "cont_set_owner"}, {228, "pool_exclude"},
	{229, "pool_extend"}, {230, "pool_evict"}, {231, "pool_drain"}, {232, "group_update"},
	{233, "notify_exit"}, {235, "notify_pool_connect"}, {236, "notify_pool_disconnect"},
	{237, "pool_get_prop"}, {238, "set_log_masks"}, {239, "pool_upgrade"},
	{240, "pool_query_targets"}, {241, "led_manage"}, {242, "chk_start"}, {243, "chk_stop"},
	{244, "chk_query"}, {245, "chk_prop"}, {246, "chk_act"}, {247, "setup_client_telem"},
	{248, "group_status_get"}, {249, "chk_set_policy"}, {250, "pool_rebuild_start"},
	{251, "pool_rebuild_stop"}, {252, "pool_self_heal_eval"},
};

const char *dss_tm_drpc_method_name(int32_t module, int32_t method)
{
	if (module != 2) /* DRPC_MODULE_MGMT: the only module the engine serves */
		return NULL;
	for (size_t i = 0; i < sizeof(mgmt_methods) / sizeof(mgmt_methods[0]); i++)
		if (mgmt_methods[i].id == method)
			return mgmt_methods[i].name;
	return NULL;
}

void dss_tm_drpc_call(const char *module, int32_t module_id, int32_t method, uint64_t ns)
{
	struct dss_tm *tm = dss_tm_global();
	struct dss_tm_node **cache = NULL, *calls, *lat;
	const char *name;
	char base[DSS_TM_PATH_LEN - 16], path[DSS_TM_PATH_LEN];

	if (tm == NULL)
		return;
	if (module_id >= 0 && module_id < DSS_TM_DRPC_MODULES && method >= module_id * 100 &&
	    method < module_id * 100 + 100) {
		cache = tm->drpc_nodes[module_id][method - module_id * 100];
		calls = __atomic_load_n(&cache[0], __ATOMIC_ACQUIRE);
		lat = __atomic_load_n(&cache[1], __ATOMIC_ACQUIRE);
		if (calls != NULL && lat != NULL) {
			dss_tm_node_add(calls, 1);
			dss_tm_node_sample(lat, ns);
			return;
		}
	}
	name = dss_tm_drpc_method_name(module_id, method);
	if (name != NULL)
		snprintf(base, sizeof(base), "drpc/%s/%s", module, name);
	else
		snprintf(base, sizeof(base), "drpc/%s/%d", module, (int)method);
	snprintf(path, sizeof(path), "%s/calls", base);
	calls = dss_tm_node_in(tm, DSS_TM_COUNTER, path, "dRPC calls handled", "calls");
	snprintf(path, sizeof(path), "%s/latency", base);
	lat = dss_tm_node_in(tm, DSS_TM_DURATION, path, "dRPC handler time", "ns");
	dss_tm_node_add(calls, 1);
	dss_tm_node_sample(lat, ns);
	if (cache != NULL) {
		__atomic_store_n(&cache[0], calls, __ATOMIC_RELEASE);
		__atomic_store_n(&cache[1], lat, __ATOMIC_RELEASE);
	}
}
