/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Copyright (c) 2026 The rxe-odp authors.
 *
 * rv_loop.h - loopback RC QP helpers on top of rv_common.h.
 *
 * struct rv_loop is an open device with its IPv4-mapped RoCE v2 GID and one
 * PD; struct rv_qp is one RC QP with a CQ of its own.  rv_pair_create()
 * makes two such QPs connected to each other through the GID, so a work
 * request posted on one runs against memory registered on the same PD:
 *
 *	struct rv_loop l;
 *	struct rv_qp a, b;
 *
 *	if (rv_loop_open(&l, NULL) == -ENODEV)
 *		SKIP(return, "no device");
 *	rv_pair_create(&l, &a, &b);
 *	src = rv_reg(&l, sbuf, len, true);		(ODP MR)
 *	dst = rv_reg(&l, dbuf, len, true);
 *	st = rv_write(&a, src, sbuf, len, dst, dbuf);	(0: IBV_WC_SUCCESS)
 *	...
 *	rv_pair_destroy(&a, &b);
 *	rv_loop_close(&l);			(after the MRs are deregistered)
 *
 * Nothing here uses the harness (no ASSERT, no TH_LOG), so everything works
 * in threads and forked children.  Setup functions return 0 or a negative
 * errno.  The RDMA helpers post one signaled work request, wait for its
 * completion (up to q->timeout_ms, RV_CQ_TIMEOUT_MS by default) and return
 * its status: IBV_WC_SUCCESS (0), another enum ibv_wc_status (> 0, the QP
 * is then in the error state: rv_pair_reset() replaces both QPs), or a
 * negative errno: -ETIMEDOUT when no completion came, -EPROTO when the
 * completion was not the expected one, or the error of ibv_post_*().
 * rv_status_str() names any of them.
 *
 * A QP pair is used by one thread at a time; several threads each use
 * their own pair on the same struct rv_loop.
 */
#ifndef RV_LOOP_H
#define RV_LOOP_H

#include <stdlib.h>

#include "rv_common.h"

#define RV_LOOP_DEPTH		64
#define RV_LOOP_MAX_MTU		IBV_MTU_1024
#define RV_LOOP_RD_ATOMIC	16

struct rv_loop {
	struct ibv_context *ctx;
	struct ibv_device_attr_ex attr;
	struct ibv_pd *pd;
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
	__u8 rd_atomic;
};

struct rv_qp {
	struct ibv_qp *qp;
	struct ibv_cq *cq;
	/* wr_id of the last work request posted by the helpers. */
	__u64 wr_id;
	int timeout_ms;
};

/*
 * Open device @name (NULL: $RXE_DEV, else "rxe0"), find its loopback GID
 * and allocate a PD.  0, -ENODEV if there is no such device, -ENETDOWN if
 * port 1 is not active, -EADDRNOTAVAIL without an IPv4-mapped RoCE v2 GID.
 * Whatever was set up is released by rv_loop_close(), even on failure.
 */
static inline int rv_loop_open(struct rv_loop *l, const char *name)
{
	struct ibv_device_attr *dev = &l->attr.orig_attr;
	struct ibv_port_attr port;
	int ret;

	memset(l, 0, sizeof(*l));
	if (!name)
		name = getenv("RXE_DEV") ?: RV_DEFAULT_DEV;
	l->ctx = rv_open_device(name);
	if (!l->ctx)
		return -(errno ?: ENODEV);
	ret = ibv_query_device_ex(l->ctx, NULL, &l->attr);
	if (!ret)
		ret = ibv_query_port(l->ctx, RV_PORT, &port);
	if (ret)
		return -ret;
	if (port.state != IBV_PORT_ACTIVE)
		return -ENETDOWN;
	l->gid_index = rv_find_gid(l->ctx, RV_PORT, port.gid_tbl_len, &l->gid);
	if (l->gid_index < 0)
		return -EADDRNOTAVAIL;
	l->mtu = port.active_mtu < RV_LOOP_MAX_MTU ? port.active_mtu :
						      RV_LOOP_MAX_MTU;
	l->rd_atomic = RV_LOOP_RD_ATOMIC;
	if (dev->max_qp_rd_atom < l->rd_atomic)
		l->rd_atomic = dev->max_qp_rd_atom;
	if (dev->max_qp_init_rd_atom < l->rd_atomic)
		l->rd_atomic = dev->max_qp_init_rd_atom;
	l->pd = ibv_alloc_pd(l->ctx);
	return l->pd ? 0 : -(errno ?: ENOMEM);
}

/* Does the device do ODP for RC with SEND, RECV, WRITE, READ and atomics? */
static inline bool rv_loop_odp(const struct rv_loop *l)
{
	return rv_odp_supported(&l->attr, RV_ODP_RC_ALL);
}

/* Release the PD and the device (QPs and MRs must be gone already). */
static inline void rv_loop_close(struct rv_loop *l)
{
	if (l->pd)
		ibv_dealloc_pd(l->pd);
	if (l->ctx)
		ibv_close_device(l->ctx);
	l->pd = NULL;
	l->ctx = NULL;
}

