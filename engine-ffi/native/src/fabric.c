/* libfabric endpoint: provider mapping, address resolution, send/recv and CQ progress. */
#include "fabric.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_eq.h>

#include "crt_wire.h"
#include "log.h"

#define FAB_NRECV    16
#define FAB_MAX_PEER 4096
#define FAB_CQ_BATCH 32
#define FAB_SPIN_US  30
#define FAB_CM_POLL_MS 10
/* After this long without traffic the endpoint polls its connection manager less often. */
#define FAB_IDLE_AFTER_US 2000000
#define FAB_IDLE_CM_POLL_MS 100

enum { OP_RECV = 1, OP_SEND = 2 };

/* The CQ hands back the op's context pointer: fi_context2 comes first. */
struct fab_op {
	struct fi_context2 fctx;
	int kind;
	uint64_t cookie;
	fi_addr_t addr;          /* sends: destination */
	int64_t give_up_us;      /* sends waiting for the provider: dropped after this */
	struct fab_op *next;     /* pending list */
	struct fab_op *pnext, *pprev; /* posted sends, freed at close if never completed */
	size_t len;
	uint8_t buf[];
};

/* A send the provider cannot take yet (connection being set up) waits this long at most. */
#define FAB_PENDING_US 10000000

struct fab_peer {
	uint32_t ip;
	uint16_t port;
	fi_addr_t addr;
};

struct fab_ep {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_ep *ep;
	int cq_fd;             /* wait fd of the CQ, -1 if the provider has none */
	pthread_mutex_t lock;  /* endpoint, AV and peer table */
	struct fab_op *recvs[FAB_NRECV];
	struct fab_peer *peers;
	size_t npeers, cap;
	int sends_out;         /* sends posted, not yet completed (under lock) */
	struct fab_op *pending; /* sends refused with FI_EAGAIN, retried by progress */
	struct fab_op *posted;  /* sends the provider holds */
	int64_t last_busy_us;   /* last send or completion (monotonic) */
	uint32_t ip;
	uint16_t port;
	fab_recv_fn recv;
	fab_send_err_fn send_err;
	void *arg;
};

static void posted_add(struct fab_ep *ep, struct fab_op *op)
{
	op->pprev = NULL;
	op->pnext = ep->posted;
	if (ep->posted)
		ep->posted->pprev = op;
	ep->posted = op;
	ep->sends_out++;
}

static void posted_del(struct fab_ep *ep, struct fab_op *op)
{
	if (op->pprev)
		op->pprev->pnext = op->pnext;
	else
		ep->posted = op->pnext;
	if (op->pnext)
		op->pnext->pprev = op->pprev;
	ep->sends_out--;
}

static int drain_cq(struct fab_ep *ep);
static int64_t mono_us(void);

int fab_provider_map(const char *d_provider, struct fab_config *cfg, char *err, size_t errlen)
{
	if (d_provider == NULL || d_provider[0] == '\0')
		d_provider = "ofi+tcp";
	if (strcmp(d_provider, "ofi+tcp") == 0 || strcmp(d_provider, "ofi+tcp;ofi_rxm") == 0) {
		snprintf(cfg->provider, sizeof(cfg->provider), "tcp;ofi_rxm");
		snprintf(cfg->scheme, sizeof(cfg->scheme), "ofi+tcp");
		return 0;
	}
	if (strcmp(d_provider, "ofi+sockets") == 0) {
		snprintf(cfg->provider, sizeof(cfg->provider), "sockets");
		snprintf(cfg->scheme, sizeof(cfg->scheme), "ofi+sockets");
		return 0;
	}
	snprintf(err, errlen, "fabric provider '%s' (D_PROVIDER) is not available here: use "
		 "ofi+tcp (libfabric tcp;ofi_rxm) or ofi+sockets", d_provider);
	return -EPROTONOSUPPORT;
}

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

