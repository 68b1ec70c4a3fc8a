/*
 * libFuzzer target for the engine's dRPC receive path: input bytes are fed (in pieces whose
 * size the first byte picks) through the chunk decoder, and every complete message goes
 * through Call decoding and dispatch to the real mgmt and pool modules, as the progress loop
 * does (the pool module without a transport or storage: its request decoders and checks).
 * The rest of the input is also dispatched directly as a Call, so Call/payload decoding is
 * explored without needing valid framing.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drpc_frame.h"
#include "engine_internal.h"
#include "log.h"
#include "mgmt_module.h"

extern const struct dss_module pool_module;

static struct dss_engine *fuzz_engine(void)
{
	static struct dss_engine *eng;

	if (eng != NULL)
		return eng;
	eng = calloc(1, sizeof(*eng));
	pthread_mutex_init(&eng->lock, NULL);
	eng->rank = DSS_NIL_RANK;
	eng->storage.scm_fd = -1;
	eng->drpc_fd = -1;
	if (pipe2(eng->stop_pipe, O_CLOEXEC) != 0)
		abort();
	dss_registry_init(&eng->reg);
	if (dss_module_load(&eng->reg, &mgmt_module, eng) != 0 ||
	    dss_module_load(&eng->reg, &pool_module, eng) != 0)
		abort();
	dss_log_set_mask("CRIT"); /* handler logs would drown the fuzzer's output */
	return eng;
}

static void handle(struct dss_engine *eng, const uint8_t *msg, size_t len)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	Drpc__Response *resp;

	if (dss_drpc_handle_bytes(&eng->reg, eng, msg, len, &out, &out_len) != 0)
		return;
	/* the reply must always be a decodable Response */
	resp = drpc__response__unpack(NULL, out_len, out);
	if (resp == NULL)
		abort();
	drpc__response__free_unpacked(resp, NULL);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dss_engine *eng = fuzz_engine();
	struct drpc_rx rx;
	size_t off = 1, step;

	if (size < 1)
		return 0;
	step = (size_t)data[0] * 97 + 1;
	drpc_rx_init(&rx);
	while (off < size) {
		size_t len = size - off < step ? size - off : step, used = 0, msg_len = 0;
		uint8_t *msg = NULL;
		int rc = drpc_rx_feed(&rx, data + off, len, &used, &msg, &msg_len);

		if (used > len)
			abort();
		off += used;
		if (rc < 0)
			break;
		if (rc == 1) {
			handle(eng, msg, msg_len);
			free(msg);
		} else if (used == 0) {
			abort(); /* no progress without a message or an error */
		}
	}
	drpc_rx_reset(&rx);
	handle(eng, data + 1, size - 1);
	return 0;
}
