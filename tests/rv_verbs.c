// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp authors.
 *
 * rv_verbs - data path tests for the soft-RoCE (rxe) driver.
 *
 * Two RC QPs on the same device are connected to each other through the
 * IPv4-mapped RoCE v2 GID of port 1 (loopback).  Every test fills its
 * buffers with a known per-byte pattern, runs one kind of operation and
 * then compares every byte of the destination buffer: the target range
 * must hold the expected data and all bytes around it must still hold the
 * sentinel pattern.
 *
 * The harness runs every test in its own process with a fresh fixture, so
 * a test that moves a QP to the error state does not affect the others.
 *
 * Memory regions are registered through rv_mr_reg(), which adds the access
 * flags of the fixture variant: "pinned" uses ordinary MRs, "odp" uses
 * IBV_ACCESS_ON_DEMAND and is skipped unless the device reports ODP
 * support for RC.  Buffers are anonymous private mappings so that ODP tests
 * can munmap() or madvise() them.
 *
 * Environment: RXE_DEV selects the RDMA device (default "rxe0").
 */
#include <endian.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rv_common.h"

#define RV_MAX_MTU		IBV_MTU_1024
#define RV_RD_ATOMIC		16
#define RV_CQ_DEPTH		256
#define RV_QP_DEPTH		128
#define RV_MAX_SGE		4
#define RV_MAX_BUFS		8
#define RV_MAX_MRS		8
#define RV_BIG			(1024 * 1024)
#define RV_IMM			0x12345678u
#define RV_FAA_N		100

struct rv_buf {
	void *addr;
	size_t len;
};

FIXTURE(rxe) {
	struct ibv_context *ctx;
	struct ibv_device_attr_ex dev_attr;
	struct ibv_port_attr port_attr;
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
	__u8 rd_atomic;
	struct ibv_pd *pd;
	struct ibv_cq *cq_a;
	struct ibv_cq *cq_b;
	struct ibv_qp *qp_a;
	struct ibv_qp *qp_b;
	size_t page;
	struct rv_buf buf[RV_MAX_BUFS];
	int nbuf;
	struct ibv_mr *mr[RV_MAX_MRS];
	int nmr;
};

FIXTURE_VARIANT(rxe) {
	/* Access flags added to every MR, e.g. IBV_ACCESS_ON_DEMAND. */
	unsigned int access_extra;
	/* RC ODP capabilities (IBV_ODP_SUPPORT_*) an ODP variant needs. */
	__u32 odp_rc_caps;
};

/* Ordinary, pinned memory regions. */
FIXTURE_VARIANT_ADD(rxe, pinned) {
	.access_extra = 0,
};

/* On-Demand Paging memory regions; skipped if the device lacks ODP. */
FIXTURE_VARIANT_ADD(rxe, odp) {
	.access_extra = IBV_ACCESS_ON_DEMAND,
	.odp_rc_caps = RV_ODP_RC_ALL,
};

/* Names for the structs behind FIXTURE(rxe) and FIXTURE_VARIANT(rxe). */
#define rv_fixture	FIXTURE_DATA(rxe)
#define rv_variant	FIXTURE_VARIANT(rxe)

/* Create an RC QP that uses @cq for both send and receive completions. */
static struct ibv_qp *rv_create_qp(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr attr = {
		.send_cq = cq,
		.recv_cq = cq,
		.cap = {
			.max_send_wr = RV_QP_DEPTH,
			.max_recv_wr = RV_QP_DEPTH,
			.max_send_sge = RV_MAX_SGE,
			.max_recv_sge = RV_MAX_SGE,
		},
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 1,
	};

	return ibv_create_qp(pd, &attr);
}

/* RESET -> INIT, with all remote access rights enabled. */
static int rv_qp_to_init(struct ibv_qp *qp)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = RV_PORT,
		.qp_access_flags = RV_ACCESS_ALL,
	};

	return ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

/* INIT -> RTR, addressing QP @dest_qpn through our own GID (loopback). */
static int rv_qp_to_rtr(rv_fixture *self, struct ibv_qp *qp, __u32 dest_qpn)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = self->mtu,
		.dest_qp_num = dest_qpn,
		.rq_psn = RV_PSN,
		.max_dest_rd_atomic = self->rd_atomic,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = RV_PORT,
			.grh = {
				.dgid = self->gid,
				.sgid_index = self->gid_index,
				.hop_limit = 64,
			},
		},
	};

	return ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_AV |
			     IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			     IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			     IBV_QP_MIN_RNR_TIMER);
}

