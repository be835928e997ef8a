// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp authors.
 *
 * rxe_odp - on-demand paging tests for the soft-RoCE (rxe) driver.
 *
 * An MR registered with IBV_ACCESS_ON_DEMAND pins nothing: rxe faults its
 * pages in when a packet touches them and forgets them when the mm
 * invalidates them.  These tests change the memory behind ODP MRs in the
 * ways a process can (fresh mappings, MADV_DONTNEED, remapping, mprotect,
 * holes, fork, swap-out, munmap and exit in the middle of traffic) and
 * check every byte of the target after each operation, the bytes around
 * it, and the device's odp_* counters where they prove something.
 *
 * Fixture "side" runs each of its tests three times: with the requester's
 * buffers ODP and the responder's pinned (local_odp), the other way round
 * (remote_odp), and with both ODP.  Fixture "odp" holds the tests whose
 * ODP buffers are chosen by the test itself.  Both connect two RC QPs of
 * one device through its IPv4-mapped RoCE v2 GID (loopback), and skip
 * unless the device reports ODP support for RC.
 *
 * Buffers are anonymous private mappings.  A "fresh" ODP buffer is never
 * touched by the CPU before the device uses it and reads as zeros; every
 * other buffer is filled with the sentinel pattern, so "untouched" means
 * zeros for the first kind and the sentinel for the second.
 *
 * Environment: RXE_DEV selects the RDMA device (default "rxe0").  The swap
 * test needs active swap (tests/run_tests.sh sets up zram) and skips
 * without it.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "rv_common.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif

#define RO_MAX_MTU		IBV_MTU_1024
#define RO_RD_ATOMIC		16
#define RO_CQ_DEPTH		512
#define RO_QP_DEPTH		128
#define RO_MAX_SGE		4
#define RO_MAX_MAPS		24
#define RO_MAX_MRS		24
#define RO_QKEY			0x11111111u
#define RO_GRH_LEN		40
#define RO_KIB			1024UL
#define RO_MIB			(1024 * RO_KIB)
#define RO_GIB			(1024 * RO_MIB)

/* Seed value that ro_check() takes as "all zeros" instead of a pattern. */
#define RO_ZEROS		0

/* RDMA WRITEs the streaming thread of dereg_during_traffic keeps posted. */
#define RO_STREAM_DEPTH		16
#define RO_STREAM_MSG		(64 * RO_KIB)
#define RO_STREAM_MAX_MS	30000

#define RO_ACCESS_RW	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

/* The device's ODP counters, in hw_counters of the port. */
enum ro_counter {
	RO_FAULTS,
	RO_PAGES_FAULTED,
	RO_FAULT_ERRORS,
	RO_INVALIDATIONS,
	RO_PAGES_INVALIDATED,
	RO_NR_COUNTERS,
};

static const char * const ro_counter_names[RO_NR_COUNTERS] = {
	[RO_FAULTS] = "odp_page_faults",
	[RO_PAGES_FAULTED] = "odp_pages_faulted",
	[RO_FAULT_ERRORS] = "odp_fault_errors",
	[RO_INVALIDATIONS] = "odp_invalidations",
	[RO_PAGES_INVALIDATED] = "odp_pages_invalidated",
};

struct ro_counters {
	long long v[RO_NR_COUNTERS];
};

/* A mapping made by the test, unmapped at teardown. */
struct ro_map {
	void *addr;
	size_t len;
};

/*
 * Verbs state shared by both fixtures: QP A is the requester, QP B the
 * responder; each has its own CQ.
 */
struct ro_ctx {
	const char *name;
	struct ibv_context *ctx;
	struct ibv_device_attr_ex dev_attr;
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
	__u8 rd_atomic;
	size_t page;
	struct ibv_pd *pd;
	struct ibv_cq *cq_a;
	struct ibv_cq *cq_b;
	struct ibv_qp *qp_a;
	struct ibv_qp *qp_b;
	/* QP B receives from this SRQ when set. */
	struct ibv_srq *srq;
	/* ibv_qp_ex operations of QP A (send_ops_flags), 0 for none. */
	__u64 send_ops;
	/* Access flags of both QPs. */
	unsigned int qp_access;
	__u64 wr_id;
	struct ro_map maps[RO_MAX_MAPS];
	struct ibv_mr *mrs[RO_MAX_MRS];
};

/* A buffer (a whole mapping) and an MR over all or part of it. */
struct ro_mem {
	__u8 *buf;
	size_t len;
	struct ibv_mr *mr;
	bool odp;
	/* Never written by the CPU since it was mapped: reads as zeros. */
	bool zero;
};

/* ----------------------------------------------------------------------
 * Patterns and checks
 */

/* Word @idx of the 64-bit pattern @seed (splitmix64), for big buffers. */
static __u64 ro_pat64(__u32 seed, size_t idx)
{
	__u64 x = (idx + 1) * 0x9e3779b97f4a7c15ULL ^ (__u64)seed << 32;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Fill @len bytes (a multiple of 8) with words @idx... of pattern @seed. */
static void ro_fill64(void *p, size_t len, __u32 seed, size_t idx)
{
	__u64 *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = ro_pat64(seed, idx + i);
}

/* Check words written by ro_fill64(); logs the first mismatch. */
static bool ro_check64(struct __test_metadata *_metadata, const void *p,
		       size_t len, __u32 seed, size_t idx)
{
	const __u64 *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++) {
		if (w[i] != ro_pat64(seed, idx + i)) {
			TH_LOG("word %zu of %zu: 0x%016llx, want 0x%016llx",
			       i, len / 8, (unsigned long long)w[i],
			       (unsigned long long)ro_pat64(seed, idx + i));
			return false;
		}
	}
	return true;
}

/* Are @b[@off, @off + @len) all zero?  Logs the first other byte. */
static bool ro_check_zero(struct __test_metadata *_metadata, const __u8 *b,
			  size_t off, size_t len)
{
	size_t i;

	for (i = off; i < off + len; i++) {
		if (b[i]) {
			TH_LOG("byte %zu (range %zu+%zu) is 0x%02x, want 0",
			       i, off, len, b[i]);
			return false;
		}
	}
	return true;
}

/* Bytes [@from, @to) of @m outside [@off, @off + @len) are untouched. */
static bool ro_check_span(struct __test_metadata *_metadata,
			  const struct ro_mem *m, size_t from, size_t to,
			  size_t off, size_t len)
{
	size_t i;

	for (i = from; i < to; i++) {
		__u8 want;

		if (i >= off && i - off < len)
			continue;
		want = m->zero ? 0 : rv_pat(RV_SENTINEL_SEED, i);
		if (m->buf[i] != want) {
			TH_LOG("untouched byte %zu (range %zu+%zu) is 0x%02x, want 0x%02x",
			       i, off, len, m->buf[i], want);
			return false;
		}
	}
	return true;
}

/* All of @m outside [@off, @off + @len) is untouched. */
static bool ro_check_outside(struct __test_metadata *_metadata,
			     const struct ro_mem *m, size_t off, size_t len)
{
	return ro_check_span(_metadata, m, 0, m->len, off, len);
}

static bool ro_check_untouched(struct __test_metadata *_metadata,
			       const struct ro_mem *m)
{
	return ro_check_outside(_metadata, m, 0, 0);
}

/*
 * @m holds pattern @seed from index @idx at [@off, @off + @len) (zeros if
 * @seed is RO_ZEROS) and is untouched everywhere else.
 */
static bool ro_check(struct __test_metadata *_metadata,
		     const struct ro_mem *m, size_t off, size_t len,
		     __u32 seed, size_t idx)
{
	bool ok = seed == RO_ZEROS ?
		  ro_check_zero(_metadata, m->buf, off, len) :
		  rv_check_data(_metadata, m->buf, off, len, seed, idx);

	return ok && ro_check_outside(_metadata, m, off, len);
}

/* ----------------------------------------------------------------------
 * Process state: counters, /proc/self/status, capabilities
 */

/* Counter @i of the device, or -1 if it cannot be read. */
static long long ro_counter_read(const struct ro_ctx *c, enum ro_counter i)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/%d/hw_counters/%s",
		 c->name, RV_PORT, ro_counter_names[i]);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * The RDMA core caches hw counters: a read within "lifespan" ms of the
 * last refresh returns the cached values.  The counters only move through
 * the test's own operations, which have completed when it reads them, so
 * waiting out the lifespan (twice, for jiffy rounding) yields the current
 * values.  This waits for a cache to expire, not for the device.
 */
static void ro_counters_settle(const struct ro_ctx *c)
{
	char path[256];
	int ms = 10;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/%d/hw_counters/lifespan",
		 c->name, RV_PORT);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &ms) != 1)
			ms = 10;
		fclose(f);
	}
	usleep((2 * ms + 10) * 1000);
}

static void ro_counters_read(struct __test_metadata *_metadata,
			     const struct ro_ctx *c, struct ro_counters *s)
{
	int i;

	ro_counters_settle(c);
	for (i = 0; i < RO_NR_COUNTERS; i++) {
		s->v[i] = ro_counter_read(c, i);
		ASSERT_LE(0, s->v[i])
			TH_LOG("cannot read counter %s of %s",
			       ro_counter_names[i], c->name);
	}
}

/* How much counter @i grew since @before was read. */
static long long ro_delta(struct __test_metadata *_metadata,
			  const struct ro_ctx *c,
			  const struct ro_counters *before, enum ro_counter i)
{
	long long now;

	ro_counters_settle(c);
	now = ro_counter_read(c, i);
	ASSERT_LE(0, now) TH_LOG("cannot read counter %s", ro_counter_names[i]);
	return now - before->v[i];
}

/* A "Key:  N kB" field of /proc/self/status in kB, or -1. */
static long ro_status_kb(const char *key)
{
	size_t n = strlen(key);
	char line[256];
	long v = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static long ro_vmpin_kb(struct __test_metadata *_metadata)
{
	long v = ro_status_kb("VmPin");

	ASSERT_LE(0, v) TH_LOG("no VmPin in /proc/self/status");
	return v;
}

/* Is any swap area active? */
static bool ro_swap_active(void)
{
	char line[256];
	int lines = 0;
	FILE *f;

	f = fopen("/proc/swaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1;
}

/* Drop capability @cap from this process; 0 or an errno. */
static int ro_cap_drop(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return errno;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].permitted &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].inheritable &= ~CAP_TO_MASK(cap);
	if (syscall(SYS_capset, &hdr, data))
		return errno;
	return 0;
}

static double ro_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 +
	       (now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Number of pages that [@addr, @addr + @len) touches. */
static long long ro_span(const struct ro_ctx *c, const void *addr,
			 size_t len)
{
	uintptr_t s = (uintptr_t)addr & ~(c->page - 1);
	uintptr_t e = ((uintptr_t)addr + len + c->page - 1) & ~(c->page - 1);

	return len ? (long long)((e - s) / c->page) : 0;
}

/* ----------------------------------------------------------------------
 * Device, QPs and connection (no harness asserts: a forked child uses
 * them too)
 */

/* Open @name, find the loopback GID and allocate a PD: 0 or -errno. */
static int ro_ctx_open(struct ro_ctx *c, const char *name)
{
	struct ibv_device_attr *dev = &c->dev_attr.orig_attr;
	struct ibv_port_attr port;
	int ret;

	c->name = name;
	c->page = sysconf(_SC_PAGESIZE);
	c->qp_access = RV_ACCESS_ALL;
	c->ctx = rv_open_device(name);
	if (!c->ctx)
		return -(errno ?: ENODEV);
	ret = ibv_query_device_ex(c->ctx, NULL, &c->dev_attr);
	if (!ret)
		ret = ibv_query_port(c->ctx, RV_PORT, &port);
	if (ret)
		return -ret;
	if (port.state != IBV_PORT_ACTIVE)
		return -ENETDOWN;
	c->gid_index = rv_find_gid(c->ctx, RV_PORT, port.gid_tbl_len, &c->gid);
	if (c->gid_index < 0)
		return -EADDRNOTAVAIL;
	c->mtu = port.active_mtu < RO_MAX_MTU ? port.active_mtu : RO_MAX_MTU;
	c->rd_atomic = RO_RD_ATOMIC;
	if (dev->max_qp_rd_atom < c->rd_atomic)
		c->rd_atomic = dev->max_qp_rd_atom;
	if (dev->max_qp_init_rd_atom < c->rd_atomic)
		c->rd_atomic = dev->max_qp_init_rd_atom;
	c->pd = ibv_alloc_pd(c->ctx);
	return c->pd ? 0 : -(errno ?: ENOMEM);
}

/* A QP of @type on @cq; with @srq it receives from the SRQ. */
static struct ibv_qp *ro_qp_new(struct ro_ctx *c, struct ibv_cq *cq,
				enum ibv_qp_type type, __u64 send_ops,
				struct ibv_srq *srq)
{
	struct ibv_qp_init_attr_ex attr = {
		.send_cq = cq,
		.recv_cq = cq,
		.srq = srq,
		.cap = {
			.max_send_wr = RO_QP_DEPTH,
			.max_recv_wr = srq ? 0 : RO_QP_DEPTH,
			.max_send_sge = RO_MAX_SGE,
			.max_recv_sge = srq ? 0 : RO_MAX_SGE,
		},
		.qp_type = type,
		.sq_sig_all = 1,
		.comp_mask = IBV_QP_INIT_ATTR_PD,
		.pd = c->pd,
	};

	if (send_ops) {
		attr.comp_mask |= IBV_QP_INIT_ATTR_SEND_OPS_FLAGS;
		attr.send_ops_flags = send_ops;
	}
	return ibv_create_qp_ex(c->ctx, &attr);
}

/* Bring RC @qp to RTS, connected to QP @dest_qpn through our own GID. */
static int ro_rc_connect(struct ro_ctx *c, struct ibv_qp *qp, __u32 dest_qpn)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = RV_PORT,
		.qp_access_flags = c->qp_access,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = c->mtu,
		.dest_qp_num = dest_qpn,
		.rq_psn = RV_PSN,
		.max_dest_rd_atomic = c->rd_atomic,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = RV_PORT,
			.grh = {
				.dgid = c->gid,
				.sgid_index = c->gid_index,
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
		.max_rd_atomic = c->rd_atomic,
	};
	int ret;

	ret = ibv_modify_qp(qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (!ret)
		ret = ibv_modify_qp(qp, &rtr, IBV_QP_STATE | IBV_QP_AV |
				    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
				    IBV_QP_MIN_RNR_TIMER);
	if (!ret)
		ret = ibv_modify_qp(qp, &rts, IBV_QP_STATE | IBV_QP_SQ_PSN |
				    IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				    IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
	return ret;
}

/* Bring UD @qp to RTS. */
static int ro_ud_ready(struct ibv_qp *qp)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = RV_PORT,
		.qkey = RO_QKEY,
	};
	struct ibv_qp_attr rtr = { .qp_state = IBV_QPS_RTR };
	struct ibv_qp_attr rts = { .qp_state = IBV_QPS_RTS, .sq_psn = RV_PSN };
	int ret;

	ret = ibv_modify_qp(qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_QKEY);
	if (!ret)
		ret = ibv_modify_qp(qp, &rtr, IBV_QP_STATE);
	if (!ret)
		ret = ibv_modify_qp(qp, &rts, IBV_QP_STATE | IBV_QP_SQ_PSN);
	return ret;
}

