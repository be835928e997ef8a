// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp authors.
 *
 * rxe_odp_2host - a verified RC transfer between two hosts, ODP or pinned
 * memory on either side.  scripts/check-2host.sh runs the server on one
 * QEMU guest and the client on the other.
 *
 *   rxe_odp_2host -s [options]           server (the responder)
 *   rxe_odp_2host [options] HOST         client (the requester)
 *
 * Options (each side chooses its own memory):
 *   -o        ODP MR on this side (default: pinned)
 *   -i        implicit ODP (addr NULL, length SIZE_MAX); implies -o
 *   -F        fail unless this side's odp_page_faults counter grew
 *   -d DEV    RDMA device (default rxe0)
 *   -p PORT   TCP port of the out-of-band channel (default 18600)
 *   -n BYTES  buffer size, both sides the same (default 4 MiB)
 *   -c BYTES  bytes per work request (default 64 KiB)
 *   -r N      rounds (default 3)
 *   -t LIST   tests: write,read,send,atomic (default all four)
 *   -T SEC    time bound of every completion wait (default 60)
 *   -a EXP    local ACK timeout, 4.096 us << EXP (default 14, 67 ms)
 *
 * The client picks the tests and their order; the server follows.  Each
 * round and test: the server prepares its buffer, the client runs the
 * operations, and the side that received data compares it byte for byte
 * with a pattern seeded by the round and test.  Before a test, an ODP side
 * drops its whole buffer with MADV_DONTNEED, so the next access by the
 * device must fault again (responder faults on the server, requester
 * faults on the client); a pinned side overwrites its buffer instead.
 *
 * The client stops at the first failure.  The last line is
 * "rxe_odp_2host: ROLE: N passed, N failed, B bytes verified ..."; the
 * exit status is 0 only if nothing failed on either side (each verdict is
 * exchanged), 4 if this side cannot do ODP.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Its helpers only: this is no harness program (test_harness_run unused). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "rv_common.h"
#pragma GCC diagnostic pop

#define TH_MAX_WR	128	/* receive queue: buffer / chunk at most */
#define TH_WINDOW	16	/* outstanding send work requests */
#define TH_ATOMICS	64	/* fetch-and-adds per atomic test */
#define TH_SKIP		4	/* kselftest's skip status */

enum th_test { TH_WRITE, TH_READ, TH_SEND, TH_ATOMIC, TH_NTESTS };
static const char * const th_names[TH_NTESTS] = {
	"write", "read", "send", "atomic",
};

enum th_op { TH_OP_PREP = 1, TH_OP_DONE, TH_OP_BYE };

/* One message of the out-of-band channel, big endian on the wire. */
struct th_msg {
	__be32 op;
	__be32 test;
	__be32 seed;
	__be32 status;		/* 0, or 1 + the offset of a bad byte */
};

/* What each side tells the other about its QP and buffer. */
struct th_info {
	__be32 qpn;
	__be32 psn;
	__be32 rkey;
	__be32 mtu;
	__be64 addr;
	__be64 len;
	__u8 gid[16];
};

struct th_opts {
	const char *dev;
	const char *host;	/* NULL: server */
	int port;
	size_t len;
	size_t chunk;
	int rounds;
	unsigned int tests;	/* bit per enum th_test, in order */
	int tmo_ms;
	int ack_timeout;
	bool odp;
	bool implicit;
	bool need_faults;
};

struct th {
	struct th_opts o;
	const char *role;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	__u8 *buf;
	int gidx;
	union ibv_gid gid;
	enum ibv_mtu mtu;
	int sock;
	struct th_info peer;
	int passed, failed;
	unsigned long long verified;
};

