/* Telemetry reader: validates an untrusted tree image and lists its metrics as JSON. */
#include "daos_telemetry.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "telemetry_layout.h"
#include "telemetry_names.h"

#define TM_MAX_FILE (sizeof(struct dss_tm_header) + \
		     (size_t)DSS_TM_MAX_SLOTS * sizeof(struct dss_tm_slot))

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* 1 when the field holds a NUL-terminated string of printable ASCII. */
static int text_ok(const char *f, size_t len)
{
	const char *end = memchr(f, '\0', len);

	if (end == NULL)
		return 0;
	for (const char *p = f; p < end; p++)
		if (*p < 0x20 || *p > 0x7e)
			return 0;
	return 1;
}

static const char *type_name(uint32_t t)
{
	switch (t) {
	case DSS_TM_COUNTER:
		return "counter";
	case DSS_TM_GAUGE:
		return "gauge";
	case DSS_TM_TIMESTAMP:
		return "timestamp";
	case DSS_TM_DURATION:
		return "duration";
	default:
		return NULL;
	}
}

static double finite_or_zero(double d)
{
	return isfinite(d) ? d : 0.0;
}

static void add_duration(json_object *m, const uint64_t *v)
{
	uint64_t count = v[DSS_TM_D_COUNT], sum = v[DSS_TM_D_SUM];
	double sumsq, mean = 0, sd = 0;

	memcpy(&sumsq, &v[DSS_TM_D_SUMSQ], sizeof(sumsq));
	if (count > 0)
		mean = (double)sum / (double)count;
	if (count > 1) {
		/* sample standard deviation, as the reference's d_tm computes it */
		double var = (finite_or_zero(sumsq) - (double)count * mean * mean) /
			     (double)(count - 1);

		sd = var > 0 ? sqrt(var) : 0;
	}
	json_object_object_add(m, "count", json_object_new_uint64(count));
	json_object_object_add(m, "sum", json_object_new_uint64(sum));
	json_object_object_add(m, "min", json_object_new_uint64(count ? v[DSS_TM_D_MIN] : 0));
	json_object_object_add(m, "max", json_object_new_uint64(v[DSS_TM_D_MAX]));
	json_object_object_add(m, "mean", json_object_new_double(finite_or_zero(mean)));
	json_object_object_add(m, "stddev", json_object_new_double(finite_or_zero(sd)));
	json_object_object_add(m, "last", json_object_new_uint64(v[DSS_TM_D_LAST]));
}

