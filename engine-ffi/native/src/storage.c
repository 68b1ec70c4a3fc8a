/* Opens and checks the engine's SCM mount and its file/kdev bdevs; nvme bdevs are listed only. */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/*
 * A device uuid that stays the same for the same device across restarts, as SMD's stored uuid
 * would: FNV-1a over the bdev name and its backing file or PCI address (names alone repeat
 * between the engines of a host), formatted as a version-4-shaped uuid.
 */
static void name_uuid(const char *name, char out[37])
{
	uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL ^ 0x9e3779b97f4a7c15ULL;
	uint8_t b[16];

	for (const char *p = name; *p; p++) {
		h1 = (h1 ^ (uint8_t)*p) * 1099511628211ULL;
		h2 = (h2 ^ (uint8_t)*p) * 0x100000001b3ULL + 0x9e37;
	}
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(h1 >> (8 * i));
		b[8 + i] = (uint8_t)(h2 >> (8 * i));
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int add_bdev(struct dss_storage *st, json_object *params, const char *method, char *err,
		    size_t errlen)
{
	struct dss_bdev *b;
	const char *name = jstr(params, "name");
	const char *s;

	if (st->nbdevs >= DSS_MAX_BDEVS) {
		snprintf(err, errlen, "daos_nvme.conf: more than %d bdevs", DSS_MAX_BDEVS);
		return -EINVAL;
	}
	if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof(b->name)) {
		snprintf(err, errlen, "daos_nvme.conf: %s entry without a valid \"name\"", method);
		return -EINVAL;
	}
	b = &st->bdevs[st->nbdevs];
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	snprintf(b->name, sizeof(b->name), "%s", name);
	if (strcmp(method, "bdev_aio_create") == 0) {
		json_object *bs;

		s = jstr(params, "filename");
		if (s == NULL || s[0] != '/' || strlen(s) >= sizeof(b->path)) {
			snprintf(err, errlen, "daos_nvme.conf: bdev %s needs an absolute \"filename\"",
				 name);
			return -EINVAL;
		}
		snprintf(b->path, sizeof(b->path), "%s", s);
		if (json_object_object_get_ex(params, "block_size", &bs))
			b->block_size = (uint32_t)json_object_get_int(bs);
		/* block_size 0 marks a kdev (the device's own block size), 4096 a file */
		snprintf(b->cls, sizeof(b->cls), "%s", b->block_size == 0 ? "kdev" : "file");
	} else {
		s = jstr(params, "traddr");
		snprintf(b->traddr, sizeof(b->traddr), "%s", s ? s : "");
		snprintf(b->cls, sizeof(b->cls), "nvme");
	}
	{
		char key[sizeof(b->name) + sizeof(b->path) + 1];

		snprintf(key, sizeof(key), "%s\n%s", b->name,
			 strcmp(b->cls, "nvme") == 0 ? b->traddr : b->path);
		name_uuid(key, b->uuid);
	}
	st->nbdevs++;
	return 0;
}

int dss_nvme_conf_parse(const char *text, struct dss_storage *st, char *err, size_t errlen)
{
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(text, &jerr);
	json_object *subs;
	int rc = 0;

	st->nbdevs = 0;
	if (root == NULL) {
		snprintf(err, errlen, "daos_nvme.conf: invalid JSON: %s",
			 json_tokener_error_desc(jerr));
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "subsystems", &subs) ||
	    !json_object_is_type(subs, json_type_array)) {
		snprintf(err, errlen, "daos_nvme.conf: missing \"subsystems\" array");
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(subs) && rc == 0; i++) {
		json_object *sub = json_object_array_get_idx(subs, i), *cfg;
		const char *name = jstr(sub, "subsystem");

		if (name == NULL || strcmp(name, "bdev") != 0)
			continue;
		if (!json_object_object_get_ex(sub, "config", &cfg) ||
		    !json_object_is_type(cfg, json_type_array)) {
			snprintf(err, errlen, "daos_nvme.conf: bdev subsystem without \"config\"");
			rc = -EINVAL;
			break;
		}
		for (size_t j = 0; j < json_object_array_length(cfg) && rc == 0; j++) {
			json_object *ent = json_object_array_get_idx(cfg, j), *params;
			const char *method = jstr(ent, "method");

			if (method == NULL) {
				snprintf(err, errlen, "daos_nvme.conf: bdev config entry %zu has no "
					 "\"method\"", j);
				rc = -EINVAL;
				break;
			}
			if (strcmp(method, "bdev_aio_create") != 0 &&
			    strcmp(method, "bdev_nvme_attach_controller") != 0)
				continue;
			if (!json_object_object_get_ex(ent, "params", &params) ||
			    !json_object_is_type(params, json_type_object)) {
				snprintf(err, errlen, "daos_nvme.conf: %s entry %zu has no \"params\"",
					 method, j);
				rc = -EINVAL;
				break;
			}
			rc = add_bdev(st, params, method, err, errlen);
		}
	}
out:
	json_object_put(root);
	return rc;
}

