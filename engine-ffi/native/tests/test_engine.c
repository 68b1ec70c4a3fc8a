/*
 * cmocka test of the whole engine through its public API, under ASan/UBSan: NotifyReady to a
 * fake daos_server.sock served by a thread here, dRPC calls on the engine socket, the fabric
 * ping, then stop with every thread joined and the socket removed.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daos_engine.h"
#include "drpc_frame.h"
#include "mgmt/srv.pb-c.h"
#include "srv/srv.pb-c.h"
#include "drpc/drpc.pb-c.h"
#include "shared/event.pb-c.h"

#include "engine_call.h"

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

/* The DaosResp status of an mgmt call on the engine socket. */
static int32_t mgmt_status(const char *sock, int method, const uint8_t *body, size_t len)
{
	Drpc__Response *resp = engine_call(sock, 2, method, body, len);
	Mgmt__DaosResp *dr;
	int32_t st;

	assert_int_equal(resp->status, DRPC__STATUS__SUCCESS);
	dr = mgmt__daos_resp__unpack(NULL, resp->body.len, resp->body.data);
	assert_non_null(dr);
	st = dr->status;
	mgmt__daos_resp__free_unpacked(dr, NULL);
	drpc__response__free_unpacked(resp, NULL);
	return st;
}

/*
 * A new engine on dir (its SCM mount and socket dir): daos_engine -t tgts -s dir -d dir,
 * then -x helpers and -I instance unless NULL. NULL with err set when create refuses.
 */
static daos_engine_t *engine_new(const char *dir, const char *tgts, const char *helpers,
				 const char *instance, char *err, size_t errlen)
{
	const char *argv[11] = {"daos_engine", "-t", tgts, "-s", dir, "-d", dir};
	int argc = 7;

	if (helpers != NULL) {
		argv[argc++] = "-x";
		argv[argc++] = helpers;
	}
	if (instance != NULL) {
		argv[argc++] = "-I";
		argv[argc++] = instance;
	}
	return daos_engine_create(argc, argv, err, errlen);
}

/* Short SWIM tunables for the engines this process creates next. */
static void swim_env(const char *period_ms, const char *ping_ms, const char *suspect_ms)
{
	setenv("SWIM_PROTOCOL_PERIOD_LEN", period_ms, 1);
	setenv("SWIM_PING_TIMEOUT", ping_ms, 1);
	setenv("SWIM_SUSPECT_TIMEOUT", suspect_ms, 1);
}

/*
 * One engine under test: a fresh temp dir (SCM mount, socket dir, daos_server.sock) and
 * DAOS_FABRIC_ADDR; the engine, once fx_create made it; the fake daos_server.sock, once
 * fx_listen made it. fx_fini (the tests' teardown) stops and destroys what is left and removes
 * the rest, also after a failed assertion.
 */
struct eng_fx {
	char dir[32];
	char sock[108];     /* the engine's dRPC socket, once fx_start started it */
	char srv_path[108]; /* daos_server.sock, once fx_listen bound it */
	char err[1024];
	int srv_fd;
	daos_engine_t *eng;
};

/* Destroys the fixture's engine (stopping it first): another may be created then. */
static void fx_destroy(struct eng_fx *f)
{
	daos_engine_destroy(f->eng);
	f->eng = NULL;
}

/* nftw callback: removes one entry (depth first, so a dir after its contents). */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int fx_init(struct eng_fx *f)
{
	memset(f, 0, sizeof(*f));
	f->srv_fd = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/engine_fx_XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	setenv("DAOS_FABRIC_ADDR", "127.0.0.1", 1);
	return 0;
}

static void fx_fini(struct eng_fx *f)
{
	fx_destroy(f); /* stops it first; none: nothing to do */
	if (f->srv_fd >= 0) {
		close(f->srv_fd);
		unlink(f->srv_path);
	}
	/* the dir and what the engines left on it (daos_sys/vos_smd, 8 MiB) */
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	unsetenv("DAOS_FABRIC_ADDR");
	unsetenv("DAOS_SERVER_PID");
	unsetenv("SWIM_PROTOCOL_PERIOD_LEN");
	unsetenv("SWIM_PING_TIMEOUT");
	unsetenv("SWIM_SUSPECT_TIMEOUT");
}

static int fx_setup(void **state)
{
	struct eng_fx *f = malloc(sizeof(*f));

	if (f == NULL || fx_init(f) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_fini(*state);
	free(*state);
	return 0;
}

/* Creates the fixture's engine (see engine_new); it must be created. */
static daos_engine_t *fx_create(struct eng_fx *f, const char *tgts, const char *helpers,
				const char *instance)
{
	f->eng = engine_new(f->dir, tgts, helpers, instance, f->err, sizeof(f->err));
	if (f->eng == NULL)
		fail_msg("daos_engine_create on %s: %s", f->dir, f->err);
	return f->eng;
}

/* Starts the fixture's engine, which must start, and keeps its socket path in f->sock. */
static void fx_start(struct eng_fx *f)
{
	int rc = daos_engine_start(f->eng, f->err, sizeof(f->err));

	if (rc != 0)
		fail_msg("daos_engine_start on %s: %d %s", f->dir, rc, f->err);
	snprintf(f->sock, sizeof(f->sock), "%s", daos_engine_socket_path(f->eng));
}

/* Binds and listens on <dir>/daos_server.sock, the socket a fake daos_server serves. */
static int fx_listen(struct eng_fx *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(f->srv_path, sizeof(f->srv_path), "%s/daos_server.sock", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->srv_path);
	f->srv_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->srv_fd >= 0);
	assert_int_equal(bind(f->srv_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->srv_fd, 4), 0);
	return f->srv_fd;
}

