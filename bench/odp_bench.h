/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Shared plumbing of the bench/ programs: one rxe device, two RC QPs
 * connected to each other (loopback through rxe0 on lo), synchronous
 * RDMA operations and a monotonic clock.  Each program prints CSV rows
 * "workload,param,mode,value,unit" on stdout; the guest script adds the
 * repetition number.
 */
#ifndef ODP_BENCH_H
#define ODP_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#define OB_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		   IBV_ACCESS_REMOTE_READ)

struct ob {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
};

static inline void ob_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static inline uint64_t ob_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* Parse "4096", "64k", "1m", "16g" (binary units). */
static inline size_t ob_size(const char *s)
{
	char *end;
	size_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': return v << 10;
	case 'm': case 'M': return v << 20;
	case 'g': case 'G': return v << 30;
	default: return v;
	}
}

static inline void *ob_map(size_t len, int nohuge)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		ob_die("mmap %zu: %s", len, strerror(errno));
	if (nohuge)
		madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

static inline struct ibv_mr *ob_reg(struct ob *b, void *p, size_t len, int odp)
{
	struct ibv_mr *mr = ibv_reg_mr(b->pd, p, len,
				       OB_ACCESS | (odp ? IBV_ACCESS_ON_DEMAND : 0));

	if (!mr)
		ob_die("ibv_reg_mr %zu%s: %s", len, odp ? " odp" : "",
		       strerror(errno));
	return mr;
}

static inline void ob_qp_connect(struct ob *b, struct ibv_qp *qp, uint32_t dqpn)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .pkey_index = 0, .port_num = 1,
		.qp_access_flags = OB_ACCESS | IBV_ACCESS_REMOTE_ATOMIC,
	};

	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		ob_die("modify INIT: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = b->mtu;
	a.dest_qp_num = dqpn;
	a.rq_psn = 0;
	a.max_dest_rd_atomic = 16;
	a.min_rnr_timer = 1;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = b->gid;
	a.ah_attr.grh.sgid_index = b->gid_index;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = 1;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		ob_die("modify RTR: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.sq_psn = 0;
	a.max_rd_atomic = 16;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			  IBV_QP_MAX_QP_RD_ATOMIC))
		ob_die("modify RTS: %s", strerror(errno));
}

/* Open $RXE_ODP_DEV (default rxe0) and connect two RC QPs to each other. */
static inline void ob_open(struct ob *b)
{
	const char *name = getenv("RXE_ODP_DEV") ?: "rxe0";
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 64, .max_recv_wr = 64,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_port_attr pa;
	int i;

	memset(b, 0, sizeof(*b));
	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			b->ctx = ibv_open_device(list[i]);
	if (!b->ctx)
		ob_die("no device %s", name);
	ibv_free_device_list(list);
	if (ibv_query_port(b->ctx, 1, &pa))
		ob_die("query_port: %s", strerror(errno));
	b->mtu = pa.active_mtu;
	/* A RoCEv2 IPv4-mapped GID (127.0.0.1 on lo), else index 1, else 0. */
	b->gid_index = -1;
	for (i = 0; i < pa.gid_tbl_len && i < 16; i++) {
		struct ibv_gid_entry e;

		if (ibv_query_gid_ex(b->ctx, 1, i, &e, 0))
			continue;
		if (e.gid_type == IBV_GID_TYPE_ROCE_V2 &&
		    e.gid.raw[10] == 0xff && e.gid.raw[11] == 0xff) {
			b->gid_index = i;
			b->gid = e.gid;
			break;
		}
	}
	if (b->gid_index < 0) {
		b->gid_index = 0;
		if (ibv_query_gid(b->ctx, 1, 0, &b->gid))
			ob_die("query_gid: %s", strerror(errno));
	}
	b->pd = ibv_alloc_pd(b->ctx);
	b->cq = ibv_create_cq(b->ctx, 256, NULL, NULL, 0);
	if (!b->pd || !b->cq)
		ob_die("pd/cq: %s", strerror(errno));
	qa.send_cq = qa.recv_cq = b->cq;
	for (i = 0; i < 2; i++) {
		b->qp[i] = ibv_create_qp(b->pd, &qa);
		if (!b->qp[i])
			ob_die("create_qp: %s", strerror(errno));
	}
	ob_qp_connect(b, b->qp[0], b->qp[1]->qp_num);
	ob_qp_connect(b, b->qp[1], b->qp[0]->qp_num);
}

/* Post an RDMA WRITE or READ on qp[0] (local -> remote) and wait for it. */
static inline int ob_rdma(struct ob *b, enum ibv_wr_opcode op, void *laddr,
			  struct ibv_mr *lmr, uint64_t raddr, uint32_t rkey,
			  size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)laddr, .length = len, .lkey = lmr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;
	struct ibv_wc wc;
	int n;

	if (ibv_post_send(b->qp[0], &wr, &bad))
		ob_die("post_send: %s", strerror(errno));
	do
		n = ibv_poll_cq(b->cq, 1, &wc);
	while (n == 0);
	if (n < 0)
		ob_die("poll_cq");
	if (wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "bench: completion %s\n",
			ibv_wc_status_str(wc.status));
		return -1;
	}
	return 0;
}

static inline void ob_row(const char *workload, const char *param,
			  const char *mode, double value, const char *unit)
{
	printf("%s,%s,%s,%.6g,%s\n", workload, param, mode, value, unit);
	fflush(stdout);
}

#endif /* ODP_BENCH_H */