/* Create CQs and the connected RC pair A-B: 0 or -errno. */
static int ro_qps_create(struct ro_ctx *c)
{
	int ret;

	c->cq_a = ibv_create_cq(c->ctx, RO_CQ_DEPTH, NULL, NULL, 0);
	if (!c->cq_a)
		return -(errno ?: ENOMEM);
	c->cq_b = ibv_create_cq(c->ctx, RO_CQ_DEPTH, NULL, NULL, 0);
	if (!c->cq_b)
		return -(errno ?: ENOMEM);
	c->qp_a = ro_qp_new(c, c->cq_a, IBV_QPT_RC, c->send_ops, NULL);
	if (!c->qp_a)
		return -(errno ?: EINVAL);
	c->qp_b = ro_qp_new(c, c->cq_b, IBV_QPT_RC, 0, c->srq);
	if (!c->qp_b)
		return -(errno ?: EINVAL);
	ret = ro_rc_connect(c, c->qp_a, c->qp_b->qp_num);
	if (!ret)
		ret = ro_rc_connect(c, c->qp_b, c->qp_a->qp_num);
	return -ret;
}

static void ro_qps_destroy(struct ro_ctx *c)
{
	if (c->qp_a)
		ibv_destroy_qp(c->qp_a);
	if (c->qp_b)
		ibv_destroy_qp(c->qp_b);
	if (c->cq_a)
		ibv_destroy_cq(c->cq_a);
	if (c->cq_b)
		ibv_destroy_cq(c->cq_b);
	c->qp_a = NULL;
	c->qp_b = NULL;
	c->cq_a = NULL;
	c->cq_b = NULL;
}

/* Release everything, MRs before the memory they cover. */
static void ro_ctx_close(struct ro_ctx *c)
{
	int i;

	ro_qps_destroy(c);
	for (i = 0; i < RO_MAX_MRS; i++)
		if (c->mrs[i])
			ibv_dereg_mr(c->mrs[i]);
	if (c->srq)
		ibv_destroy_srq(c->srq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->ctx)
		ibv_close_device(c->ctx);
	for (i = 0; i < RO_MAX_MAPS; i++)
		if (c->maps[i].addr)
			munmap(c->maps[i].addr, c->maps[i].len);
}

/* ----------------------------------------------------------------------
 * Harness-level helpers
 */

/* Setup of both fixtures; skips without the device or without RC ODP. */
static void ro_fixture_setup(struct __test_metadata *_metadata,
			     struct ro_ctx *c)
{
	const char *name = getenv("RXE_DEV") ?: RV_DEFAULT_DEV;
	const struct ibv_odp_caps *odp;
	int ret;

	ret = ro_ctx_open(c, name);
	if (ret == -ENODEV)
		SKIP(return, "RDMA device %s not found (set RXE_DEV)", name);
	ASSERT_EQ(0, ret) TH_LOG("setting up %s: %s", name, strerror(-ret));
	odp = &c->dev_attr.odp_caps;
	if (!rv_odp_supported(&c->dev_attr, RV_ODP_RC_ALL))
		SKIP(return,
		     "%s has no ODP support for RC (general 0x%llx, rc 0x%x, need 0x%x)",
		     name, (unsigned long long)odp->general_caps,
		     odp->per_transport_caps.rc_odp_caps, RV_ODP_RC_ALL);
	ret = ro_qps_create(c);
	ASSERT_EQ(0, ret) TH_LOG("creating the QP pair: %s", strerror(-ret));
}

/* Replace the QP pair, e.g. after an error moved it to the error state. */
static void ro_reconnect(struct __test_metadata *_metadata, struct ro_ctx *c)
{
	int ret;

	ro_qps_destroy(c);
	ret = ro_qps_create(c);
	ASSERT_EQ(0, ret) TH_LOG("recreating the QP pair: %s", strerror(-ret));
}

/* An anonymous private mapping, untouched; unmapped at teardown. */
static __u8 *ro_map(struct __test_metadata *_metadata, struct ro_ctx *c,
		    size_t len, int flags)
{
	void *p;
	int i;

	for (i = 0; i < RO_MAX_MAPS && c->maps[i].addr; i++)
		;
	ASSERT_GT(RO_MAX_MAPS, i) TH_LOG("too many mappings");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap(%zu): %s", len, strerror(errno));
	c->maps[i].addr = p;
	c->maps[i].len = len;
	return p;
}

/* Forget a mapping the test unmapped itself. */
static void ro_map_forget(struct ro_ctx *c, void *addr)
{
	int i;

	for (i = 0; i < RO_MAX_MAPS; i++)
		if (c->maps[i].addr == addr)
			c->maps[i].addr = NULL;
}

static struct ibv_mr *ro_reg(struct __test_metadata *_metadata,
			     struct ro_ctx *c, void *addr, size_t len,
			     unsigned int access)
{
	struct ibv_mr *mr;
	int i;

	for (i = 0; i < RO_MAX_MRS && c->mrs[i]; i++)
		;
	ASSERT_GT(RO_MAX_MRS, i) TH_LOG("too many MRs");
	mr = ibv_reg_mr(c->pd, addr, len, access);
	ASSERT_NE(NULL, mr) TH_LOG("ibv_reg_mr(%zu bytes, access 0x%x): %s",
				   len, access, strerror(errno));
	c->mrs[i] = mr;
	return mr;
}

static void ro_dereg(struct __test_metadata *_metadata, struct ro_ctx *c,
		     struct ibv_mr *mr)
{
	int i, ret;

	for (i = 0; i < RO_MAX_MRS; i++)
		if (c->mrs[i] == mr)
			c->mrs[i] = NULL;
	ret = ibv_dereg_mr(mr);
	ASSERT_EQ(0, ret) TH_LOG("ibv_dereg_mr: %s", strerror(ret));
}

/*
 * A @len-byte buffer registered as a whole with @access (plus ODP if
 * @odp).  A @fresh ODP buffer is left untouched; any other buffer is
 * filled with the sentinel before registration.
 */
static struct ro_mem ro_mem_new(struct __test_metadata *_metadata,
				struct ro_ctx *c, size_t len,
				unsigned int access, bool odp, bool fresh)
{
	struct ro_mem m = { .len = len, .odp = odp, .zero = odp && fresh };

	m.buf = ro_map(_metadata, c, len, 0);
	if (!m.zero)
		rv_sentinel(m.buf, len);
	m.mr = ro_reg(_metadata, c, m.buf, len,
		      access | (odp ? IBV_ACCESS_ON_DEMAND : 0));
	return m;
}

/*
 * A big buffer registered as a whole, filled by the CPU with the 64-bit
 * pattern @seed first, or left untouched (zeros) if @seed is 0.
 */
static struct ro_mem ro_big_mem(struct __test_metadata *_metadata,
				struct ro_ctx *c, size_t len,
				unsigned int access, bool odp, __u32 seed)
{
	struct ro_mem m = { .len = len, .odp = odp, .zero = !seed };

	m.buf = ro_map(_metadata, c, len, 0);
	if (seed)
		ro_fill64(m.buf, len, seed, 0);
	m.mr = ro_reg(_metadata, c, m.buf, len,
		      access | (odp ? IBV_ACCESS_ON_DEMAND : 0));
	return m;
}

static void ro_mem_free(struct __test_metadata *_metadata, struct ro_ctx *c,
			struct ro_mem *m)
{
	ro_dereg(_metadata, c, m->mr);
	ASSERT_EQ(0, munmap(m->buf, m->len));
	ro_map_forget(c, m->buf);
	m->mr = NULL;
	m->buf = NULL;
}

/* Discard all of @m's pages: it reads as zeros afterwards. */
static void ro_dontneed(struct __test_metadata *_metadata, struct ro_mem *m)
{
	ASSERT_EQ(0, madvise(m->buf, m->len, MADV_DONTNEED))
		TH_LOG("MADV_DONTNEED: %s", strerror(errno));
	m->zero = true;
}

/* Rewrite the sentinel all over @m with the CPU. */
static void ro_refill(struct ro_mem *m)
{
	rv_sentinel(m->buf, m->len);
	m->zero = false;
}