static void test_engine_lifecycle(void **state)
{
	struct eng_fx *f = *state;
	struct fake_server fs = {.fd = -1};
	Mgmt__SetRankReq sr = MGMT__SET_RANK_REQ__INIT;
	Mgmt__DaosResp *dr;
	Drpc__Response *resp;
	pthread_t srv;
	daos_engine_t *eng = fx_create(f, "2", "1", "3");
	const char *sock = f->sock;
	char err[1024] = "";
	uint8_t body[32];
	uint32_t rank = 0;
	struct stat st;

	fx_start(f);
	/* 2 targets + 1 helper + system + the up-call, retrying: no daos_server.sock yet */
	assert_int_equal(daos_engine_thread_count(eng), 5);
	/* start is once only */
	assert_int_equal(daos_engine_start(eng, err, sizeof(err)), -EINVAL);
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	fs.fd = fx_listen(f);
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
	/* PrepShutdown: the targets take no new work, so pinging ourselves fails; SetUp clears it */
	{
		Mgmt__PrepShutdownReq ps = MGMT__PREP_SHUTDOWN_REQ__INIT;
		Mgmt__PingRankReq pr = MGMT__PING_RANK_REQ__INIT;
		uint8_t pbody[32];
		size_t plen;

		pr.rank = 5;
		plen = mgmt__ping_rank_req__pack(&pr, pbody);
		assert_int_equal(mgmt_status(sock, 225, pbody, plen), 0);
		assert_int_equal(daos_engine_prep_shutdown(eng), 0);
		ps.rank = 5;
		assert_int_equal(mgmt_status(sock, 218, body, mgmt__prep_shutdown_req__pack(&ps, body)),
				 0);
		assert_int_equal(daos_engine_prep_shutdown(eng), 1);
		assert_int_equal(mgmt_status(sock, 225, pbody, plen), -2017); /* -DER_SHUTDOWN */
		/* repeated: still accepted, still shutting down */
		assert_int_equal(mgmt_status(sock, 218, body, mgmt__prep_shutdown_req__pack(&ps, body)),
				 0);
		assert_int_equal(mgmt_status(sock, 225, pbody, plen), -2017);
		assert_int_equal(mgmt_status(sock, 209, NULL, 0), 0);
		assert_int_equal(daos_engine_prep_shutdown(eng), 0);
		assert_int_equal(mgmt_status(sock, 225, pbody, plen), 0);
	}
	resp = engine_call(sock, 4, 401, NULL, 0);
	assert_int_equal(resp->status, DRPC__STATUS__UNKNOWN_MODULE);
	drpc__response__free_unpacked(resp, NULL);

	assert_int_equal(daos_engine_fabric_ping(daos_engine_uri(eng), 2000, &rank, NULL, NULL, err,
						 sizeof(err)), 0);
	assert_int_equal(rank, 5);

	daos_engine_request_stop(eng);
	assert_int_equal(daos_engine_wait(eng, -1), 1);
	assert_int_equal(daos_engine_stop(eng), 0);
	assert_int_equal(daos_engine_thread_count(eng), 0);
	assert_int_equal(daos_engine_state(eng), DAOS_ENGINE_STOPPED);
	assert_int_not_equal(stat(sock, &st), 0);
	assert_int_equal(daos_engine_stop(eng), 0); /* idempotent */
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

/* A child that waits to be killed: the stand-in daos_server. */
static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* bounded: never outlives a crashed test by more than a minute */
		for (int i = 0; i < 600; i++)
			usleep(100000);
		_exit(0);
	}
	return pid;
}

/* The engine watches DAOS_SERVER_PID and stops itself, socket removed, once it exits. */
static void test_engine_orphan_stop(void **state)
{
	struct eng_fx *f = *state;
	const char *sock = f->sock;
	pid_t server = spawn_sleeper();
	daos_engine_t *eng;
	char pidtxt[16];
	struct stat st;
	int status = 0;

	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)server);
	setenv("DAOS_SERVER_PID", pidtxt, 1);
	eng = fx_create(f, "2", NULL, NULL);
	fx_start(f);
	/* while daos_server lives, the engine runs */
	assert_int_equal(daos_engine_wait(eng, 300), 0);
	assert_string_equal(daos_engine_last_error(eng), "");

	assert_int_equal(kill(server, SIGKILL), 0);
	assert_int_equal(waitpid(server, &status, 0), server);
	/* the pidfd wakes the progress loop at once; 5 s bounds a broken build */
	assert_int_equal(daos_engine_wait(eng, 5000), 1);
	snprintf(pidtxt, sizeof(pidtxt), "pid %d", (int)server);
	assert_non_null(strstr(daos_engine_last_error(eng), "daos_server"));
	assert_non_null(strstr(daos_engine_last_error(eng), pidtxt));
	assert_non_null(strstr(daos_engine_last_error(eng), "orphaned"));
	assert_int_equal(daos_engine_stop(eng), 0);
	assert_int_equal(daos_engine_thread_count(eng), 0);
	assert_int_not_equal(stat(sock, &st), 0);
}

