/* Progress loop: dRPC over the engine's Unix stream socket (the fabric has its own, crt.h). */
#include "drpc_server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "drpc_frame.h"
#include "engine_internal.h"
#include "log.h"
#include "telemetry.h"

/*
 * Connections from anyone but daos_server share MAX_DRPC_CLIENTS slots; daos_server's own
 * calls (peer pid = DAOS_SERVER_PID, from SO_PEERCRED) also get DRPC_SERVER_SLOTS more, so
 * peers holding every shared slot cannot cut daos_server off (GroupUpdate, PingRank, ...).
 */
#define MAX_DRPC_CLIENTS   64
#define DRPC_SERVER_SLOTS  8
#define DRPC_SLOTS         (MAX_DRPC_CLIENTS + DRPC_SERVER_SLOTS)
/* A message must arrive whole this long after its first byte (a local socket takes ms). */
#define DRPC_PARTIAL_MS    2000
/* A connection with nothing in flight is closed after this long (callers connect per call). */
#define DRPC_IDLE_MS       10000
#define POLL_IDLE_MS       1000
/* Replies queued for a dRPC peer that does not read them: past this it is dropped. */
#define DRPC_MAX_PENDING   (16 << 20)
/* poll slots before the clients: stop event, dRPC listener, daos_server */
#define NFIXED             3