static void th_die(const char *what)
{
	fprintf(stderr, "rxe_odp_2host: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Whole-message socket I/O; a short read is a dead peer. */
static void th_xfer(struct th *t, void *p, size_t len, bool out)
{
	__u8 *b = p;
	ssize_t n;

	while (len) {
		if (out)
			n = send(t->sock, b, len, MSG_NOSIGNAL);
		else
			n = recv(t->sock, b, len, 0);
		if (n <= 0) {
			if (!n)
				errno = ECONNRESET;
			th_die(out ? "send to peer" : "receive from peer");
		}
		b += n;
		len -= n;
	}
}

static void th_send_msg(struct th *t, enum th_op op, int test, __u32 seed,
			__u32 status)
{
	struct th_msg m = {
		.op = htobe32(op), .test = htobe32(test),
		.seed = htobe32(seed), .status = htobe32(status),
	};

	th_xfer(t, &m, sizeof(m), true);
}

static struct th_msg th_recv_msg(struct th *t)
{
	struct th_msg m;

	th_xfer(t, &m, sizeof(m), false);
	m.op = be32toh(m.op);
	m.test = be32toh(m.test);
	m.seed = be32toh(m.seed);
	m.status = be32toh(m.status);
	return m;
}

static void th_listen(struct th *t)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(t->o.port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		th_die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		th_die("bind/listen");
	printf("# server: listening on port %d\n", t->o.port);
	fflush(stdout);
	t->sock = accept(fd, NULL, NULL);
	if (t->sock < 0)
		th_die("accept");
	close(fd);
}

/* Connect, retrying for a minute while the server is not up yet. */
static void th_connect(struct th *t)
{
	struct addrinfo hints = {
		.ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai;
	struct timespec t0;
	char port[16];
	int ret;

	snprintf(port, sizeof(port), "%d", t->o.port);
	ret = getaddrinfo(t->o.host, port, &hints, &ai);
	if (ret) {
		fprintf(stderr, "rxe_odp_2host: %s: %s\n", t->o.host,
			gai_strerror(ret));
		exit(1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		t->sock = socket(AF_INET, SOCK_STREAM, 0);
		if (t->sock < 0)
			th_die("socket");
		if (!connect(t->sock, ai->ai_addr, ai->ai_addrlen))
			break;
		if (rv_ms_since(&t0) > 60000)
			th_die("connect");
		close(t->sock);
		sleep(1);
	}
	freeaddrinfo(ai);
}

static long th_counter(struct th *t, const char *name)
{
	char path[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/%d/hw_counters/%s",
		 t->o.dev, RV_PORT, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int th_setup(struct th *t)
{
	struct ibv_device_attr_ex attr = {};
	struct ibv_port_attr pattr;
	struct ibv_qp_init_attr qpa = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = TH_MAX_WR, .max_recv_wr = TH_MAX_WR,
			.max_send_sge = 1, .max_recv_sge = 1,
		},
	};
	int access = RV_ACCESS_ALL;

	t->ctx = rv_open_device(t->o.dev);
	if (!t->ctx)
		th_die(t->o.dev);
	if (ibv_query_device_ex(t->ctx, NULL, &attr))
		th_die("ibv_query_device_ex");
	if (t->o.odp && !rv_odp_supported(&attr, RV_ODP_RC_ALL)) {
		printf("SKIP: %s has no ODP for RC send/recv/write/read/atomic\n",
		       t->o.dev);
		return TH_SKIP;
	}
	if (t->o.implicit &&
	    !(attr.odp_caps.general_caps & IBV_ODP_SUPPORT_IMPLICIT)) {
		printf("SKIP: %s has no implicit ODP\n", t->o.dev);
		return TH_SKIP;
	}
	if (ibv_query_port(t->ctx, RV_PORT, &pattr))
		th_die("ibv_query_port");
	t->mtu = pattr.active_mtu;
	t->gidx = rv_find_gid(t->ctx, RV_PORT, pattr.gid_tbl_len, &t->gid);
	if (t->gidx < 0) {
		errno = ENOENT;
		th_die("no IPv4-mapped RoCE v2 GID");
	}
	t->pd = ibv_alloc_pd(t->ctx);
	t->cq = ibv_create_cq(t->ctx, 2 * TH_MAX_WR, NULL, NULL, 0);
	if (!t->pd || !t->cq)
		th_die("ibv_alloc_pd/ibv_create_cq");
	qpa.send_cq = t->cq;
	qpa.recv_cq = t->cq;
	t->qp = ibv_create_qp(t->pd, &qpa);
	if (!t->qp)
		th_die("ibv_create_qp");

	t->buf = mmap(NULL, t->o.len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->buf == MAP_FAILED)
		th_die("mmap");
	if (t->o.odp)
		access |= IBV_ACCESS_ON_DEMAND;
	if (t->o.implicit)
		t->mr = ibv_reg_mr(t->pd, NULL, SIZE_MAX, access);
	else
		t->mr = ibv_reg_mr(t->pd, t->buf, t->o.len, access);
	if (!t->mr)
		th_die("ibv_reg_mr");
	return 0;
}

static void th_exchange(struct th *t)
{
	struct th_info me = {
		.qpn = htobe32(t->qp->qp_num),
		.psn = htobe32(RV_PSN),
		.rkey = htobe32(t->mr->rkey),
		.mtu = htobe32(t->mtu),
		.addr = htobe64((uintptr_t)t->buf),
		.len = htobe64(t->o.len),
	};
	struct th_info *p = &t->peer;
	char gid[INET6_ADDRSTRLEN];

	memcpy(me.gid, t->gid.raw, sizeof(me.gid));
	th_xfer(t, &me, sizeof(me), true);
	th_xfer(t, p, sizeof(*p), false);
	p->qpn = be32toh(p->qpn);
	p->psn = be32toh(p->psn);
	p->rkey = be32toh(p->rkey);
	p->mtu = be32toh(p->mtu);
	p->addr = be64toh(p->addr);
	p->len = be64toh(p->len);
	if (p->len != t->o.len) {
		fprintf(stderr, "rxe_odp_2host: buffer %zu here, %llu there\n",
			t->o.len, (unsigned long long)p->len);
		exit(1);
	}
	/* Both ends must agree on the path MTU: take the smaller. */
	if (p->mtu < t->mtu)
		t->mtu = p->mtu;
	inet_ntop(AF_INET6, p->gid, gid, sizeof(gid));
	printf("# %s: %s %s memory, local qpn %u gid index %d; peer qpn %u gid %s, path mtu %d\n",
	       t->role, t->o.dev, t->o.implicit ? "implicit ODP" :
	       t->o.odp ? "ODP" : "pinned", t->qp->qp_num, t->gidx, p->qpn,
	       gid, 128 << t->mtu);
}

static void th_connect_qp(struct th *t)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = RV_PORT,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ |
				   IBV_ACCESS_REMOTE_ATOMIC,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = t->mtu,
		.dest_qp_num = t->peer.qpn,
		.rq_psn = t->peer.psn,
		.max_dest_rd_atomic = TH_WINDOW,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = RV_PORT,
			.grh = {
				.sgid_index = t->gidx,
				.hop_limit = 64,
			},
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = RV_PSN,
		.timeout = t->o.ack_timeout,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = TH_WINDOW,
	};
	int ret;

	memcpy(rtr.ah_attr.grh.dgid.raw, t->peer.gid, 16);
	ret = ibv_modify_qp(t->qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (!ret)
		ret = ibv_modify_qp(t->qp, &rtr, IBV_QP_STATE | IBV_QP_AV |
				    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
				    IBV_QP_MIN_RNR_TIMER);
	if (!ret)
		ret = ibv_modify_qp(t->qp, &rts, IBV_QP_STATE | IBV_QP_SQ_PSN |
				    IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				    IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
	if (ret) {
		errno = ret;
		th_die("ibv_modify_qp");
	}
}

/*
 * Wait for one completion; false (with a message) on a timeout or an
 * error status.
 */
static bool th_wait_wc(struct th *t, struct ibv_wc *wc)
{
	struct timespec t0;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		n = ibv_poll_cq(t->cq, 1, wc);
		if (n < 0) {
			printf("# %s: ibv_poll_cq: %d\n", t->role, n);
			return false;
		}
		if (n)
			break;
		if (rv_ms_since(&t0) > t->o.tmo_ms) {
			printf("# %s: no completion within %d ms\n", t->role,
			       t->o.tmo_ms);
			return false;
		}
		sched_yield();
	}
	if (wc->status != IBV_WC_SUCCESS) {
		printf("# %s: wr_id %llu: %s (vendor_err 0x%x)\n", t->role,
		       (unsigned long long)wc->wr_id,
		       ibv_wc_status_str(wc->status), wc->vendor_err);
		return false;
	}
	return true;
}

/* The whole buffer is about to be the target of the device. */
static void th_drop(struct th *t)
{
	if (!t->o.odp) {
		memset(t->buf, 0, t->o.len);
		return;
	}
	/* Zero pages on the next touch, and an invalidation for the MR. */
	if (madvise(t->buf, t->o.len, MADV_DONTNEED))
		th_die("madvise");
}

/*
 * Where did the 16 bytes at @p (offset @off) come from?  Searches the
 * patterns of every test of rounds 1 to @rounds at the offsets with the
 * same remainder modulo 256 (data moves by whole packets), and zeroes.
 */
static void th_whence(struct th *t, const __u8 *p, size_t off, size_t avail)
{
	size_t n = avail < 16 ? avail : 16, idx, k;
	int r, test;
	__u32 seed;

	for (k = 0; k < n && !p[k]; k++)
		;
	if (k == n) {
		printf("# %s:   they are zeroes\n", t->role);
		return;
	}
	for (r = 1; r <= t->o.rounds; r++) {
		for (test = 0; test < TH_NTESTS; test++) {
			seed = r * 16 + test;
			for (idx = off % 256; idx + n <= t->o.len; idx += 256) {
				if (rv_mismatch(p, n, seed, idx) >= 0)
					continue;
				printf("# %s:   they are pattern %u (%s, round %d) at %zu\n",
				       t->role, seed, th_names[test], r, idx);
				return;
			}
		}
	}
	printf("# %s:   no pattern of this run has them\n", t->role);
}

/* 0, or 1 + the offset of the first byte of the buffer not of @seed. */
static __u32 th_verify(struct th *t, __u32 seed, const char *what)
{
	long i = rv_mismatch(t->buf, t->o.len, seed, 0), last = i, nbad = 0;
	size_t j;

	if (i < 0) {
		t->verified += t->o.len;
		return 0;
	}
	for (j = i; j < t->o.len; j++) {
		if (t->buf[j] != rv_pat(seed, j)) {
			last = j;
			nbad++;
		}
	}
	printf("# %s: %s: byte %ld is 0x%02x, want 0x%02x (pattern %u)\n",
	       t->role, what, i, t->buf[i], rv_pat(seed, i), seed);
	printf("# %s:   %ld bad bytes from %ld to %ld\n", t->role, nbad, i, last);
	th_whence(t, t->buf + i, i, t->o.len - i);
	return i + 1;
}

/*
 * Client: @opcode over the whole buffer in chunks, TH_WINDOW in flight,
 * local and remote offsets equal.
 */
static bool th_stream(struct th *t, enum ibv_wr_opcode opcode)
{
	size_t off = 0, n = t->o.len;
	size_t todo = (n + t->o.chunk - 1) / t->o.chunk;
	int inflight = 0;
	struct ibv_wc wc;

	while (todo) {
		while (off < n && inflight < TH_WINDOW) {
			size_t len = n - off < t->o.chunk ? n - off : t->o.chunk;
			struct ibv_sge sge = rv_sge(t->mr, t->buf + off, len);
			struct ibv_send_wr wr = {
				.wr_id = off,
				.sg_list = &sge,
				.num_sge = 1,
				.opcode = opcode,
				.send_flags = IBV_SEND_SIGNALED,
			};
			struct ibv_send_wr *bad;
			int ret;

			if (opcode != IBV_WR_SEND) {
				wr.wr.rdma.remote_addr = t->peer.addr + off;
				wr.wr.rdma.rkey = t->peer.rkey;
			}
			ret = ibv_post_send(t->qp, &wr, &bad);
			if (ret) {
				printf("# client: ibv_post_send: %s\n",
				       strerror(ret));
				return false;
			}
			off += len;
			inflight++;
		}
		if (!th_wait_wc(t, &wc))
			return false;
		todo--;
		inflight--;
	}
	return true;
}

/* Client: one atomic work request, its original value into @res. */
static bool th_atomic(struct th *t, enum ibv_wr_opcode opcode, __u64 *res,
		      __u64 remote, __u64 add_or_cmp, __u64 swap)
{
	struct ibv_sge sge = rv_sge(t->mr, res, sizeof(*res));
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = opcode,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.atomic = {
			.remote_addr = remote,
			.compare_add = add_or_cmp,
			.swap = swap,
			.rkey = t->peer.rkey,
		},
	};
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int ret;

	ret = ibv_post_send(t->qp, &wr, &bad);
	if (ret) {
		printf("# client: ibv_post_send: %s\n", strerror(ret));
		return false;
	}
	return th_wait_wc(t, &wc);
}

static __u64 th_atomic_base(__u32 seed)
{
	return (__u64)seed << 32 | 0x1000;
}

static __u64 th_atomic_swap(__u32 seed)
{
	return ~th_atomic_base(seed);
}

/* The 8-byte word the atomic test works on: mid-buffer, so on a page of its own. */
static size_t th_atomic_off(struct th *t)
{
	return (t->o.len / 2) & ~(size_t)7;
}

/* Server: get ready for @test; 0 or a failure status for the client. */
static __u32 th_server_prep(struct th *t, int test, __u32 seed)
{
	size_t i, n;

	th_drop(t);
	switch (test) {
	case TH_READ:
		rv_fill(t->buf, t->o.len, seed, 0);
		break;
	case TH_SEND:
		n = (t->o.len + t->o.chunk - 1) / t->o.chunk;
		for (i = 0; i < n; i++) {
			size_t off = i * t->o.chunk;
			size_t len = t->o.len - off < t->o.chunk ?
				     t->o.len - off : t->o.chunk;
			struct ibv_sge sge = rv_sge(t->mr, t->buf + off, len);
			struct ibv_recv_wr wr = {
				.wr_id = off, .sg_list = &sge, .num_sge = 1,
			};
			struct ibv_recv_wr *bad;
			int ret = ibv_post_recv(t->qp, &wr, &bad);

			if (ret) {
				printf("# server: ibv_post_recv: %s\n",
				       strerror(ret));
				return 1;
			}
		}
		break;
	case TH_ATOMIC:
		*(__u64 *)(t->buf + th_atomic_off(t)) = th_atomic_base(seed);
		break;
	}
	return 0;
}

/* Server: the client is done with @test; check what arrived. */
static __u32 th_server_check(struct th *t, int test, __u32 seed)
{
	size_t i, n, off;
	struct ibv_wc wc;
	__u64 v;

	switch (test) {
	case TH_WRITE:
		return th_verify(t, seed, "RDMA WRITE target");
	case TH_SEND:
		n = (t->o.len + t->o.chunk - 1) / t->o.chunk;
		for (i = 0; i < n; i++) {
			if (!th_wait_wc(t, &wc))
				return 1;
			off = i * t->o.chunk;
			if (wc.opcode != IBV_WC_RECV || wc.wr_id != off ||
			    wc.byte_len != (t->o.len - off < t->o.chunk ?
					    t->o.len - off : t->o.chunk)) {
				printf("# server: receive %zu: opcode %d wr_id %llu byte_len %u\n",
				       i, wc.opcode,
				       (unsigned long long)wc.wr_id,
				       wc.byte_len);
				return 1;
			}
		}
		return th_verify(t, seed, "receive buffers");
	case TH_ATOMIC:
		v = *(__u64 *)(t->buf + th_atomic_off(t));
		if (v != th_atomic_swap(seed)) {
			printf("# server: atomic word 0x%llx, want 0x%llx\n",
			       (unsigned long long)v,
			       (unsigned long long)th_atomic_swap(seed));
			return th_atomic_off(t) + 1;
		}
		t->verified += sizeof(v);
		return 0;
	}
	return 0;	/* TH_READ: the client checks */
}

/* Client: run @test against the prepared server; 0 or a status. */
static __u32 th_client_run(struct th *t, int test, __u32 seed)
{
	__u64 base = th_atomic_base(seed), *res;
	__u64 remote = t->peer.addr + th_atomic_off(t);
	int i;

	switch (test) {
	case TH_WRITE:
	case TH_SEND:
		th_drop(t);
		rv_fill(t->buf, t->o.len, seed, 0);
		return th_stream(t, test == TH_WRITE ? IBV_WR_RDMA_WRITE :
				 IBV_WR_SEND) ? 0 : 1;
	case TH_READ:
		th_drop(t);
		if (!th_stream(t, IBV_WR_RDMA_READ))
			return 1;
		return th_verify(t, seed, "RDMA READ target");
	case TH_ATOMIC:
		th_drop(t);
		/* The original values land on fresh (ODP: unmapped) pages. */
		for (i = 0; i < TH_ATOMICS; i++) {
			res = (__u64 *)(t->buf + (size_t)i * 4096 % t->o.len);
			*res = 0;
			if (!th_atomic(t, IBV_WR_ATOMIC_FETCH_AND_ADD, res,
				       remote, 1, 0))
				return 1;
			if (*res != base + i) {
				printf("# client: fetch-add %d returned 0x%llx, want 0x%llx\n",
				       i, (unsigned long long)*res,
				       (unsigned long long)(base + i));
				return 1;
			}
		}
		res = (__u64 *)(t->buf + t->o.len - 8);
		if (!th_atomic(t, IBV_WR_ATOMIC_CMP_AND_SWP, res, remote,
			       base + TH_ATOMICS, th_atomic_swap(seed)))
			return 1;
		if (*res != base + TH_ATOMICS) {
			printf("# client: compare-swap returned 0x%llx, want 0x%llx\n",
			       (unsigned long long)*res,
			       (unsigned long long)(base + TH_ATOMICS));
			return 1;
		}
		t->verified += (TH_ATOMICS + 1) * sizeof(*res);
		return 0;
	}
	return 1;
}

static void th_report(struct th *t, const char *test, int round, __u32 st,
		      __u32 peer_st)
{
	if (!st && !peer_st) {
		t->passed++;
		printf("ok %s round %d\n", test, round);
	} else {
		t->failed++;
		printf("not ok %s round %d:%s%s\n", test, round,
		       st ? " failed here" : "", peer_st ? " failed there" : "");
	}
	fflush(stdout);
}

/*
 * Client: all rounds of all tests, up to the first failure (after which
 * the QP is in an error state, or stuck).
 */
static void th_client(struct th *t)
{
	struct th_msg m;
	int r, test;
	__u32 seed, st;

	for (r = 1; r <= t->o.rounds && !t->failed; r++) {
		for (test = 0; test < TH_NTESTS && !t->failed; test++) {
			if (!(t->o.tests & 1u << test))
				continue;
			seed = r * 16 + test;
			th_send_msg(t, TH_OP_PREP, test, seed, 0);
			m = th_recv_msg(t);
			if (m.status) {
				th_report(t, th_names[test], r, 0, m.status);
				continue;
			}
			st = th_client_run(t, test, seed);
			th_send_msg(t, TH_OP_DONE, test, seed, st);
			m = th_recv_msg(t);
			th_report(t, th_names[test], r, st, m.status);
		}
	}
	th_send_msg(t, TH_OP_BYE, 0, 0, t->failed);
}

static void th_server(struct th *t)
{
	struct th_msg m;
	__u32 st;

	for (;;) {
		m = th_recv_msg(t);
		switch (m.op) {
		case TH_OP_PREP:
			if (m.test >= TH_NTESTS)
				th_die("bad test from the client");
			st = th_server_prep(t, m.test, m.seed);
			th_send_msg(t, TH_OP_PREP, m.test, m.seed, st);
			if (st)
				th_report(t, th_names[m.test], m.seed / 16,
					  st, 0);
			break;
		case TH_OP_DONE:
			st = th_server_check(t, m.test, m.seed);
			th_send_msg(t, TH_OP_DONE, m.test, m.seed, st);
			th_report(t, th_names[m.test], m.seed / 16, st,
				  m.status);
			break;
		case TH_OP_BYE:
			return;
		default:
			errno = EPROTO;
			th_die("bad message from the client");
		}
	}
}

static unsigned int th_parse_tests(char *s)
{
	unsigned int mask = 0;
	char *tok, *save;
	int i;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < TH_NTESTS; i++)
			if (!strcmp(tok, th_names[i]))
				break;
		if (i == TH_NTESTS) {
			fprintf(stderr, "rxe_odp_2host: unknown test %s\n", tok);
			exit(2);
		}
		mask |= 1u << i;
	}
	return mask;
}