/* Register @len bytes at @addr with every access right, ODP if @odp. */
static inline struct ibv_mr *rv_reg(struct rv_loop *l, void *addr, size_t len,
				    bool odp)
{
	return ibv_reg_mr(l->pd, addr, len,
			  RV_ACCESS_ALL | (odp ? IBV_ACCESS_ON_DEMAND : 0));
}

static inline void rv_qp_destroy(struct rv_qp *q)
{
	if (q->qp)
		ibv_destroy_qp(q->qp);
	if (q->cq)
		ibv_destroy_cq(q->cq);
	q->qp = NULL;
	q->cq = NULL;
}

/* Create an RC QP (in RESET) with its own CQ: 0 or -errno. */
static inline int rv_qp_create(struct rv_loop *l, struct rv_qp *q)
{
	struct ibv_qp_init_attr attr = {
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 1,
		.cap = {
			.max_send_wr = RV_LOOP_DEPTH,
			.max_recv_wr = RV_LOOP_DEPTH,
			.max_send_sge = 4,
			.max_recv_sge = 4,
		},
	};

	memset(q, 0, sizeof(*q));
	q->timeout_ms = RV_CQ_TIMEOUT_MS;
	q->cq = ibv_create_cq(l->ctx, 2 * RV_LOOP_DEPTH, NULL, NULL, 0);
	if (!q->cq)
		return -(errno ?: ENOMEM);
	attr.send_cq = q->cq;
	attr.recv_cq = q->cq;
	q->qp = ibv_create_qp(l->pd, &attr);
	if (!q->qp) {
		int err = errno ?: EINVAL;

		rv_qp_destroy(q);
		return -err;
	}
	return 0;
}

/* Bring @q through INIT and RTR to RTS, connected to QP @dest_qpn. */
static inline int rv_qp_connect(struct rv_loop *l, struct rv_qp *q,
				__u32 dest_qpn)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = RV_PORT,
		.qp_access_flags = RV_ACCESS_ALL,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = l->mtu,
		.dest_qp_num = dest_qpn,
		.rq_psn = RV_PSN,
		.max_dest_rd_atomic = l->rd_atomic,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = RV_PORT,
			.grh = {
				.dgid = l->gid,
				.sgid_index = l->gid_index,
				.hop_limit = 64,
			},
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = RV_PSN,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = l->rd_atomic,
	};
	int ret;

	ret = ibv_modify_qp(q->qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (!ret)
		ret = ibv_modify_qp(q->qp, &rtr, IBV_QP_STATE | IBV_QP_AV |
				    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
				    IBV_QP_MIN_RNR_TIMER);
	if (!ret)
		ret = ibv_modify_qp(q->qp, &rts, IBV_QP_STATE | IBV_QP_SQ_PSN |
				    IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				    IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
	return -ret;
}

static inline void rv_pair_destroy(struct rv_qp *a, struct rv_qp *b)
{
	rv_qp_destroy(a);
	rv_qp_destroy(b);
}

/* Create QPs @a and @b connected to each other: 0 or -errno. */
static inline int rv_pair_create(struct rv_loop *l, struct rv_qp *a,
				 struct rv_qp *b)
{
	int ret;

	ret = rv_qp_create(l, a);
	if (!ret)
		ret = rv_qp_create(l, b);
	if (!ret)
		ret = rv_qp_connect(l, a, b->qp->qp_num);
	if (!ret)
		ret = rv_qp_connect(l, b, a->qp->qp_num);
	if (ret)
		rv_pair_destroy(a, b);
	return ret;
}

/* Replace both QPs of a pair, e.g. after an error completion. */
static inline int rv_pair_reset(struct rv_loop *l, struct rv_qp *a,
				struct rv_qp *b)
{
	rv_pair_destroy(a, b);
	return rv_pair_create(l, a, b);
}

/* Name of a helper's return value: a completion status or a -errno. */
static inline const char *rv_status_str(int st)
{
	if (st == -ETIMEDOUT)
		return "no completion (timeout)";
	if (st == -EPROTO)
		return "unexpected completion";
	if (st < 0)
		return strerror(-st);
	return ibv_wc_status_str(st);
}

/* Wait up to q->timeout_ms for one completion on @q's CQ: 0 or -errno. */
static inline int rv_poll(struct rv_qp *q, struct ibv_wc *wc)
{
	struct timespec t0;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		n = ibv_poll_cq(q->cq, 1, wc);
		if (n < 0)
			return -EIO;
		if (n)
			return 0;
		if (rv_ms_since(&t0) >= q->timeout_ms)
			return -ETIMEDOUT;
		sched_yield();
	}
}

/*
 * Wait for the completion of @wr_id with @opcode: its status, or -errno.
 * A successful completion of another work request or opcode is -EPROTO.
 */
static inline int rv_wait(struct rv_qp *q, __u64 wr_id,
			  enum ibv_wc_opcode opcode, struct ibv_wc *wc)
{
	int ret = rv_poll(q, wc);