struct drpc_client {
	int fd;
	struct drpc_rx rx;
	pid_t pid;        /* peer (SO_PEERCRED), for the log */
	uid_t uid;
	int server;       /* the peer is daos_server: a reserved slot */
	int64_t msg_since; /* monotonic ms of the current partial message's first byte, or 0 */
	int64_t last;      /* monotonic ms of accept or the last whole message */
	/*
	 * Framed replies not yet taken by the socket: the loop never blocks on one peer. While
	 * some wait, no more calls are read from that peer (back-pressure).
	 */
	uint8_t *out;
	size_t out_len, out_off;
	int64_t out_since; /* monotonic ms of the last send progress */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int drpc_rx_partial(const struct drpc_rx *rx)
{
	return rx->hdr_have > 0 || rx->in_chunk || rx->have > 0;
}

int dss_drpc_listen(struct dss_engine *eng, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if ((size_t)snprintf(eng->sock_path, sizeof(eng->sock_path), "%s/daos_engine_%d.sock",
			     eng->args.socket_dir, (int)getpid()) >= sizeof(eng->sock_path)) {
		snprintf(err, errlen, "socket_dir %s (-d) is too long for a Unix socket path",
			 eng->args.socket_dir);
		return -ENAMETOOLONG;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", eng->sock_path);
	unlink(eng->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create dRPC socket %s: %s (does socket_dir exist and "
			 "is it writable?)", eng->sock_path, strerror(errno));
		close(fd);
		eng->sock_path[0] = '\0';
		return rc;
	}
	if (chmod(eng->sock_path, 0600) != 0 || listen(fd, 64) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on dRPC socket %s: %s", eng->sock_path,
			 strerror(errno));
		close(fd);
		unlink(eng->sock_path);
		eng->sock_path[0] = '\0';
		return rc;
	}
	eng->drpc_fd = fd;
	return 0;
}

static void drpc_client_close(struct drpc_client *c)
{
	close(c->fd);
	drpc_rx_reset(&c->rx);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->fd = -1;
}

/* Sends what the socket takes now. 0 (the rest waits for POLLOUT) or -errno. */
static int drpc_client_flush(struct drpc_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += (size_t)n;
			c->out_since = mono_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return n < 0 ? -errno : -EPIPE;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

/* Frames a reply behind any still queued, then sends what the socket takes. 0 or -errno. */
static int drpc_client_queue(struct drpc_client *c, const uint8_t *msg, size_t len)
{
	uint8_t *framed, *buf;
	size_t flen, left = c->out_len - c->out_off;
	int rc = drpc_frame_encode(msg, len, &framed, &flen);

	if (rc != 0)
		return rc;
	if (c->out == NULL) {
		c->out = framed;
		c->out_len = flen;
		c->out_off = 0;
		c->out_since = mono_ms();
		return drpc_client_flush(c);
	}
	if (left + flen > DRPC_MAX_PENDING) {
		free(framed);
		return -ENOBUFS;
	}
	buf = malloc(left + flen);
	if (buf == NULL) {
		free(framed);
		return -ENOMEM;
	}
	memcpy(buf, c->out + c->out_off, left);
	memcpy(buf + left, framed, flen);
	free(framed);
	free(c->out);
	c->out = buf;
	c->out_len = left + flen;
	c->out_off = 0;
	return drpc_client_flush(c);
}

/* Read what is available, answer every complete Call. Returns -1 when the client must go. */
static int drpc_client_service(struct dss_engine *eng, struct drpc_client *c)
{
	uint8_t buf[16384];

	/* replies still queued: read no more calls until the peer took them */
	while (c->out == NULL) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t off = 0;

		if (n == 0)
			return -1;
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
		if (c->msg_since == 0)
			c->msg_since = mono_ms();
		while (off < (size_t)n) {
			uint8_t *msg = NULL, *out = NULL;
			size_t msg_len = 0, out_len = 0, used = 0;
			int rc = drpc_rx_feed(&c->rx, buf + off, (size_t)n - off, &used, &msg,
					      &msg_len);

			off += used;
			if (rc < 0) {
				/* message boundaries are lost: nothing sensible to answer */
				D_ERROR("dRPC framing error, closing the connection: %s",
					drpc_rx_strerror(rc));
				return -1;
			}
			if (rc == 0)
				continue;
			c->last = mono_ms();
			/* bytes after this message start the next one now */
			c->msg_since = drpc_rx_partial(&c->rx) || off < (size_t)n ? c->last : 0;
			rc = dss_drpc_handle_bytes(&eng->reg, eng, msg, msg_len, &out, &out_len);
			free(msg);
			if (rc != 0)
				return -1;
			rc = drpc_client_queue(c, out, out_len);
			free(out);
			if (rc != 0) {
				D_WARN("dRPC: dropping connection from pid %d uid %u: reply not sent: %s",
				       (int)c->pid, (unsigned)c->uid, strerror(-rc));
				return -1;
			}
		}
	}
	return 0;
}

/* Closes connections whose message stalled or that sat idle; says who was dropped. */
static void drpc_clients_sweep(struct drpc_client *dc, int64_t now)
{
	for (int i = 0; i < DRPC_SLOTS; i++) {
		struct drpc_client *c = &dc[i];
		int partial;

		if (c->fd < 0)
			continue;
		partial = c->msg_since != 0 && drpc_rx_partial(&c->rx);
		if (!partial)
			c->msg_since = 0;
		if (c->out != NULL && now - c->out_since > DRPC_PARTIAL_MS)
			D_WARN("dRPC: dropping connection from pid %d uid %u: its replies (%zu bytes) "
			       "not read for %d ms", (int)c->pid, (unsigned)c->uid,
			       c->out_len - c->out_off, DRPC_PARTIAL_MS);
		else if (c->out != NULL)
			continue; /* waiting on the peer to read is not idling */
		else if (partial && now - c->msg_since > DRPC_PARTIAL_MS)
			D_WARN("dRPC: dropping connection from pid %d uid %u: message incomplete "
			       "%d ms after its first byte", (int)c->pid, (unsigned)c->uid,
			       DRPC_PARTIAL_MS);
		else if (!partial && now - c->last > DRPC_IDLE_MS)
			D_WARN("dRPC: dropping connection from pid %d uid %u: idle for %d ms",
			       (int)c->pid, (unsigned)c->uid, DRPC_IDLE_MS);
		else
			continue;
		drpc_client_close(c);
	}
}

/* Takes a new dRPC connection into a free slot (shared, or reserved for daos_server). */
static void drpc_client_accept(struct dss_engine *eng, struct drpc_client *dc, int fd)
{
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1};
	socklen_t clen = sizeof(cred);
	int server, shared = 0, slot = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0)
		cred.pid = 0;
	server = eng->server.pid != 0 && cred.pid == eng->server.pid;
	for (int i = 0; i < DRPC_SLOTS; i++) {
		if (dc[i].fd >= 0 && !dc[i].server)
			shared++;
		else if (dc[i].fd < 0 && slot < 0)
			slot = i;
	}
	if (slot < 0 || (!server && shared >= MAX_DRPC_CLIENTS)) {
		D_WARN("dRPC: %d connections open, refusing one from pid %d uid %u",
		       MAX_DRPC_CLIENTS, (int)cred.pid, (unsigned)cred.uid);
		close(fd);
		return;
	}
	dc[slot] = (struct drpc_client){.fd = fd, .pid = cred.pid, .uid = cred.uid,
					 .server = server, .last = mono_ms()};
	drpc_rx_init(&dc[slot].rx);
}