int fab_config_from_env(struct fab_config *cfg, char *err, size_t errlen)
{
	const char *override = getenv("DAOS_FABRIC_ADDR");
	const char *iface = getenv("D_INTERFACE");
	const char *port_s = getenv("D_PORT");
	struct in_addr a;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = fab_provider_map(getenv("D_PROVIDER"), cfg, err, errlen);
	if (rc != 0)
		return rc;
	if (port_s != NULL && port_s[0] != '\0') {
		char *end;
		long port = strtol(port_s, &end, 10);

		if (*end != '\0' || port < 0 || port > 65535) {
			snprintf(err, errlen, "invalid fabric port '%s' (D_PORT): expected 0..65535",
				 port_s);
			return -EINVAL;
		}
		cfg->port = (int)port;
	}
	if (override != NULL && override[0] != '\0') {
		if (inet_pton(AF_INET, override, &a) != 1) {
			snprintf(err, errlen, "invalid DAOS_FABRIC_ADDR '%s': expected an IPv4 "
				 "address", override);
			return -EINVAL;
		}
		snprintf(cfg->ip, sizeof(cfg->ip), "%s", override);
	} else if (iface != NULL && iface[0] != '\0') {
		if (iface_ipv4(iface, cfg->ip, sizeof(cfg->ip)) != 0) {
			snprintf(err, errlen, "fabric interface '%s' (D_INTERFACE) has no IPv4 "
				 "address: check fabric_iface, or set DAOS_FABRIC_ADDR", iface);
			return -ENODEV;
		}
	} else {
		snprintf(err, errlen, "no fabric interface: set D_INTERFACE (fabric_iface) or "
			 "DAOS_FABRIC_ADDR");
		return -EINVAL;
	}
	return 0;
}

static int post_recv(struct fab_ep *ep, struct fab_op *op)
{
	ssize_t rc;

	do
		rc = fi_recv(ep->ep, op->buf, CRT_MAX_MSG, NULL, FI_ADDR_UNSPEC, op);
	while (rc == -FI_EAGAIN && fi_cq_read(ep->cq, NULL, 0) >= -FI_EAGAIN);
	return (int)rc;
}

void fab_close(struct fab_ep *ep)
{
	if (ep == NULL)
		return;
	/* let the last sends (replies) go out: bounded, the peer may be gone */
	for (int i = 0; i < 200 && ep->ep && ep->cq && ep->posted != NULL; i++) {
		drain_cq(ep);
		if (ep->posted != NULL)
			usleep(500);
	}
	if (ep->ep)
		fi_close(&ep->ep->fid);
	while (ep->posted != NULL) {
		struct fab_op *op = ep->posted;

		posted_del(ep, op);
		free(op);
	}
	if (ep->av)
		fi_close(&ep->av->fid);
	if (ep->cq)
		fi_close(&ep->cq->fid);
	if (ep->domain)
		fi_close(&ep->domain->fid);
	if (ep->fabric)
		fi_close(&ep->fabric->fid);
	if (ep->info)
		fi_freeinfo(ep->info);
	for (int i = 0; i < FAB_NRECV; i++)
		free(ep->recvs[i]);
	while (ep->pending != NULL) {
		struct fab_op *op = ep->pending;

		ep->pending = op->next;
		free(op);
	}
	free(ep->peers);
	pthread_mutex_destroy(&ep->lock);
	free(ep);
}

#define FAB_TRY(call, what)                                                                  \
	do {                                                                                 \
		int _rc = (int)(call);                                                       \
		if (_rc != 0) {                                                              \
			snprintf(err, errlen, "fabric %s (%s at %s:%d): %s", what,           \
				 cfg->provider, cfg->ip, cfg->port, fi_strerror(-_rc));      \
			rc = _rc > 0 ? -_rc : _rc;                                           \
			goto fail;                                                           \
		}                                                                            \
	} while (0)

/*
 * ofi_rxm sizes its pools for thousands of connections: with FI_OFI_RXM_USE_SRX=1 (which
 * daos_server passes by default) 4096 bounce buffers of 16 KiB per endpoint, ~70 MB. Our
 * messages are at most CRT_MAX_MSG bytes and few in flight, so unless the environment says
 * otherwise the pools are sized for that (~12 MB with SRX, ~2 MB without). libfabric reads
 * these once, at its first fi_getinfo in the process.
 */
static void rxm_env_defaults(void)
{
	setenv("FI_OFI_RXM_MSG_RX_SIZE", "128", 0);
	setenv("FI_OFI_RXM_BUFFER_SIZE", "8448", 0); /* CRT_MAX_MSG + rxm's header: eager */
}