/* munmap() @m and map new, untouched memory at the same address. */
static void ro_remap(struct __test_metadata *_metadata, struct ro_mem *m)
{
	void *p;

	ASSERT_EQ(0, munmap(m->buf, m->len));
	p = mmap(m->buf, m->len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ((void *)m->buf, p) TH_LOG("mmap(MAP_FIXED): %s",
					    strerror(errno));
	m->zero = true;
}

static void ro_protect(struct __test_metadata *_metadata, struct ro_mem *m,
		       int prot)
{
	ASSERT_EQ(0, mprotect(m->buf, m->len, prot))
		TH_LOG("mprotect(0x%x): %s", prot, strerror(errno));
}

static const char *ro_op_name(enum ibv_wr_opcode op)
{
	switch (op) {
	case IBV_WR_RDMA_WRITE:
		return "RDMA WRITE";
	case IBV_WR_RDMA_READ:
		return "RDMA READ";
	case IBV_WR_SEND:
		return "SEND";
	default:
		return "op";
	}
}

/*
 * Wait for the completion of @wr_id on QP A's CQ and return its status;
 * errors are logged, a success must have @opcode.
 */
static int ro_wait(struct __test_metadata *_metadata,
		   struct ro_ctx *c, __u64 wr_id,
		   enum ibv_wc_opcode opcode)
{
	struct ibv_wc wc;

	rv_wait_wc(_metadata, c->cq_a, &wc);
	ASSERT_EQ(wr_id, wc.wr_id);
	if (wc.status != IBV_WC_SUCCESS) {
		TH_LOG("wr_id %llu completed with %s (vendor_err 0x%x)",
		       (unsigned long long)wr_id,
		       ibv_wc_status_str(wc.status), wc.vendor_err);
		return wc.status;
	}
	ASSERT_EQ(opcode, wc.opcode);
	return wc.status;
}

static int ro_post_wait(struct __test_metadata *_metadata,
			struct ro_ctx *c,
			struct ibv_send_wr *wr,
			enum ibv_wc_opcode opcode)
{
	wr->wr_id = ++c->wr_id;
	rv_post_send(_metadata, c->qp_a, wr);
	return ro_wait(_metadata, c, wr->wr_id, opcode);
}

/* RDMA READ or WRITE with @nsge local SGEs; returns the status. */
static int ro_rdma_sge(struct __test_metadata *_metadata,
		       struct ro_ctx *c, enum ibv_wr_opcode op,
		       struct ibv_sge *sge, int nsge,
		       void *raddr, __u32 rkey)
{
	struct ibv_send_wr wr = {
		.sg_list = sge,
		.num_sge = nsge,
		.opcode = op,
		.wr.rdma.remote_addr = (uintptr_t)raddr,
		.wr.rdma.rkey = rkey,
	};

	return ro_post_wait(_metadata, c, &wr, op == IBV_WR_RDMA_READ ?
			    IBV_WC_RDMA_READ : IBV_WC_RDMA_WRITE);
}

/*
 * RDMA @op of @len bytes between @l at @loff (local) and @r at @roff
 * (remote) on QP A; returns the completion status.
 */
static int ro_rdma(struct __test_metadata *_metadata,
		   struct ro_ctx *c, enum ibv_wr_opcode op,
		   const struct ro_mem *l, size_t loff,
		   const struct ro_mem *r, size_t roff,
		   size_t len)
{
	struct ibv_sge sge = rv_sge(l->mr, l->buf + loff, len);

	return ro_rdma_sge(_metadata, c, op, &sge, 1, r->buf + roff,
			   r->mr->rkey);
}

/* SEND of @nsge SGEs on QP A; returns the send's status. */
static int ro_send_sge(struct __test_metadata *_metadata,
		       struct ro_ctx *c, struct ibv_sge *sge,
		       int nsge)
{
	struct ibv_send_wr wr = {
		.sg_list = sge,
		.num_sge = nsge,
		.opcode = IBV_WR_SEND,
	};

	return ro_post_wait(_metadata, c, &wr, IBV_WC_SEND);
}

/* Wait for receive @wr_id of @len bytes on QP B. */
static void ro_expect_recv(struct __test_metadata *_metadata,
			   struct ro_ctx *c, __u64 wr_id, size_t len)
{
	struct ibv_wc wc;

	rv_expect_wc(_metadata, c->cq_b, wr_id, IBV_WC_RECV, &wc);
	ASSERT_EQ(len, wc.byte_len);
}

/*
 * SEND @len bytes from @l at @loff into a receive of @rlen bytes posted at
 * @r + @roff on QP B; returns the send's status and, on success, checks
 * the receive.
 */
static int ro_send(struct __test_metadata *_metadata,
		   struct ro_ctx *c, const struct ro_mem *l,
		   size_t loff, size_t len,
		   const struct ro_mem *r, size_t roff,
		   size_t rlen)
{
	struct ibv_sge rsge = rv_sge(r->mr, r->buf + roff, rlen);
	struct ibv_sge sge = rv_sge(l->mr, l->buf + loff, len);
	int st;

	rv_post_recv(_metadata, c->qp_b, c->wr_id + 1, &rsge, 1);
	st = ro_send_sge(_metadata, c, &sge, 1);
	if (st == IBV_WC_SUCCESS)
		ro_expect_recv(_metadata, c, c->wr_id, len);
	return st;
}

/* Start one ibv_qp_ex work request on QP A. */
static struct ibv_qp_ex *ro_wr_begin(struct __test_metadata *_metadata,
				     struct ro_ctx *c)
{
	struct ibv_qp_ex *qpx = ibv_qp_to_qp_ex(c->qp_a);

	ASSERT_NE(NULL, qpx);
	ibv_wr_start(qpx);
	qpx->wr_id = ++c->wr_id;
	qpx->wr_flags = IBV_SEND_SIGNALED;
	return qpx;
}

/* Post the work request started by ro_wr_begin() and wait for it. */
static int ro_wr_end(struct __test_metadata *_metadata,
		     struct ro_ctx *c, struct ibv_qp_ex *qpx,
		     enum ibv_wc_opcode opcode)
{
	int ret = ibv_wr_complete(qpx);

	ASSERT_EQ(0, ret) TH_LOG("ibv_wr_complete: %s", strerror(ret));
	return ro_wait(_metadata, c, c->wr_id, opcode);
}

/* ----------------------------------------------------------------------
 * Fixtures
 */

FIXTURE(side) {
	struct ro_ctx c;
};

FIXTURE_VARIANT(side) {
	/* The requester's buffers (WRITE/SEND source, READ sink) are ODP. */
	bool local_odp;
	/* The responder's (WRITE target, READ source, receive buffer). */
	bool remote_odp;
};

/* Requester ODP, responder pinned. */
FIXTURE_VARIANT_ADD(side, local_odp) {
	.local_odp = true,
};

/* Requester pinned, responder ODP. */
FIXTURE_VARIANT_ADD(side, remote_odp) {
	.remote_odp = true,
};

/* Both ODP. */
FIXTURE_VARIANT_ADD(side, both_odp) {
	.local_odp = true,
	.remote_odp = true,
};

FIXTURE_SETUP(side)
{
	ro_fixture_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(side)
{
	ro_ctx_close(&self->c);
}

FIXTURE(odp) {
	struct ro_ctx c;
};

FIXTURE_SETUP(odp)
{
	ro_fixture_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(odp)
{
	ro_ctx_close(&self->c);
}

/* The struct behind FIXTURE_VARIANT(side). */
#define ro_side_variant	FIXTURE_VARIANT(side)

/* A buffer of the requester (!@remote) or responder side, per variant. */
static struct ro_mem ro_side_mem(struct __test_metadata *_metadata,
				 struct ro_ctx *c,
				 const ro_side_variant *v, bool remote,
				 size_t len, bool fresh)
{
	return ro_mem_new(_metadata, c, len, RO_ACCESS_RW,
			  remote ? v->remote_odp : v->local_odp, fresh);
}

/* ----------------------------------------------------------------------
 * side: fresh_mmap
 */

/*
 * @op moves @len bytes from offset @off of one @buflen-byte buffer to
 * offset @off + 1 of another.  With @from_fresh the source, if ODP, is
 * fresh (zeros arrive) and the destination holds the sentinel; otherwise
 * the destination, if ODP, is fresh and the source holds a pattern.
 */
static void ro_fresh_case(struct __test_metadata *_metadata,
			  struct ro_ctx *c, const ro_side_variant *v,
			  enum ibv_wr_opcode op, size_t buflen, size_t off,
			  size_t len, bool from_fresh)
{
	bool read = op == IBV_WR_RDMA_READ;
	bool src_odp = read ? v->remote_odp : v->local_odp;
	bool dst_odp = read ? v->local_odp : v->remote_odp;
	bool src_fresh = from_fresh && src_odp;
	bool dst_fresh = !from_fresh && dst_odp;
	size_t soff = off, doff = off + 1;
	__u32 seed = 10 + 2 * op + from_fresh;
	struct ro_counters before;
	struct ro_mem src, dst;
	long long pages = 0;
	int st;

	/* Without a fresh ODP buffer this is an ordinary transfer. */
	if (!src_fresh && !dst_fresh)
		return;
	src = ro_mem_new(_metadata, c, buflen, RO_ACCESS_RW, src_odp,
			 src_fresh);
	dst = ro_mem_new(_metadata, c, buflen, RO_ACCESS_RW, dst_odp,
			 dst_fresh);
	if (!src_fresh)
		rv_fill(src.buf + soff, len, seed, 0);
	if (src_odp)
		pages += ro_span(c, src.buf + soff, len);
	if (dst_odp)
		pages += ro_span(c, dst.buf + doff, len);

	ro_counters_read(_metadata, c, &before);
	if (op == IBV_WR_SEND)
		st = ro_send(_metadata, c, &src, soff, len, &dst, doff, len);
	else if (read)
		st = ro_rdma(_metadata, c, op, &dst, doff, &src, soff, len);
	else
		st = ro_rdma(_metadata, c, op, &src, soff, &dst, doff, len);
	ASSERT_EQ(IBV_WC_SUCCESS, st)
		TH_LOG("%s of %zu bytes %s a fresh mapping", ro_op_name(op),
		       len, from_fresh ? "from" : "into");
	ASSERT_TRUE(ro_check(_metadata, &dst, doff, len,
			     src_fresh ? RO_ZEROS : seed, 0))
		TH_LOG("%s of %zu bytes %s a fresh mapping", ro_op_name(op),
		       len, from_fresh ? "from" : "into");
	ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_FAULTS));
	ASSERT_LE(pages, ro_delta(_metadata, c, &before, RO_PAGES_FAULTED));
	ASSERT_EQ(0, ro_delta(_metadata, c, &before, RO_FAULT_ERRORS));
	ro_mem_free(_metadata, c, &src);
	ro_mem_free(_metadata, c, &dst);
}

/* WRITE, READ and SEND into and out of never-touched mappings fault them in. */
TEST_F(side, fresh_mmap)
{
	static const enum ibv_wr_opcode ops[] = {
		IBV_WR_RDMA_WRITE, IBV_WR_RDMA_READ, IBV_WR_SEND,
	};
	struct ro_ctx *c = &self->c;
	size_t p = c->page;
	/* Pages, and 2 MiB-aligned ranges (THP, the huge zero page). */
	const struct {
		size_t buflen;
		size_t off;
		size_t len;
	} shapes[] = {
		{ 4 * p, p - 123, 2 * p + 77 },
		{ 4 * RO_MIB, RO_MIB - 5, 2 * RO_MIB + 11 },
	};
	unsigned int i, s, from_fresh;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		for (s = 0; s < ARRAY_SIZE(shapes); s++)
			for (from_fresh = 0; from_fresh < 2; from_fresh++)
				ro_fresh_case(_metadata, c, variant, ops[i],
					      shapes[s].buflen, shapes[s].off,
					      shapes[s].len, from_fresh);
}

/* ----------------------------------------------------------------------
 * side: after_dontneed
 *
 * After MADV_DONTNEED the device reads zeros, then whatever the device or
 * the CPU writes next, and odp_invalidations counted the discards.
 */

/* After MADV_DONTNEED the device sees zeros, then new data; invalidations counted. */
TEST_F(side, after_dontneed)
{
	struct ro_ctx *c = &self->c;
	size_t p = c->page, buflen = 4 * p;
	size_t off = p / 2 + 3, roff = p - 50, len = 2 * p + 100;
	struct ro_mem ls = ro_side_mem(_metadata, c, variant, false, buflen,
				       false);
	struct ro_mem ld = ro_side_mem(_metadata, c, variant, false, buflen,
				       false);
	struct ro_mem r = ro_side_mem(_metadata, c, variant, true, buflen,
				      false);
	struct ro_mem *odp[3];
	struct ro_counters before;
	long long pages = 0;
	int i, n = 0;

	/* Map every buffer into the device. */
	rv_fill(ls.buf + off, len, 1, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &ls, off, &r, roff, len));
	ASSERT_TRUE(ro_check(_metadata, &r, roff, len, 1, 0));
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &ld, off, &r, roff, len));
	ASSERT_TRUE(ro_check(_metadata, &ld, off, len, 1, 0));

	/* Discarding each ODP buffer invalidates what the device mapped. */
	if (variant->local_odp) {
		odp[n++] = &ls;
		odp[n++] = &ld;
	}
	if (variant->remote_odp)
		odp[n++] = &r;
	ro_counters_read(_metadata, c, &before);
	for (i = 0; i < n; i++) {
		ro_dontneed(_metadata, odp[i]);
		pages += ro_span(c, odp[i]->buf + (odp[i] == &r ? roff : off),
				 len);
	}
	ASSERT_LE(n, ro_delta(_metadata, c, &before, RO_INVALIDATIONS));
	ASSERT_LE(pages, ro_delta(_metadata, c, &before,
				  RO_PAGES_INVALIDATED));

	/* Discarded anonymous memory reads back as zeros. */
	ro_refill(&ld);
	ro_counters_read(_metadata, c, &before);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &ld, off, &r, roff, len));
	ASSERT_TRUE(ro_check(_metadata, &ld, off, len,
			     variant->remote_odp ? RO_ZEROS : 1, 0));
	ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_FAULTS));

	/* New data from the device lands in the new pages. */
	rv_fill(ls.buf + off, len, 2, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &ls, off, &r, roff, len));
	ASSERT_TRUE(ro_check(_metadata, &r, roff, len, 2, 0));

	/* New data from the CPU is what the device reads, not stale pages. */
	if (variant->remote_odp)
		ro_dontneed(_metadata, &r);
	rv_fill(r.buf + roff, len, 3, 0);
	ro_refill(&ld);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &ld, off, &r, roff, len));
	ASSERT_TRUE(ro_check(_metadata, &ld, off, len, 3, 0));
}

/* ----------------------------------------------------------------------
 * side: remap_same_address
 */

/* After munmap + mmap(MAP_FIXED), the same MR reaches the new pages only. */
TEST_F(side, remap_same_address)
{
	struct ro_ctx *c = &self->c;
	size_t p = c->page, buflen = 4 * p;
	size_t lo = 100, ro = p + 7, len = 2 * p + 333;
	struct ro_mem l = ro_side_mem(_metadata, c, variant, false, buflen,
				      false);
	struct ro_mem r = ro_side_mem(_metadata, c, variant, true, buflen,
				      false);
	struct ro_counters before;
	int n = 0;

	/* Map both buffers into the device, with the old contents. */
	rv_fill(l.buf, buflen, 1, 0);
	rv_fill(r.buf, buflen, 2, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &l, 0, &r, 0, buflen));
	ASSERT_TRUE(rv_check_data(_metadata, l.buf, 0, buflen, 2, 0));
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, 0, &r, 0, buflen));
	ASSERT_TRUE(rv_check_data(_metadata, r.buf, 0, buflen, 2, 0));

	/* New mappings for the ODP side(s); new contents everywhere. */
	ro_counters_read(_metadata, c, &before);
	if (variant->local_odp) {
		ro_remap(_metadata, &l);
		n++;
	}
	if (variant->remote_odp) {
		ro_remap(_metadata, &r);
		n++;
	}
	ASSERT_LE(n, ro_delta(_metadata, c, &before, RO_INVALIDATIONS));
	ro_refill(&l);
	ro_refill(&r);

	/* READ returns the new remote contents into the new local pages. */
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &l, lo, &r, ro, len));
	ASSERT_TRUE(ro_check(_metadata, &l, lo, len, RV_SENTINEL_SEED, ro));

	/* WRITE lands in the new remote mapping. */
	ro_refill(&l);
	rv_fill(l.buf + lo, len, 5, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, lo, &r, ro, len));
	ASSERT_TRUE(ro_check(_metadata, &r, ro, len, 5, 0));
}

/* ----------------------------------------------------------------------
 * side: mprotect_read
 *
 * PROT_READ turns device writes into error completions and leaves device
 * reads working; PROT_NONE fails reads too; restoring the protection
 * (and the QP pair) makes writes work again.
 */

/* Status of a transfer that must fail; it is logged, and must be @want. */
static void ro_expect_fail(struct __test_metadata *_metadata,
			   int st, int want,
			   const char *what)
{
	TH_LOG("%s: %s (expected %s)", what, ibv_wc_status_str(st),
	       ibv_wc_status_str(want));
	if (st == IBV_WC_WR_FLUSH_ERR)
		TH_LOG("the failing WR itself was flushed: its error is lost");
	ASSERT_NE(IBV_WC_SUCCESS, st);
	EXPECT_EQ(want, st);
}

/* mprotect_read with the responder's ODP buffer @r protected. */
static void ro_mprotect_remote(struct __test_metadata *_metadata,
			       struct ro_ctx *c, struct ro_mem *l,
			       struct ro_mem *ld, struct ro_mem *r)
{
	size_t p = c->page, off = p - 100, len = 2 * p;
	struct ro_counters before;
	int st;

	/* A first WRITE leaves writable device mappings behind. */
	rv_fill(l->buf + off, len, 1, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  l, off, r, off, len));
	ASSERT_TRUE(ro_check(_metadata, r, off, len, 1, 0));

	/* Read-only: the WRITE fails and changes nothing. */
	ro_protect(_metadata, r, PROT_READ);
	rv_fill(l->buf + off, len, 2, 0);
	ro_counters_read(_metadata, c, &before);
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE, l, off, r, off, len);
	ro_expect_fail(_metadata, st, IBV_WC_REM_ACCESS_ERR,
		       "RDMA WRITE into a PROT_READ responder ODP MR");
	ASSERT_TRUE(ro_check(_metadata, r, off, len, 1, 0));
	ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_FAULT_ERRORS));
	ro_reconnect(_metadata, c);

	/* Reading it is fine. */
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  ld, off, r, off, len));
	ASSERT_TRUE(ro_check(_metadata, ld, off, len, 1, 0));
	ro_refill(ld);

	/* Writable again: the WRITE goes through. */
	ro_protect(_metadata, r, PROT_READ | PROT_WRITE);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  l, off, r, off, len));
	ASSERT_TRUE(ro_check(_metadata, r, off, len, 2, 0));

	/* PROT_NONE: even a READ fails, and no data arrives. */
	ro_protect(_metadata, r, PROT_NONE);
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_READ, ld, off, r, off, len);
	ro_expect_fail(_metadata, st, IBV_WC_REM_ACCESS_ERR,
		       "RDMA READ from a PROT_NONE responder ODP MR");
	ASSERT_TRUE(ro_check_untouched(_metadata, ld));
	ro_reconnect(_metadata, c);
	ro_protect(_metadata, r, PROT_READ | PROT_WRITE);
	ASSERT_TRUE(ro_check(_metadata, r, off, len, 2, 0));
}

