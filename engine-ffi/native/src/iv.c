/* IV (incast variables): tree-propagated cached values, message codec (see iv.h). */
#include "iv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"

struct iv_class {
	uint32_t id;
	struct iv_class_ops ops;
	void *arg;
};

struct iv_entry {
	uint32_t class_id;
	uint16_t klen;
	uint8_t key[IV_KEY_MAX];
	uint64_t version; /* of the value, or the floor left by an invalidation */
	int valid;
	uint8_t *val;
	size_t len;
};

enum waiter_kind { W_LOCAL = 1, W_REMOTE = 2 };

struct iv_waiter {
	int kind;
	uint32_t rank;	 /* W_REMOTE: the child that asked */
	uint64_t req_id; /* W_REMOTE: the child's request id */
	iv_fetch_cb fcb;
	iv_update_cb ucb;
	void *cb_arg;
};

enum pend_kind { P_FETCH = 1, P_UPDATE = 2 };

struct iv_pending {
	uint64_t id;
	int kind;
	uint32_t class_id;
	uint16_t klen;
	uint8_t key[IV_KEY_MAX];
	uint32_t sent_to;
	uint64_t deadline;
	struct iv_waiter *w;
	size_t nw, capw;
	/* P_UPDATE started here: the value to cache once the root accepted it */
	int own;
	int invalidate;
	uint64_t version;
	uint8_t *val;
	size_t len;
};

struct iv_ns {
	uint32_t self;
	struct iv_ops ops;
	void *arg;
	uint64_t timeout;
	struct iv_class classes[IV_MAX_CLASSES];
	size_t nclasses;
	struct iv_entry *e;
	size_t ne, cape;
	struct iv_pending **p;
	size_t np, capp;
	uint64_t next_id;
	struct iv_stats st;
};

/* ---------------------------------------------------------------- codec */

static int status_ok(int32_t s)
{
	return s <= 0 && s > -4096;
}

/* The rules of iv.h, shared by the encoder and the decoder. */
static int msg_check(const struct iv_msg *m)
{
	int reply = m->type == IV_MSG_FETCH_REPLY || m->type == IV_MSG_UPDATE_REPLY;
	int inval = (m->flags & IV_F_INVALIDATE) != 0;

	if (m->type < IV_MSG_FETCH || m->type > IV_MSG_REFRESH)
		return -EINVAL;
	if ((m->flags & ~IV_F_INVALIDATE) != 0 ||
	    (inval && m->type != IV_MSG_UPDATE && m->type != IV_MSG_REFRESH))
		return -EINVAL;
	if (m->key_len < 1 || m->key_len > IV_KEY_MAX || m->val_len > IV_VALUE_MAX)
		return -EINVAL;
	if ((m->type == IV_MSG_REFRESH) != (m->req_id == 0))
		return -EINVAL;
	if (reply ? !status_ok(m->status) : m->status != 0)
		return -EINVAL;
	switch (m->type) {
	case IV_MSG_FETCH:
		return m->version == 0 && m->val_len == 0 ? 0 : -EINVAL;
	case IV_MSG_FETCH_REPLY:
		if (m->status != 0)
			return m->version == 0 && m->val_len == 0 ? 0 : -EINVAL;
		return m->version >= 1 ? 0 : -EINVAL;
	case IV_MSG_UPDATE_REPLY:
		return m->version >= 1 && m->val_len == 0 ? 0 : -EINVAL;
	default: /* UPDATE, REFRESH */
		return m->version >= 1 && (!inval || m->val_len == 0) ? 0 : -EINVAL;
	}
}

int iv_msg_encode(const struct iv_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	size_t need;

	if (msg_check(m) != 0 || m->key == NULL || (m->val_len > 0 && m->val == NULL))
		return -EINVAL;
	need = IV_MSG_HDR_SIZE + (size_t)m->key_len + m->val_len;
	if (cap < need)
		return -ENOSPC;
	put_le(buf, IV_MSG_MAGIC, 2);
	buf[2] = IV_MSG_VERSION;
	buf[3] = m->type;
	buf[4] = m->flags;
	put_le(buf + 5, m->class_id, 4);
	put_le(buf + 9, m->req_id, 8);
	put_le(buf + 17, (uint32_t)m->status, 4);
	put_le(buf + 21, m->version, 8);
	put_le(buf + 29, m->key_len, 2);
	put_le(buf + 31, m->val_len, 4);
	memcpy(buf + IV_MSG_HDR_SIZE, m->key, m->key_len);
	if (m->val_len > 0)
		memcpy(buf + IV_MSG_HDR_SIZE + m->key_len, m->val, m->val_len);
	*len = need;
	return 0;
}

