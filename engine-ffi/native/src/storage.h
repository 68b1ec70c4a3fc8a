/* Engine storage: the SCM mount and the bdevs named in daos_nvme.conf (spec/server.md §3.6). */
#ifndef DSS_STORAGE_H
#define DSS_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "dss_api.h"

#define DSS_MAX_BDEVS 64

enum dss_bdev_state { DSS_BDEV_NORMAL = 1, DSS_BDEV_EVICTED = 3, DSS_BDEV_UNPLUGGED = 4 };

struct dss_bdev {
	char name[128];     /* SPDK bdev name, e.g. AIO_host_0_0_0 */
	char path[4096];    /* backing file or block device ("" for nvme) */
	char cls[8];        /* "file", "kdev" or "nvme" */
	char uuid[37];      /* stable per name and backing device (see storage.c) */
	char traddr[64];    /* nvme PCI address */
	uint64_t size;      /* bytes */
	uint32_t block_size;
	int fd;             /* open backing fd, -1 when not open */
	int state;          /* enum dss_bdev_state */
};

struct dss_storage {
	char scm_mount[4096];
	int scm_fd;          /* the SCM mount directory, held open while running */
	uint64_t scm_total;
	uint64_t scm_avail;
	struct dss_bdev bdevs[DSS_MAX_BDEVS];
	int nbdevs;
};

/**
 * Open and check the SCM mount and (when nvme_conf is not empty) every bdev in the SPDK JSON
 * config. On error closes what it opened and writes a message naming the input into err.
 */
int dss_storage_open(struct dss_storage *st, const char *scm_mount, const char *nvme_conf,
		     char *err, size_t errlen);

/** Parse only the bdev list of an SPDK JSON config text (no opening). */
int dss_nvme_conf_parse(const char *json, struct dss_storage *st, char *err, size_t errlen);

/** Re-check every bdev (size, still present) and refresh SCM usage. */
DSS_API void dss_storage_refresh(struct dss_storage *st);

/** Bdev by uuid, or NULL. */
DSS_API struct dss_bdev *dss_storage_bdev(struct dss_storage *st, const char *uuid);

void dss_storage_close(struct dss_storage *st);

#endif