/* mprotect_read with the requester's ODP buffers @l and @ld protected. */
static void ro_mprotect_local(struct __test_metadata *_metadata,
			      struct ro_ctx *c, struct ro_mem *l,
			      struct ro_mem *ld, struct ro_mem *r)
{
	size_t p = c->page, off = p - 100, len = 2 * p;
	struct ro_counters before;
	int st;

	/* A first READ leaves writable device mappings of the sink. */
	rv_fill(r->buf + off, len, 3, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  ld, off, r, off, len));
	ASSERT_TRUE(ro_check(_metadata, ld, off, len, 3, 0));
	ro_refill(ld);

	/* Read-only sink: the READ fails and changes nothing. */
	ro_protect(_metadata, ld, PROT_READ);
	ro_counters_read(_metadata, c, &before);
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_READ, ld, off, r, off, len);
	ro_expect_fail(_metadata, st, IBV_WC_LOC_PROT_ERR,
		       "RDMA READ into a PROT_READ requester ODP MR");
	ASSERT_TRUE(ro_check_untouched(_metadata, ld));
	ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_FAULT_ERRORS));
	ro_reconnect(_metadata, c);

	/* A read-only source is fine. */
	rv_fill(l->buf + off, len, 4, 0);
	ro_protect(_metadata, l, PROT_READ);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  l, off, r, off, len));
	ASSERT_TRUE(ro_check(_metadata, r, off, len, 4, 0));
	ro_protect(_metadata, l, PROT_READ | PROT_WRITE);

	/* Writable sink again: the READ goes through. */
	ro_protect(_metadata, ld, PROT_READ | PROT_WRITE);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  ld, off, r, off, len));
	ASSERT_TRUE(ro_check(_metadata, ld, off, len, 4, 0));

	/* PROT_NONE source: the requester cannot read it; nothing is sent. */
	rv_fill(r->buf + off, len, 5, 0);
	ro_protect(_metadata, l, PROT_NONE);
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE, l, off, r, off, len);
	ro_expect_fail(_metadata, st, IBV_WC_LOC_PROT_ERR,
		       "RDMA WRITE from a PROT_NONE requester ODP MR");
	ASSERT_TRUE(ro_check(_metadata, r, off, len, 5, 0));
	ro_reconnect(_metadata, c);
	ro_protect(_metadata, l, PROT_READ | PROT_WRITE);
}

/* PROT_READ fails device writes, not reads; PROT_NONE fails both; RW heals. */
TEST_F(side, mprotect_read)
{
	struct ro_ctx *c = &self->c;
	size_t buflen = 4 * c->page;
	struct ro_mem l = ro_side_mem(_metadata, c, variant, false, buflen,
				      false);
	struct ro_mem ld = ro_side_mem(_metadata, c, variant, false, buflen,
				       false);
	struct ro_mem r = ro_side_mem(_metadata, c, variant, true, buflen,
				      false);

	if (variant->remote_odp)
		ro_mprotect_remote(_metadata, c, &l, &ld, &r);
	if (variant->local_odp)
		ro_mprotect_local(_metadata, c, &l, &ld, &r);
}

/* ----------------------------------------------------------------------
 * side: unmapped_hole
 */

/* unmapped_hole with the middle page of the responder's ODP MR unmapped. */
static void ro_hole_remote(struct __test_metadata *_metadata,
			   struct ro_ctx *c, const ro_side_variant *v)
{
	size_t p = c->page, buflen = 3 * p;
	struct ro_mem l = ro_side_mem(_metadata, c, v, false, buflen, false);
	struct ro_mem ld = ro_side_mem(_metadata, c, v, false, buflen, false);
	struct ro_mem r = ro_side_mem(_metadata, c, v, true, buflen, false);
	struct ro_counters before;
	int st;

	rv_fill(l.buf, buflen, 1, 0);
	ASSERT_EQ(0, munmap(r.buf + p, p));
	ro_counters_read(_metadata, c, &before);

	/* Transfers within the mapped pages work. */
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, 100, &r, 100, 500));
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, 2 * p + 10, &r, 2 * p + 10, 300));
	ASSERT_TRUE(rv_check_data(_metadata, r.buf, 100, 500, 1, 100));
	ASSERT_TRUE(ro_check_span(_metadata, &r, 0, p, 100, 500));
	ASSERT_TRUE(rv_check_data(_metadata, r.buf, 2 * p + 10, 300, 1,
				  2 * p + 10));
	ASSERT_TRUE(ro_check_span(_metadata, &r, 2 * p, 3 * p, 2 * p + 10,
				  300));

	/* A WRITE reaching into the hole fails and writes nothing. */
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE, &l, p - 200, &r,
		     p - 200, 400);
	ro_expect_fail(_metadata, st, IBV_WC_REM_ACCESS_ERR,
		       "RDMA WRITE across the hole");
	ASSERT_TRUE(ro_check_span(_metadata, &r, 0, p, 100, 500));
	ro_reconnect(_metadata, c);

	/* So does a multi-packet WRITE inside it. */
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE, &l, p + 10, &r, p + 10,
		     3000);
	ro_expect_fail(_metadata, st, IBV_WC_REM_ACCESS_ERR,
		       "RDMA WRITE into the hole");
	ro_reconnect(_metadata, c);

	/* A READ reaching into the hole fails and returns nothing. */
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_READ, &ld, 2 * p - 100, &r,
		     2 * p - 100, 200);
	ro_expect_fail(_metadata, st, IBV_WC_REM_ACCESS_ERR,
		       "RDMA READ across the hole");
	ASSERT_TRUE(ro_check_untouched(_metadata, &ld));
	ro_reconnect(_metadata, c);

	/* The mapped part is still readable. */
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &ld, 2 * p + 10, &r, 2 * p + 10,
					  300));
	ASSERT_TRUE(ro_check(_metadata, &ld, 2 * p + 10, 300, 1, 2 * p + 10));
	ASSERT_LE(3, ro_delta(_metadata, c, &before, RO_FAULT_ERRORS));
}

/* unmapped_hole with the middle page of the requester's ODP MRs unmapped. */
static void ro_hole_local(struct __test_metadata *_metadata,
			  struct ro_ctx *c, const ro_side_variant *v)
{
	size_t p = c->page, buflen = 3 * p;
	struct ro_mem l = ro_side_mem(_metadata, c, v, false, buflen, false);
	struct ro_mem ld = ro_side_mem(_metadata, c, v, false, buflen, false);
	struct ro_mem r = ro_side_mem(_metadata, c, v, true, buflen, false);
	struct ro_counters before;
	int st;

	rv_fill(l.buf, buflen, 2, 0);
	ASSERT_EQ(0, munmap(l.buf + p, p));
	ASSERT_EQ(0, munmap(ld.buf + p, p));
	ro_counters_read(_metadata, c, &before);

	/* A WRITE from the mapped part works. */
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, 100, &r, 100, 500));
	ASSERT_TRUE(ro_check(_metadata, &r, 100, 500, 2, 100));

	/* A WRITE from across the hole fails and sends nothing. */
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE, &l, p - 200, &r,
		     p - 200, 400);
	ro_expect_fail(_metadata, st, IBV_WC_LOC_PROT_ERR,
		       "RDMA WRITE from across the hole");
	ASSERT_TRUE(ro_check(_metadata, &r, 100, 500, 2, 100));
	ro_reconnect(_metadata, c);

	/* A READ into across the hole fails; the mapped pages stay intact. */
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_READ, &ld, p - 200, &r,
		     p - 200, 400);
	ro_expect_fail(_metadata, st, IBV_WC_LOC_PROT_ERR,
		       "RDMA READ into across the hole");
	ASSERT_TRUE(ro_check_span(_metadata, &ld, 0, p, 0, 0));
	ASSERT_TRUE(ro_check_span(_metadata, &ld, 2 * p, 3 * p, 0, 0));
	ro_reconnect(_metadata, c);

	/* A READ into the mapped part works. */
	rv_fill(r.buf + 2 * p + 10, 300, 3, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &ld, 2 * p + 10, &r, 2 * p + 10,
					  300));
	ASSERT_TRUE(rv_check_data(_metadata, ld.buf, 2 * p + 10, 300, 3, 0));
	ASSERT_TRUE(ro_check_span(_metadata, &ld, 2 * p, 3 * p, 2 * p + 10,
				  300));
	ASSERT_TRUE(ro_check_span(_metadata, &ld, 0, p, 0, 0));
	ASSERT_LE(2, ro_delta(_metadata, c, &before, RO_FAULT_ERRORS));
}

/* An unmapped page inside an ODP MR fails the transfers that touch it only. */
TEST_F(side, unmapped_hole)
{
	if (variant->remote_odp)
		ro_hole_remote(_metadata, &self->c, variant);
	if (variant->local_odp)
		ro_hole_local(_metadata, &self->c, variant);
}

/* ----------------------------------------------------------------------
 * side: page_and_mr_boundaries
 *
 * Boundary transfers: MRs of 5 pages at page 1 of 7-page mappings, so
 * that the bytes just outside each MR are mapped and checked too.
 */

/* A sentinel-filled mapping of @maplen bytes, MR over [@mroff, +@mrlen). */
static struct ro_mem ro_mem_sub(struct __test_metadata *_metadata,
				struct ro_ctx *c, size_t maplen, size_t mroff,
				size_t mrlen, bool odp)
{
	struct ro_mem m = { .len = maplen, .odp = odp };

	m.buf = ro_map(_metadata, c, maplen, 0);
	rv_sentinel(m.buf, maplen);
	m.mr = ro_reg(_metadata, c, m.buf + mroff, mrlen,
		      RO_ACCESS_RW | (odp ? IBV_ACCESS_ON_DEMAND : 0));
	return m;
}

/* Drop the device's mappings of an ODP @m, then rewrite the sentinel. */
static void ro_reset(struct __test_metadata *_metadata, struct ro_mem *m)
{
	if (m->odp)
		ro_dontneed(_metadata, m);
	ro_refill(m);
}

/* Odd offsets, page crossings, transfers to the MR end are exact; end + 1 fails. */
TEST_F(side, page_and_mr_boundaries)
{
	static const size_t offs[] = { 1, 7, 4095 };
	static const size_t lens[] = { 1, 4097, 3 * 4096 + 5 };
	struct ro_ctx *c = &self->c;
	size_t p = c->page, maplen = 7 * p, mrlen = 5 * p, base = p;
	struct ro_mem l = ro_mem_sub(_metadata, c, maplen, base, mrlen,
				     variant->local_odp);
	struct ro_mem r = ro_mem_sub(_metadata, c, maplen, base, mrlen,
				     variant->remote_odp);
	int st;
	unsigned int i, j, k;
	__u32 seed = 100;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		for (j = 0; j <= ARRAY_SIZE(offs); j++) {
			/* The last offset ends the transfer at the MR end. */
			size_t off = base + (j < ARRAY_SIZE(offs) ? offs[j] :
					     mrlen - lens[i]);

			for (k = 0; k < 2; k++) {
				enum ibv_wr_opcode op = k ? IBV_WR_RDMA_READ :
							    IBV_WR_RDMA_WRITE;
				struct ro_mem *src = k ? &r : &l;
				struct ro_mem *dst = k ? &l : &r;

				ro_reset(_metadata, &l);
				ro_reset(_metadata, &r);
				rv_fill(src->buf + off, lens[i], ++seed, 0);
				st = ro_rdma(_metadata, c, op, &l, off, &r,
					     off, lens[i]);
				ASSERT_EQ(IBV_WC_SUCCESS, st)
					TH_LOG("%s of %zu at MR offset %zu",
					       ro_op_name(op), lens[i],
					       off - base);
				ASSERT_TRUE(ro_check(_metadata, dst, off,
						     lens[i], seed, 0))
					TH_LOG("%s of %zu at MR offset %zu",
					       ro_op_name(op), lens[i],
					       off - base);
			}
		}
	}

	/* One byte past the end of the responder's MR. */
	if (variant->remote_odp) {
		ro_reset(_metadata, &l);
		ro_reset(_metadata, &r);
		st = ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE, &l, base + 100,
			     &r, base + mrlen - 10, 11);
		ro_expect_fail(_metadata, st, IBV_WC_REM_ACCESS_ERR,
			       "RDMA WRITE 1 byte past the responder MR");
		ASSERT_TRUE(ro_check_untouched(_metadata, &r));
		ro_reconnect(_metadata, c);
		st = ro_rdma(_metadata, c, IBV_WR_RDMA_READ, &l, base + 100,
			     &r, base + mrlen - 10, 11);
		ro_expect_fail(_metadata, st, IBV_WC_REM_ACCESS_ERR,
			       "RDMA READ 1 byte past the responder MR");
		ASSERT_TRUE(ro_check_untouched(_metadata, &l));
		ro_reconnect(_metadata, c);
	}

	/*
	 * One byte past the end of the requester's MR, in every variant (a
	 * pinned one shows which status rxe gives any local error): any
	 * error will do.
	 */
	ro_reset(_metadata, &l);
	ro_reset(_metadata, &r);
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE, &l,
		     base + mrlen - 10, &r, base + 100, 11);
	TH_LOG("RDMA WRITE from 1 byte past the requester MR: %s",
	       ibv_wc_status_str(st));
	ASSERT_NE(IBV_WC_SUCCESS, st);
	ASSERT_TRUE(ro_check_untouched(_metadata, &r));
	ro_reconnect(_metadata, c);
	st = ro_rdma(_metadata, c, IBV_WR_RDMA_READ, &l,
		     base + mrlen - 10, &r, base + 100, 11);
	TH_LOG("RDMA READ into 1 byte past the requester MR: %s",
	       ibv_wc_status_str(st));
	ASSERT_NE(IBV_WC_SUCCESS, st);
	ASSERT_TRUE(ro_check_untouched(_metadata, &l));
	ro_reconnect(_metadata, c);
}