int iv_msg_decode(const uint8_t *buf, size_t len, struct iv_msg *m)
{
	if (buf == NULL || len < IV_MSG_HDR_SIZE || get_le(buf, 2) != IV_MSG_MAGIC ||
	    buf[2] != IV_MSG_VERSION)
		return -EINVAL;
	m->type = buf[3];
	m->flags = buf[4];
	m->class_id = (uint32_t)get_le(buf + 5, 4);
	m->req_id = get_le(buf + 9, 8);
	m->status = (int32_t)(uint32_t)get_le(buf + 17, 4);
	m->version = get_le(buf + 21, 8);
	m->key_len = (uint16_t)get_le(buf + 29, 2);
	m->val_len = (uint32_t)get_le(buf + 31, 4);
	if (msg_check(m) != 0 ||
	    len - IV_MSG_HDR_SIZE != (size_t)m->key_len + (size_t)m->val_len)
		return -EINVAL;
	m->key = buf + IV_MSG_HDR_SIZE;
	m->val = m->val_len > 0 ? buf + IV_MSG_HDR_SIZE + m->key_len : NULL;
	return 0;
}

/* ---------------------------------------------------------------- helpers */

static struct iv_class *find_class(struct iv_ns *ns, uint32_t id)
{
	for (size_t i = 0; i < ns->nclasses; i++)
		if (ns->classes[i].id == id)
			return &ns->classes[i];
	return NULL;
}

static int same_key(uint32_t c1, const uint8_t *k1, size_t l1, uint32_t c2, const uint8_t *k2,
		    size_t l2)
{
	return c1 == c2 && l1 == l2 && memcmp(k1, k2, l1) == 0;
}

static struct iv_entry *find_entry(const struct iv_ns *ns, uint32_t cls, const uint8_t *key,
				   size_t klen)
{
	for (size_t i = 0; i < ns->ne; i++)
		if (same_key(ns->e[i].class_id, ns->e[i].key, ns->e[i].klen, cls, key, klen))
			return &ns->e[i];
	return NULL;
}

static struct iv_entry *add_entry(struct iv_ns *ns, uint32_t cls, const uint8_t *key,
				  size_t klen)
{
	struct iv_entry *e;

	if (ns->ne == ns->cape) {
		size_t cap = ns->cape ? ns->cape * 2 : 8;

		e = realloc(ns->e, cap * sizeof(*e));
		if (e == NULL)
			return NULL;
		ns->e = e;
		ns->cape = cap;
	}
	e = &ns->e[ns->ne++];
	memset(e, 0, sizeof(*e));
	e->class_id = cls;
	e->klen = (uint16_t)klen;
	memcpy(e->key, key, klen);
	return e;
}

static int entry_set(struct iv_entry *e, const uint8_t *val, size_t len, uint64_t version,
		     int invalidate)
{
	uint8_t *copy = NULL;

	if (!invalidate && len > 0) {
		copy = malloc(len);
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, val, len);
	}
	free(e->val);
	e->val = copy;
	e->len = invalidate ? 0 : len;
	e->valid = !invalidate;
	e->version = version;
	return 0;
}

static int is_root(struct iv_ns *ns, uint32_t *parent)
{
	*parent = ns->ops.parent_of(ns->arg, ns->self);
	return *parent == IV_RANK_NONE || *parent == ns->self;
}

static int send_msg(struct iv_ns *ns, uint32_t dst, const struct iv_msg *m)
{
	size_t cap = IV_MSG_HDR_SIZE + (size_t)m->key_len + m->val_len, len;
	uint8_t *buf = malloc(cap);
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	rc = iv_msg_encode(m, buf, cap, &len);
	if (rc == 0 && ns->ops.send(ns->arg, dst, buf, len) != 0)
		rc = -EHOSTUNREACH;
	free(buf);
	return rc;
}