int fab_open(const struct fab_config *cfg, fab_recv_fn recv, fab_send_err_fn send_err,
	     void *arg, struct fab_ep **out, char *err, size_t errlen)
{
	static pthread_once_t env_once = PTHREAD_ONCE_INIT;
	struct fi_info *hints = fi_allocinfo();
	struct fi_cq_attr cq_attr = {.format = FI_CQ_FORMAT_MSG, .size = 1024,
				     .wait_obj = FI_WAIT_FD};
	struct fi_av_attr av_attr = {.type = FI_AV_TABLE};
	struct sockaddr_in sa;
	size_t salen = sizeof(sa);
	struct fab_ep *ep = calloc(1, sizeof(*ep));
	char service[16];
	int rc = 0;

	if (hints == NULL || ep == NULL) {
		fi_freeinfo(hints);
		free(ep);
		snprintf(err, errlen, "out of memory opening the fabric endpoint");
		return -ENOMEM;
	}
	pthread_once(&env_once, rxm_env_defaults);
	pthread_mutex_init(&ep->lock, NULL);
	ep->cq_fd = -1;
	ep->recv = recv;
	ep->send_err = send_err;
	ep->arg = arg;
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_MSG;
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	hints->addr_format = FI_SOCKADDR_IN;
	hints->domain_attr->threading = FI_THREAD_SAFE;
	hints->domain_attr->mr_mode = 0;
	hints->fabric_attr->prov_name = strdup(cfg->provider);
	snprintf(service, sizeof(service), "%d", cfg->port);
	rc = fi_getinfo(FI_VERSION(1, 9), cfg->ip, service, FI_SOURCE, hints, &ep->info);
	fi_freeinfo(hints);
	if (rc != 0) {
		snprintf(err, errlen, "no libfabric provider '%s' for %s:%d: %s (is libfabric "
			 "installed, and is the address local? check fabric_iface/DAOS_FABRIC_ADDR)",
			 cfg->provider, cfg->ip, cfg->port, fi_strerror(-rc));
		ep->info = NULL;
		rc = rc > 0 ? -rc : rc;
		goto fail;
	}
	FAB_TRY(fi_fabric(ep->info->fabric_attr, &ep->fabric, NULL), "fabric open");
	FAB_TRY(fi_domain(ep->fabric, ep->info, &ep->domain, NULL), "domain open");
	FAB_TRY(fi_cq_open(ep->domain, &cq_attr, &ep->cq, NULL), "completion queue open");
	FAB_TRY(fi_av_open(ep->domain, &av_attr, &ep->av, NULL), "address vector open");
	FAB_TRY(fi_endpoint(ep->domain, ep->info, &ep->ep, NULL), "endpoint open");
	FAB_TRY(fi_ep_bind(ep->ep, &ep->av->fid, 0), "address vector bind");
	FAB_TRY(fi_ep_bind(ep->ep, &ep->cq->fid, FI_TRANSMIT | FI_RECV), "completion queue bind");
	FAB_TRY(fi_enable(ep->ep), "endpoint enable (is the port in use? check "
		"fabric_iface_port)");
	/* the sockets provider answers FI_GETWAIT without an fd: it gets fi_cq_sread instead */
	if (fi_control(&ep->cq->fid, FI_GETWAIT, &ep->cq_fd) != 0 || ep->cq_fd < 0)
		ep->cq_fd = -1;
	FAB_TRY(fi_getname(&ep->ep->fid, &sa, &salen), "address query");
	if (salen < sizeof(sa) || sa.sin_family != AF_INET) {
		snprintf(err, errlen, "fabric endpoint of '%s' has no IPv4 address", cfg->provider);
		rc = -EAFNOSUPPORT;
		goto fail;
	}
	ep->ip = sa.sin_addr.s_addr;
	ep->port = ntohs(sa.sin_port);
	for (int i = 0; i < FAB_NRECV; i++) {
		ep->recvs[i] = calloc(1, sizeof(struct fab_op) + CRT_MAX_MSG);
		if (ep->recvs[i] == NULL) {
			snprintf(err, errlen, "out of memory for fabric receive buffers");
			rc = -ENOMEM;
			goto fail;
		}
		ep->recvs[i]->kind = OP_RECV;
		FAB_TRY(post_recv(ep, ep->recvs[i]), "receive post");
	}
	*out = ep;
	return 0;
fail:
	fab_close(ep);
	return rc;
}

void fab_addr(const struct fab_ep *ep, uint32_t *ip, uint16_t *port)
{
	*ip = ep->ip;
	*port = ep->port;
}