int daos_tm_decode(const uint8_t *buf, size_t len, char **json, char *err, size_t errlen)
{
	struct dss_tm_header h;
	struct dss_tm_slot s;
	json_object *root, *list;
	const char *text;
	size_t need;

	*json = NULL;
	if (buf == NULL || len < sizeof(h))
		return fail(err, errlen, -EBADMSG, "telemetry tree is truncated: %zu bytes, "
			    "shorter than its %zu-byte header", buf ? len : 0, sizeof(h));
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, DSS_TM_MAGIC, sizeof(h.magic)) != 0)
		return fail(err, errlen, -EBADMSG, "not a telemetry tree (bad magic)");
	if (h.version != DSS_TM_VERSION)
		return fail(err, errlen, -EPROTO, "telemetry tree layout version %u, this reader "
			    "knows %d: run daos_server and the engine from the same build",
			    h.version, DSS_TM_VERSION);
	if (h.header_size != sizeof(h) || h.slot_size != sizeof(s))
		return fail(err, errlen, -EBADMSG, "telemetry tree header/slot size %u/%u, "
			    "expected %zu/%zu", h.header_size, h.slot_size, sizeof(h), sizeof(s));
	if (h.nslots == 0 || h.nslots > DSS_TM_MAX_SLOTS || h.nused > h.nslots)
		return fail(err, errlen, -EBADMSG, "telemetry tree slot counts %u used of %u are "
			    "invalid (at most %d slots)", h.nused, h.nslots, DSS_TM_MAX_SLOTS);
	need = sizeof(h) + (size_t)h.nused * sizeof(s);
	if (len < need)
		return fail(err, errlen, -EBADMSG, "telemetry tree is truncated: %zu bytes hold "
			    "fewer than its %u metrics (%zu bytes)", len, h.nused, need);
	if (!dss_tm_name_valid(h.system, sizeof(h.system)))
		return fail(err, errlen, -EBADMSG, "telemetry tree has an invalid system name");
	root = json_object_new_object();
	list = json_object_new_array();
	if (root == NULL || list == NULL) {
		json_object_put(root);
		json_object_put(list);
		return fail(err, errlen, -ENOMEM, "out of memory reading telemetry");
	}
	json_object_object_add(root, "system", json_object_new_string(h.system));
	json_object_object_add(root, "instance", json_object_new_int(h.instance_idx));
	json_object_object_add(root, "pid", json_object_new_int64(h.pid));
	json_object_object_add(root, "created", json_object_new_uint64(h.created));
	json_object_object_add(root, "metrics", list);
	for (uint32_t i = 0; i < h.nused; i++) {
		json_object *m;
		const char *tn;

		memcpy(&s, buf + sizeof(h) + (size_t)i * sizeof(s), sizeof(s));
		tn = type_name(s.type);
		if (tn == NULL || !text_ok(s.path, sizeof(s.path)) ||
		    !dss_tm_path_valid(s.path, sizeof(s.path)) || !text_ok(s.desc, sizeof(s.desc)) ||
		    !text_ok(s.units, sizeof(s.units))) {
			json_object_put(root);
			return fail(err, errlen, -EBADMSG, "telemetry tree metric %u is invalid "
				    "(type %u; path, description or units not a terminated name)",
				    i, s.type);
		}
		m = json_object_new_object();
		json_object_object_add(m, "path", json_object_new_string(s.path));
		json_object_object_add(m, "type", json_object_new_string(tn));
		json_object_object_add(m, "desc", json_object_new_string(s.desc));
		json_object_object_add(m, "units", json_object_new_string(s.units));
		if (s.type == DSS_TM_DURATION)
			add_duration(m, s.v);
		else if (s.type == DSS_TM_GAUGE)
			json_object_object_add(m, "value", json_object_new_int64((int64_t)s.v[0]));
		else
			json_object_object_add(m, "value", json_object_new_uint64(s.v[0]));
		json_object_array_add(list, m);
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	*json = text ? strdup(text) : NULL;
	json_object_put(root);
	if (*json == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory reading telemetry");
	return 0;
}

int daos_tm_read_file(const char *file, char **json, char *err, size_t errlen)
{
	struct dss_tm_header h;
	struct stat st;
	uint8_t *buf;
	ssize_t got;
	size_t len, want;
	int fd, rc;

	*json = NULL;
	if (file == NULL || file[0] != '/')
		return fail(err, errlen, -EINVAL, "telemetry tree path must be absolute");
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return fail(err, errlen, rc, "no telemetry tree %s: its engine is not "
				    "running", file);
		return fail(err, errlen, rc, "cannot open telemetry tree %s: %s", file,
			    strerror(-rc));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, -EBADMSG, "telemetry tree %s is not a regular file", file);
	}
	/* /dev/shm is world-writable: a tree someone else made is not our engine's */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return fail(err, errlen, -EPERM, "telemetry tree %s is owned by uid %u, not by "
			    "this process's user (uid %u) that runs the engines: remove it",
			    file, (unsigned)st.st_uid, (unsigned)geteuid());
	}
	/* the engine holds LOCK_EX for its whole life; getting LOCK_SH means it is gone */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		h.pid = 0;
		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
			h.pid = 0;
		close(fd);
		return fail(err, errlen, -ESTALE, "telemetry tree %s is stale: the engine that "
			    "wrote it (pid %u) is gone; the next start of that engine replaces it",
			    file, h.pid);
	}
	len = (size_t)st.st_size < TM_MAX_FILE ? (size_t)st.st_size : TM_MAX_FILE;
	buf = malloc(len + 1);
	if (buf == NULL) {
		close(fd);
		return fail(err, errlen, -ENOMEM, "out of memory reading telemetry");
	}
	/* a file shrunk meanwhile just reads short, and decode reports it truncated */
	want = len;
	len = 0;
	while (len < want) {
		got = pread(fd, buf + len, want - len, (off_t)len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	rc = daos_tm_decode(buf, len, json, err, errlen);
	free(buf);
	if (rc != 0 && err != NULL && errlen > 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", file, why);
	}
	return rc;
}

int daos_tm_read(const char *dir, const char *system, int instance_idx, char **json,
		 char *err, size_t errlen)
{
	char file[PATH_MAX];
	int rc;

	*json = NULL;
	rc = dss_tm_file_path(dir, system, instance_idx, file, sizeof(file), err, errlen);
	return rc != 0 ? rc : daos_tm_read_file(file, json, err, errlen);
}

int daos_tm_remove_stale(const char *dir, const char *system, int instance_idx, char *err,
			 size_t errlen)
{
	char file[PATH_MAX];
	struct stat st, now;
	int fd, rc;

	rc = dss_tm_file_path(dir, system, instance_idx, file, sizeof(file), err, errlen);
	if (rc != 0)
		return rc;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		return fail(err, errlen, rc, "cannot open telemetry tree %s: %s", file,
			    strerror(-rc));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "%s is not a telemetry tree file", file);
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return fail(err, errlen, -EPERM, "telemetry tree %s is owned by uid %u: not ours "
			    "to remove", file, (unsigned)st.st_uid);
	}
	/* LOCK_EX is only granted when no engine holds the tree */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return fail(err, errlen, -EBUSY, "telemetry tree %s belongs to a running engine",
			    file);
	}
	/* still the file we locked (a new engine renames its own tree into place) */
	rc = 0;
	if (stat(file, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino &&
	    unlink(file) != 0)
		rc = fail(err, errlen, -errno, "cannot remove telemetry tree %s: %s", file,
			  strerror(errno));
	close(fd);
	return rc;
}

void daos_tm_free(char *json)
{
	free(json);
}