static void reply_fetch(struct iv_ns *ns, uint32_t dst, uint64_t req_id, uint32_t cls,
			const uint8_t *key, size_t klen, int rc, const uint8_t *val, size_t len,
			uint64_t version)
{
	struct iv_msg m = {.type = IV_MSG_FETCH_REPLY, .class_id = cls, .req_id = req_id,
			   .status = rc, .key_len = (uint16_t)klen, .key = key};

	if (rc == 0) {
		m.version = version;
		m.val_len = (uint32_t)len;
		m.val = val;
	}
	(void)send_msg(ns, dst, &m); /* a lost reply times out at the child */
}

static void reply_update(struct iv_ns *ns, uint32_t dst, uint64_t req_id, uint32_t cls,
			 const uint8_t *key, size_t klen, int rc, uint64_t version)
{
	struct iv_msg m = {.type = IV_MSG_UPDATE_REPLY, .class_id = cls, .req_id = req_id,
			   .status = rc, .version = version, .key_len = (uint16_t)klen,
			   .key = key};

	(void)send_msg(ns, dst, &m);
}

static void complete_fetch(struct iv_ns *ns, const struct iv_waiter *w, uint32_t cls,
			   const uint8_t *key, size_t klen, int rc, const uint8_t *val,
			   size_t len, uint64_t version)
{
	if (w->kind == W_LOCAL)
		w->fcb(w->cb_arg, rc, rc == 0 ? val : NULL, rc == 0 ? len : 0,
		       rc == 0 ? version : 0);
	else
		reply_fetch(ns, w->rank, w->req_id, cls, key, klen, rc, val, len, version);
}

static void complete_update(struct iv_ns *ns, const struct iv_waiter *w, uint32_t cls,
			    const uint8_t *key, size_t klen, int rc, uint64_t version)
{
	if (w->kind == W_LOCAL)
		w->ucb(w->cb_arg, rc, version);
	else
		reply_update(ns, w->rank, w->req_id, cls, key, klen, rc, version);
}