/* ----------------------------------------------------------------------
 * side: zero_length
 */

/* Zero-length WRITE, READ and SEND naming ODP MRs complete and fault nothing. */
TEST_F(side, zero_length)
{
	struct ro_ctx *c = &self->c;
	size_t p = c->page;
	struct ro_mem l = ro_side_mem(_metadata, c, variant, false, 2 * p,
				      true);
	struct ro_mem r = ro_side_mem(_metadata, c, variant, true, 2 * p,
				      true);
	struct ibv_sge sge = rv_sge(l.mr, l.buf + 100, 0);
	struct ibv_sge rsge = rv_sge(r.mr, r.buf + 100, 200);
	struct ro_counters before;
	int nsge;

	ro_counters_read(_metadata, c, &before);
	for (nsge = 1; nsge >= 0; nsge--) {
		struct ibv_sge *s = nsge ? &sge : NULL;

		ASSERT_EQ(IBV_WC_SUCCESS,
			  ro_rdma_sge(_metadata, c, IBV_WR_RDMA_WRITE, s, nsge,
				      r.buf + 100, r.mr->rkey));
		ASSERT_EQ(IBV_WC_SUCCESS,
			  ro_rdma_sge(_metadata, c, IBV_WR_RDMA_READ, s, nsge,
				      r.buf + 100, r.mr->rkey));
		rv_post_recv(_metadata, c->qp_b, c->wr_id + 1, &rsge, 1);
		ASSERT_EQ(IBV_WC_SUCCESS, ro_send_sge(_metadata, c, s, nsge));
		ro_expect_recv(_metadata, c, c->wr_id, 0);
	}
	EXPECT_EQ(0, ro_delta(_metadata, c, &before, RO_FAULTS))
		TH_LOG("zero-length transfers faulted pages in");
	EXPECT_EQ(0, ro_delta(_metadata, c, &before, RO_FAULT_ERRORS));
	ASSERT_TRUE(ro_check_untouched(_metadata, &l));
	ASSERT_TRUE(ro_check_untouched(_metadata, &r));
}

/* ----------------------------------------------------------------------
 * odp: atomics
 *
 * CAS, FETCH_ADD and ATOMIC WRITE fault in untouched ODP pages; FLUSH
 * (global visibility) works on ODP MRs; persistent ODP MRs are refused.
 */

static int ro_wr_atomic(struct __test_metadata *_metadata,
			struct ro_ctx *c, bool cas,
			struct ro_mem *res, size_t roff,
			void *raddr, __u32 rkey, __u64 a,
			__u64 b)
{
	struct ibv_qp_ex *qpx = ro_wr_begin(_metadata, c);

	if (cas)
		ibv_wr_atomic_cmp_swp(qpx, rkey, (uintptr_t)raddr, a, b);
	else
		ibv_wr_atomic_fetch_add(qpx, rkey, (uintptr_t)raddr, a);
	ibv_wr_set_sge(qpx, res->mr->lkey, (uintptr_t)(res->buf + roff), 8);
	return ro_wr_end(_metadata, c, qpx, cas ? IBV_WC_COMP_SWAP :
			 IBV_WC_FETCH_ADD);
}

static int ro_wr_flush(struct __test_metadata *_metadata,
		       struct ro_ctx *c, struct ro_mem *m,
		       size_t off, size_t len, __u8 level)
{
	struct ibv_qp_ex *qpx = ro_wr_begin(_metadata, c);

	ibv_wr_flush(qpx, m->mr->rkey, (uintptr_t)(m->buf + off), len,
		     IBV_FLUSH_GLOBAL, level);
	return ro_wr_end(_metadata, c, qpx, IBV_WC_FLUSH);
}

static __u64 ro_u64(const struct ro_mem *m, size_t off)
{
	__u64 v;

	memcpy(&v, m->buf + off, sizeof(v));
	return v;
}

/* CAS, FETCH_ADD, ATOMIC WRITE fault in fresh pages; FLUSH works; PERSISTENT refused. */
TEST_F(odp, atomics)
{
	const __u64 x = 0x0123456789abcdefULL, y = 0x1111222233334444ULL;
	const __u64 a = 0x100000001ULL, b = 0xfffffffffULL;
	const __u64 w = 0x5a5a5a5aa5a5a5a5ULL;
	struct ro_ctx *c = &self->c;
	size_t p = c->page;
	struct ro_mem t, res, aw, f, src;
	struct ro_counters before;
	struct ibv_qp_ex *qpx;
	struct ibv_mr *mr;
	__u8 *pm;
	int err;

	if (c->dev_attr.orig_attr.atomic_cap == IBV_ATOMIC_NONE)
		SKIP(return, "device does not support atomics");
	c->send_ops = IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP |
		      IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD |
		      IBV_QP_EX_WITH_ATOMIC_WRITE | IBV_QP_EX_WITH_FLUSH |
		      IBV_QP_EX_WITH_RDMA_WRITE | IBV_QP_EX_WITH_RDMA_READ |
		      IBV_QP_EX_WITH_SEND;
	c->qp_access |= IBV_ACCESS_FLUSH_GLOBAL;
	ro_reconnect(_metadata, c);

	t = ro_mem_new(_metadata, c, 2 * p,
		       RO_ACCESS_RW | IBV_ACCESS_REMOTE_ATOMIC, true, true);
	res = ro_mem_new(_metadata, c, p, IBV_ACCESS_LOCAL_WRITE, true, false);
	ro_counters_read(_metadata, c, &before);

	/* CAS on an untouched page: the compare value 0 matches. */
	ASSERT_EQ(IBV_WC_SUCCESS, ro_wr_atomic(_metadata, c, true, &res, 0,
					       t.buf + 8, t.mr->rkey, 0, x));
	ASSERT_EQ(0ULL, ro_u64(&res, 0));
	ASSERT_EQ(x, ro_u64(&t, 8));
	/* A mismatching CAS returns the value and leaves it alone. */
	ASSERT_EQ(IBV_WC_SUCCESS, ro_wr_atomic(_metadata, c, true, &res, 8,
					       t.buf + 8, t.mr->rkey, 1, y));
	ASSERT_EQ(x, ro_u64(&res, 8));
	ASSERT_EQ(x, ro_u64(&t, 8));
	/* FETCH_ADD on the other untouched page. */
	ASSERT_EQ(IBV_WC_SUCCESS, ro_wr_atomic(_metadata, c, false, &res, 16,
					       t.buf + p + 16, t.mr->rkey, a,
					       0));
	ASSERT_EQ(IBV_WC_SUCCESS, ro_wr_atomic(_metadata, c, false, &res, 24,
					       t.buf + p + 16, t.mr->rkey, b,
					       0));
	ASSERT_EQ(0ULL, ro_u64(&res, 16));
	ASSERT_EQ(a, ro_u64(&res, 24));
	ASSERT_EQ(a + b, ro_u64(&t, p + 16));
	ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_FAULTS));
	ASSERT_TRUE(ro_check_zero(_metadata, t.buf, 0, 8));
	ASSERT_TRUE(ro_check_zero(_metadata, t.buf, 16, p));
	ASSERT_TRUE(ro_check_zero(_metadata, t.buf, p + 24, p - 24));
	ASSERT_TRUE(ro_check_outside(_metadata, &res, 0, 32));

	/* ATOMIC WRITE into an untouched page. */
	aw = ro_mem_new(_metadata, c, p, RO_ACCESS_RW, true, true);
	qpx = ro_wr_begin(_metadata, c);
	ibv_wr_atomic_write(qpx, aw.mr->rkey, (uintptr_t)(aw.buf + 24), &w);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_wr_end(_metadata, c, qpx,
					    IBV_WC_ATOMIC_WRITE));
	ASSERT_EQ(w, ro_u64(&aw, 24));
	ASSERT_TRUE(ro_check_outside(_metadata, &aw, 24, 8));

	/* FLUSH of written data, of untouched pages, and of the whole MR. */
	f = ro_mem_new(_metadata, c, 4 * p,
		       RO_ACCESS_RW | IBV_ACCESS_FLUSH_GLOBAL, true, true);
	src = ro_mem_new(_metadata, c, p, IBV_ACCESS_LOCAL_WRITE, false,
			 false);
	rv_fill(src.buf + 10, 3000, 7, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &src, 10, &f, p - 1000, 3000));
	ASSERT_EQ(IBV_WC_SUCCESS, ro_wr_flush(_metadata, c, &f, p - 1000,
					      3000, IBV_FLUSH_RANGE));
	ASSERT_EQ(IBV_WC_SUCCESS, ro_wr_flush(_metadata, c, &f, 3 * p, 100,
					      IBV_FLUSH_RANGE));
	ASSERT_EQ(IBV_WC_SUCCESS, ro_wr_flush(_metadata, c, &f, 0, 0,
					      IBV_FLUSH_MR));
	ASSERT_TRUE(ro_check(_metadata, &f, p - 1000, 3000, 7, 0));

	/* Persistence cannot be promised for pages that come and go. */
	pm = ro_map(_metadata, c, p, 0);
	errno = 0;
	mr = ibv_reg_mr(c->pd, pm, p, RO_ACCESS_RW |
			IBV_ACCESS_FLUSH_PERSISTENT | IBV_ACCESS_ON_DEMAND);
	err = errno;
	if (mr)
		ibv_dereg_mr(mr);
	ASSERT_EQ(NULL, mr) TH_LOG("ODP MR with FLUSH_PERSISTENT registered");
	ASSERT_EQ(EOPNOTSUPP, err) TH_LOG("errno %d (%s)", err, strerror(err));
	/* The same registration pinned shows the refusal is ODP's. */
	mr = ibv_reg_mr(c->pd, pm, p, RO_ACCESS_RW |
			IBV_ACCESS_FLUSH_PERSISTENT);
	TH_LOG("pinned MR with FLUSH_PERSISTENT (needs pmem pages): %s",
	       mr ? "registered" : strerror(errno));
	if (mr)
		ibv_dereg_mr(mr);
}

/* ----------------------------------------------------------------------
 * odp: srq_recv
 */

/* SENDs land in never-touched ODP receive buffers posted to an SRQ. */
TEST_F(odp, srq_recv)
{
	struct ro_ctx *c = &self->c;
	const struct ibv_odp_caps *caps = &c->dev_attr.odp_caps;
	size_t p = c->page, buflen = 12 * p;
	const size_t lens[] = { 1, 3000, 4097, 2 * 4096 + 123 };
	struct ibv_srq_init_attr sattr = {
		.attr = { .max_wr = 16, .max_sge = 1 },
	};
	struct ro_counters before;
	struct ro_mem src, dst;
	long long pages = 0;
	size_t off[4], i, j;

	if (!(caps->per_transport_caps.rc_odp_caps & IBV_ODP_SUPPORT_SRQ_RECV))
		SKIP(return, "no ODP support for RC SRQ receives (rc 0x%x)",
		     caps->per_transport_caps.rc_odp_caps);
	c->srq = ibv_create_srq(c->pd, &sattr);
	ASSERT_NE(NULL, c->srq) TH_LOG("ibv_create_srq: %s", strerror(errno));
	ro_reconnect(_metadata, c);
	src = ro_mem_new(_metadata, c, buflen, IBV_ACCESS_LOCAL_WRITE, false,
			 false);
	dst = ro_mem_new(_metadata, c, buflen, IBV_ACCESS_LOCAL_WRITE, true,
			 true);

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		struct ibv_sge sge;
		struct ibv_recv_wr wr = {
			.wr_id = 100 + i,
			.sg_list = &sge,
			.num_sge = 1,
		};
		struct ibv_recv_wr *bad;

		off[i] = 3 * i * p + p - 300;
		sge = rv_sge(dst.mr, dst.buf + off[i], lens[i]);
		ASSERT_EQ(0, ibv_post_srq_recv(c->srq, &wr, &bad));
		rv_fill(src.buf + off[i], lens[i], 20 + i, 0);
		pages += ro_span(c, dst.buf + off[i], lens[i]);
	}
	ro_counters_read(_metadata, c, &before);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		struct ibv_sge sge = rv_sge(src.mr, src.buf + off[i], lens[i]);

		ASSERT_EQ(IBV_WC_SUCCESS, ro_send_sge(_metadata, c, &sge, 1));
		ro_expect_recv(_metadata, c, 100 + i, lens[i]);
	}
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		ASSERT_TRUE(rv_check_data(_metadata, dst.buf, off[i], lens[i],
					  20 + i, 0));
	/* Nothing else of the receive buffer was written. */
	for (i = j = 0; i < buflen; i++) {
		if (j < ARRAY_SIZE(lens) && i == off[j]) {
			i += lens[j++] - 1;
			continue;
		}
		ASSERT_EQ(0, dst.buf[i]) TH_LOG("byte %zu", i);
	}
	ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_FAULTS));
	ASSERT_LE(pages, ro_delta(_metadata, c, &before, RO_PAGES_FAULTED));
}

/* ----------------------------------------------------------------------
 * odp: ud_send_recv
 *
 * UD SEND from an ODP buffer into a never-touched ODP receive buffer
 * (GRH first), and from a never-touched ODP buffer (zeros arrive).
 */

