/* Engine tunables from the environment: strict parsing, errors that say how to fix them. */
#include "tunables.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tun_spec {
	const char *name;
	const char *unit;
	uint32_t min, max;
	size_t off; /* offset of the uint32_t field in struct dss_tunables */
};

static const struct tun_spec specs[] = {
	{"SWIM_PROTOCOL_PERIOD_LEN", "ms", 100, 60000,
	 offsetof(struct dss_tunables, swim_period_ms)},
	{"SWIM_PING_TIMEOUT", "ms", 50, 60000, offsetof(struct dss_tunables, swim_ping_timeout_ms)},
	{"SWIM_SUSPECT_TIMEOUT", "ms", 500, 3600000,
	 offsetof(struct dss_tunables, swim_suspect_timeout_ms)},
	{"SWIM_SUBGROUP_SIZE", "members", 1, 8, offsetof(struct dss_tunables, swim_subgroup_size)},
	{"CRT_TIMEOUT", "s", 1, 3600, offsetof(struct dss_tunables, rpc_timeout_s)},
	{"DAOS_TREE_FANOUT", "children per node", 2, 256,
	 offsetof(struct dss_tunables, tree_fanout)},
};

void dss_tunables_defaults(struct dss_tunables *t)
{
	t->swim_period_ms = DSS_TUN_SWIM_PERIOD_MS_DEFAULT;
	t->swim_ping_timeout_ms = DSS_TUN_SWIM_PING_MS_DEFAULT;
	t->swim_suspect_timeout_ms = DSS_TUN_SWIM_SUSPECT_MS_DEFAULT;
	t->swim_subgroup_size = DSS_TUN_SWIM_SUBGROUP_DEFAULT;
	t->rpc_timeout_s = DSS_TUN_CRT_TIMEOUT_S_DEFAULT;
	t->tree_fanout = DSS_TUN_TREE_FANOUT_DEFAULT;
}

/* Plain decimal only: no sign, no spaces, no hex, no suffix (a typo must not parse). */
static int parse_u32(const char *v, uint32_t *out)
{
	uint64_t n = 0;

	if (v[0] == '\0')
		return -EINVAL;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return -ERANGE;
	}
	*out = (uint32_t)n;
	return 0;
}

/* Shortens an echoed value so a huge environment value cannot flood the error. */
static void echo(const char *v, char *buf, size_t len)
{
	size_t n = strlen(v);

	if (n < len) {
		memcpy(buf, v, n + 1);
		return;
	}
	snprintf(buf, len, "%.*s...", (int)(len - 4), v);
}

int dss_tunables_parse(struct dss_tunables *t, dss_getenv_fn get, void *arg, char *err,
		       size_t errlen)
{
	struct dss_tunables v;
	char shown[48];

	dss_tunables_defaults(&v);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct tun_spec *s = &specs[i];
		uint32_t *field = (uint32_t *)((char *)&v + s->off);
		const char *raw = get(arg, s->name);
		uint32_t n;

		if (raw == NULL)
			continue;
		if (parse_u32(raw, &n) != 0 || n < s->min || n > s->max) {
			echo(raw, shown, sizeof(shown));
			snprintf(err, errlen,
				 "engine environment: %s='%s' is invalid: expected a decimal integer "
				 "in %u..%u (%s, default %u); fix or remove it in the engine's "
				 "env_vars in daos_server.yml",
				 s->name, shown, s->min, s->max, s->unit, *field);
			return -EINVAL;
		}
		*field = n;
	}
	if (v.swim_ping_timeout_ms >= v.swim_suspect_timeout_ms) {
		snprintf(err, errlen,
			 "engine environment: SWIM_PING_TIMEOUT=%u must be below "
			 "SWIM_SUSPECT_TIMEOUT=%u (ms); raise SWIM_SUSPECT_TIMEOUT or lower "
			 "SWIM_PING_TIMEOUT in the engine's env_vars in daos_server.yml",
			 v.swim_ping_timeout_ms, v.swim_suspect_timeout_ms);
		return -EINVAL;
	}
	if ((uint64_t)v.swim_suspect_timeout_ms < 3ull * v.swim_period_ms) {
		snprintf(err, errlen,
			 "engine environment: SWIM_SUSPECT_TIMEOUT=%u must be at least 3 x "
			 "SWIM_PROTOCOL_PERIOD_LEN=%u (ms) so a suspected rank is probed enough to "
			 "refute; raise SWIM_SUSPECT_TIMEOUT to >= %u or lower "
			 "SWIM_PROTOCOL_PERIOD_LEN in the engine's env_vars in daos_server.yml",
			 v.swim_suspect_timeout_ms, v.swim_period_ms, 3 * v.swim_period_ms);
		return -EINVAL;
	}
	*t = v;
	return 0;
}

static const char *env_get(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

int dss_tunables_from_env(struct dss_tunables *t, char *err, size_t errlen)
{
	return dss_tunables_parse(t, env_get, NULL, err, errlen);
}

const char *dss_tunables_str(const struct dss_tunables *t, char *buf, size_t len)
{
	snprintf(buf, len,
		 "SWIM_PROTOCOL_PERIOD_LEN=%u SWIM_PING_TIMEOUT=%u SWIM_SUSPECT_TIMEOUT=%u "
		 "SWIM_SUBGROUP_SIZE=%u CRT_TIMEOUT=%u DAOS_TREE_FANOUT=%u",
		 t->swim_period_ms, t->swim_ping_timeout_ms, t->swim_suspect_timeout_ms,
		 t->swim_subgroup_size, t->rpc_timeout_s, t->tree_fanout);
	return buf;
}