/* RTR -> RTS. */
static int rv_qp_to_rts(rv_fixture *self, struct ibv_qp *qp)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = RV_PSN,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = self->rd_atomic,
	};

	return ibv_modify_qp(qp, &attr, IBV_QP_STATE | IBV_QP_SQ_PSN |
			     IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			     IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
}

/* Bring @qp to RTS, connected to QP @dest_qpn; returns 0 or an errno. */
static int rv_connect(rv_fixture *self, struct ibv_qp *qp, __u32 dest_qpn)
{
	int ret;

	ret = rv_qp_to_init(qp);
	if (!ret)
		ret = rv_qp_to_rtr(self, qp, dest_qpn);
	if (!ret)
		ret = rv_qp_to_rts(self, qp);
	return ret;
}

/* Map an anonymous private buffer and fill it with the sentinel pattern. */
static void *rv_buf_alloc(struct __test_metadata *_metadata, rv_fixture *self,
			  size_t len)
{
	void *p;

	ASSERT_GT(RV_MAX_BUFS, self->nbuf);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap(%zu): %s", len, strerror(errno));
	self->buf[self->nbuf].addr = p;
	self->buf[self->nbuf].len = len;
	self->nbuf++;
	rv_sentinel(p, len);
	return p;
}

/* Register an MR with @access plus the variant's extra access flags. */
static struct ibv_mr *rv_mr_reg(struct __test_metadata *_metadata,
				rv_fixture *self, const rv_variant *variant,
				void *buf, size_t len, unsigned int access)
{
	unsigned int flags = access | variant->access_extra;
	struct ibv_mr *mr;

	ASSERT_GT(RV_MAX_MRS, self->nmr);
	mr = ibv_reg_mr(self->pd, buf, len, flags);
	ASSERT_NE(NULL, mr) TH_LOG("ibv_reg_mr(%zu bytes, access 0x%x): %s",
				   len, flags, strerror(errno));
	self->mr[self->nmr++] = mr;
	return mr;
}

/* A sentinel-filled buffer, registered as a whole. */
struct rv_mem {
	__u8 *buf;
	struct ibv_mr *mr;
};

static struct rv_mem rv_mem_new(struct __test_metadata *_metadata,
				rv_fixture *self, const rv_variant *variant,
				size_t len, unsigned int access)
{
	struct rv_mem m;

	m.buf = rv_buf_alloc(_metadata, self, len);
	m.mr = rv_mr_reg(_metadata, self, variant, m.buf, len, access);
	return m;
}

/* Post a SEND of @nsge SGEs (0 for a zero-length message) on QP A. */
static void rv_send(struct __test_metadata *_metadata, rv_fixture *self,
		    __u64 wr_id, struct ibv_sge *sge, int nsge)
{
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = sge,
		.num_sge = nsge,
		.opcode = IBV_WR_SEND,
	};

	rv_post_send(_metadata, self->qp_a, &wr);
}

/* Post an RDMA READ/WRITE of one SGE (or none if @sge is NULL) on QP A. */
static void rv_rdma(struct __test_metadata *_metadata, rv_fixture *self,
		    enum ibv_wr_opcode op, __u64 wr_id, struct ibv_sge *sge,
		    void *raddr, __u32 rkey)
{
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = sge,
		.num_sge = sge ? 1 : 0,
		.opcode = op,
		.wr.rdma.remote_addr = (uintptr_t)raddr,
		.wr.rdma.rkey = rkey,
	};

	rv_post_send(_metadata, self->qp_a, &wr);
}

/* Post an 8-byte atomic on QP A; the original value lands in @sge. */
static void rv_atomic(struct __test_metadata *_metadata, rv_fixture *self,
		      enum ibv_wr_opcode op, __u64 wr_id, struct ibv_sge *sge,
		      void *raddr, __u32 rkey, __u64 compare_add, __u64 swap)
{
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = sge,
		.num_sge = 1,
		.opcode = op,
		.wr.atomic.remote_addr = (uintptr_t)raddr,
		.wr.atomic.compare_add = compare_add,
		.wr.atomic.swap = swap,
		.wr.atomic.rkey = rkey,
	};

	rv_post_send(_metadata, self->qp_a, &wr);
}