/* UD SEND between ODP buffers lands after the GRH, from and into fresh pages. */
TEST_F(odp, ud_send_recv)
{
	struct ro_ctx *c = &self->c;
	const struct ibv_odp_caps *caps = &c->dev_attr.odp_caps;
	const __u32 need = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV;
	size_t p = c->page, len = 1000, soff = p - 300;
	size_t roff = p - RO_GRH_LEN - 500, rlen = RO_GRH_LEN + len;
	struct ibv_ah_attr ah_attr = {
		.is_global = 1,
		.port_num = RV_PORT,
		.grh = {
			.dgid = c->gid,
			.sgid_index = c->gid_index,
			.hop_limit = 64,
		},
	};
	struct ibv_cq *cq_s, *cq_r;
	struct ibv_qp *qa, *qb;
	struct ro_mem src, dst;
	struct ibv_ah *ah;
	int round;

	if ((caps->per_transport_caps.ud_odp_caps & need) != need)
		SKIP(return, "no ODP support for UD SEND/RECV (ud 0x%x)",
		     caps->per_transport_caps.ud_odp_caps);
	cq_s = ibv_create_cq(c->ctx, RO_CQ_DEPTH, NULL, NULL, 0);
	cq_r = ibv_create_cq(c->ctx, RO_CQ_DEPTH, NULL, NULL, 0);
	ASSERT_TRUE(cq_s && cq_r);
	qa = ro_qp_new(c, cq_s, IBV_QPT_UD, 0, NULL);
	qb = ro_qp_new(c, cq_r, IBV_QPT_UD, 0, NULL);
	ASSERT_TRUE(qa && qb) TH_LOG("UD QP: %s", strerror(errno));
	ASSERT_EQ(0, ro_ud_ready(qa));
	ASSERT_EQ(0, ro_ud_ready(qb));
	ah = ibv_create_ah(c->pd, &ah_attr);
	ASSERT_NE(NULL, ah) TH_LOG("ibv_create_ah: %s", strerror(errno));

	for (round = 0; round < 2; round++) {
		/* Round 1 sends from a fresh source into a sentinel. */
		bool fresh_src = round;
		struct ro_counters before;
		struct ibv_sge ssge, rsge;
		struct ibv_send_wr wr = {
			.wr_id = 1,
			.sg_list = &ssge,
			.num_sge = 1,
			.opcode = IBV_WR_SEND,
			.wr.ud = {
				.ah = ah,
				.remote_qpn = qb->qp_num,
				.remote_qkey = RO_QKEY,
			},
		};
		struct ibv_wc wc;

		src = ro_mem_new(_metadata, c, 2 * p, IBV_ACCESS_LOCAL_WRITE,
				 true, fresh_src);
		dst = ro_mem_new(_metadata, c, 2 * p, IBV_ACCESS_LOCAL_WRITE,
				 true, !fresh_src);
		if (!fresh_src)
			rv_fill(src.buf + soff, len, 30, 0);
		ssge = rv_sge(src.mr, src.buf + soff, len);
		rsge = rv_sge(dst.mr, dst.buf + roff, rlen);
		ro_counters_read(_metadata, c, &before);
		rv_post_recv(_metadata, qb, 2, &rsge, 1);
		rv_post_send(_metadata, qa, &wr);
		rv_expect_wc(_metadata, cq_s, 1, IBV_WC_SEND, &wc);
		rv_expect_wc(_metadata, cq_r, 2, IBV_WC_RECV, &wc);
		ASSERT_EQ(rlen, wc.byte_len);
		ASSERT_EQ(qa->qp_num, wc.src_qp);
		ASSERT_NE(0U, wc.wc_flags & IBV_WC_GRH);
		/* The GRH's 40 bytes are written but not checked. */
		ASSERT_TRUE(fresh_src ?
			    ro_check_zero(_metadata, dst.buf,
					  roff + RO_GRH_LEN, len) :
			    rv_check_data(_metadata, dst.buf,
					  roff + RO_GRH_LEN, len, 30, 0));
		ASSERT_TRUE(ro_check_outside(_metadata, &dst, roff, rlen));
		ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_FAULTS));
		ro_mem_free(_metadata, c, &src);
		ro_mem_free(_metadata, c, &dst);
	}
	ibv_destroy_ah(ah);
	ibv_destroy_qp(qa);
	ibv_destroy_qp(qb);
	ibv_destroy_cq(cq_s);
	ibv_destroy_cq(cq_r);
}

/* ----------------------------------------------------------------------
 * odp: mixed_sge
 *
 * SEND and RDMA WRITE gather from pinned, ODP, pinned SGEs; a receive and
 * an RDMA READ scatter into mixed SGEs; every piece lands in place.
 */

/* SGE lists mixing pinned and ODP MRs gather and scatter every piece in place. */
TEST_F(odp, mixed_sge)
{
	struct ro_ctx *c = &self->c;
	size_t p = c->page, buflen = 2 * p, total = 4517;
	/* Gather list: pieces of 1000, 3000 and 517 bytes. */
	const size_t slen[3] = { 1000, 3000, 517 };
	const size_t soff[3] = { 100, p - 1500, 7 };
	/* Receive / READ scatter list: 2000, 1500, then up to 2000 bytes. */
	const size_t rlen[3] = { 2000, 1500, 2000 }, rtotal = 5500;
	const size_t roff[3] = { p - 1000, 50, p - 300 };
	const size_t ridx[3] = { 0, 2000, 3500 };
	struct ibv_sge ssge[3], rsge[3];
	struct ro_mem s[3], r[3], d, pr;
	size_t i, idx = 0;

	for (i = 0; i < 3; i++) {
		/* Pinned, ODP, pinned; then ODP (fresh), pinned, ODP. */
		s[i] = ro_mem_new(_metadata, c, buflen, IBV_ACCESS_LOCAL_WRITE,
				  i == 1, false);
		rv_fill(s[i].buf + soff[i], slen[i], 40, idx);
		ssge[i] = rv_sge(s[i].mr, s[i].buf + soff[i], slen[i]);
		idx += slen[i];
		r[i] = ro_mem_new(_metadata, c, buflen, IBV_ACCESS_LOCAL_WRITE,
				  i != 1, i != 1);
		rsge[i] = rv_sge(r[i].mr, r[i].buf + roff[i], rlen[i]);
	}

	/* SEND: gather pinned/ODP/pinned, scatter ODP/pinned/ODP. */
	rv_post_recv(_metadata, c->qp_b, c->wr_id + 1, rsge, 3);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_send_sge(_metadata, c, ssge, 3));
	ro_expect_recv(_metadata, c, c->wr_id, total);
	for (i = 0; i < 3; i++) {
		size_t n = i < 2 ? rlen[i] : total - ridx[i];

		ASSERT_TRUE(ro_check(_metadata, &r[i], roff[i], n, 40,
				     ridx[i]))
			TH_LOG("receive SGE %zu", i);
	}

	/* RDMA WRITE gathered from the same list into a fresh ODP MR. */
	d = ro_mem_new(_metadata, c, 3 * p, RO_ACCESS_RW, true, true);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma_sge(_metadata, c, IBV_WR_RDMA_WRITE,
					      ssge, 3, d.buf + p - 2000,
					      d.mr->rkey));
	ASSERT_TRUE(ro_check(_metadata, &d, p - 2000, total, 40, 0));

	/* RDMA READ scattered into ODP/pinned/ODP after a discard. */
	pr = ro_mem_new(_metadata, c, 2 * p, RO_ACCESS_RW, false, false);
	rv_fill(pr.buf + 11, rtotal, 41, 0);
	for (i = 0; i < 3; i++)
		ro_reset(_metadata, &r[i]);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma_sge(_metadata, c, IBV_WR_RDMA_READ,
					      rsge, 3, pr.buf + 11,
					      pr.mr->rkey));
	for (i = 0; i < 3; i++) {
		ASSERT_TRUE(ro_check(_metadata, &r[i], roff[i], rlen[i], 41,
				     ridx[i]))
			TH_LOG("READ scatter SGE %zu", i);
	}
}

/* ----------------------------------------------------------------------
 * odp: fork_cow
 *
 * After fork() without MADV_DONTFORK the parent's ODP MR keeps following
 * the parent's pages: the child's writes stay in the child, the parent's
 * RDMA WRITE stays in the parent.
 */

/* Read one byte from @fd within @ms milliseconds; 0 or -1. */
static int ro_pipe_read(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char b;

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return read(fd, &b, 1) == 1 ? 0 : -1;
}

static int ro_pipe_write(int fd)
{
	char b = 1;

	return write(fd, &b, 1) == 1 ? 0 : -1;
}

/*
 * The child of fork_cow: writes pattern @seed over its copy of @buf, then
 * checks that it stays there across the parent's RDMA WRITE.  Exit codes:
 * 0 fine, 1 own write not seen, 2 copy changed by the parent's WRITE,
 * 3 pipe trouble.
 */
static int ro_cow_child(__u8 *buf, size_t len, __u32 seed, int rfd, int wfd)
{
	rv_fill(buf, len, seed, 0);
	if (rv_mismatch(buf, len, seed, 0) >= 0)
		return 1;
	if (ro_pipe_write(wfd) || ro_pipe_read(rfd, RV_CQ_TIMEOUT_MS * 2))
		return 3;
	if (rv_mismatch(buf, len, seed, 0) >= 0)
		return 2;
	return 0;
}

/* Without MADV_DONTFORK an ODP MR follows the parent's pages through fork and COW. */
TEST_F_TIMEOUT(odp, fork_cow, 60)
{
	const __u32 seed_p = 51, seed_c = 52, seed_q = 53;
	struct ro_ctx *c = &self->c;
	size_t buflen = 8 * c->page;
	struct ro_mem b = ro_mem_new(_metadata, c, buflen, RO_ACCESS_RW, true,
				     false);
	struct ro_mem l = ro_mem_new(_metadata, c, buflen, RO_ACCESS_RW, false,
				     false);
	struct ro_counters before;
	int c2p[2], p2c[2], status;
	pid_t pid;

	/* Writable device mappings of the parent's pages before the fork. */
	rv_fill(b.buf, buflen, seed_p, 0);
	rv_fill(l.buf, buflen, seed_p, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, 0, &b, 0, buflen));
	ASSERT_EQ(0, pipe(c2p));
	ASSERT_EQ(0, pipe(p2c));
	ro_counters_read(_metadata, c, &before);

	pid = fork();
	ASSERT_LE(0, pid) TH_LOG("fork: %s", strerror(errno));
	if (!pid)
		_exit(ro_cow_child(b.buf, buflen, seed_c, p2c[0], c2p[1]));

	/* The fork write-protected the parent's pages: an invalidation. */
	ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_INVALIDATIONS));
	ASSERT_EQ(0, ro_pipe_read(c2p[0], RV_CQ_TIMEOUT_MS))
		TH_LOG("the child did not report");

	/* The device reads the parent's data, not the child's. */
	ro_refill(&l);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &l, 0, &b, 0, buflen));
	ASSERT_TRUE(rv_check_data(_metadata, l.buf, 0, buflen, seed_p, 0));

	/* A device write breaks COW in the parent, seen by its CPU only. */
	rv_fill(l.buf, buflen, seed_q, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, 0, &b, 0, buflen));
	ASSERT_TRUE(rv_check_data(_metadata, b.buf, 0, buflen, seed_q, 0));

	ASSERT_EQ(0, ro_pipe_write(p2c[1]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("child status 0x%x", status);
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: %s", WEXITSTATUS(status) == 1 ?
		       "its own write is not in its copy" :
		       WEXITSTATUS(status) == 2 ?
		       "its copy changed after the parent's RDMA WRITE" :
		       "pipe failure");
	close(c2p[0]);
	close(c2p[1]);
	close(p2c[0]);
	close(p2c[1]);
}

/* ----------------------------------------------------------------------
 * odp: no_pin
 *
 * ODP MRs of 256 MiB, 4 GiB and 64 GiB register and carry traffic with
 * RLIMIT_MEMLOCK at 64 KiB and without CAP_IPC_LOCK, and pin nothing
 * (VmPin stays 0); a pinned 256 MiB MR is refused under the same limits.
 */

/* WRITE a pattern at @off of @m through @l and READ it back; check. */
static void ro_touch_check(struct __test_metadata *_metadata,
			   struct ro_ctx *c, struct ro_mem *l,
			   struct ro_mem *m, size_t off, size_t len,
			   __u32 seed)
{
	size_t lo = off >= 64 ? off - 64 : 0;
	size_t hi = off + len + 64 <= m->len ? off + len + 64 : m->len;

	rv_fill(l->buf, len, seed, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  l, 0, m, off, len));
	memset(l->buf + len, 0, len);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  l, len, m, off, len));
	ASSERT_TRUE(rv_check_data(_metadata, l->buf, len, len, seed, 0));
	ASSERT_TRUE(rv_check_data(_metadata, m->buf, off, len, seed, 0));
	/* @m is fresh: the bytes around the range are still zero. */
	ASSERT_TRUE(ro_check_zero(_metadata, m->buf, lo, off - lo));
	ASSERT_TRUE(ro_check_zero(_metadata, m->buf, off + len,
				  hi - off - len));
}

/* Register a fresh ODP buffer of @len bytes and log how long it took. */
static struct ro_mem ro_big_odp(struct __test_metadata *_metadata,
				struct ro_ctx *c, size_t len, int flags)
{
	struct ro_mem m = { .len = len, .odp = true, .zero = true };
	struct timespec t0;

	m.buf = ro_map(_metadata, c, len, flags);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m.mr = ro_reg(_metadata, c, m.buf, len,
		      RO_ACCESS_RW | IBV_ACCESS_ON_DEMAND);
	TH_LOG("ODP registration of %zu MiB took %.1f ms", len >> 20,
	       ro_ms(&t0));
	return m;
}

