/*
 * One dRPC call to a running engine's socket, for the cmocka tests that start a whole engine
 * (test_engine.c, test_module.c). Include after <cmocka.h>, "drpc_frame.h" and the drpc
 * protobuf header.
 */
#ifndef TEST_ENGINE_CALL_H
#define TEST_ENGINE_CALL_H

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ENGINE_CALL_SEQ 3

/* Sends module/method with body (at most ~200 bytes) and returns the engine's answer. */
static Drpc__Response *engine_call(const char *sock, int module, int method, const uint8_t *body,
				   size_t body_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	Drpc__Call call = DRPC__CALL__INIT;
	uint8_t buf[256], *msg = NULL;
	size_t len = 0;
	Drpc__Response *resp;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	call.module = module;
	call.method = method;
	call.sequence = ENGINE_CALL_SEQ;
	call.body.data = (uint8_t *)body;
	call.body.len = body_len;
	assert_int_equal(drpc_send_msg(fd, buf, drpc__call__pack(&call, buf), 5000), 0);
	assert_int_equal(drpc_recv_msg(fd, &msg, &len, 5000), 0);
	close(fd);
	resp = drpc__response__unpack(NULL, len, msg);
	free(msg);
	assert_non_null(resp);
	assert_int_equal(resp->sequence, ENGINE_CALL_SEQ);
	return resp;
}

#endif