static bool rv_has_atomics(rv_fixture *self)
{
	return self->dev_attr.orig_attr.atomic_cap != IBV_ATOMIC_NONE;
}

FIXTURE_SETUP(rxe)
{
	const char *name = getenv("RXE_DEV") ?: RV_DEFAULT_DEV;
	struct ibv_device_attr *dev = &self->dev_attr.orig_attr;
	struct ibv_port_attr *port = &self->port_attr;
	__u32 odp_rc;

	self->page = sysconf(_SC_PAGESIZE);
	self->ctx = rv_open_device(name);
	if (!self->ctx && errno == ENODEV)
		SKIP(return, "RDMA device %s not found (set RXE_DEV)", name);
	ASSERT_NE(NULL, self->ctx) TH_LOG("cannot open %s: %s",
					  name, strerror(errno));
	ASSERT_EQ(0, ibv_query_device_ex(self->ctx, NULL, &self->dev_attr));

	odp_rc = self->dev_attr.odp_caps.per_transport_caps.rc_odp_caps;
	if ((variant->access_extra & IBV_ACCESS_ON_DEMAND) &&
	    !rv_odp_supported(&self->dev_attr, variant->odp_rc_caps))
		SKIP(return,
		     "device has no ODP support (general 0x%llx, rc 0x%x, need 0x%x)",
		     (unsigned long long)self->dev_attr.odp_caps.general_caps,
		     odp_rc, variant->odp_rc_caps);

	ASSERT_EQ(0, ibv_query_port(self->ctx, RV_PORT, port));
	ASSERT_TRUE(port->state == IBV_PORT_ACTIVE)
		TH_LOG("%s port %d is %s", name, RV_PORT,
		       ibv_port_state_str(port->state));
	self->gid_index = rv_find_gid(self->ctx, RV_PORT, port->gid_tbl_len,
				      &self->gid);
	ASSERT_LE(0, self->gid_index)
		TH_LOG("no IPv4-mapped RoCE v2 GID on %s port %d",
		       name, RV_PORT);
	self->mtu = port->active_mtu < RV_MAX_MTU ? port->active_mtu :
						    RV_MAX_MTU;
	self->rd_atomic = RV_RD_ATOMIC;
	if (dev->max_qp_rd_atom < self->rd_atomic)
		self->rd_atomic = dev->max_qp_rd_atom;
	if (dev->max_qp_init_rd_atom < self->rd_atomic)
		self->rd_atomic = dev->max_qp_init_rd_atom;

	self->pd = ibv_alloc_pd(self->ctx);
	ASSERT_NE(NULL, self->pd);
	self->cq_a = ibv_create_cq(self->ctx, RV_CQ_DEPTH, NULL, NULL, 0);
	ASSERT_NE(NULL, self->cq_a);
	self->cq_b = ibv_create_cq(self->ctx, RV_CQ_DEPTH, NULL, NULL, 0);
	ASSERT_NE(NULL, self->cq_b);
	self->qp_a = rv_create_qp(self->pd, self->cq_a);
	ASSERT_NE(NULL, self->qp_a) TH_LOG("create QP: %s", strerror(errno));
	self->qp_b = rv_create_qp(self->pd, self->cq_b);
	ASSERT_NE(NULL, self->qp_b) TH_LOG("create QP: %s", strerror(errno));
	ASSERT_EQ(0, rv_connect(self, self->qp_a, self->qp_b->qp_num));
	ASSERT_EQ(0, rv_connect(self, self->qp_b, self->qp_a->qp_num));
}

FIXTURE_TEARDOWN(rxe)
{
	int i;

	if (self->qp_a)
		ibv_destroy_qp(self->qp_a);
	if (self->qp_b)
		ibv_destroy_qp(self->qp_b);
	for (i = 0; i < self->nmr; i++)
		ibv_dereg_mr(self->mr[i]);
	if (self->cq_a)
		ibv_destroy_cq(self->cq_a);
	if (self->cq_b)
		ibv_destroy_cq(self->cq_b);
	if (self->pd)
		ibv_dealloc_pd(self->pd);
	if (self->ctx)
		ibv_close_device(self->ctx);
	for (i = 0; i < self->nbuf; i++)
		munmap(self->buf[i].addr, self->buf[i].len);
}