/* ODP MRs up to 64 GiB work under a 64 KiB memlock limit and pin nothing. */
TEST_F_TIMEOUT(odp, no_pin, 240)
{
	struct rlimit lim = { .rlim_cur = 64 * RO_KIB, .rlim_max = 64 * RO_KIB };
	struct ro_ctx *c = &self->c;
	size_t p = c->page, huge = 64 * RO_GIB;
	struct ro_mem l, a, b, h;
	struct ro_counters before;
	struct timespec t0;
	struct ibv_mr *mr;
	int ret, err;
	__u8 *pm;

	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &lim));
	ret = ro_cap_drop(CAP_IPC_LOCK);
	TH_LOG("dropping CAP_IPC_LOCK: %s", ret ? strerror(ret) : "done");
	/*
	 * uverbs refuses write() under other credentials than the opener's:
	 * reopen the device under the new ones.
	 */
	ro_ctx_close(c);
	memset(c, 0, sizeof(*c));
	ro_fixture_setup(_metadata, c);
	ASSERT_EQ(0, ro_vmpin_kb(_metadata));

	l = ro_mem_new(_metadata, c, 4 * p, RO_ACCESS_RW, true, false);
	a = ro_big_odp(_metadata, c, 256 * RO_MIB, 0);
	b = ro_big_odp(_metadata, c, 4 * RO_GIB, MAP_NORESERVE);
	ASSERT_EQ(0, ro_vmpin_kb(_metadata)) TH_LOG("after registration");

	ro_counters_read(_metadata, c, &before);
	ro_touch_check(_metadata, c, &l, &a, 0, 2 * p, 60);
	ro_touch_check(_metadata, c, &l, &a, a.len / 2 + 3, p + 1, 61);
	ro_touch_check(_metadata, c, &l, &a, a.len - 2 * p, 2 * p, 62);
	ro_touch_check(_metadata, c, &l, &b, 0, 2 * p, 63);
	ro_touch_check(_metadata, c, &l, &b, b.len / 2 - 5, 100, 64);
	ro_touch_check(_metadata, c, &l, &b, b.len - p - 1, p + 1, 65);
	ASSERT_LE(6, ro_delta(_metadata, c, &before, RO_FAULTS));
	ASSERT_EQ(0, ro_vmpin_kb(_metadata)) TH_LOG("after traffic");

	/* The same limits refuse a pinned registration. */
	if (!ret) {
		pm = ro_map(_metadata, c, 256 * RO_MIB, MAP_NORESERVE);
		mr = ibv_reg_mr(c->pd, pm, 256 * RO_MIB, RO_ACCESS_RW);
		err = errno;
		TH_LOG("pinned 256 MiB registration: %s",
		       mr ? "registered" : strerror(err));
		if (mr)
			ibv_dereg_mr(mr);
		ASSERT_EQ(NULL, mr);
		ASSERT_TRUE(err == ENOMEM || err == EPERM);
	} else {
		TH_LOG("pinned contrast skipped: CAP_IPC_LOCK still held");
	}

	/* 64 GiB of sparse address space: 16 bytes a page up front. */
	h = ro_big_odp(_metadata, c, huge, MAP_NORESERVE);
	ro_touch_check(_metadata, c, &l, &h, 0, 16, 66);
	ro_touch_check(_metadata, c, &l, &h, huge - 16, 16, 67);
	ASSERT_EQ(0, ro_vmpin_kb(_metadata)) TH_LOG("with 64 GiB registered");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ro_mem_free(_metadata, c, &h);
	TH_LOG("deregistration and munmap of 64 GiB took %.1f ms", ro_ms(&t0));
}

/* ----------------------------------------------------------------------
 * odp: dereg_during_traffic
 *
 * Deregistering an ODP MR (remote target, then local source) while a
 * thread streams WRITEs through it: error completions, no hang, no write
 * after ibv_dereg_mr() returns, and the device works afterwards.
 */

/* A thread that keeps RDMA WRITEs in flight on QP A. */
struct ro_stream {
	struct ro_ctx *c;
	/* The local source of every WRITE. */
	struct ibv_sge sge;
	/* The remote target, written RO_STREAM_MSG bytes at a time. */
	__u8 *raddr;
	size_t rlen;
	__u32 rkey;
	/* Set by the main thread once the MR is gone. */
	int after;
	/* Successful completions (read by the main thread while running). */
	long ok;
	/* Successes of WRs posted after the MR was gone. */
	long ok_after;
	long errors;
	enum ibv_wc_status first_error;
	int post_error;
	/* No completion for RV_CQ_TIMEOUT_MS with WRs in flight. */
	bool hung;
};

static void *ro_stream_fn(void *arg)
{
	struct ro_stream *s = arg;
	struct ibv_wc wc[RO_STREAM_DEPTH];
	struct timespec t0, last;
	int inflight = 0, n, i;
	bool stop = false;
	__u64 seq = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	last = t0;
	for (;;) {
		while (!stop && inflight < RO_STREAM_DEPTH) {
			int after = __atomic_load_n(&s->after,
						    __ATOMIC_ACQUIRE);
			size_t slot = seq % (s->rlen / RO_STREAM_MSG);
			struct ibv_send_wr wr = {
				.wr_id = seq << 1 | after,
				.sg_list = &s->sge,
				.num_sge = 1,
				.opcode = IBV_WR_RDMA_WRITE,
				.wr.rdma.remote_addr = (uintptr_t)s->raddr +
						       slot * RO_STREAM_MSG,
				.wr.rdma.rkey = s->rkey,
			};
			struct ibv_send_wr *bad;

			s->post_error = ibv_post_send(s->c->qp_a, &wr, &bad);
			if (s->post_error ||
			    rv_ms_since(&t0) > RO_STREAM_MAX_MS) {
				stop = true;
				break;
			}
			seq++;
			inflight++;
		}
		if (!inflight)
			break;
		n = ibv_poll_cq(s->c->cq_a, RO_STREAM_DEPTH, wc);
		if (n < 0) {
			s->post_error = EIO;
			break;
		}
		if (!n) {
			if (rv_ms_since(&last) > RV_CQ_TIMEOUT_MS) {
				s->hung = true;
				break;
			}
			sched_yield();
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &last);
		for (i = 0; i < n; i++) {
			inflight--;
			if (wc[i].status == IBV_WC_SUCCESS) {
				__atomic_add_fetch(&s->ok, 1, __ATOMIC_RELEASE);
				if (wc[i].wr_id & 1)
					s->ok_after++;
				continue;
			}
			if (!s->errors++)
				s->first_error = wc[i].status;
			stop = true;
		}
	}
	return NULL;
}

/*
 * Stream WRITEs from @src to @dst and deregister @victim (one of the two)
 * in the middle; WRs posted after ibv_dereg_mr() returned must all fail.
 */
static void ro_dereg_race(struct __test_metadata *_metadata,
			  struct ro_ctx *c, struct ro_mem *src,
			  struct ro_mem *dst, struct ro_mem *victim)
{
	struct ro_stream s = {
		.c = c,
		.sge = rv_sge(src->mr, src->buf, RO_STREAM_MSG),
		.raddr = dst->buf,
		.rlen = dst->len,
		.rkey = dst->mr->rkey,
	};
	struct timespec t0;
	pthread_t thread;
	int ret;

	ASSERT_EQ(0, pthread_create(&thread, NULL, ro_stream_fn, &s));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&s.ok, __ATOMIC_ACQUIRE) < 8 &&
	       rv_ms_since(&t0) < 2 * RV_CQ_TIMEOUT_MS)
		sched_yield();
	ASSERT_LE(8, __atomic_load_n(&s.ok, __ATOMIC_ACQUIRE))
		TH_LOG("the stream did not get going (errors %ld, %s)",
		       s.errors, ibv_wc_status_str(s.first_error));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ro_dereg(_metadata, c, victim->mr);
	victim->mr = NULL;
	TH_LOG("ibv_dereg_mr during traffic took %.1f ms", ro_ms(&t0));
	/* No WRITE may land in the remote buffer from here on. */
	if (victim == dst)
		ro_refill(dst);
	__atomic_store_n(&s.after, 1, __ATOMIC_RELEASE);

	ret = pthread_join(thread, NULL);
	ASSERT_EQ(0, ret);
	TH_LOG("stream: %ld ok, %ld errors (first: %s), post error %d",
	       s.ok, s.errors, ibv_wc_status_str(s.first_error),
	       s.post_error);
	ASSERT_FALSE(s.hung) TH_LOG("no completion for %d ms",
				    RV_CQ_TIMEOUT_MS);
	ASSERT_EQ(0, s.ok_after)
		TH_LOG("WRITEs posted after deregistration succeeded");
	ASSERT_LE(1, s.errors) TH_LOG("no WRITE failed after deregistration");
	if (victim == dst)
		ASSERT_TRUE(ro_check_untouched(_metadata, dst))
			TH_LOG("a WRITE landed after ibv_dereg_mr() returned");
	ro_reconnect(_metadata, c);
}

/* Deregistration under streaming WRITEs: errors, no hang, no write after it returns. */
TEST_F_TIMEOUT(odp, dereg_during_traffic, 120)
{
	struct ro_ctx *c = &self->c;
	struct ro_mem src, dst, l, r;

	src = ro_mem_new(_metadata, c, RO_STREAM_MSG, IBV_ACCESS_LOCAL_WRITE,
			 false, false);
	dst = ro_mem_new(_metadata, c, RO_MIB, RO_ACCESS_RW, true, true);
	rv_fill(src.buf, RO_STREAM_MSG, 70, 0);
	ro_dereg_race(_metadata, c, &src, &dst, &dst);

	l = ro_mem_new(_metadata, c, RO_STREAM_MSG, IBV_ACCESS_LOCAL_WRITE,
		       true, false);
	r = ro_mem_new(_metadata, c, RO_MIB, RO_ACCESS_RW, false, false);
	rv_fill(l.buf, RO_STREAM_MSG, 71, 0);
	ro_dereg_race(_metadata, c, &l, &r, &l);

	/* Still working: a fresh ODP MR takes a WRITE. */
	dst = ro_mem_new(_metadata, c, 4 * c->page, RO_ACCESS_RW, true, true);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &src, 0, &dst, 5, 3000));
	ASSERT_TRUE(ro_check(_metadata, &dst, 5, 3000, 70, 0));
}

/* ----------------------------------------------------------------------
 * odp: teardown_munmap
 *
 * munmap() of an ODP buffer by another thread in the middle of a large
 * WRITE or READ, on either side: the transfer completes (successfully or
 * with an error), nothing hangs, and the device keeps working.
 */

/* A thread that munmaps a buffer once a transfer has started faulting. */
struct ro_unmapper {
	const struct ro_ctx *c;
	void *addr;
	size_t len;
	long long faulted;	/* odp_pages_faulted before the transfer */
	int go;
	int ret;		/* munmap() result */
	bool saw_fault;		/* the transfer faulted before munmap() */
};

static void *ro_unmapper_fn(void *arg)
{
	struct ro_unmapper *u = arg;
	struct timespec t0;

	while (!__atomic_load_n(&u->go, __ATOMIC_ACQUIRE))
		sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rv_ms_since(&t0) < RV_CQ_TIMEOUT_MS / 2) {
		if (ro_counter_read(u->c, RO_PAGES_FAULTED) > u->faulted) {
			u->saw_fault = true;
			break;
		}
		sched_yield();
	}
	u->ret = munmap(u->addr, u->len);
	return NULL;
}

/*
 * @op of @len bytes between @l and @r while another thread munmaps
 * @victim (@l or @r, ODP): any completion is fine, a hang is not; a
 * success with a pinned destination must have delivered all the data.
 */
static void ro_munmap_race(struct __test_metadata *_metadata,
			   struct ro_ctx *c, enum ibv_wr_opcode op,
			   struct ro_mem *l, struct ro_mem *r,
			   struct ro_mem *victim, __u32 seed)
{
	struct ro_mem *src = op == IBV_WR_RDMA_READ ? r : l;
	struct ro_mem *dst = op == IBV_WR_RDMA_READ ? l : r;
	struct ro_unmapper u = {
		.c = c,
		.addr = victim->buf,
		.len = victim->len,
	};
	struct ibv_sge sge = rv_sge(l->mr, l->buf, l->len);
	struct ibv_send_wr wr = {
		.wr_id = ++c->wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.wr.rdma.remote_addr = (uintptr_t)r->buf,
		.wr.rdma.rkey = r->mr->rkey,
	};
	int st;
	pthread_t thread;

	ro_fill64(src->buf, src->len, seed, 0);
	u.faulted = ro_counter_read(c, RO_PAGES_FAULTED);
	ASSERT_LE(0, u.faulted);
	ASSERT_EQ(0, pthread_create(&thread, NULL, ro_unmapper_fn, &u));
	rv_post_send(_metadata, c->qp_a, &wr);
	__atomic_store_n(&u.go, 1, __ATOMIC_RELEASE);
	st = ro_wait(_metadata, c, wr.wr_id, op == IBV_WR_RDMA_READ ?
		     IBV_WC_RDMA_READ : IBV_WC_RDMA_WRITE);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ro_map_forget(c, victim->buf);
	ASSERT_EQ(0, u.ret) TH_LOG("munmap: %s", strerror(errno));
	TH_LOG("%s of %zu MiB, %s munmapped %s faulting began: %s",
	       ro_op_name(op), l->len >> 20, victim == l ? "local" : "remote",
	       u.saw_fault ? "after" : "without waiting for",
	       ibv_wc_status_str(st));
	if (st == IBV_WC_SUCCESS && dst != victim)
		ASSERT_TRUE(ro_check64(_metadata, dst->buf, dst->len, seed, 0))
			TH_LOG("success reported, data incomplete");
	if (st != IBV_WC_SUCCESS)
		ro_reconnect(_metadata, c);
}

/* munmap() from another thread mid-transfer ends in a completion, never a hang. */
TEST_F_TIMEOUT(odp, teardown_munmap, 120)
{
	struct ro_ctx *c = &self->c;
	size_t len = 32 * RO_MIB;
	struct ro_mem l, r;

	/* The responder's buffer goes away under a WRITE, then a READ. */
	l = ro_big_mem(_metadata, c, len, RO_ACCESS_RW, false, 0);
	r = ro_big_mem(_metadata, c, len, RO_ACCESS_RW, true, 0);
	ro_munmap_race(_metadata, c, IBV_WR_RDMA_WRITE, &l, &r, &r, 80);
	ro_dereg(_metadata, c, r.mr);
	r = ro_big_mem(_metadata, c, len, RO_ACCESS_RW, true, 0);
	ro_munmap_race(_metadata, c, IBV_WR_RDMA_READ, &l, &r, &r, 81);
	ro_dereg(_metadata, c, r.mr);
	ro_mem_free(_metadata, c, &l);

	/* The requester's buffer goes away under a READ, then a WRITE. */
	r = ro_big_mem(_metadata, c, len, RO_ACCESS_RW, false, 0);
	l = ro_big_mem(_metadata, c, len, RO_ACCESS_RW, true, 0);
	ro_munmap_race(_metadata, c, IBV_WR_RDMA_READ, &l, &r, &l, 82);
	ro_dereg(_metadata, c, l.mr);
	l = ro_big_mem(_metadata, c, len, RO_ACCESS_RW, true, 0);
	ro_munmap_race(_metadata, c, IBV_WR_RDMA_WRITE, &l, &r, &l, 83);
	ro_dereg(_metadata, c, l.mr);

	/* Still working. */
	l = ro_mem_new(_metadata, c, 4 * c->page, RO_ACCESS_RW, true, false);
	rv_fill(l.buf, 3000, 84, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, 0, &r, 7, 3000));
	ASSERT_TRUE(rv_check_data(_metadata, r.buf, 7, 3000, 84, 0));
}