static int accept_fd(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0 && errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		D_WARN("accept failed: %s", strerror(errno));
	return fd;
}

void *dss_progress_main(void *arg)
{
	struct dss_engine *eng = arg;
	struct drpc_client dc[DRPC_SLOTS];
	struct pollfd pfds[NFIXED + DRPC_SLOTS];
	int map[NFIXED + DRPC_SLOTS];
	struct dss_tm_node *cycles = dss_xs_cycles_node(eng->nxs - 1); /* the system xstream */

	for (int i = 0; i < DRPC_SLOTS; i++)
		dc[i].fd = -1;
	D_INFO("dRPC listening on %s, fabric on %s", eng->sock_path, eng->uri);
	while (!dss_engine_stopping(eng)) {
		int n = 0, rc;

		/* checked on every wake-up (at most POLL_IDLE_MS apart), see server_watch.h */
		if (dss_server_watch_gone(&eng->server)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "daos_server (pid %d) exited: stopping the "
				 "orphaned engine", (int)eng->server.pid);
			dss_engine_fail(eng, msg);
			break;
		}

		pfds[n++] = (struct pollfd){.fd = eng->stop_pipe[0], .events = POLLIN};
		pfds[n++] = (struct pollfd){.fd = eng->drpc_fd, .events = POLLIN};
		pfds[n++] = (struct pollfd){.fd = dss_server_watch_fd(&eng->server),
					    .events = POLLIN};
		/* at most POLL_IDLE_MS late: bounds are seconds, the loop wakes every second */
		drpc_clients_sweep(dc, mono_ms());
		for (int i = 0; i < DRPC_SLOTS; i++)
			if (dc[i].fd >= 0) {
				map[n] = i;
				pfds[n++] = (struct pollfd){.fd = dc[i].fd,
							    .events = dc[i].out ? POLLOUT : POLLIN};
			}
		rc = poll(pfds, (nfds_t)n, POLL_IDLE_MS);
		dss_tm_node_add(cycles, 1); /* one progress-loop cycle per wake-up */
		if (rc == 0 || (rc < 0 && errno == EINTR))
			continue; /* idle: not an error */
		if (rc < 0) {
			D_ERROR("progress poll failed: %s", strerror(errno));
			break;
		}
		if (pfds[0].revents)
			break;
		if (pfds[2].revents)
			continue; /* daos_server exited: handled at the top of the loop */
		for (int i = NFIXED; i < n; i++) {
			if (!pfds[i].revents)
				continue;
			struct drpc_client *c = &dc[map[i]];
			int rc = c->out ? drpc_client_flush(c) : drpc_client_service(eng, c);

			if (rc != 0)
				drpc_client_close(c);
		}
		if (pfds[1].revents & POLLIN) {
			/* drain the backlog: daos_server's call may wait behind a flood */
			for (int k = 0; k < DRPC_SLOTS; k++) {
				int fd = accept_fd(eng->drpc_fd);

				if (fd < 0)
					break;
				drpc_client_accept(eng, dc, fd);
			}
		}
	}
	for (int i = 0; i < DRPC_SLOTS; i++)
		if (dc[i].fd >= 0)
			drpc_client_close(&dc[i]);
	D_INFO("progress loop stopped");
	return NULL;
}