static const size_t rv_sizes[] = { 1, 64, 4095, 4096, 65536 + 123, RV_BIG };

/* RDMA READ or WRITE of every size in rv_sizes at unaligned offsets. */
static void rv_rdma_sizes(struct __test_metadata *_metadata,
			  rv_fixture *self, const rv_variant *variant,
			  enum ibv_wr_opcode op)
{
	bool read = op == IBV_WR_RDMA_READ;
	enum ibv_wc_opcode wc_op = read ? IBV_WC_RDMA_READ : IBV_WC_RDMA_WRITE;
	size_t buflen = RV_BIG + 2 * self->page;
	struct rv_mem src = rv_mem_new(_metadata, self, variant, buflen,
				       RV_ACCESS_ALL);
	struct rv_mem dst = rv_mem_new(_metadata, self, variant, buflen,
				       RV_ACCESS_ALL);
	struct ibv_wc wc;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rv_sizes); i++) {
		size_t len = rv_sizes[i];
		size_t soff = 3 + 5 * i, doff = self->page - 7 - 13 * i;
		__u32 seed = 100 + i;
		/* The local side of a READ is the destination. */
		struct rv_mem *local = read ? &dst : &src;
		struct rv_mem *remote = read ? &src : &dst;
		size_t loff = read ? doff : soff, roff = read ? soff : doff;
		struct ibv_sge sge = rv_sge(local->mr, local->buf + loff, len);

		rv_sentinel(dst.buf, buflen);
		rv_fill(src.buf + soff, len, seed, 0);
		rv_rdma(_metadata, self, op, i, &sge, remote->buf + roff,
			remote->mr->rkey);
		rv_expect_wc(_metadata, self->cq_a, i, wc_op, &wc);
		ASSERT_TRUE(rv_check(_metadata, dst.buf, buflen, doff, len,
				     seed, 0))
			TH_LOG("RDMA %s of %zu bytes", read ? "READ" : "WRITE",
			       len);
	}
}

/* A 3000-byte SEND from a page-crossing, unaligned buffer arrives intact. */
TEST_F(rxe, send_recv)
{
	size_t len = 3000, buflen = 2 * self->page;
	size_t soff = self->page - 1001, roff = self->page - 1499;
	struct rv_mem src = rv_mem_new(_metadata, self, variant, buflen,
				       IBV_ACCESS_LOCAL_WRITE);
	struct rv_mem dst = rv_mem_new(_metadata, self, variant, buflen,
				       IBV_ACCESS_LOCAL_WRITE);
	/* The receive buffer is larger than the message. */
	struct ibv_sge rsge = rv_sge(dst.mr, dst.buf + roff, len + 100);
	struct ibv_sge ssge = rv_sge(src.mr, src.buf + soff, len);
	struct ibv_wc wc;

	rv_fill(src.buf + soff, len, 1, 0);
	rv_post_recv(_metadata, self->qp_b, 1, &rsge, 1);
	rv_send(_metadata, self, 2, &ssge, 1);
	rv_expect_wc(_metadata, self->cq_a, 2, IBV_WC_SEND, &wc);
	rv_expect_wc(_metadata, self->cq_b, 1, IBV_WC_RECV, &wc);
	ASSERT_EQ(len, wc.byte_len);
	ASSERT_TRUE(rv_check(_metadata, dst.buf, buflen, roff, len, 1, 0));
}