/* ----------------------------------------------------------------------
 * odp: exit_with_live_mrs
 *
 * A child that exits with ODP MRs registered and traffic in flight leaves
 * nothing behind that breaks the parent: its ODP MRs still work.
 */

/*
 * The child of exit_with_live_mrs: its own context, QPs and ODP MRs, @n
 * RDMA WRITEs and READs posted, then _exit() without any cleanup.
 * Returns 0 once everything is posted, or the step that failed.
 */
static int ro_exit_child(const char *name, int n)
{
	size_t rlen = 4 * RO_MIB, llen = RO_MIB, msg = 64 * RO_KIB;
	struct ro_ctx cc = { 0 };
	struct ibv_mr *rmr, *lmr;
	__u8 *r, *l;
	int i;

	if (ro_ctx_open(&cc, name) || ro_qps_create(&cc))
		return 10;
	r = mmap(NULL, rlen, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	l = mmap(NULL, llen, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED || l == MAP_FAILED)
		return 11;
	rv_fill(l, llen, 90, 0);
	rmr = ibv_reg_mr(cc.pd, r, rlen, RO_ACCESS_RW | IBV_ACCESS_ON_DEMAND);
	lmr = ibv_reg_mr(cc.pd, l, llen, RO_ACCESS_RW | IBV_ACCESS_ON_DEMAND);
	if (!rmr || !lmr)
		return 12;
	for (i = 0; i < n; i++) {
		bool read = i % 4 == 3;
		struct ibv_sge sge = rv_sge(lmr, l + (i * msg) % llen, msg);
		struct ibv_send_wr wr = {
			.wr_id = i,
			.sg_list = &sge,
			.num_sge = 1,
			.opcode = read ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
			.wr.rdma.remote_addr = (uintptr_t)r +
					       (i * msg) % rlen,
			.wr.rdma.rkey = rmr->rkey,
		};
		struct ibv_send_wr *bad;

		if (ibv_post_send(cc.qp_a, &wr, &bad))
			return 13;
	}
	return 0;
}

/* A child exiting with live ODP MRs and traffic in flight leaves the parent working. */
TEST_F_TIMEOUT(odp, exit_with_live_mrs, 120)
{
	static const int nwr[] = { 8, 40, 100 };
	struct ro_ctx *c = &self->c;
	struct ro_mem l, r;
	unsigned int i;
	int fds[2], status;
	char code;
	pid_t pid;

	for (i = 0; i < ARRAY_SIZE(nwr); i++) {
		ASSERT_EQ(0, pipe(fds));
		pid = fork();
		ASSERT_LE(0, pid) TH_LOG("fork: %s", strerror(errno));
		if (!pid) {
			code = ro_exit_child(c->name, nwr[i]);
			if (write(fds[1], &code, 1) != 1)
				code = 14;
			_exit(code);
		}
		close(fds[1]);
		ASSERT_EQ(1, read(fds[0], &code, 1))
			TH_LOG("child %u reported nothing", i);
		close(fds[0]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status 0x%x", status);
		ASSERT_EQ(0, WEXITSTATUS(status))
			TH_LOG("child %u failed at step %d", i,
			       WEXITSTATUS(status));
	}

	/* The parent's ODP MRs still fault and carry data. */
	l = ro_mem_new(_metadata, c, 4 * c->page, RO_ACCESS_RW, true, false);
	r = ro_mem_new(_metadata, c, 4 * c->page, RO_ACCESS_RW, true, true);
	rv_fill(l.buf + 3, 5000, 91, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE,
					  &l, 3, &r, 1000, 5000));
	ASSERT_TRUE(ro_check(_metadata, &r, 1000, 5000, 91, 0));
	ro_refill(&l);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma(_metadata, c, IBV_WR_RDMA_READ,
					  &l, 9, &r, 1000, 5000));
	ASSERT_TRUE(ro_check(_metadata, &l, 9, 5000, 91, 0));
}

/* ----------------------------------------------------------------------
 * odp: double_map
 *
 * Two ODP MRs, a pinned one and an ODP MR over part of the range, all on
 * one VA: a WRITE through any is seen by a READ through any other, also
 * after an invalidation of all the ODP ones.
 */

/* WRITE @seed through @wmr at @off, READ it back through @rmr; check. */
static void ro_via(struct __test_metadata *_metadata, struct ro_ctx *c,
		   struct ro_mem *l, struct ro_mem *b, struct ibv_mr *wmr,
		   struct ibv_mr *rmr, size_t off, size_t len, __u32 seed)
{
	struct ibv_sge sge = rv_sge(l->mr, l->buf, len);

	ro_refill(l);
	rv_fill(l->buf, len, seed, 0);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma_sge(_metadata, c, IBV_WR_RDMA_WRITE,
					      &sge, 1, b->buf + off,
					      wmr->rkey));
	ro_refill(l);
	sge = rv_sge(l->mr, l->buf + 1, len);
	ASSERT_EQ(IBV_WC_SUCCESS, ro_rdma_sge(_metadata, c, IBV_WR_RDMA_READ,
					      &sge, 1, b->buf + off,
					      rmr->rkey));
	ASSERT_TRUE(ro_check(_metadata, l, 1, len, seed, 0));
	ASSERT_TRUE(rv_check_data(_metadata, b->buf, off, len, seed, 0));
}

/* Two ODP MRs, a pinned and a partial one on one VA all see each other's writes. */
TEST_F(odp, double_map)
{
	struct ro_ctx *c = &self->c;
	size_t p = c->page, buflen = 4 * p, off = p - 100, len = 1200;
	struct ro_mem l = ro_mem_new(_metadata, c, buflen, RO_ACCESS_RW, false,
				     false);
	struct ro_mem b = ro_mem_new(_metadata, c, buflen, RO_ACCESS_RW, true,
				     false);
	struct ibv_mr *odp1 = b.mr, *odp2, *pinned, *part;
	struct ro_counters before;

	odp2 = ro_reg(_metadata, c, b.buf, buflen,
		      RO_ACCESS_RW | IBV_ACCESS_ON_DEMAND);
	pinned = ro_reg(_metadata, c, b.buf, buflen, RO_ACCESS_RW);
	part = ro_reg(_metadata, c, b.buf + p, 2 * p,
		      RO_ACCESS_RW | IBV_ACCESS_ON_DEMAND);

	ro_via(_metadata, c, &l, &b, odp1, odp2, off, len, 1);
	ro_via(_metadata, c, &l, &b, odp2, odp1, off, len, 2);
	ro_via(_metadata, c, &l, &b, pinned, odp1, off, len, 3);
	ro_via(_metadata, c, &l, &b, odp1, pinned, off, len, 4);
	ro_via(_metadata, c, &l, &b, part, odp2, p + 10, 2000, 5);
	ro_via(_metadata, c, &l, &b, odp2, part, p + 10, 2000, 6);

	/* An mprotect round trip invalidates every ODP MR over the range. */
	ro_counters_read(_metadata, c, &before);
	ro_protect(_metadata, &b, PROT_READ);
	ro_protect(_metadata, &b, PROT_READ | PROT_WRITE);
	ASSERT_LE(3, ro_delta(_metadata, c, &before, RO_INVALIDATIONS));
	ro_via(_metadata, c, &l, &b, odp2, pinned, off, len, 7);
	ro_via(_metadata, c, &l, &b, pinned, part, p + 10, 2000, 8);
	ro_via(_metadata, c, &l, &b, part, odp1, p + 10, 2000, 9);
}

/* ----------------------------------------------------------------------
 * odp: swap
 *
 * A 256 MiB ODP MR swapped out with MADV_PAGEOUT (while registered, with
 * nothing pinned) refaults from swap on RDMA READ with every byte intact
 * and takes RDMA WRITEs into swapped-out pages; a pinned 256 MiB MR
 * cannot be swapped out.
 */

/* READ all of @r into @l chunk by chunk and check pattern @seed. */
static void ro_read_all(struct __test_metadata *_metadata, struct ro_ctx *c,
			struct ro_mem *l, struct ro_mem *r, __u32 seed)
{
	size_t off;

	for (off = 0; off < r->len; off += l->len) {
		ASSERT_EQ(IBV_WC_SUCCESS,
			  ro_rdma(_metadata, c, IBV_WR_RDMA_READ, l, 0, r, off,
				  l->len));
		ASSERT_TRUE(ro_check64(_metadata, l->buf, l->len, seed,
				       off / 8))
			TH_LOG("chunk at %zu MiB", off >> 20);
	}
}

/* A swapped-out ODP MR refaults intact from swap; a pinned MR cannot be swapped out. */
TEST_F_TIMEOUT(odp, swap, 300)
{
	struct ro_ctx *c = &self->c;
	size_t len = 256 * RO_MIB, chunk = 4 * RO_MIB;
	size_t woff = 64 * RO_MIB, wlen = 16 * RO_MIB, off;
	long rss0, rss1, swap0, swap1, swap2, pin0, pin1;
	struct ro_counters before;
	struct ro_mem l, r, pm;
	struct timespec t0;
	double ms;

	if (!ro_swap_active())
		SKIP(return, "no active swap (tests/run_tests.sh sets up zram)");

	r = ro_big_mem(_metadata, c, len, RO_ACCESS_RW, true, 1);
	l = ro_big_mem(_metadata, c, chunk, RO_ACCESS_RW, true, 0);
	/* Traffic on the resident buffer first. */
	for (off = 0; off < 4 * chunk; off += chunk) {
		ASSERT_EQ(IBV_WC_SUCCESS,
			  ro_rdma(_metadata, c, IBV_WR_RDMA_READ, &l, 0, &r,
				  off, chunk));
		ASSERT_TRUE(ro_check64(_metadata, l.buf, chunk, 1, off / 8));
	}
	ASSERT_EQ(0, ro_vmpin_kb(_metadata));

	rss0 = ro_status_kb("VmRSS");
	swap0 = ro_status_kb("VmSwap");
	ro_counters_read(_metadata, c, &before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, madvise(r.buf, len, MADV_PAGEOUT))
		TH_LOG("MADV_PAGEOUT: %s", strerror(errno));
	ms = ro_ms(&t0);
	rss1 = ro_status_kb("VmRSS");
	swap1 = ro_status_kb("VmSwap");
	TH_LOG("ODP 256 MiB: MADV_PAGEOUT took %.0f ms, VmPin %ld kB",
	       ms, ro_vmpin_kb(_metadata));
	TH_LOG("ODP 256 MiB: VmRSS %ld -> %ld kB, VmSwap %ld -> %ld kB",
	       rss0, rss1, swap0, swap1);
	ASSERT_LE(1, ro_delta(_metadata, c, &before, RO_INVALIDATIONS));
	ASSERT_LE(200 * 1024, swap1 - swap0) TH_LOG("too little swapped out");
	ASSERT_LE(200 * 1024, rss0 - rss1) TH_LOG("RSS did not drop");

	/* Every byte comes back from swap through device faults. */
	ro_counters_read(_metadata, c, &before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ro_read_all(_metadata, c, &l, &r, 1);
	ms = ro_ms(&t0);
	swap2 = ro_status_kb("VmSwap");
	TH_LOG("RDMA READ of 256 MiB from swap: %.0f ms (%.1f MiB/s)",
	       ms, 256e3 / ms);
	TH_LOG("  %lld faults, %lld pages faulted, VmSwap now %ld kB",
	       ro_delta(_metadata, c, &before, RO_FAULTS),
	       ro_delta(_metadata, c, &before, RO_PAGES_FAULTED), swap2);
	ASSERT_LE((long long)(len / c->page),
		  ro_delta(_metadata, c, &before, RO_PAGES_FAULTED));
	ASSERT_EQ(0, ro_vmpin_kb(_metadata));

	/* RDMA WRITEs into swapped-out pages, seen by the CPU. */
	ASSERT_EQ(0, madvise(r.buf + woff, wlen, MADV_PAGEOUT));
	for (off = 0; off < wlen; off += chunk) {
		ro_fill64(l.buf, chunk, 2, off / 8);
		ASSERT_EQ(IBV_WC_SUCCESS,
			  ro_rdma(_metadata, c, IBV_WR_RDMA_WRITE, &l, 0, &r,
				  woff + off, chunk));
	}
	ASSERT_TRUE(ro_check64(_metadata, r.buf, woff, 1, 0));
	ASSERT_TRUE(ro_check64(_metadata, r.buf + woff, wlen, 2, 0));
	ASSERT_TRUE(ro_check64(_metadata, r.buf + woff + wlen,
			       len - woff - wlen, 1, (woff + wlen) / 8));
	ASSERT_EQ(0, ro_vmpin_kb(_metadata));
	ro_mem_free(_metadata, c, &l);
	ro_mem_free(_metadata, c, &r);

	/* Contrast: a pinned MR of the same size stays resident. */
	pm = ro_big_mem(_metadata, c, len, RO_ACCESS_RW, false, 3);
	pin0 = ro_vmpin_kb(_metadata);
	swap0 = ro_status_kb("VmSwap");
	rss0 = ro_status_kb("VmRSS");
	ASSERT_EQ(0, madvise(pm.buf, len, MADV_PAGEOUT));
	swap1 = ro_status_kb("VmSwap");
	rss1 = ro_status_kb("VmRSS");
	pin1 = ro_vmpin_kb(_metadata);
	TH_LOG("pinned 256 MiB: VmPin %ld -> %ld kB, VmRSS %ld -> %ld kB, VmSwap %ld -> %ld kB",
	       pin0, pin1, rss0, rss1, swap0, swap1);
	ASSERT_LE(255 * 1024, pin1);
	ASSERT_GT(16 * 1024, swap1 - swap0) TH_LOG("pinned pages swapped out");
	ASSERT_TRUE(ro_check64(_metadata, pm.buf, len, 3, 0));
}

TEST_HARNESS_MAIN
