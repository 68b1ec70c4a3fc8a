/* Fabric endpoint: address resolution, TCP listener, ping protocol (server and client). */
#include "fabric.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "byteorder.h"
#include "drpc_frame.h"
#include "engine_internal.h"
#include "log.h"

static const char ping_magic[8] = {'D', 'A', 'O', 'S', 'P', 'I', 'N', 'G'};
static const char pong_magic[8] = {'D', 'A', 'O', 'S', 'P', 'O', 'N', 'G'};

static int iface_ipv4(const char *iface, char *ip, size_t iplen)
{
	struct ifaddrs *ifs, *i;
	int rc = -ENODEV;

	if (getifaddrs(&ifs) != 0)
		return -errno;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, iface) != 0)
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip,
			  (socklen_t)iplen);
		rc = 0;
		break;
	}
	freeifaddrs(ifs);
	return rc;
}

int dss_fabric_listen(struct dss_engine *eng, char *err, size_t errlen)
{
	const char *override = getenv("DAOS_FABRIC_ADDR");
	const char *iface = getenv("D_INTERFACE");
	const char *provider = getenv("D_PROVIDER");
	const char *port_s = getenv("D_PORT");
	char scheme[64];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	long port = 0;
	int fd, one = 1;

	if (provider == NULL || provider[0] == '\0')
		provider = "ofi+tcp";
	/* "ofi+tcp;ofi_rxm" → "ofi+tcp": the URI carries the primary provider only */
	snprintf(scheme, sizeof(scheme), "%.*s", (int)strcspn(provider, ";"), provider);
	if (strstr(scheme, "tcp") == NULL) {
		snprintf(err, errlen, "fabric provider '%s' (D_PROVIDER) is not available here: "
			 "only TCP providers (e.g. ofi+tcp) are supported", provider);
		return -EPROTONOSUPPORT;
	}
	if (port_s != NULL && port_s[0] != '\0') {
		char *end;

		port = strtol(port_s, &end, 10);
		if (*end != '\0' || port < 0 || port > 65535) {
			snprintf(err, errlen, "invalid fabric port '%s' (D_PORT): expected 0..65535",
				 port_s);
			return -EINVAL;
		}
	}
	if (override != NULL && override[0] != '\0') {
		if (inet_pton(AF_INET, override, &sa.sin_addr) != 1) {
			snprintf(err, errlen, "invalid DAOS_FABRIC_ADDR '%s': expected an IPv4 "
				 "address", override);
			return -EINVAL;
		}
		snprintf(eng->fabric_ip, sizeof(eng->fabric_ip), "%s", override);
	} else if (iface != NULL && iface[0] != '\0') {
		if (iface_ipv4(iface, eng->fabric_ip, sizeof(eng->fabric_ip)) != 0) {
			snprintf(err, errlen, "fabric interface '%s' (D_INTERFACE) has no IPv4 "
				 "address: check fabric_iface, or set DAOS_FABRIC_ADDR", iface);
			return -ENODEV;
		}
		inet_pton(AF_INET, eng->fabric_ip, &sa.sin_addr);
	} else {
		snprintf(err, errlen, "no fabric interface: set D_INTERFACE (fabric_iface) or "
			 "DAOS_FABRIC_ADDR");
		return -EINVAL;
	}
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot listen on fabric address %s:%ld: %s (is the port "
			 "in use? check fabric_iface_port)", eng->fabric_ip, port, strerror(errno));
		close(fd);
		return rc;
	}
	eng->fabric_fd = fd;
	eng->fabric_port = ntohs(sa.sin_port);
	snprintf(eng->uri, sizeof(eng->uri), "%s://%s:%d", scheme, eng->fabric_ip,
		 eng->fabric_port);
	return 0;
}

int dss_fabric_ping_reply(struct dss_engine *eng, const uint8_t req[DSS_PING_REQ_LEN],
			  uint8_t resp[DSS_PING_RESP_LEN])
{
	uint32_t rank;

	if (memcmp(req, ping_magic, 8) != 0)
		return -EPROTO;
	pthread_mutex_lock(&eng->lock);
	rank = eng->rank;
	pthread_mutex_unlock(&eng->lock);
	memcpy(resp, pong_magic, 8);
	memcpy(resp + 8, req + 8, 8);
	put_le(resp + 16, rank, 4);
	put_le(resp + 20, (uint32_t)eng->args.instance_idx, 4);
	put_le(resp + 24, eng->incarnation, 8);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dss_fabric_ping(const char *uri, int timeout_ms, uint32_t *rank, uint64_t *incarnation)
{
	const char *hp = strstr(uri, "://");
	char host[64];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	uint8_t req[DSS_PING_REQ_LEN], resp[DSS_PING_RESP_LEN];
	int64_t deadline = now_ms() + timeout_ms;
	uint64_t nonce = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32);
	const char *colon;
	size_t got = 0;
	int fd, rc;

	if (hp == NULL)
		return -EINVAL;
#ifdef DSS_FUZZ_NO_NET
	/* the fuzzer invents peer URIs: it must never connect anywhere */
	return -EHOSTUNREACH;
#endif
	hp += 3;
	colon = strrchr(hp, ':');
	if (colon == NULL || (size_t)(colon - hp) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		rc = -errno;
		goto out;
	}
	memcpy(req, ping_magic, 8);
	put_le(req + 8, nonce, 8);
	/* drpc_write_all waits for the connect to finish through POLLOUT */
	rc = drpc_write_all(fd, req, sizeof(req), timeout_ms);
	if (rc != 0)
		goto out;
	while (got < sizeof(resp)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, resp + got, sizeof(resp) - got, 0);
		if (n == 0) {
			rc = -ECONNRESET;
			goto out;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		got += (size_t)n;
	}
	if (memcmp(resp, pong_magic, 8) != 0 || get_le(resp + 8, 8) != nonce) {
		rc = -EPROTO;
		goto out;
	}
	if (rank)
		*rank = (uint32_t)get_le(resp + 16, 4);
	if (incarnation)
		*incarnation = get_le(resp + 24, 8);
	rc = 0;
out:
	close(fd);
	return rc;
}