static struct iv_pending *pending_new(struct iv_ns *ns, int kind, uint32_t cls,
				      const uint8_t *key, size_t klen, uint64_t now)
{
	struct iv_pending *p;

	if (ns->np >= IV_MAX_PENDING)
		return NULL;
	if (ns->np == ns->capp) {
		size_t cap = ns->capp ? ns->capp * 2 : 8;
		struct iv_pending **a = realloc(ns->p, cap * sizeof(*a));

		if (a == NULL)
			return NULL;
		ns->p = a;
		ns->capp = cap;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->id = ++ns->next_id;
	p->kind = kind;
	p->class_id = cls;
	p->klen = (uint16_t)klen;
	memcpy(p->key, key, klen);
	p->deadline = now + ns->timeout;
	ns->p[ns->np++] = p;
	return p;
}

static int pending_add_waiter(struct iv_pending *p, const struct iv_waiter *w)
{
	if (p->nw >= IV_MAX_WAITERS)
		return -EBUSY;
	if (p->nw == p->capw) {
		size_t cap = p->capw ? p->capw * 2 : 2;
		struct iv_waiter *a = realloc(p->w, cap * sizeof(*a));

		if (a == NULL)
			return -ENOMEM;
		p->w = a;
		p->capw = cap;
	}
	p->w[p->nw++] = *w;
	return 0;
}

/* Unlinks p from the table (the caller completes its waiters, then frees it). */
static void pending_unlink(struct iv_ns *ns, struct iv_pending *p)
{
	for (size_t i = 0; i < ns->np; i++)
		if (ns->p[i] == p) {
			ns->p[i] = ns->p[--ns->np];
			return;
		}
}

static void pending_free(struct iv_pending *p)
{
	free(p->w);
	free(p->val);
	free(p);
}

static struct iv_pending *pending_by_id(struct iv_ns *ns, uint64_t id)
{
	for (size_t i = 0; i < ns->np; i++)
		if (ns->p[i]->id == id)
			return ns->p[i];
	return NULL;
}

static struct iv_pending *pending_fetch_of(struct iv_ns *ns, uint32_t cls, const uint8_t *key,
					   size_t klen)
{
	for (size_t i = 0; i < ns->np; i++)
		if (ns->p[i]->kind == P_FETCH &&
		    same_key(ns->p[i]->class_id, ns->p[i]->key, ns->p[i]->klen, cls, key, klen))
			return ns->p[i];
	return NULL;
}

/* Completes every waiter of a pending fetch with a value (or error) and frees it. */
static void finish_fetch(struct iv_ns *ns, struct iv_pending *p, int rc, const uint8_t *val,
			 size_t len, uint64_t version)
{
	pending_unlink(ns, p);
	for (size_t i = 0; i < p->nw; i++)
		complete_fetch(ns, &p->w[i], p->class_id, p->key, p->klen, rc, val, len, version);
	pending_free(p);
}

/*
 * Takes a pushed value/invalidation into the cache when it is newer. Returns 1 when applied
 * (refresh called), 0 when stale, <0 on allocation failure.
 */
static int cache_apply(struct iv_ns *ns, struct iv_class *c, const uint8_t *key, size_t klen,
		       const uint8_t *val, size_t len, uint64_t version, int invalidate)
{
	struct iv_entry *e = find_entry(ns, c->id, key, klen);
	struct iv_pending *p;
	int rc;

	if (e != NULL && !(version > e->version || (invalidate && e->valid &&
						     version == e->version)))
		return 0;
	if (e == NULL && (e = add_entry(ns, c->id, key, klen)) == NULL)
		return -ENOMEM;
	rc = entry_set(e, val, len, version, invalidate);
	if (rc != 0)
		return rc;
	if (c->ops.refresh != NULL)
		c->ops.refresh(c->arg, key, klen, invalidate ? NULL : e->val, e->len, version);
	/* a fetch still waiting upstream for this key is answered by the newer value */
	if (!invalidate && (p = pending_fetch_of(ns, c->id, key, klen)) != NULL)
		finish_fetch(ns, p, 0, e->val, e->len, e->version);
	return 1;
}

static void propagate(struct iv_ns *ns, uint32_t cls, const uint8_t *key, size_t klen,
		      const uint8_t *val, size_t len, uint64_t version, int invalidate)
{
	uint32_t kids[IV_MAX_CHILDREN];
	size_t n = ns->ops.children_of(ns->arg, ns->self, kids, IV_MAX_CHILDREN);
	struct iv_msg m = {.type = IV_MSG_REFRESH, .flags = invalidate ? IV_F_INVALIDATE : 0,
			   .class_id = cls, .version = version, .key_len = (uint16_t)klen,
			   .key = key, .val_len = invalidate ? 0 : (uint32_t)len,
			   .val = invalidate ? NULL : val};

	if (n > IV_MAX_CHILDREN)
		n = IV_MAX_CHILDREN;
	for (size_t i = 0; i < n; i++)
		if (kids[i] != ns->self && kids[i] != IV_RANK_NONE)
			(void)send_msg(ns, kids[i], &m); /* a lost push: that subtree refetches */
}

/* Reads the class's source on the root. 0 with the value, or a negative errno. */
static int source_fetch(struct iv_ns *ns, struct iv_class *c, const uint8_t *key, size_t klen,
			const uint8_t **val, size_t *len, uint64_t *version)
{
	int rc;

	if (c->ops.fetch == NULL)
		return -ENOENT;
	ns->st.source_fetches++;
	*val = NULL;
	*len = 0;
	*version = 0;
	rc = c->ops.fetch(c->arg, key, klen, val, len, version);
	if (rc > 0)
		rc = -EPROTO;
	if (rc == 0 && (*version == 0 || *len > IV_VALUE_MAX || (*len > 0 && *val == NULL)))
		rc = -EPROTO; /* the class broke its contract */
	return rc;
}

/* The root applies an update or invalidation: version check, class update, cache, push. */
static int root_apply(struct iv_ns *ns, struct iv_class *c, const uint8_t *key, size_t klen,
		      const uint8_t *val, size_t len, uint64_t version, int invalidate)
{
	struct iv_entry *e = find_entry(ns, c->id, key, klen);
	uint64_t current = 0;
	int rc;

	if (e != NULL) {
		current = e->version;
	} else {
		const uint8_t *sv;
		size_t sl;
		uint64_t ver;

		if (source_fetch(ns, c, key, klen, &sv, &sl, &ver) == 0) {
			if ((e = add_entry(ns, c->id, key, klen)) == NULL ||
			    entry_set(e, sv, sl, ver, 0) != 0)
				return -ENOMEM;
			current = ver;
		}
	}
	if (invalidate ? version < current : version <= current) {
		ns->st.stale_dropped++;
		return -ESTALE;
	}
	if (c->ops.update != NULL) {
		rc = c->ops.update(c->arg, key, klen, invalidate ? NULL : val, invalidate ? 0 : len,
				   version, invalidate);
		if (rc != 0)
			return rc > 0 ? -EPROTO : rc;
	}
	rc = cache_apply(ns, c, key, klen, val, len, version, invalidate);
	if (rc < 0)
		return rc;
	propagate(ns, c->id, key, klen, val, len, version, invalidate);
	return 0;
}

/* A cache miss: join the fetch in flight, ask the source (root) or forward to the parent. */
static int fetch_miss(struct iv_ns *ns, struct iv_class *c, const uint8_t *key, size_t klen,
		      const struct iv_waiter *w, uint64_t now)
{
	struct iv_pending *p = pending_fetch_of(ns, c->id, key, klen);
	struct iv_msg m = {.type = IV_MSG_FETCH, .class_id = c->id, .key_len = (uint16_t)klen,
			   .key = key};
	uint32_t parent;
	int rc;

	if (p != NULL)
		return pending_add_waiter(p, w);
	if (is_root(ns, &parent)) {
		const uint8_t *val;
		size_t len;
		uint64_t ver;
		struct iv_entry *e;

		rc = source_fetch(ns, c, key, klen, &val, &len, &ver);
		if (rc == 0) {
			e = find_entry(ns, c->id, key, klen);
			if (e == NULL && (e = add_entry(ns, c->id, key, klen)) == NULL)
				return -ENOMEM;
			if (entry_set(e, val, len, ver, 0) != 0)
				return -ENOMEM;
			complete_fetch(ns, w, c->id, key, klen, 0, e->val, e->len, e->version);
		} else {
			complete_fetch(ns, w, c->id, key, klen, rc, NULL, 0, 0);
		}
		return 0;
	}
	p = pending_new(ns, P_FETCH, c->id, key, klen, now);
	if (p == NULL)
		return -EBUSY;
	p->sent_to = parent;
	m.req_id = p->id;
	rc = pending_add_waiter(p, w);
	if (rc == 0)
		rc = send_msg(ns, parent, &m);
	if (rc != 0) {
		pending_unlink(ns, p);
		pending_free(p);
		return rc;
	}
	ns->st.fetch_forwarded++;
	return 0;
}

static int check_key(const uint8_t *key, size_t klen)
{
	return key != NULL && klen >= 1 && klen <= IV_KEY_MAX ? 0 : -EINVAL;
}

/* ---------------------------------------------------------------- API */

int iv_fetch(struct iv_ns *ns, uint32_t cls, const uint8_t *key, size_t klen, iv_fetch_cb cb,
	     void *cb_arg, uint64_t now)
{
	struct iv_waiter w = {.kind = W_LOCAL, .fcb = cb, .cb_arg = cb_arg};
	struct iv_class *c;
	struct iv_entry *e;

	if (ns == NULL || cb == NULL || check_key(key, klen) != 0)
		return -EINVAL;
	if ((c = find_class(ns, cls)) == NULL)
		return -ENOENT;
	e = find_entry(ns, cls, key, klen);
	if (e != NULL && e->valid) {
		ns->st.cache_hits++;
		cb(cb_arg, 0, e->val, e->len, e->version);
		return 0;
	}
	ns->st.cache_misses++;
	return fetch_miss(ns, c, key, klen, &w, now);
}

static int start_update(struct iv_ns *ns, uint32_t cls, const uint8_t *key, size_t klen,
			const uint8_t *val, size_t len, uint64_t version, int invalidate,
			iv_update_cb cb, void *cb_arg, uint64_t now)
{
	struct iv_waiter w = {.kind = W_LOCAL, .ucb = cb, .cb_arg = cb_arg};
	struct iv_msg m = {.type = IV_MSG_UPDATE, .flags = invalidate ? IV_F_INVALIDATE : 0,
			   .class_id = cls, .version = version, .key_len = (uint16_t)klen,
			   .key = key, .val_len = (uint32_t)len, .val = val};
	struct iv_pending *p;
	struct iv_class *c;
	uint32_t parent;
	int rc;

	if (ns == NULL || cb == NULL || check_key(key, klen) != 0 || version == 0 ||
	    len > IV_VALUE_MAX || (len > 0 && val == NULL))
		return -EINVAL;
	if ((c = find_class(ns, cls)) == NULL)
		return -ENOENT;
	if (is_root(ns, &parent)) {
		rc = root_apply(ns, c, key, klen, val, len, version, invalidate);
		cb(cb_arg, rc, version);
		return 0;
	}
	p = pending_new(ns, P_UPDATE, cls, key, klen, now);
	if (p == NULL)
		return -EBUSY;
	p->sent_to = parent;
	p->own = 1;
	p->invalidate = invalidate;
	p->version = version;
	m.req_id = p->id;
	rc = pending_add_waiter(p, &w);
	if (rc == 0 && len > 0) {
		p->val = malloc(len);
		if (p->val == NULL)
			rc = -ENOMEM;
		else
			memcpy(p->val, val, len);
		p->len = len;
	}
	if (rc == 0)
		rc = send_msg(ns, parent, &m);
	if (rc != 0) {
		pending_unlink(ns, p);
		pending_free(p);
	}
	return rc;
}

int iv_update(struct iv_ns *ns, uint32_t cls, const uint8_t *key, size_t klen,
	      const uint8_t *val, size_t len, uint64_t version, iv_update_cb cb, void *cb_arg,
	      uint64_t now)
{
	return start_update(ns, cls, key, klen, val, len, version, 0, cb, cb_arg, now);
}

int iv_invalidate(struct iv_ns *ns, uint32_t cls, const uint8_t *key, size_t klen,
		  uint64_t version, iv_update_cb cb, void *cb_arg, uint64_t now)
{
	return start_update(ns, cls, key, klen, NULL, 0, version, 1, cb, cb_arg, now);
}

static int recv_fetch(struct iv_ns *ns, uint32_t src, const struct iv_msg *m, uint64_t now)
{
	struct iv_waiter w = {.kind = W_REMOTE, .rank = src, .req_id = m->req_id};
	struct iv_class *c = find_class(ns, m->class_id);
	struct iv_entry *e;
	int rc;

	if (c == NULL) {
		reply_fetch(ns, src, m->req_id, m->class_id, m->key, m->key_len, -ENOENT, NULL, 0,
			    0);
		return 0;
	}
	e = find_entry(ns, c->id, m->key, m->key_len);
	if (e != NULL && e->valid) {
		ns->st.cache_hits++;
		reply_fetch(ns, src, m->req_id, c->id, m->key, m->key_len, 0, e->val, e->len,
			    e->version);
		return 0;
	}
	ns->st.cache_misses++;
	rc = fetch_miss(ns, c, m->key, m->key_len, &w, now);
	if (rc != 0)
		reply_fetch(ns, src, m->req_id, c->id, m->key, m->key_len, rc, NULL, 0, 0);
	return 0;
}

static int recv_fetch_reply(struct iv_ns *ns, uint32_t src, const struct iv_msg *m)
{
	struct iv_pending *p = pending_by_id(ns, m->req_id);
	struct iv_entry *e;

	if (p == NULL)
		return -ENOENT; /* late: timed out or answered by a refresh already */
	if (p->kind != P_FETCH || p->sent_to != src ||
	    !same_key(p->class_id, p->key, p->klen, m->class_id, m->key, m->key_len)) {
		ns->st.bad_msgs++;
		return -EINVAL;
	}
	if (m->status != 0) {
		finish_fetch(ns, p, m->status, NULL, 0, 0);
		return 0;
	}
	e = find_entry(ns, p->class_id, p->key, p->klen);
	if (e == NULL || m->version > e->version) {
		if (e == NULL && (e = add_entry(ns, p->class_id, p->key, p->klen)) == NULL) {
			finish_fetch(ns, p, -ENOMEM, NULL, 0, 0);
			return 0;
		}
		if (entry_set(e, m->val, m->val_len, m->version, 0) != 0) {
			finish_fetch(ns, p, -ENOMEM, NULL, 0, 0);
			return 0;
		}
	}
	if (e->valid) /* ours, or a newer one a refresh brought meanwhile */
		finish_fetch(ns, p, 0, e->val, e->len, e->version);
	else /* invalidated past this version while the fetch was in flight */
		finish_fetch(ns, p, 0, m->val, m->val_len, m->version);
	return 0;
}

static int recv_update(struct iv_ns *ns, uint32_t src, const struct iv_msg *m, uint64_t now)
{
	struct iv_waiter w = {.kind = W_REMOTE, .rank = src, .req_id = m->req_id};
	struct iv_class *c = find_class(ns, m->class_id);
	int inval = (m->flags & IV_F_INVALIDATE) != 0;
	struct iv_msg fwd = *m;
	struct iv_pending *p;
	uint32_t parent;
	int rc;

	if (c == NULL) {
		reply_update(ns, src, m->req_id, m->class_id, m->key, m->key_len, -ENOENT,
			     m->version);
		return 0;
	}
	if (is_root(ns, &parent)) {
		rc = root_apply(ns, c, m->key, m->key_len, m->val, m->val_len, m->version, inval);
		reply_update(ns, src, m->req_id, c->id, m->key, m->key_len, rc, m->version);
		return 0;
	}
	p = pending_new(ns, P_UPDATE, c->id, m->key, m->key_len, now);
	rc = p == NULL ? -EBUSY : pending_add_waiter(p, &w);
	if (rc == 0) {
		p->sent_to = parent;
		p->version = m->version;
		fwd.req_id = p->id;
		rc = send_msg(ns, parent, &fwd);
	}
	if (rc != 0) {
		if (p != NULL) {
			pending_unlink(ns, p);
			pending_free(p);
		}
		reply_update(ns, src, m->req_id, c->id, m->key, m->key_len, rc, m->version);
	}
	return 0;
}

static int recv_update_reply(struct iv_ns *ns, uint32_t src, const struct iv_msg *m)
{
	struct iv_pending *p = pending_by_id(ns, m->req_id);
	struct iv_class *c;

	if (p == NULL)
		return -ENOENT; /* late: timed out already */
	if (p->kind != P_UPDATE || p->sent_to != src ||
	    !same_key(p->class_id, p->key, p->klen, m->class_id, m->key, m->key_len)) {
		ns->st.bad_msgs++;
		return -EINVAL;
	}
	pending_unlink(ns, p);
	/* the originator caches what the root accepted now, so its own next fetch sees it
	 * even if the pushed refresh is still on its way */
	if (m->status == 0 && p->own && (c = find_class(ns, p->class_id)) != NULL &&
	    cache_apply(ns, c, p->key, p->klen, p->val, p->len, p->version, p->invalidate) == 1)
		ns->st.refreshes++;
	complete_update(ns, &p->w[0], p->class_id, p->key, p->klen, m->status, m->version);
	pending_free(p);
	return 0;
}

static int recv_refresh(struct iv_ns *ns, const struct iv_msg *m)
{
	struct iv_class *c = find_class(ns, m->class_id);
	int inval = (m->flags & IV_F_INVALIDATE) != 0;
	int rc;

	if (c == NULL)
		return -ENOENT;
	rc = cache_apply(ns, c, m->key, m->key_len, m->val, m->val_len, m->version, inval);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		ns->st.stale_dropped++; /* not newer: our subtree has it (or newer) already */
		return 0;
	}
	ns->st.refreshes++;
	propagate(ns, c->id, m->key, m->key_len, m->val, m->val_len, m->version, inval);
	return 0;
}

