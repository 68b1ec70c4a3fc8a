/* Name checks shared by the telemetry producer and reader. */
#ifndef DSS_TELEMETRY_NAMES_H
#define DSS_TELEMETRY_NAMES_H

#include <stddef.h>

/** 1 when s is 1..max-1 bytes of [A-Za-z0-9_.-] (a system name in a file name). */
int dss_tm_name_valid(const char *s, size_t max);

/** 1 when p is a metric path: components of [A-Za-z0-9_.:+-] joined (+: providers such as ofi+tcp) by single '/'. */
int dss_tm_path_valid(const char *p, size_t max);

/**
 * <dir>/daos_tm_<system>_<idx>; dir NULL or "" = DAOS_TM_DIR or /dev/shm. 0, or -EINVAL /
 * -ENAMETOOLONG with err naming the input and the fix.
 */
int dss_tm_file_path(const char *dir, const char *system, int instance_idx, char *out,
		     size_t outlen, char *err, size_t errlen);

#endif