/* A SEND gathered from 3 MRs is scattered correctly into 2 receive SGEs. */
TEST_F(rxe, send_recv_multi_sge)
{
	static const size_t slen[3] = { 1000, 3000, 517 };
	size_t soff[3] = { 13, self->page - 1234, 7 };
	size_t buflen = 2 * self->page, total = 0;
	size_t r0off = self->page - 999, r0len = 2000, r1off = 33;
	struct rv_mem r0 = rv_mem_new(_metadata, self, variant, buflen,
				      IBV_ACCESS_LOCAL_WRITE);
	struct rv_mem r1 = rv_mem_new(_metadata, self, variant, buflen,
				      IBV_ACCESS_LOCAL_WRITE);
	struct ibv_sge rsge[2] = {
		rv_sge(r0.mr, r0.buf + r0off, r0len),
		rv_sge(r1.mr, r1.buf + r1off, 4000),
	};
	struct ibv_sge ssge[3];
	struct ibv_wc wc;
	int i;

	for (i = 0; i < 3; i++) {
		struct rv_mem src = rv_mem_new(_metadata, self, variant,
					       buflen, IBV_ACCESS_LOCAL_WRITE);

		rv_fill(src.buf + soff[i], slen[i], 2, total);
		ssge[i] = rv_sge(src.mr, src.buf + soff[i], slen[i]);
		total += slen[i];
	}

	rv_post_recv(_metadata, self->qp_b, 1, rsge, 2);
	rv_send(_metadata, self, 2, ssge, 3);
	rv_expect_wc(_metadata, self->cq_a, 2, IBV_WC_SEND, &wc);
	rv_expect_wc(_metadata, self->cq_b, 1, IBV_WC_RECV, &wc);
	ASSERT_EQ(total, wc.byte_len);
	ASSERT_TRUE(rv_check(_metadata, r0.buf, buflen, r0off, r0len, 2, 0));
	ASSERT_TRUE(rv_check(_metadata, r1.buf, buflen, r1off, total - r0len,
			     2, r0len));
}

/* RDMA WRITE of 1 byte to 1 MiB at unaligned offsets lands exactly. */
TEST_F(rxe, rdma_write)
{
	rv_rdma_sizes(_metadata, self, variant, IBV_WR_RDMA_WRITE);
}

/* RDMA WRITE with immediate delivers data, imm_data and byte_len. */
TEST_F(rxe, rdma_write_imm)
{
	size_t len = 5000, buflen = 3 * self->page;
	size_t soff = 17, doff = self->page - 2001;
	struct rv_mem src = rv_mem_new(_metadata, self, variant, buflen,
				       IBV_ACCESS_LOCAL_WRITE);
	struct rv_mem dst = rv_mem_new(_metadata, self, variant, buflen,
				       RV_ACCESS_ALL);
	struct rv_mem rcv = rv_mem_new(_metadata, self, variant, self->page,
				       IBV_ACCESS_LOCAL_WRITE);
	/* Consumed by the immediate, but no data may be placed in it. */
	struct ibv_sge rsge = rv_sge(rcv.mr, rcv.buf + 64, 256);
	struct ibv_sge sge = rv_sge(src.mr, src.buf + soff, len);
	struct ibv_send_wr wr = {
		.wr_id = 2,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE_WITH_IMM,
		.imm_data = htobe32(RV_IMM),
		.wr.rdma.remote_addr = (uintptr_t)(dst.buf + doff),
		.wr.rdma.rkey = dst.mr->rkey,
	};
	struct ibv_wc wc;

	rv_fill(src.buf + soff, len, 4, 0);
	rv_post_recv(_metadata, self->qp_b, 1, &rsge, 1);
	rv_post_send(_metadata, self->qp_a, &wr);
	rv_expect_wc(_metadata, self->cq_a, 2, IBV_WC_RDMA_WRITE, &wc);
	rv_expect_wc(_metadata, self->cq_b, 1, IBV_WC_RECV_RDMA_WITH_IMM,
		     &wc);
	ASSERT_NE(0U, wc.wc_flags & IBV_WC_WITH_IMM);
	ASSERT_EQ(RV_IMM, be32toh(wc.imm_data));
	ASSERT_EQ(len, wc.byte_len);
	ASSERT_TRUE(rv_check(_metadata, dst.buf, buflen, doff, len, 4, 0));
	ASSERT_TRUE(rv_check_sentinel(_metadata, rcv.buf, self->page, 0, 0));
}

/* RDMA READ of 1 byte to 1 MiB at unaligned offsets lands exactly. */
TEST_F(rxe, rdma_read)
{
	rv_rdma_sizes(_metadata, self, variant, IBV_WR_RDMA_READ);
}