int iv_recv(struct iv_ns *ns, uint32_t src, const uint8_t *buf, size_t len, uint64_t now)
{
	struct iv_msg m;

	if (src == ns->self || src == IV_RANK_NONE || iv_msg_decode(buf, len, &m) != 0) {
		ns->st.bad_msgs++;
		return -EINVAL;
	}
	switch (m.type) {
	case IV_MSG_FETCH:
		return recv_fetch(ns, src, &m, now);
	case IV_MSG_FETCH_REPLY:
		return recv_fetch_reply(ns, src, &m);
	case IV_MSG_UPDATE:
		return recv_update(ns, src, &m, now);
	case IV_MSG_UPDATE_REPLY:
		return recv_update_reply(ns, src, &m);
	default:
		return recv_refresh(ns, &m);
	}
}

uint64_t iv_tick(struct iv_ns *ns, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	size_t i = 0;

	while (i < ns->np) {
		struct iv_pending *p = ns->p[i];

		if (now < p->deadline) {
			if (p->deadline < next)
				next = p->deadline;
			i++;
			continue;
		}
		ns->st.timeouts++;
		if (p->kind == P_FETCH) {
			finish_fetch(ns, p, -ETIMEDOUT, NULL, 0, 0);
		} else {
			pending_unlink(ns, p);
			complete_update(ns, &p->w[0], p->class_id, p->key, p->klen, -ETIMEDOUT,
					p->version);
			pending_free(p);
		}
		i = 0; /* the table was reordered */
		next = UINT64_MAX;
	}
	return next;
}