/* Peer address for ip:port, inserted into the AV on first use (under ep->lock). */
static int peer_addr(struct fab_ep *ep, uint32_t ip, uint16_t port, fi_addr_t *addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int rc;

	for (size_t i = 0; i < ep->npeers; i++)
		if (ep->peers[i].ip == ip && ep->peers[i].port == port) {
			*addr = ep->peers[i].addr;
			return 0;
		}
	if (ep->npeers >= FAB_MAX_PEER)
		return -ENOSPC;
	if (ep->npeers == ep->cap) {
		size_t cap = ep->cap ? ep->cap * 2 : 16;
		struct fab_peer *p = realloc(ep->peers, cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		ep->peers = p;
		ep->cap = cap;
	}
	sa.sin_addr.s_addr = ip;
	rc = fi_av_insert(ep->av, &sa, 1, addr, 0, NULL);
	if (rc != 1)
		return rc < 0 ? rc : -EADDRNOTAVAIL;
	ep->peers[ep->npeers++] = (struct fab_peer){.ip = ip, .port = port, .addr = *addr};
	return 0;
}

/* Handle one completion (under ep->lock). */
static void complete(struct fab_ep *ep, struct fab_op *op, int rc)
{
	if (op->kind == OP_SEND) {
		posted_del(ep, op);
		if (rc != 0 && ep->send_err)
			ep->send_err(ep->arg, op->cookie, rc);
		free(op);
		return;
	}
	if (rc == 0 && ep->recv)
		ep->recv(ep->arg, op->buf, op->len);
	if (post_recv(ep, op) != 0)
		D_ERROR("fabric: cannot repost a receive buffer");
}

static void complete_batch(struct fab_ep *ep, struct fi_cq_msg_entry *ent, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		struct fab_op *op = ent[i].op_context;

		if (op->kind == OP_RECV)
			op->len = ent[i].len;
		complete(ep, op, 0);
	}
}

/* Read what the CQ holds (under ep->lock). Number handled or -errno. */
static int drain_cq(struct fab_ep *ep)
{
	struct fi_cq_msg_entry ent[FAB_CQ_BATCH];
	int total = 0;

	for (;;) {
		ssize_t n = fi_cq_read(ep->cq, ent, FAB_CQ_BATCH);

		if (n == -FI_EAGAIN) {
			if (total > 0)
				ep->last_busy_us = mono_us();
			return total;
		}
		if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry e = {0};

			if (fi_cq_readerr(ep->cq, &e, 0) == 1 && e.op_context != NULL) {
				struct fab_op *op = e.op_context;

				/* a canceled receive at close is not worth a log line */
				if (e.err != FI_ECANCELED)
					D_WARN("fabric: %s failed: %s", op->kind == OP_SEND ? "send"
					       : "receive", fi_strerror(e.err));
				complete(ep, op, -(e.err ? e.err : EIO));
				total++;
			}
			continue;
		}
		if (n < 0)
			return (int)n;
		complete_batch(ep, ent, n);
		total += (int)n;
	}
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Retry the sends the provider refused; drop the ones past their bound (under ep->lock). */
static void retry_pending(struct fab_ep *ep)
{
	struct fab_op **pp = &ep->pending;
	int64_t now = mono_us();

	while (*pp != NULL) {
		struct fab_op *op = *pp;
		ssize_t rc = fi_send(ep->ep, op->buf, op->len, NULL, op->addr, op);

		if (rc == -FI_EAGAIN && now < op->give_up_us) {
			pp = &op->next;
			continue;
		}
		*pp = op->next;
		if (rc == 0) {
			posted_add(ep, op);
			continue;
		}
		if (ep->send_err)
			ep->send_err(ep->arg, op->cookie, rc == -FI_EAGAIN ? -ETIMEDOUT : (int)rc);
		free(op);
	}
}

int fab_send(struct fab_ep *ep, uint32_t ip, uint16_t port, const uint8_t *msg, size_t len,
	     uint64_t cookie)
{
	struct fab_op *op;
	ssize_t rc;

	if (len > CRT_MAX_MSG)
		return -EMSGSIZE;
	op = malloc(sizeof(*op) + len);
	if (op == NULL)
		return -ENOMEM;
	memset(op, 0, sizeof(*op));
	op->kind = OP_SEND;
	op->cookie = cookie;
	op->len = len;
	memcpy(op->buf, msg, len);
	pthread_mutex_lock(&ep->lock);
	ep->last_busy_us = mono_us();
	rc = peer_addr(ep, ip, port, &op->addr);
	if (rc == 0) {
		rc = fi_send(ep->ep, op->buf, len, NULL, op->addr, op);
		if (rc == -FI_EAGAIN) {
			/* connection set-up or a full queue: progress retries it, never blocking */
			op->give_up_us = mono_us() + FAB_PENDING_US;
			op->next = ep->pending;
			ep->pending = op;
			op = NULL;
			rc = 0;
		} else if (rc == 0) {
			posted_add(ep, op);
			op = NULL;
		}
	}
	pthread_mutex_unlock(&ep->lock);
	free(op);
	return rc < 0 ? (int)rc : 0;
}