/*
 * Issue 15 item 10: 70 connections from another process, each stuck in a partial message, must
 * not cut daos_server (DAOS_SERVER_PID, here this process) off: its call gets a reserved slot.
 * The stalled connections are dropped after the partial-message bound, so the other process
 * can call again afterwards.
 */
#define FLOOD 70
/* One PingRank round trip; its dRPC status (engine_call asserts the transport worked). */
static int flood_call(const char *sock, const uint8_t *body, size_t len)
{
	Drpc__Response *resp = engine_call(sock, 2, 225, body, len);
	int st = resp->status;

	drpc__response__free_unpacked(resp, NULL);
	return st;
}

/* This process as the engine's daos_server (DAOS_SERVER_PID), then the fixture's engine, started. */
static daos_engine_t *fx_start_served(struct eng_fx *f)
{
	char pidtxt[16];

	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)getpid());
	setenv("DAOS_SERVER_PID", pidtxt, 1);
	fx_create(f, "1", NULL, NULL);
	fx_start(f);
	return f->eng;
}

static void test_engine_drpc_flood(void **state)
{
	struct eng_fx *f = *state;
	const char *sock = f->sock;
	Mgmt__PingRankReq pr = MGMT__PING_RANK_REQ__INIT;
	uint8_t pbody[32];
	size_t plen;
	int ready[2], go[2], status = 0;
	daos_engine_t *eng = fx_start_served(f);
	pid_t flooder;
	char b = 0;

	pr.rank = 0;
	plen = mgmt__ping_rank_req__pack(&pr, pbody);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);

	flooder = fork();
	assert_true(flooder >= 0);
	if (flooder == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		/* a whole header announcing 100 bytes in one chunk, then 5 of them */
		uint8_t partial[29] = {100, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0,
				       0, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4, 5};
		int fds[FLOOD], closed = 0;

		alarm(60); /* never outlives a failed test */
		close(go[1]); /* a failed parent closes its end: read() below returns */
		close(ready[0]);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		for (int i = 0; i < FLOOD; i++) {
			size_t len = i % 2 ? 10 : sizeof(partial);
			ssize_t n;

			fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
			if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0)
				_exit(10);
			/* stalled in the header (10 bytes) or in the body; past the shared slots
			 * the engine refuses (closes) the connection, which may beat this write */
			n = send(fds[i], partial, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
				close(fds[i]);
				fds[i] = -1; /* refused: closed already */
			} else if (n != (ssize_t)len) {
				_exit(10);
			}
		}
		if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(11);
		/* every stalled connection is closed by the engine within its bound (+1 s sweep) */
		for (int t = 0; t < 60 && closed < FLOOD; t++) {
			closed = 0;
			for (int i = 0; i < FLOOD; i++) {
				struct pollfd p = {.fd = fds[i], .events = POLLIN};
				ssize_t r;

				if (fds[i] < 0) {
					closed++;
					continue;
				}
				if (poll(&p, 1, 0) != 1 || !(p.revents & (POLLIN | POLLHUP)))
					continue;
				r = recv(fds[i], &b, 1, MSG_DONTWAIT);
				if (r == 0 || (r < 0 && errno == ECONNRESET))
					closed++;
			}
			usleep(100000);
		}
		_exit(closed == FLOOD ? 0 : 12);
	}
	/* only the child holds these ends now: its death reads as EOF, never a hang */
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	usleep(300000); /* let the engine take the flood into its slots */
	/* daos_server's calls go through while every shared slot is held */
	assert_int_equal(flood_call(sock, pbody, plen), DRPC__STATUS__SUCCESS);
	assert_int_equal(flood_call(sock, pbody, plen), DRPC__STATUS__SUCCESS);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(flooder, &status, 0), flooder);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(flood_call(sock, pbody, plen), DRPC__STATUS__SUCCESS);

	close(ready[0]);
	close(go[1]);
	daos_engine_request_stop(eng);
	assert_int_equal(daos_engine_stop(eng), 0);
}

/*
 * A hog: feeds PingRank calls on one connection and never reads a reply, until the engine
 * drops it (0), or 20 s pass (12). Writes one byte on `ready` once the engine stops taking.
 */
static int hog_main(const char *sock, const uint8_t *framed, size_t flen, int ready)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), stuck = 0;
	size_t off = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 10;
	for (int k = 0; k < 20000; k++) {
		ssize_t n = send(fd, framed + off, flen - off, MSG_NOSIGNAL);

		if (n > 0) {
			off = (off + (size_t)n) % flen;
			stuck = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			return errno == EPIPE || errno == ECONNRESET ? 0 : 11;
		if (++stuck == 100 && ready >= 0 && write(ready, "r", 1) != 1)
			return 11;
		usleep(1000);
	}
	return 12;
}