static int bdev_open(struct dss_bdev *b, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (strcmp(b->cls, "nvme") == 0) {
		/* no SPDK here: nvme controllers are reported, not driven */
		b->state = DSS_BDEV_NORMAL;
		return 0;
	}
	fd = open(b->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;

		snprintf(err, errlen, "bdev %s: cannot open %s: %s (was the storage formatted?)",
			 b->name, b->path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &sb) != 0 || (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode))) {
		snprintf(err, errlen, "bdev %s: %s is neither a regular file nor a block device",
			 b->name, b->path);
		close(fd);
		return -EINVAL;
	}
	if (S_ISBLK(sb.st_mode)) {
		uint64_t sz = 0;

		if (ioctl(fd, BLKGETSIZE64, &sz) != 0) {
			snprintf(err, errlen, "bdev %s: cannot read the size of %s: %s", b->name,
				 b->path, strerror(errno));
			close(fd);
			return -EIO;
		}
		b->size = sz;
	} else {
		b->size = (uint64_t)sb.st_size;
	}
	if (b->size == 0) {
		snprintf(err, errlen, "bdev %s: %s has size 0: format the storage first", b->name,
			 b->path);
		close(fd);
		return -EINVAL;
	}
	b->fd = fd;
	b->state = DSS_BDEV_NORMAL;
	return 0;
}

int dss_storage_open(struct dss_storage *st, const char *scm_mount, const char *nvme_conf,
		     char *err, size_t errlen)
{
	struct stat sb;
	int rc;

	memset(st, 0, sizeof(*st));
	st->scm_fd = -1;
	snprintf(st->scm_mount, sizeof(st->scm_mount), "%s", scm_mount);
	if (stat(scm_mount, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "SCM mount %s (-s) is not a directory: %s", scm_mount,
			 errno ? strerror(errno) : "not a directory");
		return -ENOTDIR;
	}
	st->scm_fd = open(scm_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->scm_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "SCM mount %s (-s): cannot open: %s", scm_mount,
			 strerror(errno));
		return rc;
	}
	dss_storage_refresh(st);
	if (nvme_conf != NULL && nvme_conf[0] != '\0') {
		FILE *fp = fopen(nvme_conf, "r");
		char *text;
		long n;

		if (fp == NULL) {
			rc = -errno;
			snprintf(err, errlen, "cannot read bdev config %s (-n): %s", nvme_conf,
				 strerror(errno));
			goto fail;
		}
		fseek(fp, 0, SEEK_END);
		n = ftell(fp);
		fseek(fp, 0, SEEK_SET);
		if (n < 0 || n > (1 << 20)) {
			fclose(fp);
			snprintf(err, errlen, "bdev config %s (-n) is unreadable or larger than 1 MiB",
				 nvme_conf);
			rc = -EINVAL;
			goto fail;
		}
		text = calloc(1, (size_t)n + 1);
		if (text == NULL || fread(text, 1, (size_t)n, fp) != (size_t)n) {
			free(text);
			fclose(fp);
			snprintf(err, errlen, "cannot read bdev config %s (-n)", nvme_conf);
			rc = -EIO;
			goto fail;
		}
		fclose(fp);
		rc = dss_nvme_conf_parse(text, st, err, errlen);
		free(text);
		if (rc != 0)
			goto fail;
		for (int i = 0; i < st->nbdevs; i++) {
			rc = bdev_open(&st->bdevs[i], err, errlen);
			if (rc != 0)
				goto fail;
		}
	}
	return 0;
fail:
	dss_storage_close(st);
	return rc;
}

void dss_storage_refresh(struct dss_storage *st)
{
	struct statvfs vfs;

	if (st->scm_fd >= 0 && fstatvfs(st->scm_fd, &vfs) == 0) {
		st->scm_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		st->scm_avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	}
	for (int i = 0; i < st->nbdevs; i++) {
		struct dss_bdev *b = &st->bdevs[i];
		struct stat sb;

		if (b->fd < 0)
			continue;
		/* a backing file deleted under us (or a vanished device) is unplugged */
		if (fstat(b->fd, &sb) != 0 || (S_ISREG(sb.st_mode) && sb.st_nlink == 0))
			b->state = DSS_BDEV_UNPLUGGED;
		else if (S_ISREG(sb.st_mode))
			b->size = (uint64_t)sb.st_size;
	}
}

struct dss_bdev *dss_storage_bdev(struct dss_storage *st, const char *uuid)
{
	for (int i = 0; i < st->nbdevs; i++)
		if (strcmp(st->bdevs[i].uuid, uuid) == 0)
			return &st->bdevs[i];
	return NULL;
}

void dss_storage_close(struct dss_storage *st)
{
	for (int i = 0; i < st->nbdevs; i++) {
		if (st->bdevs[i].fd >= 0)
			close(st->bdevs[i].fd);
		st->bdevs[i].fd = -1;
	}
	st->nbdevs = 0;
	if (st->scm_fd >= 0)
		close(st->scm_fd);
	st->scm_fd = -1;
}