int fab_send_withdraw(struct fab_ep *ep, uint64_t cookie)
{
	struct fab_op **pp, *op = NULL;

	pthread_mutex_lock(&ep->lock);
	for (pp = &ep->pending; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->cookie == cookie) {
			op = *pp;
			*pp = op->next;
			break;
		}
	pthread_mutex_unlock(&ep->lock);
	free(op);
	return op != NULL;
}

int fab_progress(struct fab_ep *ep, int timeout_ms, int wake_fd)
{
	struct pollfd pfd[2];
	int n = 0, rc, busy;

	pthread_mutex_lock(&ep->lock);
	retry_pending(ep);
	rc = drain_cq(ep);
	if (rc == 0 && timeout_ms != 0) {
		/* a reply usually follows within microseconds: spin briefly before sleeping */
		int64_t until = mono_us() + FAB_SPIN_US;

		while (rc == 0 && mono_us() < until) {
			pthread_mutex_unlock(&ep->lock);
			sched_yield();
			pthread_mutex_lock(&ep->lock);
			rc = drain_cq(ep);
		}
	}
	busy = ep->sends_out > 0 || ep->pending != NULL;
	if (rc == 0 && ep->cq_fd >= 0) {
		struct fid *f = &ep->cq->fid;

		/* only sleep on the fd when the provider says nothing is pending */
		if (fi_trywait(ep->fabric, &f, 1) != FI_SUCCESS)
			timeout_ms = 0;
	}
	pthread_mutex_unlock(&ep->lock);
	if (rc != 0 || timeout_ms == 0)
		return rc;
	/* sends in flight need the provider's progress (connection set-up): poll it often */
	if (busy && timeout_ms > 1)
		timeout_ms = 1;
	/*
	 * ofi_rxm runs its connection manager from CQ reads only (at most every 10 ms, its
	 * FI_OFI_RXM_CM_PROGRESS_INTERVAL) and the CQ fd does not signal connection requests:
	 * the endpoint reads the CQ that often while it has traffic, or a peer's connection
	 * set-up would wait for our next wake-up; an idle one (thousands of stand-in engines on
	 * two cores) every 100 ms, which a new peer's first contact pays once.
	 */
	{
		int cap = mono_us() - ep->last_busy_us < FAB_IDLE_AFTER_US ? FAB_CM_POLL_MS
									   : FAB_IDLE_CM_POLL_MS;

		if (timeout_ms > cap)
			timeout_ms = cap;
	}
	if (ep->cq_fd < 0) {
		/*
		 * No fd to poll (the sockets provider): block in the provider's own sread, which
		 * fab_wake interrupts; entries read here are handled under the lock like the rest.
		 */
		struct fi_cq_msg_entry ent[FAB_CQ_BATCH];
		ssize_t got = fi_cq_sread(ep->cq, ent, FAB_CQ_BATCH, NULL, timeout_ms);

		pthread_mutex_lock(&ep->lock);
		if (got > 0)
			complete_batch(ep, ent, got);
		retry_pending(ep);
		rc = drain_cq(ep);
		pthread_mutex_unlock(&ep->lock);
		return rc < 0 ? rc : rc + (got > 0 ? (int)got : 0);
	}
	pfd[n++] = (struct pollfd){.fd = ep->cq_fd, .events = POLLIN};
	if (wake_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
	poll(pfd, (nfds_t)n, timeout_ms);
	pthread_mutex_lock(&ep->lock);
	retry_pending(ep);
	rc = drain_cq(ep);
	pthread_mutex_unlock(&ep->lock);
	return rc;
}

void fab_wake(struct fab_ep *ep)
{
	if (ep != NULL && ep->cq_fd < 0)
		fi_cq_signal(ep->cq);
}

int fab_route_src(uint32_t ip, uint32_t *src)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = ip;
	/* a UDP connect sends nothing: it only asks the kernel for the route's source */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		rc = -errno;
	else
		*src = sa.sin_addr.s_addr;
	close(fd);
	return rc;
}