/*
 * Peers that send calls and never read the replies must not stall the engine's loop: while
 * such connections are full, daos_server's calls are still answered within their deadline,
 * and each hog is dropped once its replies sat unread past the bound.
 */
#define HOGS 3
static void test_engine_drpc_unread_replies(void **state)
{
	struct eng_fx *f = *state;
	const char *sock = f->sock;
	Mgmt__PingRankReq pr = MGMT__PING_RANK_REQ__INIT;
	Drpc__Call call = DRPC__CALL__INIT;
	uint8_t pbody[32], cbuf[64], *framed = NULL;
	size_t plen, flen = 0;
	pid_t hogs[HOGS];
	daos_engine_t *eng = fx_start_served(f);
	int ready[2];
	char b = 0;

	plen = mgmt__ping_rank_req__pack(&pr, pbody);
	call.module = 2;
	call.method = 225;
	call.sequence = 1;
	call.body.data = pbody;
	call.body.len = plen;
	assert_int_equal(drpc_frame_encode(cbuf, drpc__call__pack(&call, cbuf), &framed, &flen),
			 0);
	assert_int_equal(pipe(ready), 0);
	for (int i = 0; i < HOGS; i++) {
		hogs[i] = fork();
		assert_true(hogs[i] >= 0);
		if (hogs[i] == 0) {
			alarm(60); /* never outlives a failed test */
			close(ready[0]);
			_exit(hog_main(sock, framed, flen, i == 0 ? ready[1] : -1));
		}
	}
	close(ready[1]); /* a hog that dies reads as EOF here, never a hang */
	/* the first hog is full; the others queue behind it */
	assert_int_equal(read(ready[0], &b, 1), 1);
	assert_int_equal(flood_call(sock, pbody, plen), DRPC__STATUS__SUCCESS);
	assert_int_equal(flood_call(sock, pbody, plen), DRPC__STATUS__SUCCESS);
	for (int i = 0; i < HOGS; i++) {
		int status = 0;

		assert_int_equal(waitpid(hogs[i], &status, 0), hogs[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	free(framed);
	close(ready[0]);
	daos_engine_request_stop(eng);
	assert_int_equal(daos_engine_stop(eng), 0);
}

/*
 * The fabric endpoint faces the network: 70 peers connecting with garbage instead of
 * libfabric's handshake must not lock pings out. Pings work while they hold their sockets.
 */
static void test_engine_fabric_flood(void **state)
{
	struct eng_fx *f = *state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *uri, *colon;
	int fds[FLOOD], rc = -1;
	daos_engine_t *eng = fx_create(f, "1", NULL, NULL);
	char err[1024] = "";
	uint32_t rank = 0;

	fx_start(f);
	uri = daos_engine_uri(eng);
	colon = strrchr(uri, ':');
	assert_non_null(colon);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < FLOOD; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(write(fds[i], "abc", 3), 3); /* part of a ping request */
	}
	/* bounded: the stalled peers go after the partial bound, pings then succeed */
	for (int t = 0; t < 100 && rc != 0; t++) {
		rc = daos_engine_fabric_ping(uri, 1000, &rank, NULL, NULL, err, sizeof(err));
		if (rc != 0)
			usleep(100000);
	}
	assert_int_equal(rc, 0);
	for (int i = 0; i < FLOOD; i++)
		close(fds[i]);
	daos_engine_request_stop(eng);
	assert_int_equal(daos_engine_stop(eng), 0);
}

/* A bad or dead DAOS_SERVER_PID is refused at create, naming the variable. */
static void test_engine_server_pid_errors(void **state)
{
	const char *argv[] = {"daos_engine", "-t", "1", "-s", "/tmp", "-d", "/tmp"};
	const char *bad[] = {"abc", "12x", "-5", "1", "99999999999"};
	char err[1024], pidtxt[16];
	pid_t gone = spawn_sleeper();
	int status;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("DAOS_SERVER_PID", bad[i], 1);
		assert_null(daos_engine_create(7, argv, err, sizeof(err)));
		assert_non_null(strstr(err, "invalid DAOS_SERVER_PID"));
	}
	kill(gone, SIGKILL);
	assert_int_equal(waitpid(gone, &status, 0), gone);
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)gone);
	setenv("DAOS_SERVER_PID", pidtxt, 1);
	assert_null(daos_engine_create(7, argv, err, sizeof(err)));
	assert_non_null(strstr(err, "is not running"));
	assert_non_null(strstr(err, pidtxt));
	/* our own parent is a valid daos_server; empty means not watched */
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)getppid());
	setenv("DAOS_SERVER_PID", pidtxt, 1);
	{
		daos_engine_t *eng = daos_engine_create(7, argv, err, sizeof(err));

		assert_non_null(eng);
		daos_engine_destroy(eng);
	}
	setenv("DAOS_SERVER_PID", "", 1);
	{
		daos_engine_t *eng = daos_engine_create(7, argv, err, sizeof(err));

		assert_non_null(eng);
		daos_engine_destroy(eng);
	}
	unsetenv("DAOS_SERVER_PID");
}

/* Serves `calls` up-calls on fd (one per connection), keeping the first ClusterEvent. */
struct event_server {
	int fd;
	int calls;
	Shared__ClusterEventReq *event;
};