/* CAS swaps on a match, leaves memory alone on a mismatch, returns old. */
TEST_F(rxe, atomic_cas)
{
	const __u64 v_old = 0x0123456789abcdefULL;
	const __u64 v_new = 0xfedcba9876543210ULL;
	const __u64 v_other = 0x5555aaaa5555aaaaULL;
	size_t buflen = 2 * self->page, off = self->page - 8;
	struct rv_mem tgt = rv_mem_new(_metadata, self, variant, buflen,
				       RV_ACCESS_ALL);
	struct rv_mem res = rv_mem_new(_metadata, self, variant, buflen,
				       IBV_ACCESS_LOCAL_WRITE);
	__u64 *target = (__u64 *)(tgt.buf + off);
	__u64 *result = (__u64 *)(res.buf + off);
	struct ibv_sge sge = rv_sge(res.mr, result, sizeof(*result));
	struct ibv_wc wc;

	if (!rv_has_atomics(self))
		SKIP(return, "device does not support atomics");

	*target = v_old;
	rv_atomic(_metadata, self, IBV_WR_ATOMIC_CMP_AND_SWP, 1, &sge, target,
		  tgt.mr->rkey, v_old, v_new);
	rv_expect_wc(_metadata, self->cq_a, 1, IBV_WC_COMP_SWAP, &wc);
	ASSERT_EQ(v_old, *result);
	ASSERT_EQ(v_new, *target);

	/* The compare value no longer matches: no swap, current returned. */
	*result = 0;
	rv_atomic(_metadata, self, IBV_WR_ATOMIC_CMP_AND_SWP, 2, &sge, target,
		  tgt.mr->rkey, v_old, v_other);
	rv_expect_wc(_metadata, self->cq_a, 2, IBV_WC_COMP_SWAP, &wc);
	ASSERT_EQ(v_new, *result);
	ASSERT_EQ(v_new, *target);

	ASSERT_TRUE(rv_check_sentinel(_metadata, tgt.buf, buflen, off, 8));
	ASSERT_TRUE(rv_check_sentinel(_metadata, res.buf, buflen, off, 8));
}

/* Addend of the @i-th FETCH_ADD: exercises carries across 32 bits. */
static __u64 rv_faa_add(int i)
{
	return ((__u64)i << 32) | 0xfffffff1u;
}

/* Repeated FETCH_ADDs each return the running value; the sum is right. */
TEST_F(rxe, atomic_faa)
{
	const __u64 start = 0xfffffffffffff000ULL;
	size_t buflen = 2 * self->page, toff = self->page - 8;
	size_t roff = self->page - 8 * RV_FAA_N / 2;
	struct rv_mem tgt = rv_mem_new(_metadata, self, variant, buflen,
				       RV_ACCESS_ALL);
	struct rv_mem res = rv_mem_new(_metadata, self, variant, buflen,
				       IBV_ACCESS_LOCAL_WRITE);
	__u64 *target = (__u64 *)(tgt.buf + toff);
	__u64 *results = (__u64 *)(res.buf + roff);
	__u64 expect = start;
	struct ibv_wc wc;
	int i;

	if (!rv_has_atomics(self))
		SKIP(return, "device does not support atomics");

	*target = start;
	for (i = 0; i < RV_FAA_N; i++) {
		struct ibv_sge sge = rv_sge(res.mr, &results[i], sizeof(__u64));

		rv_atomic(_metadata, self, IBV_WR_ATOMIC_FETCH_AND_ADD, i,
			  &sge, target, tgt.mr->rkey, rv_faa_add(i), 0);
		rv_expect_wc(_metadata, self->cq_a, i, IBV_WC_FETCH_ADD, &wc);
	}
	for (i = 0; i < RV_FAA_N; i++) {
		ASSERT_EQ(expect, results[i]) TH_LOG("FETCH_ADD #%d", i);
		expect += rv_faa_add(i);
	}
	ASSERT_EQ(expect, *target);
	ASSERT_TRUE(rv_check_sentinel(_metadata, tgt.buf, buflen, toff, 8));
	ASSERT_TRUE(rv_check_sentinel(_metadata, res.buf, buflen, roff,
				      8 * RV_FAA_N));
}

