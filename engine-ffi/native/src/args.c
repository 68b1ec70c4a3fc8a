/* Strict parser for the engine flags: every value is checked, unknown flags are errors. */
#include "args.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_int(const char *flag, const char *v, long min, long max, int *out, char *err,
		     size_t errlen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
		snprintf(err, errlen, "invalid value '%s' for %s: expected an integer in %ld..%ld",
			 v, flag, min, max);
		return -EINVAL;
	}
	*out = (int)n;
	return 0;
}

static int copy_str(const char *flag, const char *v, char *dst, size_t cap, char *err,
		    size_t errlen)
{
	if (v[0] == '\0' || strlen(v) >= cap) {
		snprintf(err, errlen, "invalid value for %s: must be 1..%zu characters", flag,
			 cap - 1);
		return -EINVAL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Long names accepted for the same flags, as the DAOS engine's getopt_long does. */
static const struct { const char *lng; char shrt; } long_names[] = {
	{"--targets", 't'}, {"--xshelpernr", 'x'}, {"--firstcore", 'f'}, {"--pinned_numa_node", 'p'},
	{"--storage", 's'}, {"--nvme", 'n'}, {"--instance_idx", 'I'}, {"--socket_dir", 'd'},
	{"--group", 'g'}, {"--mem_size", 'r'}, {"--hugepage_size", 'H'}, {"--storage_tiers", 'T'},
	{"--modules", 'm'}, {"--bypass_health_chk", 'b'}, {"--check_mode", 'C'},
};

int dss_args_parse(int argc, const char *const *argv, struct dss_args *a, char *err,
		   size_t errlen)
{
	int have_targets = 0, have_scm = 0, have_sockdir = 0;

	memset(a, 0, sizeof(*a));
	a->first_core = -1;
	a->numa_node = -1;
	a->tiers = 1;
	snprintf(a->group, sizeof(a->group), "daos_server");
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = NULL;
		char f = 0;
		char flag[32];
		int rc = 0;

		if (arg == NULL)
			break;
		if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0') {
			f = arg[1];
			if (arg[2] != '\0')
				val = arg + 2; /* -t8 */
		} else {
			for (size_t k = 0; k < sizeof(long_names) / sizeof(long_names[0]); k++) {
				size_t n = strlen(long_names[k].lng);

				if (strncmp(arg, long_names[k].lng, n) == 0 &&
				    (arg[n] == '\0' || arg[n] == '=')) {
					f = long_names[k].shrt;
					if (arg[n] == '=')
						val = arg + n + 1;
				}
			}
		}
		if (f == 0 || strchr("txfpsnIdgrHTmbC", f) == NULL) {
			snprintf(err, errlen,
				 "unknown engine argument '%s': valid flags are -t -x -f -p -s -n -I -d "
				 "-g -r -H -T -m -b -C", arg);
			return -EINVAL;
		}
		snprintf(flag, sizeof(flag), "-%c", f);
		if (f == 'b') {
			a->bypass_health = 1;
			continue;
		}
		if (f == 'C') {
			a->check_mode = 1;
			continue;
		}
		if (val == NULL) {
			if (i + 1 >= argc || argv[i + 1] == NULL) {
				snprintf(err, errlen, "engine argument %s needs a value", flag);
				return -EINVAL;
			}
			val = argv[++i];
		}
		switch (f) {
		case 't':
			rc = parse_int(flag, val, 1, DSS_MAX_TARGETS, &a->targets, err, errlen);
			have_targets = 1;
			break;
		case 'x':
			rc = parse_int(flag, val, 0, DSS_MAX_HELPERS, &a->nr_helpers, err, errlen);
			break;
		case 'f':
			rc = parse_int(flag, val, 0, 65535, &a->first_core, err, errlen);
			break;
		case 'p':
			rc = parse_int(flag, val, 0, 1023, &a->numa_node, err, errlen);
			break;
		case 's':
			rc = copy_str(flag, val, a->scm_mount, sizeof(a->scm_mount), err, errlen);
			have_scm = 1;
			break;
		case 'n':
			rc = copy_str(flag, val, a->nvme_conf, sizeof(a->nvme_conf), err, errlen);
			break;
		case 'I':
			rc = parse_int(flag, val, 0, 1023, &a->instance_idx, err, errlen);
			break;
		case 'd':
			rc = copy_str(flag, val, a->socket_dir, sizeof(a->socket_dir), err, errlen);
			have_sockdir = 1;
			break;
		case 'g':
			rc = copy_str(flag, val, a->group, sizeof(a->group), err, errlen);
			break;
		case 'r':
			rc = parse_int(flag, val, 0, INT_MAX, &a->mem_size_mb, err, errlen);
			break;
		case 'H':
			rc = parse_int(flag, val, 0, INT_MAX, &a->hugepage_mb, err, errlen);
			break;
		case 'T':
			rc = parse_int(flag, val, 1, 2, &a->tiers, err, errlen);
			break;
		case 'm':
			rc = copy_str(flag, val, a->modules, sizeof(a->modules), err, errlen);
			break;
		}
		if (rc != 0)
			return rc;
	}
	if (!have_targets) {
		snprintf(err, errlen, "missing engine argument -t <targets>: the target count must "
			 "be nonzero");
		return -EINVAL;
	}
	if (!have_scm) {
		snprintf(err, errlen, "missing engine argument -s <scm mount>: the engine needs its "
			 "SCM mount point");
		return -EINVAL;
	}
	if (!have_sockdir) {
		snprintf(err, errlen, "missing engine argument -d <socket_dir>: needed for the dRPC "
			 "sockets");
		return -EINVAL;
	}
	if (a->first_core > 0 && a->numa_node >= 0) {
		snprintf(err, errlen, "cannot specify both pinned_numa_node (-p) and first_core (-f)");
		return -EINVAL;
	}
	/* 4096 - strlen("/daos_engine_4194304.sock") leaves room, but sun_path is only 108 */
	if (strlen(a->socket_dir) + sizeof("/daos_engine_4194304.sock") > 108) {
		snprintf(err, errlen, "socket_dir '%s' is too long for a Unix socket path (max 108 "
			 "bytes with the file name): use a shorter -d", a->socket_dir);
		return -EINVAL;
	}
	return 0;
}