static void *event_server_main(void *arg)
{
	struct event_server *es = arg;

	for (int i = 0; i < es->calls; i++) {
		Drpc__Response resp = DRPC__RESPONSE__INIT;
		uint8_t *msg = NULL, out[16];
		size_t len = 0;
		Drpc__Call *call;
		int c = accept(es->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		if (drpc_recv_msg(c, &msg, &len, 5000) == 0) {
			call = drpc__call__unpack(NULL, len, msg);
			if (call != NULL && call->module == 3 && call->method == 304 &&
			    es->event == NULL)
				es->event = shared__cluster_event_req__unpack(NULL, call->body.len,
									       call->body.data);
			resp.sequence = call ? call->sequence : -1;
			drpc_send_msg(c, out, drpc__response__pack(&resp, out), 5000);
			if (call)
				drpc__call__free_unpacked(call, NULL);
			free(msg);
		}
		close(c);
	}
	return NULL;
}

/* GroupUpdate{version, ranks[n] at uris[n] (NULL: an unserved address)}; the resp status. */
static int32_t group_update_uris(const char *sock, uint32_t version, const uint32_t *ranks,
				 const char *const *uris, size_t n)
{
	Mgmt__GroupUpdateReq req = MGMT__GROUP_UPDATE_REQ__INIT;
	Mgmt__GroupUpdateReq__Engine e[4], *pe[4];
	Mgmt__GroupUpdateResp *gr;
	Drpc__Response *resp;
	uint8_t body[512];
	int32_t st;

	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++) {
		mgmt__group_update_req__engine__init(&e[i]);
		e[i].rank = ranks[i];
		e[i].uri = (char *)(uris && uris[i] ? uris[i] : "ofi+tcp://127.0.0.1:1");
		e[i].incarnation = 1;
		pe[i] = &e[i];
	}
	req.map_version = version;
	req.n_engines = n;
	req.engines = pe;
	resp = engine_call(sock, 2, 232, body, mgmt__group_update_req__pack(&req, body));
	assert_int_equal(resp->status, DRPC__STATUS__SUCCESS);
	gr = mgmt__group_update_resp__unpack(NULL, resp->body.len, resp->body.data);
	assert_non_null(gr);
	st = gr->status;
	mgmt__group_update_resp__free_unpacked(gr, NULL);
	drpc__response__free_unpacked(resp, NULL);
	return st;
}

/* GroupUpdate{version, ranks[n]}, every rank at an unserved address. */
static int32_t group_update(const char *sock, uint32_t version, const uint32_t *ranks, size_t n)
{
	return group_update_uris(sock, version, ranks, NULL, n);
}

/*
 * A set-up engine that receives a map without its rank (newer than the map it joined with)
 * raises engine_self_terminated to daos_server and stops itself; older maps, or maps naming
 * it, leave it running.
 */
static void test_engine_excluded_self_terminates(void **state)
{
	struct eng_fx *f = *state;
	const char *sock = f->sock;
	struct event_server es = {.fd = -1, .calls = 2};
	Mgmt__SetRankReq sr = MGMT__SET_RANK_REQ__INIT;
	const uint32_t others[] = {0, 2}, with_self[] = {0, 5, 2};
	uint8_t body[32];
	daos_engine_t *eng;
	pthread_t srv;

	es.fd = fx_listen(f);
	assert_int_equal(pthread_create(&srv, NULL, event_server_main, &es), 0);
	eng = fx_create(f, "1", NULL, "1");
	fx_start(f);

	/* before a rank: a map without us means nothing */
	assert_int_equal(group_update(sock, 1, others, 2), 0);
	assert_int_equal(daos_engine_wait(eng, 100), 0);
	sr.rank = 5;
	sr.map_version = 7;
	assert_int_equal(mgmt_status(sock, 202, body, mgmt__set_rank_req__pack(&sr, body)), 0);
	assert_int_equal(mgmt_status(sock, 209, NULL, 0), 0);
	/* a map older than our join (held by daos_server from before it) lacks us: ignored */
	assert_int_equal(group_update(sock, 6, others, 2), 0);
	assert_int_equal(daos_engine_wait(eng, 100), 0);
	/* a newer map with us: still running */
	assert_int_equal(group_update(sock, 8, with_self, 3), 0);
	assert_int_equal(daos_engine_wait(eng, 100), 0);
	assert_string_equal(daos_engine_last_error(eng), "");
	/* a newer map without us: the event, then the engine stops itself */
	assert_int_equal(group_update(sock, 9, others, 2), 0);
	assert_int_equal(daos_engine_wait(eng, 5000), 1);
	assert_non_null(strstr(daos_engine_last_error(eng), "rank 5 excluded"));
	pthread_join(srv, NULL);
	assert_non_null(es.event);
	assert_non_null(es.event->event);
	assert_int_equal(es.event->event->id, 5);
	assert_int_equal(es.event->event->rank, 5);
	assert_int_equal(es.event->event->type, 2);
	assert_int_equal(es.event->event->incarnation, daos_engine_incarnation(eng));
	assert_int_equal(es.event->event->extended_info_case,
			 SHARED__RASEVENT__EXTENDED_INFO_ENGINE_STATE_INFO);
	assert_int_equal(es.event->event->engine_state_info->instance, 1);
	assert_non_null(strstr(es.event->event->msg, "version 9"));
	shared__cluster_event_req__free_unpacked(es.event, NULL);
	assert_int_equal(daos_engine_stop(eng), 0);
}