int iv_cache_get(const struct iv_ns *ns, uint32_t cls, const uint8_t *key, size_t klen,
		 const uint8_t **val, size_t *len, uint64_t *version)
{
	const struct iv_entry *e = find_entry(ns, cls, key, klen);

	if (e == NULL || !e->valid)
		return -ENOENT;
	*val = e->val;
	*len = e->len;
	*version = e->version;
	return 0;
}

void iv_stats_get(const struct iv_ns *ns, struct iv_stats *out)
{
	*out = ns->st;
}

int iv_class_register(struct iv_ns *ns, uint32_t id, const struct iv_class_ops *ops, void *arg)
{
	if (ns == NULL || ops == NULL)
		return -EINVAL;
	if (find_class(ns, id) != NULL)
		return -EEXIST;
	if (ns->nclasses >= IV_MAX_CLASSES)
		return -ENOSPC;
	ns->classes[ns->nclasses++] = (struct iv_class){.id = id, .ops = *ops, .arg = arg};
	return 0;
}

int iv_init(struct iv_ns **out, uint32_t self, const struct iv_ops *ops, void *arg,
	    uint32_t timeout_ms)
{
	struct iv_ns *ns;

	*out = NULL;
	if (self == IV_RANK_NONE || ops == NULL || ops->send == NULL || ops->parent_of == NULL ||
	    ops->children_of == NULL || timeout_ms == 0)
		return -EINVAL;
	ns = calloc(1, sizeof(*ns));
	if (ns == NULL)
		return -ENOMEM;
	ns->self = self;
	ns->ops = *ops;
	ns->arg = arg;
	ns->timeout = timeout_ms;
	*out = ns;
	return 0;
}

void iv_set_req_id_base(struct iv_ns *ns, uint64_t base)
{
	ns->next_id = base;
}

void iv_fini(struct iv_ns *ns)
{
	if (ns == NULL)
		return;
	while (ns->np > 0) {
		struct iv_pending *p = ns->p[ns->np - 1];

		ns->np--;
		for (size_t i = 0; i < p->nw; i++) {
			if (p->w[i].kind != W_LOCAL)
				continue; /* children time out on their own */
			if (p->kind == P_FETCH)
				p->w[i].fcb(p->w[i].cb_arg, -ECANCELED, NULL, 0, 0);
			else
				p->w[i].ucb(p->w[i].cb_arg, -ECANCELED, p->version);
		}
		pending_free(p);
	}
	for (size_t i = 0; i < ns->ne; i++)
		free(ns->e[i].val);
	free(ns->e);
	free(ns->p);
	free(ns);
}