	if (ret)
		return ret;
	if (wc->status != IBV_WC_SUCCESS)
		return wc->status;
	if (wc->wr_id != wr_id || wc->opcode != opcode)
		return -EPROTO;
	return IBV_WC_SUCCESS;
}

/* Post @wr (wr_id is set here) on @q and wait for it: its status. */
static inline int rv_post_wait(struct rv_qp *q, struct ibv_send_wr *wr,
			       enum ibv_wc_opcode opcode)
{
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int ret;

	wr->wr_id = ++q->wr_id;
	wr->send_flags |= IBV_SEND_SIGNALED;
	ret = ibv_post_send(q->qp, wr, &bad);
	if (ret)
		return -ret;
	return rv_wait(q, wr->wr_id, opcode, &wc);
}

/*
 * RDMA WRITE or READ (@op) of @len bytes between @laddr in local MR @lmr
 * and @raddr in remote MR @rmr, on @q: the completion status.
 */
static inline int rv_rdma(struct rv_qp *q, enum ibv_wr_opcode op,
			  struct ibv_mr *lmr, void *laddr, size_t len,
			  struct ibv_mr *rmr, void *raddr)
{
	struct ibv_sge sge = rv_sge(lmr, laddr, len);
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.wr.rdma.remote_addr = (uintptr_t)raddr,
		.wr.rdma.rkey = rmr->rkey,
	};

	return rv_post_wait(q, &wr, op == IBV_WR_RDMA_READ ?
			    IBV_WC_RDMA_READ : IBV_WC_RDMA_WRITE);
}

/* RDMA WRITE @len bytes from @laddr (in @lmr) to @raddr (in @rmr). */
static inline int rv_write(struct rv_qp *q, struct ibv_mr *lmr, void *laddr,
			   size_t len, struct ibv_mr *rmr, void *raddr)
{
	return rv_rdma(q, IBV_WR_RDMA_WRITE, lmr, laddr, len, rmr, raddr);
}

/* RDMA READ @len bytes from @raddr (in @rmr) into @laddr (in @lmr). */
static inline int rv_read(struct rv_qp *q, struct ibv_mr *lmr, void *laddr,
			  size_t len, struct ibv_mr *rmr, void *raddr)
{
	return rv_rdma(q, IBV_WR_RDMA_READ, lmr, laddr, len, rmr, raddr);
}

/*
 * Atomic @op (IBV_WR_ATOMIC_FETCH_AND_ADD: add @cmp_add; _CMP_AND_SWP:
 * compare with @cmp_add, swap in @swap) on the 8-byte word at @raddr in
 * @rmr; the old value lands at @laddr (8 bytes in @lmr).  The status.
 */
static inline int rv_atomic(struct rv_qp *q, enum ibv_wr_opcode op,
			    struct ibv_mr *lmr, void *laddr,
			    struct ibv_mr *rmr, void *raddr,
			    __u64 cmp_add, __u64 swap)
{
	struct ibv_sge sge = rv_sge(lmr, laddr, 8);
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.wr.atomic.remote_addr = (uintptr_t)raddr,
		.wr.atomic.compare_add = cmp_add,
		.wr.atomic.swap = swap,
		.wr.atomic.rkey = rmr->rkey,
	};

	return rv_post_wait(q, &wr, op == IBV_WR_ATOMIC_FETCH_AND_ADD ?
			    IBV_WC_FETCH_ADD : IBV_WC_COMP_SWAP);
}

/* Post a receive of @len bytes at @addr (in @mr) on @q: 0 or -errno. */
static inline int rv_post_recv_buf(struct rv_qp *q, struct ibv_mr *mr,
				   void *addr, size_t len)
{
	struct ibv_sge sge = rv_sge(mr, addr, len);
	struct ibv_recv_wr wr = {
		.wr_id = ++q->wr_id,
		.sg_list = &sge,
		.num_sge = 1,
	};
	struct ibv_recv_wr *bad;

	return -ibv_post_recv(q->qp, &wr, &bad);
}

/*
 * SEND @len bytes from @saddr (in @smr) on @s into a receive of @rlen
 * bytes at @raddr (in @rmr) posted here on @r, the peer of @s.  The
 * status of the send if it failed, else that of the receive; on success
 * *@byte_len (if not NULL) is the received length.
 */
static inline int rv_send_recv(struct rv_qp *s, struct ibv_mr *smr,
			       void *saddr, size_t len, struct rv_qp *r,
			       struct ibv_mr *rmr, void *raddr, size_t rlen,
			       __u32 *byte_len)
{
	struct ibv_sge sge = rv_sge(smr, saddr, len);
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
	};
	struct ibv_wc wc;
	int ret;

	ret = rv_post_recv_buf(r, rmr, raddr, rlen);
	if (ret)
		return ret;
	ret = rv_post_wait(s, &wr, IBV_WC_SEND);
	if (ret)
		return ret;
	ret = rv_wait(r, r->wr_id, IBV_WC_RECV, &wc);
	if (!ret && byte_len)
		*byte_len = wc.byte_len;
	return ret;
}

#endif /* RV_LOOP_H */