/*
 * SWIM wired end to end in one engine: with short tunables from the environment, a map naming
 * the engine (rank 5) and rank 9 at an address nobody serves, the engine's SWIM suspects rank
 * 9, declares it dead when the suspicion times out and raises RAS swim_rank_dead (id 17, a
 * state change, rank 9 at the map's incarnation, the SWIM reason) to daos_server.sock.
 */
/*
 * Child of test_engine_swim_rank_dead: a second engine (rank 6, in its own process since an
 * engine is one per process) with a slow SWIM of its own, so the parent decides rank 9's death.
 * Writes its URI to wfd, reads the parent's from rfd, installs the map, runs until rfd closes.
 */
static int swim_peer_main(int rfd, int wfd, const char *dir)
{
	const char *uris[3] = {NULL, NULL, NULL};
	const uint32_t ranks[] = {5, 6, 9};
	Mgmt__SetRankReq sr = MGMT__SET_RANK_REQ__INIT;
	char err[1024], peer[160] = "", c;
	uint8_t body[32];
	daos_engine_t *eng;
	ssize_t n;

	swim_env("2000", "1000", "60000");
	eng = engine_new(dir, "1", NULL, "2", err, sizeof(err));
	if (eng == NULL || daos_engine_start(eng, err, sizeof(err)) != 0)
		return 1;
	if (write(wfd, daos_engine_uri(eng), strlen(daos_engine_uri(eng)) + 1) < 0)
		return 2;
	n = read(rfd, peer, sizeof(peer) - 1);
	if (n <= 0)
		return 3;
	uris[0] = peer;
	uris[1] = daos_engine_uri(eng);
	sr.rank = 6;
	sr.map_version = 1;
	if (mgmt_status(daos_engine_socket_path(eng), 202, body,
			mgmt__set_rank_req__pack(&sr, body)) != 0 ||
	    group_update_uris(daos_engine_socket_path(eng), 2, ranks, uris, 3) != 0)
		return 4;
	while (read(rfd, &c, 1) > 0)
		;
	daos_engine_destroy(eng);
	return 0;
}

/*
 * SWIM wired end to end: with short tunables from the environment and a map naming this
 * engine (rank 5), a live engine in a child process (rank 6) and rank 9 at an address nobody
 * serves, this engine's SWIM suspects rank 9 (no direct ACK, no indirect one through rank 6),
 * declares it dead when the suspicion times out and raises RAS swim_rank_dead (id 17, a state
 * change, rank 9 at the map's incarnation, the SWIM reason) to daos_server.sock.
 */
static void test_engine_swim_rank_dead(void **state)
{
	struct eng_fx *f = *state;
	const char *sock = f->sock;
	char dir2[] = "/tmp/engine_swim2_XXXXXX", peer[160] = "";
	struct event_server es = {.fd = -1, .calls = 2};
	Mgmt__SetRankReq sr = MGMT__SET_RANK_REQ__INIT;
	const uint32_t ranks[] = {5, 6, 9};
	const char *uris[3] = {NULL, NULL, NULL};
	int to_child[2], from_child[2], wst = 0;
	uint8_t body[32];
	daos_engine_t *eng;
	pthread_t srv;
	pid_t child;

	assert_non_null(mkdtemp(dir2));
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(from_child), 0);
	/* fork before this process has threads of its own */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(to_child[1]);
		close(from_child[0]);
		_exit(swim_peer_main(to_child[0], from_child[1], dir2));
	}
	close(to_child[0]);
	close(from_child[1]);
	swim_env("100", "50", "500");
	es.fd = fx_listen(f);
	assert_int_equal(pthread_create(&srv, NULL, event_server_main, &es), 0);
	eng = fx_create(f, "1", NULL, "1");
	fx_start(f);
	assert_true(read(from_child[0], peer, sizeof(peer) - 1) > 0);
	assert_true(write(to_child[1], daos_engine_uri(eng), strlen(daos_engine_uri(eng)) + 1) >
		    0);
	uris[0] = daos_engine_uri(eng);
	uris[1] = peer;
	sr.rank = 5;
	sr.map_version = 1;
	assert_int_equal(mgmt_status(sock, 202, body, mgmt__set_rank_req__pack(&sr, body)), 0);
	assert_int_equal(group_update_uris(sock, 2, ranks, uris, 3), 0);
	/* NotifyReady, then the event: the server thread returns after both (bounded wait) */
	for (int i = 0; i < 150 && es.event == NULL; i++)
		usleep(100 * 1000);
	if (es.event == NULL)
		shutdown(es.fd, SHUT_RDWR); /* unblock accept: the assertion below reports it */
	pthread_join(srv, NULL);
	close(to_child[1]);
	assert_int_equal(waitpid(child, &wst, 0), child);
	assert_true(WIFEXITED(wst));
	assert_int_equal(WEXITSTATUS(wst), 0);
	assert_non_null(es.event);
	assert_non_null(es.event->event);
	assert_int_equal(es.event->event->id, 17);
	assert_int_equal(es.event->event->type, 1);
	assert_int_equal(es.event->event->rank, 9);
	assert_int_equal(es.event->event->incarnation, 1);
	assert_non_null(strstr(es.event->event->msg, "swim: "));
	assert_non_null(strstr(es.event->event->msg, "decided by rank 5"));
	shared__cluster_event_req__free_unpacked(es.event, NULL);
	assert_int_equal(daos_engine_stop(eng), 0);
	close(from_child[0]);
	rmdir(dir2);
}

