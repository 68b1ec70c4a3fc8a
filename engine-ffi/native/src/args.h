/* Engine command-line arguments (the DAOS flags daos_server derives, spec/server.md §1.6). */
#ifndef DSS_ARGS_H
#define DSS_ARGS_H

#include <stddef.h>
#include <stdint.h>

#define DSS_MAX_TARGETS 256
#define DSS_MAX_HELPERS 256

struct dss_args {
	int targets;          /* -t, required > 0 */
	int nr_helpers;       /* -x, >= 0 */
	int first_core;       /* -f, -1 = unset */
	int numa_node;        /* -p, -1 = unset */
	char scm_mount[4096]; /* -s */
	char nvme_conf[4096]; /* -n, "" = no bdevs */
	int instance_idx;     /* -I */
	char socket_dir[4096];/* -d */
	char group[64];       /* -g, system name */
	int mem_size_mb;      /* -r */
	int hugepage_mb;      /* -H */
	int tiers;            /* -T */
	char modules[256];    /* -m, comma-separated module names ("" = default "mgmt") */
	int bypass_health;    /* -b */
	int check_mode;       /* -C */
};

/**
 * Parse argv (argv[0] = program name). On error returns -EINVAL and writes a message naming
 * the flag and the fix into err.
 */
int dss_args_parse(int argc, const char *const *argv, struct dss_args *a, char *err,
		   size_t errlen);

#endif
