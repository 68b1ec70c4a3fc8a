/*
 * cmocka test of the whole engine through its public API, under ASan/UBSan: NotifyReady to a
 * fake daos_server.sock served by a thread here, dRPC calls on the engine socket, the fabric
 * ping, then stop with every thread joined and the socket removed.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "daos_engine.h"
#include "drpc_frame.h"
#include "fabric.h"
#include "mgmt/srv.pb-c.h"
#include "srv/srv.pb-c.h"
#include "drpc/drpc.pb-c.h"

struct fake_server {
	int fd;
	Srv__NotifyReadyReq *req; /* first NotifyReady received */
};

/* Answers one NotifyReady with SUCCESS and keeps the request. */
static void *fake_server_main(void *arg)
{
	struct fake_server *fs = arg;
	Drpc__Response resp = DRPC__RESPONSE__INIT;
	uint8_t *msg = NULL, out[16];
	size_t len = 0;
	Drpc__Call *call;
	int c = accept(fs->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	if (drpc_recv_msg(c, &msg, &len, 5000) == 0) {
		call = drpc__call__unpack(NULL, len, msg);
		if (call != NULL && call->module == 3 && call->method == 301)
			fs->req = srv__notify_ready_req__unpack(NULL, call->body.len,
								call->body.data);
		resp.sequence = call ? call->sequence : -1;
		drpc_send_msg(c, out, drpc__response__pack(&resp, out), 5000);
		if (call)
			drpc__call__free_unpacked(call, NULL);
		free(msg);
	}
	close(c);
	return NULL;
}

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
	call.sequence = 3;
	call.body.data = (uint8_t *)body;
	call.body.len = body_len;
	assert_int_equal(drpc_send_msg(fd, buf, drpc__call__pack(&call, buf), 5000), 0);
	assert_int_equal(drpc_recv_msg(fd, &msg, &len, 5000), 0);
	close(fd);
	resp = drpc__response__unpack(NULL, len, msg);
	free(msg);
	assert_non_null(resp);
	assert_int_equal(resp->sequence, 3);
	return resp;
}