/*
 * Child of test_engine_swim_out_of_group: engine `rank` whose map holds ranks 6 and 7 only.
 * Writes its URI (URI_LEN bytes) to wfd, reads the URIs of ranks 5, 6, 7 from rfd, installs
 * the map and runs until rfd closes.
 */
#define URI_LEN 160
static int swim_oog_peer_main(int rfd, int wfd, const char *dir, uint32_t rank)
{
	const uint32_t ranks[] = {6, 7};
	const char *uris[2];
	Mgmt__SetRankReq sr = MGMT__SET_RANK_REQ__INIT;
	char err[1024], all[3][URI_LEN], mine[URI_LEN] = "", c;
	uint8_t body[32];
	daos_engine_t *eng;

	swim_env("200", "100", "5000");
	eng = engine_new(dir, "1", NULL, "2", err, sizeof(err));
	if (eng == NULL || daos_engine_start(eng, err, sizeof(err)) != 0)
		return 1;
	snprintf(mine, sizeof(mine), "%s", daos_engine_uri(eng));
	if (write(wfd, mine, URI_LEN) != URI_LEN || read(rfd, all, sizeof(all)) != sizeof(all))
		return 2;
	uris[0] = all[1];
	uris[1] = all[2];
	sr.rank = rank;
	sr.map_version = 1;
	if (mgmt_status(daos_engine_socket_path(eng), 202, body,
			mgmt__set_rank_req__pack(&sr, body)) != 0 ||
	    group_update_uris(daos_engine_socket_path(eng), 2, ranks, uris, 2) != 0)
		return 3;
	while (read(rfd, &c, 1) > 0)
		;
	daos_engine_destroy(eng);
	return 0;
}

/*
 * An engine excluded without hearing it: this engine (rank 5) holds a map {5, 6, 7}, while
 * ranks 6 and 7 (child processes) hold one without it, so they answer its SWIM requests
 * out-of-group. After a suspicion timeout of that, the engine leaves as an engine excluded by
 * the map does: RAS engine_self_terminated to daos_server, then it stops itself. The deaths
 * its own SWIM decides meanwhile are isolated ones (it hears from nobody): none is reported.
 */
static void test_engine_swim_out_of_group(void **state)
{
	struct eng_fx *f = *state;
	const char *sock = f->sock;
	char d6[] = "/tmp/engine_oog6_XXXXXX", d7[] = "/tmp/engine_oog7_XXXXXX";
	struct event_server es = {.fd = -1, .calls = 2};
	Mgmt__SetRankReq sr = MGMT__SET_RANK_REQ__INIT;
	const uint32_t ranks[] = {5, 6, 7};
	char all[3][URI_LEN];
	const char *uris[3] = {all[0], all[1], all[2]};
	int to[2][2], from[2][2], wst;
	char *dirs[2] = {d6, d7};
	uint8_t body[32];
	daos_engine_t *eng;
	pid_t child[2];
	pthread_t srv;

	memset(all, 0, sizeof(all));
	for (int i = 0; i < 2; i++) {
		assert_non_null(mkdtemp(dirs[i]));
		assert_int_equal(pipe(to[i]), 0);
		assert_int_equal(pipe(from[i]), 0);
		child[i] = fork();
		assert_true(child[i] >= 0);
		if (child[i] == 0) {
			close(to[i][1]);
			close(from[i][0]);
			if (i == 1) {
				close(to[0][1]);
				close(from[0][0]);
			}
			_exit(swim_oog_peer_main(to[i][0], from[i][1], dirs[i], 6 + (uint32_t)i));
		}
		close(to[i][0]);
		close(from[i][1]);
	}
	swim_env("100", "50", "500");
	es.fd = fx_listen(f);
	assert_int_equal(pthread_create(&srv, NULL, event_server_main, &es), 0);
	eng = fx_create(f, "1", NULL, "1");
	fx_start(f);
	snprintf(all[0], URI_LEN, "%s", daos_engine_uri(eng));
	for (int i = 0; i < 2; i++)
		assert_int_equal(read(from[i][0], all[1 + i], URI_LEN), URI_LEN);
	for (int i = 0; i < 2; i++)
		assert_int_equal(write(to[i][1], all, sizeof(all)), (ssize_t)sizeof(all));
	sr.rank = 5;
	sr.map_version = 1;
	assert_int_equal(mgmt_status(sock, 202, body, mgmt__set_rank_req__pack(&sr, body)), 0);
	assert_int_equal(group_update_uris(sock, 2, ranks, uris, 3), 0);
	assert_int_equal(daos_engine_wait(eng, 15000), 1);
	assert_non_null(strstr(daos_engine_last_error(eng), "rank 5 out of the group"));
	for (int i = 0; i < 50 && es.event == NULL; i++)
		usleep(100 * 1000);
	if (es.event == NULL)
		shutdown(es.fd, SHUT_RDWR);
	pthread_join(srv, NULL);
	for (int i = 0; i < 2; i++) {
		close(to[i][1]);
		close(from[i][0]);
		assert_int_equal(waitpid(child[i], &wst, 0), child[i]);
		assert_true(WIFEXITED(wst));
		assert_int_equal(WEXITSTATUS(wst), 0);
		rmdir(dirs[i]);
	}
	assert_non_null(es.event);
	assert_non_null(es.event->event);
	assert_int_equal(es.event->event->id, 5); /* engine_self_terminated, not a death */
	assert_int_equal(es.event->event->rank, 5);
	shared__cluster_event_req__free_unpacked(es.event, NULL);
	assert_int_equal(daos_engine_stop(eng), 0);
}