/* Zero-length RDMA WRITE and SEND complete and modify no memory. */
TEST_F(rxe, zero_length)
{
	size_t buflen = self->page;
	struct rv_mem dst = rv_mem_new(_metadata, self, variant, buflen,
				       RV_ACCESS_ALL);
	struct rv_mem rcv = rv_mem_new(_metadata, self, variant, buflen,
				       IBV_ACCESS_LOCAL_WRITE);
	struct ibv_sge rsge = rv_sge(rcv.mr, rcv.buf + 100, 200);
	struct ibv_wc wc;

	rv_rdma(_metadata, self, IBV_WR_RDMA_WRITE, 1, NULL, dst.buf + 100,
		dst.mr->rkey);
	rv_expect_wc(_metadata, self->cq_a, 1, IBV_WC_RDMA_WRITE, &wc);

	rv_post_recv(_metadata, self->qp_b, 2, &rsge, 1);
	rv_send(_metadata, self, 3, NULL, 0);
	rv_expect_wc(_metadata, self->cq_a, 3, IBV_WC_SEND, &wc);
	rv_expect_wc(_metadata, self->cq_b, 2, IBV_WC_RECV, &wc);
	ASSERT_EQ(0U, wc.byte_len);

	ASSERT_TRUE(rv_check_sentinel(_metadata, dst.buf, buflen, 0, 0));
	ASSERT_TRUE(rv_check_sentinel(_metadata, rcv.buf, buflen, 0, 0));
}

/* RDMA WRITE with a wrong rkey fails with REM_ACCESS_ERR, writes nothing. */
TEST_F(rxe, bad_rkey)
{
	size_t len = 256, buflen = self->page;
	struct rv_mem src = rv_mem_new(_metadata, self, variant, buflen,
				       IBV_ACCESS_LOCAL_WRITE);
	struct rv_mem dst = rv_mem_new(_metadata, self, variant, buflen,
				       RV_ACCESS_ALL);
	struct ibv_sge sge = rv_sge(src.mr, src.buf, len);
	/* Flip bits of the key byte: the MR index is right, the key is not. */
	__u32 bad_rkey = dst.mr->rkey ^ 0x5a;
	enum ibv_wc_status status;

	rv_fill(src.buf, len, 9, 0);
	rv_rdma(_metadata, self, IBV_WR_RDMA_WRITE, 1, &sge, dst.buf + 64,
		bad_rkey);
	status = rv_wc_status(_metadata, self->cq_a, 1);
	ASSERT_TRUE(status == IBV_WC_REM_ACCESS_ERR)
		TH_LOG("unexpected status %s", ibv_wc_status_str(status));
	ASSERT_TRUE(rv_check_sentinel(_metadata, dst.buf, buflen, 0, 0));
}

/* An RDMA READ running past the end of the remote MR is rejected. */
TEST_F(rxe, out_of_bounds)
{
	size_t len = 200, mrlen = 2 * self->page;
	/* The MR covers pages 1-2 of 4: memory past its end is mapped. */
	__u8 *src = rv_buf_alloc(_metadata, self, 4 * self->page);
	struct ibv_mr *smr = rv_mr_reg(_metadata, self, variant,
				       src + self->page, mrlen,
				       IBV_ACCESS_LOCAL_WRITE |
				       IBV_ACCESS_REMOTE_READ);
	struct rv_mem dst = rv_mem_new(_metadata, self, variant, self->page,
				       IBV_ACCESS_LOCAL_WRITE);
	struct ibv_sge sge = rv_sge(dst.mr, dst.buf + 10, len);
	enum ibv_wc_status status;

	/* Starts inside the MR and ends len / 2 bytes beyond it. */
	rv_rdma(_metadata, self, IBV_WR_RDMA_READ, 1, &sge,
		src + self->page + mrlen - len / 2, smr->rkey);
	status = rv_wc_status(_metadata, self->cq_a, 1);
	ASSERT_TRUE(status == IBV_WC_REM_ACCESS_ERR ||
		    status == IBV_WC_REM_INV_REQ_ERR)
		TH_LOG("unexpected status %s", ibv_wc_status_str(status));
	/* The responder rejects the request before it returns any data. */
	ASSERT_TRUE(rv_check_sentinel(_metadata, dst.buf, self->page, 0, 0));
}

TEST_HARNESS_MAIN