static void th_usage(void)
{
	fprintf(stderr,
		"usage: rxe_odp_2host -s [-o|-i] [-F] [-d DEV] [-p PORT] [-n BYTES] [-c BYTES]\n"
		"                     [-T SEC] [-a EXP]\n"
		"       rxe_odp_2host [-o|-i] [-F] [-d DEV] [-p PORT] [-n BYTES] [-c BYTES]\n"
		"                     [-r ROUNDS] [-t write,read,send,atomic] [-T SEC] [-a EXP] HOST\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct th t = {
		.o = {
			.dev = RV_DEFAULT_DEV, .port = 18600,
			.len = 4 << 20, .chunk = 64 << 10, .rounds = 3,
			.tests = (1u << TH_NTESTS) - 1, .tmo_ms = 60000,
			.ack_timeout = 14,
		},
		.sock = -1,
	};
	long faults0, faults1;
	bool server = false;
	int c, ret;

	while ((c = getopt(argc, argv, "soiFd:p:n:c:r:t:T:a:")) != -1) {
		switch (c) {
		case 's':
			server = true;
			break;
		case 'o':
			t.o.odp = true;
			break;
		case 'i':
			t.o.odp = true;
			t.o.implicit = true;
			break;
		case 'F':
			t.o.need_faults = true;
			break;
		case 'd':
			t.o.dev = optarg;
			break;
		case 'p':
			t.o.port = atoi(optarg);
			break;
		case 'n':
			t.o.len = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			t.o.chunk = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			t.o.rounds = atoi(optarg);
			break;
		case 't':
			t.o.tests = th_parse_tests(optarg);
			break;
		case 'T':
			t.o.tmo_ms = atoi(optarg) * 1000;
			break;
		case 'a':
			t.o.ack_timeout = atoi(optarg);
			break;
		default:
			th_usage();
		}
	}
	if (optind + !server != argc)
		th_usage();
	t.o.host = server ? NULL : argv[optind];
	t.role = server ? "server" : "client";
	if (t.o.len < 8192 || t.o.len % 4096 || !t.o.chunk ||
	    (t.o.len + t.o.chunk - 1) / t.o.chunk > TH_MAX_WR ||
	    t.o.rounds < 1 || t.o.tmo_ms <= 0 || t.o.ack_timeout < 1 ||
	    t.o.ack_timeout > 31) {
		fprintf(stderr, "rxe_odp_2host: bad options: %s, %d chunks at most; -a 1 to 31\n",
			"buffer a multiple of 4096, 8192 or more", TH_MAX_WR);
		exit(2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Resources first, so that a skip is said before the peer waits. */
	ret = th_setup(&t);
	if (ret)
		return ret;
	if (server)
		th_listen(&t);
	else
		th_connect(&t);
	th_exchange(&t);
	th_connect_qp(&t);

	faults0 = th_counter(&t, "odp_page_faults");
	if (server)
		th_server(&t);
	else
		th_client(&t);
	faults1 = th_counter(&t, "odp_page_faults");

	printf("rxe_odp_2host: %s: %d passed, %d failed, %llu bytes verified here",
	       t.role, t.passed, t.failed, t.verified);
	if (faults0 >= 0)
		printf(", odp_page_faults +%ld", faults1 - faults0);
	printf("\n");
	if (t.o.need_faults && t.o.odp && !(faults0 >= 0 && faults1 > faults0)) {
		printf("not ok: ODP here but no page faults counted on %s\n",
		       t.o.dev);
		t.failed++;
	}
	return t.failed || !t.passed;
}
