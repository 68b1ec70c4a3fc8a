/* Progress loop: dRPC over the engine's Unix stream socket and the fabric ping endpoint. */
#include "drpc_server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "drpc_frame.h"
#include "engine_internal.h"
#include "fabric.h"
#include "log.h"

#define MAX_DRPC_CLIENTS   64
#define MAX_FABRIC_CLIENTS 64
#define POLL_IDLE_MS       1000
#define SEND_TIMEOUT_MS    5000
/* poll slots before the clients: stop event, dRPC listener, fabric listener, daos_server */
#define NFIXED             4

struct drpc_client {
	int fd;
	struct drpc_rx rx;
};

struct fabric_client {
	int fd;
	uint8_t buf[DSS_PING_REQ_LEN];
	size_t have;
};

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
	c->fd = -1;
}

/* Read what is available, answer every complete Call. Returns -1 when the client must go. */
static int drpc_client_service(struct dss_engine *eng, struct drpc_client *c)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t off = 0;

		if (n == 0)
			return -1;
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
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
			rc = dss_drpc_handle_bytes(&eng->reg, eng, msg, msg_len, &out, &out_len);
			free(msg);
			if (rc != 0)
				return -1;
			rc = drpc_send_msg(c->fd, out, out_len, SEND_TIMEOUT_MS);
			free(out);
			if (rc != 0) {
				D_WARN("dRPC reply not sent: %s", strerror(-rc));
				return -1;
			}
		}
	}
}

static int fabric_client_service(struct dss_engine *eng, struct fabric_client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, MSG_DONTWAIT);
		uint8_t resp[DSS_PING_RESP_LEN];

		if (n == 0)
			return -1;
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
		c->have += (size_t)n;
		if (c->have < sizeof(c->buf))
			continue;
		c->have = 0;
		if (dss_fabric_ping_reply(eng, c->buf, resp) != 0)
			return -1;
		if (drpc_write_all(c->fd, resp, sizeof(resp), SEND_TIMEOUT_MS) != 0)
			return -1;
	}
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
	struct drpc_client dc[MAX_DRPC_CLIENTS];
	struct fabric_client fc[MAX_FABRIC_CLIENTS];
	struct pollfd pfds[NFIXED + MAX_DRPC_CLIENTS + MAX_FABRIC_CLIENTS];
	int map[NFIXED + MAX_DRPC_CLIENTS + MAX_FABRIC_CLIENTS];

	for (int i = 0; i < MAX_DRPC_CLIENTS; i++)
		dc[i].fd = -1;
	for (int i = 0; i < MAX_FABRIC_CLIENTS; i++)
		fc[i].fd = -1;
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
		pfds[n++] = (struct pollfd){.fd = eng->fabric_fd, .events = POLLIN};
		pfds[n++] = (struct pollfd){.fd = dss_server_watch_fd(&eng->server),
					    .events = POLLIN};
		for (int i = 0; i < MAX_DRPC_CLIENTS; i++)
			if (dc[i].fd >= 0) {
				map[n] = i;
				pfds[n++] = (struct pollfd){.fd = dc[i].fd, .events = POLLIN};
			}
		for (int i = 0; i < MAX_FABRIC_CLIENTS; i++)
			if (fc[i].fd >= 0) {
				map[n] = MAX_DRPC_CLIENTS + i;
				pfds[n++] = (struct pollfd){.fd = fc[i].fd, .events = POLLIN};
			}
		rc = poll(pfds, (nfds_t)n, POLL_IDLE_MS);
		if (rc == 0 || (rc < 0 && errno == EINTR))
			continue; /* idle: not an error */
		if (rc < 0) {
			D_ERROR("progress poll failed: %s", strerror(errno));
			break;
		}
		if (pfds[0].revents)
			break;
		if (pfds[3].revents)
			continue; /* daos_server exited: handled at the top of the loop */
		for (int i = NFIXED; i < n; i++) {
			if (!pfds[i].revents)
				continue;
			if (map[i] < MAX_DRPC_CLIENTS) {
				struct drpc_client *c = &dc[map[i]];

				if (drpc_client_service(eng, c) != 0)
					drpc_client_close(c);
			} else {
				struct fabric_client *c = &fc[map[i] - MAX_DRPC_CLIENTS];

				if (fabric_client_service(eng, c) != 0) {
					close(c->fd);
					c->fd = -1;
				}
			}
		}
		if (pfds[1].revents & POLLIN) {
			int fd = accept_fd(eng->drpc_fd), slot = -1;

			for (int i = 0; fd >= 0 && i < MAX_DRPC_CLIENTS && slot < 0; i++)
				if (dc[i].fd < 0)
					slot = i;
			if (fd >= 0 && slot < 0) {
				D_WARN("dRPC: %d connections open, refusing one", MAX_DRPC_CLIENTS);
				close(fd);
			} else if (fd >= 0) {
				dc[slot].fd = fd;
				drpc_rx_init(&dc[slot].rx);
			}
		}
		if (pfds[2].revents & POLLIN) {
			int fd = accept_fd(eng->fabric_fd), slot = -1;

			for (int i = 0; fd >= 0 && i < MAX_FABRIC_CLIENTS && slot < 0; i++)
				if (fc[i].fd < 0)
					slot = i;
			if (fd >= 0 && slot < 0) {
				close(fd);
			} else if (fd >= 0) {
				fc[slot].fd = fd;
				fc[slot].have = 0;
			}
		}
	}
	for (int i = 0; i < MAX_DRPC_CLIENTS; i++)
		if (dc[i].fd >= 0)
			drpc_client_close(&dc[i]);
	for (int i = 0; i < MAX_FABRIC_CLIENTS; i++)
		if (fc[i].fd >= 0)
			close(fc[i].fd);
	D_INFO("progress loop stopped");
	return NULL;
}