/* A bad tunable in the environment is a start error naming the variable; create still works. */
static void test_engine_bad_tunable(void **state)
{
	struct eng_fx *f = *state;
	daos_engine_t *eng;

	setenv("SWIM_SUSPECT_TIMEOUT", "10s", 1);
	eng = fx_create(f, "1", NULL, "1");
	assert_int_equal(daos_engine_start(eng, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "SWIM_SUSPECT_TIMEOUT"));
	assert_non_null(strstr(f->err, "10s"));
	assert_int_equal(daos_engine_state(eng), DAOS_ENGINE_CREATED);
	assert_int_equal(daos_engine_thread_count(eng), 0);
	fx_destroy(f);
	unsetenv("SWIM_SUSPECT_TIMEOUT");
	/* daos_server exports CRT_TIMEOUT=0 for "not configured": the default, as in CaRT */
	setenv("CRT_TIMEOUT", "0", 1);
	eng = fx_create(f, "1", NULL, "1");
	fx_start(f);
	fx_destroy(f);
	setenv("CRT_TIMEOUT", "0x10", 1);
	eng = fx_create(f, "1", NULL, "1");
	assert_int_equal(daos_engine_start(eng, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "CRT_TIMEOUT='0x10'"));
	unsetenv("CRT_TIMEOUT");
}

/*
 * Property: over random sequences of group maps (versions around the join's, with or without
 * the engine's own rank), the engine stops exactly when it installs a map not older than its
 * join that leaves it out; every other map leaves it running. Seeded, so failures reproduce.
 */
static void test_engine_group_update_property(void **state)
{
	struct eng_fx *f = *state;
	const char *sock = f->sock;
	unsigned int seed = 15;

	for (int iter = 0; iter < 16; iter++) {
		Mgmt__SetRankReq sr = MGMT__SET_RANK_REQ__INIT;
		uint32_t join_version = 1 + (uint32_t)(rand_r(&seed) % 8), group_version = 0;
		int has_group = 0, stopped = 0;
		uint8_t body[32];
		daos_engine_t *eng;

		if (iter > 0) {
			/* a fresh engine on a fresh dir each round */
			fx_fini(f);
			assert_int_equal(fx_init(f), 0);
		}
		eng = fx_create(f, "1", NULL, NULL);
		fx_start(f);
		sr.rank = 5;
		sr.map_version = join_version;
		assert_int_equal(mgmt_status(sock, 202, body, mgmt__set_rank_req__pack(&sr, body)),
				 0);
		assert_int_equal(mgmt_status(sock, 209, NULL, 0), 0);
		for (int step = 0; step < 12 && !stopped; step++) {
			uint32_t version = (uint32_t)(rand_r(&seed) % 16);
			int with_self = rand_r(&seed) % 3 != 0;
			const uint32_t in[] = {0, 5}, out[] = {0, 7};
			int installed = !(has_group && version <= group_version);
			int expect_stop = installed && version >= join_version && !with_self;

			assert_int_equal(group_update(sock, version, with_self ? in : out, 2), 0);
			if (installed) {
				has_group = 1;
				group_version = version;
			}
			stopped = daos_engine_wait(eng, expect_stop ? 2000 : 0);
			if (stopped != expect_stop)
				fail_msg("iter %d step %d: map v%u (self %d), join v%u, group v%u: "
					 "stopped %d, expected %d",
					 iter, step, version, with_self, join_version, group_version,
					 stopped, expect_stop);
		}
		assert_int_equal(daos_engine_stop(eng), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_engine_lifecycle, fx_setup, fx_teardown),
		cmocka_unit_test(test_engine_create_errors),
		cmocka_unit_test_setup_teardown(test_engine_orphan_stop, fx_setup, fx_teardown),
		cmocka_unit_test(test_engine_server_pid_errors),
		cmocka_unit_test_setup_teardown(test_engine_excluded_self_terminates, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_group_update_property, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_swim_rank_dead, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_swim_out_of_group, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_bad_tunable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_drpc_flood, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_drpc_unread_replies, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_fabric_flood, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