static void test_engine_lifecycle(void **state)
{
	char dir[] = "/tmp/engine_life_XXXXXX", srv_path[108], err[1024] = "";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fake_server fs = {.fd = -1};
	Mgmt__SetRankReq sr = MGMT__SET_RANK_REQ__INIT;
	Mgmt__DaosResp *dr;
	Drpc__Response *resp;
	pthread_t srv;
	daos_engine_t *eng;
	uint8_t body[32];
	uint32_t rank = 0;
	char sock[108];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(srv_path, sizeof(srv_path), "%s/daos_server.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv_path);
	setenv("DAOS_FABRIC_ADDR", "127.0.0.1", 1);

	{
		const char *argv[] = {"daos_engine", "-t", "2", "-x", "1", "-s", dir, "-d", dir,
				      "-I", "3"};

		eng = daos_engine_create(11, argv, err, sizeof(err));
	}
	assert_non_null(eng);
	assert_int_equal(daos_engine_start(eng, err, sizeof(err)), 0);
	/* 2 targets + 1 helper + system + the up-call, retrying: no daos_server.sock yet */
	assert_int_equal(daos_engine_thread_count(eng), 5);
	/* start is once only */
	assert_int_equal(daos_engine_start(eng, err, sizeof(err)), -EINVAL);
	snprintf(sock, sizeof(sock), "%s", daos_engine_socket_path(eng));
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	fs.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fs.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fs.fd, 4), 0);
	assert_int_equal(pthread_create(&srv, NULL, fake_server_main, &fs), 0);
	pthread_join(srv, NULL);
	assert_non_null(fs.req);
	assert_string_equal(fs.req->drpclistenersock, sock);
	assert_string_equal(fs.req->uri, daos_engine_uri(eng));
	assert_int_equal(fs.req->instanceidx, 3);
	assert_int_equal(fs.req->ntgts, 2);
	assert_int_equal(fs.req->nctxs, 4);
	assert_int_equal(fs.req->incarnation, daos_engine_incarnation(eng));
	srv__notify_ready_req__free_unpacked(fs.req, NULL);
	/* bounded wait for the up-call thread to record the acknowledgement and exit */
	for (int i = 0; i < 500 && daos_engine_thread_count(eng) != 4; i++)
		usleep(10000);
	assert_int_equal(daos_engine_state(eng), DAOS_ENGINE_READY);
	assert_int_equal(daos_engine_thread_count(eng), 4);

	sr.rank = 5;
	resp = engine_call(sock, 2, 202, body, mgmt__set_rank_req__pack(&sr, body));
	assert_int_equal(resp->status, DRPC__STATUS__SUCCESS);
	dr = mgmt__daos_resp__unpack(NULL, resp->body.len, resp->body.data);
	assert_int_equal(dr->status, 0);
	mgmt__daos_resp__free_unpacked(dr, NULL);
	drpc__response__free_unpacked(resp, NULL);
	assert_int_equal(daos_engine_rank(eng), 5);
	resp = engine_call(sock, 2, 209, NULL, 0);
	assert_int_equal(resp->status, DRPC__STATUS__SUCCESS);
	drpc__response__free_unpacked(resp, NULL);
	assert_int_equal(daos_engine_state(eng), DAOS_ENGINE_SETUP);
	resp = engine_call(sock, 4, 401, NULL, 0);
	assert_int_equal(resp->status, DRPC__STATUS__UNKNOWN_MODULE);
	drpc__response__free_unpacked(resp, NULL);

	assert_int_equal(dss_fabric_ping(daos_engine_uri(eng), 2000, &rank, NULL), 0);
	assert_int_equal(rank, 5);

	daos_engine_request_stop(eng);
	assert_int_equal(daos_engine_wait(eng, -1), 1);
	assert_int_equal(daos_engine_stop(eng), 0);
	assert_int_equal(daos_engine_thread_count(eng), 0);
	assert_int_equal(daos_engine_state(eng), DAOS_ENGINE_STOPPED);
	assert_int_not_equal(stat(sock, &st), 0);
	assert_int_equal(daos_engine_stop(eng), 0); /* idempotent */
	daos_engine_destroy(eng);

	close(fs.fd);
	unlink(srv_path);
	rmdir(dir);
	unsetenv("DAOS_FABRIC_ADDR");
}

static void test_engine_create_errors(void **state)
{
	const char *bad_args[] = {"daos_engine", "-t", "1"};
	const char *bad_mask[] = {"daos_engine", "-t", "1", "-s", "/tmp", "-d", "/tmp"};
	char err[1024];

	(void)state;
	assert_null(daos_engine_create(3, bad_args, err, sizeof(err)));
	assert_non_null(strstr(err, "-s <scm mount>"));
	setenv("D_LOG_MASK", "LOUD", 1);
	assert_null(daos_engine_create(7, bad_mask, err, sizeof(err)));
	assert_non_null(strstr(err, "D_LOG_MASK 'LOUD'"));
	unsetenv("D_LOG_MASK");
	/* no fabric address: start fails naming the variables to set */
	{
		daos_engine_t *eng = daos_engine_create(7, bad_mask, err, sizeof(err));

		assert_non_null(eng);
		unsetenv("DAOS_FABRIC_ADDR");
		unsetenv("D_INTERFACE");
		assert_int_equal(daos_engine_start(eng, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "D_INTERFACE"));
		setenv("D_INTERFACE", "no-such-if0", 1);
		daos_engine_destroy(eng);
		eng = daos_engine_create(7, bad_mask, err, sizeof(err));
		assert_int_equal(daos_engine_start(eng, err, sizeof(err)), -ENODEV);
		assert_non_null(strstr(err, "no-such-if0"));
		setenv("D_INTERFACE", "lo", 1);
		setenv("D_PROVIDER", "ofi+verbs", 1);
		daos_engine_destroy(eng);
		eng = daos_engine_create(7, bad_mask, err, sizeof(err));
		assert_int_equal(daos_engine_start(eng, err, sizeof(err)), -EPROTONOSUPPORT);
		assert_non_null(strstr(err, "ofi+verbs"));
		unsetenv("D_PROVIDER");
		unsetenv("D_INTERFACE");
		daos_engine_destroy(eng);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_lifecycle),
		cmocka_unit_test(test_engine_create_errors),
	};

	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
