// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp authors.
 *
 * rxe_odp_aging - the device's accessed bits feed page aging.
 *
 * A child process, alone in a fresh memory cgroup with memory.max of 96 MiB
 * and swap on zram, registers a 1 GiB anonymous mapping as one ODP MR.  A
 * loopback RC QP ("the remote peer") keeps reading a hot 32 MiB at the
 * start of the MR with RDMA READ, 8 in flight, each result compared with
 * the pattern; for every READ that completes the process writes 32 KiB of
 * cold memory of its own (the rest of the MR, each page written once), so
 * the reclaim that the stream causes is paced by the device's progress and
 * the figures do not depend on how fast the VM runs.  The CPU never
 * touches the hot set after filling it, so only the device's accessed bits
 * can tell page aging that it is in use.
 *
 * After a warm-up (see ag_child()) come the measured passes; the hot set's
 * refaults over them are the pages the device had to fault in again
 * (odp_pages_faulted) plus the process's own major faults.  Each test runs
 * the child with odp_aging=N and then Y: with aging on there must be fewer
 * refaults than with aging off, the odp_young counter must move (some
 * clear_young or clear_flush_young answered yes), and it must not move
 * with aging off.  The ratio is logged; bench/aging.sh measures it over
 * longer runs.
 *
 * Variants: "mglru" keeps the multi-gen LRU on (Debian's default, whose
 * page table walk and eviction look-around call clear_young); "classic"
 * turns it off (echo n > /sys/kernel/mm/lru_gen/enabled), so that
 * folio_referenced() calls clear_flush_young.  The "damon" test checks
 * that DAMON's virtual address monitoring (test_young, clear_young) sees
 * the hot set as accessed only with aging on.
 *
 * The control (RXE_ODP_AGING_CPU_CONTROL, set by bench/aging.sh) runs the
 * same child a third time with the CPU reading the hot set where the
 * device would: what page aging gives a hot set whose accesses it sees
 * anyway, under the same pressure.  Its refaults are major faults only,
 * so each run also reports the cgroup's workingset_refault_anon over the
 * measured passes, which counts the CPU's refaults and the device's alike.
 * The default memory.max puts the hot set at a third of the cgroup, a
 * pressure under which the multi-gen LRU lets even the CPU reader's hot
 * set refault; bench/aging.sh also measures a gentler one (see
 * Documentation/infiniband/rxe_odp.rst, "What aging buys, measured").
 *
 * The module parameter, lru_gen and the swap device are restored in the
 * teardown.  Environment: RXE_DEV (default rxe0), RXE_ODP_AGING_PASSES
 * (measured passes), RXE_ODP_AGING_MEM_MIB (memory.max),
 * RXE_ODP_AGING_COLD_KB (cold memory written per READ), RXE_ODP_AGING_CSV
 * (append one CSV row per run, for bench/aging.sh), RXE_ODP_AGING_LRU_GEN
 * (what the mglru variant writes to lru_gen/enabled, default y),
 * RXE_ODP_AGING_CPU_CONTROL (add the control run).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include <infiniband/verbs.h>

/*
 * The harness is not -Wextra clean (unused parameters), and its TEST_F()
 * wrappers keep a local variable across setjmp(), which -Wclobbered flags
 * depending on inlining.  This program has no setjmp() of its own.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wclobbered"

#define AG_DEFAULT_DEV		"rxe0"
#define AG_PORT			1
#define AG_PSN			0x2345
#define AG_QP_DEPTH		64
#define AG_SEED			0x5eed0ddba11ULL

#define AG_MIB			(1024UL * 1024)
#define AG_MR_SIZE		(1024 * AG_MIB)	/* the ODP MR */
#define AG_HOT_SIZE		(32 * AG_MIB)	/* read by the device */
#define AG_READ_SIZE		(256UL * 1024)	/* one RDMA READ */
#define AG_SLOTS		8		/* READs in flight */
#define AG_COLD_KB		32		/* CPU writes per READ */
#define AG_MAX_PASSES		64
#define AG_WARMUP		3		/* passes before measuring */
#define AG_PASSES		20		/* measured passes */
#define AG_MEM_MAX_MIB		96		/* memory.max of the child */
/* One child run's wall clock bound: a base plus a bound per pass. */
#define AG_RUN_TIMEOUT_S(passes)	(60 + 3 * ((passes) + AG_WARMUP))
#define AG_ZRAM_SIZE		(2048 * AG_MIB)
#define AG_SWAP_NEED_KB		(512 << 10)

#define AG_CGROUP_ROOT		"/sys/fs/cgroup"
#define AG_CGROUP		AG_CGROUP_ROOT "/rxe-odp-aging"
#define AG_PARAM		"/sys/module/rdma_rxe/parameters/odp_aging"
#define AG_LRU_GEN		"/sys/kernel/mm/lru_gen/enabled"
#define AG_DAMON		"/sys/kernel/mm/damon/admin/kdamonds"

/* Device counters sampled around the measured passes. */
enum ag_counter {
	AG_C_PAGES_FAULTED,
	AG_C_PAGE_FAULTS,
	AG_C_YOUNG,
	AG_C_PAGES_INVALIDATED,
	AG_C_FAULT_ERRORS,
	AG_NR_COUNTERS,
};

static const char * const ag_counter_names[AG_NR_COUNTERS] = {
	[AG_C_PAGES_FAULTED] = "odp_pages_faulted",
	[AG_C_PAGE_FAULTS] = "odp_page_faults",
	[AG_C_YOUNG] = "odp_young",
	[AG_C_PAGES_INVALIDATED] = "odp_pages_invalidated",
	[AG_C_FAULT_ERRORS] = "odp_fault_errors",
};

/* What a child run reports back, through a shared mapping. */
struct ag_result {
	bool done;			/* the child got to the end */
	char msg[256];			/* why it did not */
	unsigned int passes;		/* measured passes completed */
	__u64 reads;			/* READs verified */
	__u64 mismatches;		/* READs whose data was wrong */
	__u64 cold_bytes;		/* bytes of cold memory written */
	long long cnt[AG_NR_COUNTERS];	/* deltas over the measured passes */
	long long warm_faulted;		/* odp_pages_faulted of the warm pass */
	long majflt;			/* the process's own major faults */
	long minflt;
	double secs;			/* measured passes, wall clock */
	/* odp_pages_faulted per pass (the CPU reader: major faults) */
	int pass_faulted[AG_MAX_PASSES];
	int pass_ms[AG_MAX_PASSES];	/* and its duration */
	double warm_secs;		/* the warm pass, wall clock */
	/*
	 * workingset_refault_anon of the cgroup over the measured passes
	 * (child), -1 if absent: evicted pages read back, whoever faulted
	 * them, so it counts a CPU reader's refaults like the device's.
	 */
	long long ws_refault_meas;
	/* memory.stat of the cgroup after the run (parent), -1 if absent */
	long long ws_refault_anon;
	long long pswpin;
	long long pswpout;
	/* DAMON: highest nr_accesses seen in the hot and the cold range */
	long long damon_hot;
	long long damon_cold;
	int damon_regions;
};

/* Parameters of one child run. */
struct ag_params {
	const char *dev;
	const char *lru;	/* variant name, for logs and the CSV */
	bool aging;
	unsigned int passes;
	unsigned long mem_max_mib;
	size_t cold_per_read;	/* bytes of cold memory written per READ */
	bool damon;		/* DAMON observation instead of pressure */
	bool cpu_reader;	/* the CPU reads the hot set, not the device */
};

/* The RDMA resources of a child. */
struct ag_rdma {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qa;	/* requester: the "remote peer" */
	struct ibv_qp *qb;	/* responder, owner of the ODP MR */
	struct ibv_mr *odp_mr;
	struct ibv_mr *buf_mr;
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
	__u8 rd_atomic;
};

/* The state of a child's streams. */
struct ag_stream {
	__u8 *mem;		/* the MR: hot set, then cold memory */
	__u8 *buf;		/* AG_SLOTS READ destinations */
	size_t cold_pos;
	size_t cold_per_read;
	double t0;		/* ag_now() at the start of the run */
	double timeout_s;
	bool cpu_reader;	/* see struct ag_params */
};

static double ag_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The 64-bit pattern word at byte offset @off of the MR. */
static __u64 ag_pat(size_t off)
{
	return ((__u64)(off >> 3) + 1) * 0x9e3779b97f4a7c15ULL ^ AG_SEED;
}

static void ag_fill(__u8 *p, size_t off, size_t len)
{
	__u64 *w = (__u64 *)p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = ag_pat(off + i * 8);
}

/* Byte offset of the first wrong word of @p, which holds MR [@off, +@len). */
static long ag_mismatch(const __u8 *p, size_t off, size_t len)
{
	const __u64 *w = (const __u64 *)p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != ag_pat(off + i * 8))
			return i * 8;
	return -1;
}

/* Record why a child run failed; returns -1 for "return ag_err(...)". */
static int ag_err(struct ag_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Read a sysfs-style file into @buf without the trailing newline. */
static int ag_read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static int ag_write_str(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static long long ag_read_ll(const char *path)
{
	char buf[64];

	if (ag_read_str(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

static long long ag_counter(const char *dev, enum ag_counter c)
{
	char path[256];

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/%d/hw_counters/%s",
		 dev, AG_PORT, ag_counter_names[c]);
	return ag_read_ll(path);
}

static void ag_counters(const char *dev, long long *v)
{
	int c;

	for (c = 0; c < AG_NR_COUNTERS; c++)
		v[c] = ag_counter(dev, c);
}

/* The value of @key in a "key value [unit]" per line file, or -1. */
static long long ag_stat_key(const char *path, const char *key)
{
	char line[256], name[64];
	long long v = -1, x;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", name, &x) == 2 &&
		    !strcmp(name, key)) {
			v = x;
			break;
		}
	}
	fclose(f);
	return v;
}

/* Open the RDMA device @name; NULL with errno ENODEV if it does not exist. */
static struct ibv_context *ag_open_device(const char *name)
{
	struct ibv_context *ctx = NULL;
	struct ibv_device **list;
	int i, n, err = ENODEV;

	list = ibv_get_device_list(&n);
	if (!list) {
		errno = ENODEV;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (!strcmp(ibv_get_device_name(list[i]), name)) {
			ctx = ibv_open_device(list[i]);
			err = errno;
			break;
		}
	}
	ibv_free_device_list(list);
	if (!ctx)
		errno = err;
	return ctx;
}

/* Return the index of the IPv4-mapped RoCE v2 GID of the port, or -1. */
static int ag_find_gid(struct ibv_context *ctx, int tbl_len,
		       union ibv_gid *gid)
{
	static const __u8 prefix[12] = { [10] = 0xff, [11] = 0xff };
	struct ibv_gid_entry ent;
	int i;

	for (i = 0; i < tbl_len; i++) {
		if (ibv_query_gid_ex(ctx, AG_PORT, i, &ent, 0))
			continue;
		if (ent.gid_type == IBV_GID_TYPE_ROCE_V2 &&
		    !memcmp(ent.gid.raw, prefix, sizeof(prefix))) {
			*gid = ent.gid;
			return i;
		}
	}
	return -1;
}

/* Bring @qp to RTS, connected to QP @dest_qpn through our own GID. */
static int ag_connect(struct ag_rdma *r, struct ibv_qp *qp, __u32 dest_qpn)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = AG_PORT,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE |
				   IBV_ACCESS_REMOTE_READ,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = r->mtu,
		.dest_qp_num = dest_qpn,
		.rq_psn = AG_PSN,
		.max_dest_rd_atomic = r->rd_atomic,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = AG_PORT,
			.grh = {
				.dgid = r->gid,
				.sgid_index = r->gid_index,
				.hop_limit = 64,
			},
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = AG_PSN,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = r->rd_atomic,
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

static struct ibv_qp *ag_create_qp(struct ag_rdma *r)
{
	struct ibv_qp_init_attr attr = {
		.send_cq = r->cq,
		.recv_cq = r->cq,
		.cap = {
			.max_send_wr = AG_QP_DEPTH,
			.max_recv_wr = AG_QP_DEPTH,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 1,
	};

	return ibv_create_qp(r->pd, &attr);
}

/*
 * Open the device, create two connected RC QPs, register @mem (AG_MR_SIZE)
 * as an ODP MR and @buf (the READ slots) as an ordinary one.
 */
static int ag_rdma_open(struct ag_rdma *r, const char *dev, __u8 *mem,
			__u8 *buf, struct ag_result *res)
{
	struct ibv_device_attr dattr;
	struct ibv_port_attr pattr;
	int ret;

	r->ctx = ag_open_device(dev);
	if (!r->ctx)
		return ag_err(res, "cannot open %s: %s", dev, strerror(errno));
	if (ibv_query_device(r->ctx, &dattr) ||
	    ibv_query_port(r->ctx, AG_PORT, &pattr))
		return ag_err(res, "query %s: %s", dev, strerror(errno));
	r->gid_index = ag_find_gid(r->ctx, pattr.gid_tbl_len, &r->gid);
	if (r->gid_index < 0)
		return ag_err(res, "no IPv4-mapped RoCE v2 GID on %s", dev);
	r->mtu = pattr.active_mtu;
	r->rd_atomic = AG_SLOTS;
	if (dattr.max_qp_rd_atom < r->rd_atomic)
		r->rd_atomic = dattr.max_qp_rd_atom;
	if (dattr.max_qp_init_rd_atom < r->rd_atomic)
		r->rd_atomic = dattr.max_qp_init_rd_atom;

	r->pd = ibv_alloc_pd(r->ctx);
	if (!r->pd)
		return ag_err(res, "ibv_alloc_pd: %s", strerror(errno));
	r->cq = ibv_create_cq(r->ctx, 2 * AG_QP_DEPTH, NULL, NULL, 0);
	if (!r->cq)
		return ag_err(res, "ibv_create_cq: %s", strerror(errno));
	r->qa = ag_create_qp(r);
	r->qb = ag_create_qp(r);
	if (!r->qa || !r->qb)
		return ag_err(res, "ibv_create_qp: %s", strerror(errno));
	ret = ag_connect(r, r->qa, r->qb->qp_num);
	if (!ret)
		ret = ag_connect(r, r->qb, r->qa->qp_num);
	if (ret)
		return ag_err(res, "connect QPs: %s", strerror(ret));

	r->odp_mr = ibv_reg_mr(r->pd, mem, AG_MR_SIZE,
			       IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE |
			       IBV_ACCESS_REMOTE_READ);
	if (!r->odp_mr)
		return ag_err(res, "ibv_reg_mr(ODP, %lu MiB): %s",
			      AG_MR_SIZE / AG_MIB, strerror(errno));
	r->buf_mr = ibv_reg_mr(r->pd, buf, AG_SLOTS * AG_READ_SIZE,
			       IBV_ACCESS_LOCAL_WRITE);
	if (!r->buf_mr)
		return ag_err(res, "ibv_reg_mr(READ slots): %s",
			      strerror(errno));
	return 0;
}

static void ag_rdma_close(struct ag_rdma *r)
{
	if (r->qa)
		ibv_destroy_qp(r->qa);
	if (r->qb)
		ibv_destroy_qp(r->qb);
	if (r->odp_mr)
		ibv_dereg_mr(r->odp_mr);
	if (r->buf_mr)
		ibv_dereg_mr(r->buf_mr);
	if (r->cq)
		ibv_destroy_cq(r->cq);
	if (r->pd)
		ibv_dealloc_pd(r->pd);
	if (r->ctx)
		ibv_close_device(r->ctx);
}

/* RDMA READ of hot-set chunk @chunk into its slot. */
static int ag_post_read(struct ag_rdma *r, struct ag_stream *s, size_t chunk,
			struct ag_result *res)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(s->buf + chunk % AG_SLOTS * AG_READ_SIZE),
		.length = AG_READ_SIZE,
		.lkey = r->buf_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = chunk,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_READ,
		.wr.rdma.remote_addr = (uintptr_t)(s->mem +
						   chunk * AG_READ_SIZE),
		.wr.rdma.rkey = r->odp_mr->rkey,
	};
	struct ibv_send_wr *bad = NULL;
	int ret;

	ret = ibv_post_send(r->qa, &wr, &bad);
	if (ret)
		return ag_err(res, "ibv_post_send: %s", strerror(ret));
	return 0;
}

/* Wait for the next completion, which must be the READ of @chunk. */
static int ag_wait_read(struct ag_rdma *r, struct ag_stream *s, size_t chunk,
			struct ag_result *res)
{
	struct ibv_wc wc;
	int n;

	for (;;) {
		n = ibv_poll_cq(r->cq, 1, &wc);
		if (n < 0)
			return ag_err(res, "ibv_poll_cq: %d", n);
		if (n)
			break;
		if (ag_now() - s->t0 > s->timeout_s)
			return ag_err(res,
				      "timed out after %.0f s (%u passes done)",
				      s->timeout_s, res->passes);
		sched_yield();
	}
	if (wc.status != IBV_WC_SUCCESS)
		return ag_err(res, "READ of chunk %llu failed: %s (vendor 0x%x)",
			      (unsigned long long)wc.wr_id,
			      ibv_wc_status_str(wc.status), wc.vendor_err);
	if (wc.wr_id != chunk || wc.opcode != IBV_WC_RDMA_READ)
		return ag_err(res, "completion of wr %llu (opcode %d), want READ %zu",
			      (unsigned long long)wc.wr_id, wc.opcode, chunk);
	return 0;
}

/* Stream CPU writes through the next cold_per_read bytes of cold memory. */
static void ag_cold_write(struct ag_stream *s, struct ag_result *res)
{
	size_t cold_len = AG_MR_SIZE - AG_HOT_SIZE;
	__u8 *cold = s->mem + AG_HOT_SIZE;

	if (s->cold_pos + s->cold_per_read > cold_len) {
		/* Wrapped: start over on fresh pages, not on swapped ones. */
		madvise(cold, cold_len, MADV_DONTNEED);
		s->cold_pos = 0;
	}
	memset(cold + s->cold_pos, 0x5a, s->cold_per_read);
	s->cold_pos += s->cold_per_read;
	res->cold_bytes += s->cold_per_read;
}

/*
 * One pass of RDMA READs over the hot set, AG_SLOTS in flight, each result
 * checked against the pattern; with @cold, cold_per_read bytes of cold
 * memory are written per completed READ while the next ones run.
 */
static int ag_pass(struct ag_rdma *r, struct ag_stream *s, bool cold,
		   struct ag_result *res)
{
	size_t n = AG_HOT_SIZE / AG_READ_SIZE, posted = 0, done = 0;
	long bad;

	while (done < n) {
		if (s->cpu_reader) {
			/* The control: the same reads, by the CPU. */
			memcpy(s->buf + done % AG_SLOTS * AG_READ_SIZE,
			       s->mem + done * AG_READ_SIZE, AG_READ_SIZE);
		} else {
			while (posted < n && posted - done < AG_SLOTS) {
				if (ag_post_read(r, s, posted, res))
					return -1;
				posted++;
			}
			if (ag_wait_read(r, s, done, res))
				return -1;
		}
		bad = ag_mismatch(s->buf + done % AG_SLOTS * AG_READ_SIZE,
				  done * AG_READ_SIZE, AG_READ_SIZE);
		if (bad >= 0 && !res->mismatches++)
			snprintf(res->msg, sizeof(res->msg),
				 "READ of MR offset %#zx: wrong data at +%#lx",
				 done * AG_READ_SIZE, bad);
		res->reads++;
		done++;
		if (cold)
			ag_cold_write(s, res);
	}
	return 0;
}

/*
 * The DAMON observation: monitor the child's hot set and as much cold
 * memory (populated, then left alone) with DAMON vaddr while the device
 * reads the hot set, and report the highest nr_accesses of each range.
 */
static int ag_damon(struct ag_rdma *r, struct ag_stream *s,
		    struct ag_result *res);

/* The reader's refault count so far: the device's, or the CPU's. */
static long long ag_pass_refaults(const struct ag_params *p)
{
	struct rusage ru;

	if (!p->cpu_reader)
		return ag_counter(p->dev, AG_C_PAGES_FAULTED);
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}

/* The child: join the cgroup, set up, warm up, run the measured passes. */
static int ag_child(const struct ag_params *p, struct ag_result *res)
{
	struct ag_stream s = {
		.timeout_s = AG_RUN_TIMEOUT_S(p->passes),
		.cold_per_read = p->cold_per_read,
		.cpu_reader = p->cpu_reader,
	};
	long long f0, f1, ws0, ws1;
	long long c0[AG_NR_COUNTERS], c1[AG_NR_COUNTERS];
	struct ag_rdma r = { 0 };
	struct rusage ru0, ru1;
	char pid[32];
	double t0, t1;
	int ret = -1, c;

	s.t0 = ag_now();
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (!p->damon && ag_write_str(AG_CGROUP "/cgroup.procs", pid))
		return ag_err(res, "cannot join %s: %s", AG_CGROUP,
			      strerror(errno));

	s.mem = mmap(NULL, AG_MR_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	s.buf = mmap(NULL, AG_SLOTS * AG_READ_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s.mem == MAP_FAILED || s.buf == MAP_FAILED)
		return ag_err(res, "mmap: %s", strerror(errno));
	/* 4 KiB pages: aging and swap work on what the test sizes. */
	madvise(s.mem, AG_MR_SIZE, MADV_NOHUGEPAGE);
	ag_fill(s.mem, 0, AG_HOT_SIZE);

	if (ag_rdma_open(&r, p->dev, s.mem, s.buf, res))
		goto out;

	/* Warm pass: the device faults the whole hot set in. */
	ag_counters(p->dev, c0);
	t0 = ag_now();
	if (ag_pass(&r, &s, false, res))
		goto out;
	res->warm_secs = ag_now() - t0;
	ag_counters(p->dev, c1);
	res->warm_faulted = c1[AG_C_PAGES_FAULTED] - c0[AG_C_PAGES_FAULTED];

	if (!p->damon) {
		/*
		 * Warm-up, not measured.  Reclaim's first look at pages it has
		 * never checked is no steady state: every page carries its
		 * instantiating reference, one sweep marks them all and the
		 * next one, right behind, finds the hot set unused since,
		 * whoever uses it.  So get that over with: write memory.max
		 * of cold memory at once (the idle hot set is the oldest and
		 * goes), then AG_WARMUP passes that fault it back in and let
		 * the LRU settle with the stream running.
		 */
		s.cold_pos = p->mem_max_mib * AG_MIB;
		memset(s.mem + AG_HOT_SIZE, 0x3c, s.cold_pos);
		for (c = 0; c < AG_WARMUP; c++)
			if (ag_pass(&r, &s, true, res))
				goto out;
	} else {
		ret = ag_damon(&r, &s, res);
		goto out;
	}

	ag_counters(p->dev, c0);
	getrusage(RUSAGE_SELF, &ru0);
	ws0 = ag_stat_key(AG_CGROUP "/memory.stat", "workingset_refault_anon");
	t0 = ag_now();
	f0 = ag_pass_refaults(p);
	for (res->passes = 0; res->passes < p->passes; res->passes++) {
		t1 = ag_now();
		if (ag_pass(&r, &s, true, res))
			break;
		f1 = ag_pass_refaults(p);
		if (res->passes < AG_MAX_PASSES) {
			res->pass_faulted[res->passes] = f1 - f0;
			res->pass_ms[res->passes] = (ag_now() - t1) * 1000;
		}
		f0 = f1;
	}
	/* Figures also when a pass failed: they help to tell why. */
	res->secs = ag_now() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	ws1 = ag_stat_key(AG_CGROUP "/memory.stat", "workingset_refault_anon");
	res->ws_refault_meas = ws0 < 0 || ws1 < 0 ? -1 : ws1 - ws0;
	ag_counters(p->dev, c1);
	for (c = 0; c < AG_NR_COUNTERS; c++)
		res->cnt[c] = c1[c] - c0[c];
	res->majflt = ru1.ru_majflt - ru0.ru_majflt;
	res->minflt = ru1.ru_minflt - ru0.ru_minflt;
	if (res->passes == p->passes)
		ret = 0;
out:
	ag_rdma_close(&r);
	return ret;
}

/* Refaults of a run: device refaults plus the process's major faults. */
static long long ag_refaults(const struct ag_result *res)
{
	return res->cnt[AG_C_PAGES_FAULTED] + res->majflt;
}

FIXTURE(aging) {
	const char *dev;
	char saved_aging[16];
	char saved_lru_gen[32];
	bool have_lru_gen;
	int zram;		/* the zram device we made swap of, or -1 */
	struct ag_result *res;	/* [0] aging off, [1] on, [2] CPU reader */
};

FIXTURE_VARIANT(aging) {
	const char *name;
	const char *lru_gen;	/* written to lru_gen/enabled */
	bool need_mglru;
};

/* The multi-gen LRU, as Debian 13 boots (lru_gen/enabled 0x0007). */
FIXTURE_VARIANT_ADD(aging, mglru) {
	.name = "mglru",
	.lru_gen = "y",
	.need_mglru = true,
};

/* The classic active/inactive LRU (lru_gen/enabled 0x0000). */
FIXTURE_VARIANT_ADD(aging, classic) {
	.name = "classic",
	.lru_gen = "n",
};

/* Total swap in KiB from /proc/swaps, or -1. */
static long long ag_swap_total_kb(void)
{
	char line[256];
	long long total = 0, size;
	FILE *f;

	f = fopen("/proc/swaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %lld", &size) == 1)
			total += size;
	}
	fclose(f);
	return total;
}

/*
 * Make sure some swap is on: use what is there, else make a zram device
 * into swap (zram0 if unused, else a hot-added one).  Idempotent.
 * Returns NULL, or why swap cannot be had.
 */
static const char *ag_swap_setup(int *zram)
{
	char path[128], dev[32], cmd[96], buf[32];
	long long n = 0;

	*zram = -1;
	if (ag_swap_total_kb() > 0)
		return NULL;
	if (access("/sys/block/zram0", F_OK) &&
	    system("modprobe zram num_devices=1 >/dev/null 2>&1"))
		return "no swap, and modprobe zram failed";
	if (access("/sys/block/zram0/disksize", F_OK))
		return "no swap, and no zram device";
	if (ag_read_ll("/sys/block/zram0/disksize") != 0) {
		/* zram0 is in use for something else: add our own. */
		if (ag_read_str("/sys/class/zram-control/hot_add", buf,
				sizeof(buf)))
			return "no swap, zram0 busy and no zram hot_add";
		n = strtoll(buf, NULL, 10);
	}
	snprintf(path, sizeof(path), "/sys/block/zram%lld/disksize", n);
	snprintf(buf, sizeof(buf), "%lu", AG_ZRAM_SIZE);
	if (ag_write_str(path, buf))
		return "no swap, and cannot size a zram device";
	*zram = n;
	snprintf(dev, sizeof(dev), "/dev/zram%lld", n);
	snprintf(cmd, sizeof(cmd), "mkswap %s >/dev/null 2>&1", dev);
	if (system(cmd))
		return "no swap, and mkswap on zram failed";
	if (swapon(dev, 0))
		return "no swap, and swapon of zram failed";
	return NULL;
}

static void ag_swap_teardown(int zram)
{
	char path[64], dev[32], buf[16];

	if (zram < 0)
		return;
	snprintf(dev, sizeof(dev), "/dev/zram%d", zram);
	swapoff(dev);
	snprintf(path, sizeof(path), "/sys/block/zram%d/reset", zram);
	ag_write_str(path, "1");
	if (zram > 0) {
		snprintf(buf, sizeof(buf), "%d", zram);
		ag_write_str("/sys/class/zram-control/hot_remove", buf);
	}
}

/* Remove the test cgroup; it is empty once the child has been reaped. */
static void ag_cgroup_remove(void)
{
	int i;

	for (i = 0; i < 50 && rmdir(AG_CGROUP) && errno == EBUSY; i++)
		usleep(100000);
}

FIXTURE_SETUP(aging)
{
	struct ibv_device_attr_ex attr;
	struct ibv_context *ctx;
	char buf[256];
	const char *why;

	self->zram = -1;
	self->dev = getenv("RXE_DEV") ?: AG_DEFAULT_DEV;
	self->res = mmap(NULL, 3 * sizeof(*self->res), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->res);

	ctx = ag_open_device(self->dev);
	if (!ctx && errno == ENODEV)
		SKIP(return, "RDMA device %s not found (set RXE_DEV)",
		     self->dev);
	ASSERT_NE(NULL, ctx) TH_LOG("cannot open %s: %s", self->dev,
				    strerror(errno));
	ASSERT_EQ(0, ibv_query_device_ex(ctx, NULL, &attr));
	ibv_close_device(ctx);
	if (!(attr.odp_caps.general_caps & IBV_ODP_SUPPORT) ||
	    !(attr.odp_caps.per_transport_caps.rc_odp_caps &
	      IBV_ODP_SUPPORT_READ))
		SKIP(return, "%s has no ODP support for RC READ", self->dev);
	if (ag_read_str(AG_PARAM, self->saved_aging,
			sizeof(self->saved_aging)))
		SKIP(return, "rdma_rxe has no odp_aging parameter (%s)",
		     AG_PARAM);
	if (ag_counter(self->dev, AG_C_YOUNG) < 0)
		SKIP(return, "%s has no odp_young counter", self->dev);
	if (ag_read_str(AG_CGROUP_ROOT "/cgroup.controllers", buf,
			sizeof(buf)) || !strstr(buf, "memory"))
		SKIP(return, "no cgroup2 memory controller at %s",
		     AG_CGROUP_ROOT);
	self->have_lru_gen = !ag_read_str(AG_LRU_GEN, self->saved_lru_gen,
					  sizeof(self->saved_lru_gen));
	if (variant->need_mglru && !self->have_lru_gen)
		SKIP(return, "no multi-gen LRU (%s)", AG_LRU_GEN);
	if (ag_write_str(AG_CGROUP_ROOT "/cgroup.subtree_control", "+memory"))
		SKIP(return, "cannot enable the memory controller: %s",
		     strerror(errno));
	why = ag_swap_setup(&self->zram);
	if (why) {
		ag_swap_teardown(self->zram);
		SKIP(return, "%s", why);
	}
	/* Each run swaps out up to a few hundred MiB, mostly same-filled. */
	if (ag_stat_key("/proc/meminfo", "SwapFree:") < AG_SWAP_NEED_KB) {
		ag_swap_teardown(self->zram);
		self->zram = -1;
		SKIP(return, "less than %d MiB of free swap",
		     AG_SWAP_NEED_KB >> 10);
	}
}

FIXTURE_TEARDOWN_PARENT(aging)
{
	ag_cgroup_remove();
	if (self->saved_aging[0])
		ag_write_str(AG_PARAM, self->saved_aging);
	if (self->have_lru_gen)
		ag_write_str(AG_LRU_GEN, self->saved_lru_gen);
	ag_swap_teardown(self->zram);
	munmap(self->res, 3 * sizeof(*self->res));
}

/* What each run logs. */
#define AG_RUN_FMT \
	"%s aging %s: refaults %lld (odp_pages_faulted %lld in %lld faults, majflt %ld), odp_young %lld, odp_pages_invalidated %lld, odp_fault_errors %lld, workingset_refault_anon %lld (measured passes %lld), pswpin %lld; %u passes of %lu MiB + %llu MiB cold in %.1f s (%.1f MiB/s), warm pass faulted %lld pages"

/* The device's refaults pass by pass, to tell warm-up from steady state. */
static void ag_log_passes(struct __test_metadata *_metadata,
			  const struct ag_params *p, const struct ag_result *res)
{
	char line[16 * AG_MAX_PASSES] = "", *c = line;
	unsigned int i;

	for (i = 0; i < res->passes && i < AG_MAX_PASSES; i++)
		c += snprintf(c, line + sizeof(line) - c, " %d/%d",
			      res->pass_faulted[i], res->pass_ms[i]);
	TH_LOG("%s aging %s: warm pass %.2f s; %s/ms per pass:%s",
	       p->lru, p->aging ? "on" : "off", res->warm_secs,
	       p->cpu_reader ? "majflt" : "odp_pages_faulted", line);
}

/* Append one CSV row per run to $RXE_ODP_AGING_CSV, for the bench. */
static void ag_csv(const struct ag_params *p, const struct ag_result *res)
{
	const char *path = getenv("RXE_ODP_AGING_CSV");
	struct stat st;
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	if (!fstat(fileno(f), &st) && st.st_size == 0)
		fprintf(f,
			"lru,aging,passes,hot_mib,mem_max_mib,refaults,odp_pages_faulted,odp_page_faults,majflt,odp_young,odp_pages_invalidated,workingset_refault_anon,pswpin,pswpout,warm_faulted,cold_mib,secs,read_mibps,mismatches,damon_hot,damon_cold,ws_refault_measured,cold_kb_per_read,ok\n");
	fprintf(f,
		"%s,%s,%u,%lu,%lu,%lld,%lld,%lld,%ld,%lld,%lld,%lld,%lld,%lld,%lld,%llu,%.2f,%.1f,%llu,%lld,%lld,%lld,%zu,%d\n",
		p->lru, p->aging ? "on" : "off", res->passes,
		AG_HOT_SIZE / AG_MIB, p->mem_max_mib, ag_refaults(res),
		res->cnt[AG_C_PAGES_FAULTED], res->cnt[AG_C_PAGE_FAULTS],
		res->majflt, res->cnt[AG_C_YOUNG],
		res->cnt[AG_C_PAGES_INVALIDATED], res->ws_refault_anon,
		res->pswpin, res->pswpout, res->warm_faulted,
		(unsigned long long)(res->cold_bytes / AG_MIB), res->secs,
		res->secs > 0 ? res->passes * (AG_HOT_SIZE / AG_MIB) /
				res->secs : 0.0,
		(unsigned long long)res->mismatches, res->damon_hot,
		res->damon_cold, res->ws_refault_meas, p->cold_per_read >> 10,
		res->done);
	fclose(f);
}

static unsigned long ag_env(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/*
 * Run the child once with odp_aging set to @p->aging, in a fresh cgroup
 * unless it is a DAMON run; the result lands in @res.
 */
static void ag_run(struct __test_metadata *_metadata,
		   const struct ag_params *p, struct ag_result *res)
{
	char buf[32];
	double t0;
	int status;
	pid_t pid, w;

	memset(res, 0, sizeof(*res));
	res->ws_refault_meas = -1;
	res->damon_hot = -1;
	res->damon_cold = -1;
	ASSERT_EQ(0, ag_write_str(AG_PARAM, p->aging ? "Y" : "N"));
	if (!p->damon) {
		ag_cgroup_remove();
		ASSERT_EQ(0, mkdir(AG_CGROUP, 0755))
			TH_LOG("mkdir %s: %s", AG_CGROUP, strerror(errno));
		snprintf(buf, sizeof(buf), "%lu", p->mem_max_mib * AG_MIB);
		ASSERT_EQ(0, ag_write_str(AG_CGROUP "/memory.max", buf));
	}

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (!ag_child(p, res))
			res->done = true;
		_exit(0);
	}
	t0 = ag_now();
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (ag_now() - t0 > AG_RUN_TIMEOUT_S(p->passes) + 30) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(res->msg, sizeof(res->msg),
				 "child hung: killed after %d s",
				 AG_RUN_TIMEOUT_S(p->passes) + 30);
			break;
		}
		usleep(100000);
	}
	if (WIFSIGNALED(status) && !res->msg[0])
		snprintf(res->msg, sizeof(res->msg), "child killed by signal %d",
			 WTERMSIG(status));

	if (!p->damon) {
		res->ws_refault_anon = ag_stat_key(AG_CGROUP "/memory.stat",
						   "workingset_refault_anon");
		res->pswpin = ag_stat_key(AG_CGROUP "/memory.stat", "pswpin");
		res->pswpout = ag_stat_key(AG_CGROUP "/memory.stat", "pswpout");
		ag_cgroup_remove();
		TH_LOG(AG_RUN_FMT,
		       p->lru, p->aging ? "on" : "off", ag_refaults(res),
		       res->cnt[AG_C_PAGES_FAULTED],
		       res->cnt[AG_C_PAGE_FAULTS], res->majflt,
		       res->cnt[AG_C_YOUNG], res->cnt[AG_C_PAGES_INVALIDATED],
		       res->cnt[AG_C_FAULT_ERRORS], res->ws_refault_anon,
		       res->ws_refault_meas, res->pswpin, res->passes,
		       AG_HOT_SIZE / AG_MIB,
		       (unsigned long long)(res->cold_bytes / AG_MIB),
		       res->secs,
		       res->secs > 0 ? res->passes * (AG_HOT_SIZE / AG_MIB) /
				       res->secs : 0.0,
		       res->warm_faulted);
		ag_log_passes(_metadata, p, res);
	}
	ag_csv(p, res);
	ASSERT_TRUE(res->done) TH_LOG("%s aging %s: %s", p->lru,
				      p->aging ? "on" : "off", res->msg);
	ASSERT_EQ(0ULL, res->mismatches)
		TH_LOG("%llu READs returned wrong data; first: %s",
		       (unsigned long long)res->mismatches, res->msg);
}

/*
 * Under memory.max pressure the device-read hot set is refaulted less
 * with aging on than off, and only aging on makes odp_young move.  The
 * harness's bound covers three runs (off, on, the control) of the
 * bench's 96 passes at their own bound each; a run takes about 35 s.
 */
TEST_F_TIMEOUT(aging, hot_set_under_pressure, 1200)
{
	struct ag_params p = {
		.dev = self->dev,
		.lru = variant->name,
		.passes = ag_env("RXE_ODP_AGING_PASSES", AG_PASSES),
		.mem_max_mib = ag_env("RXE_ODP_AGING_MEM_MIB", AG_MEM_MAX_MIB),
		.cold_per_read = ag_env("RXE_ODP_AGING_COLD_KB", AG_COLD_KB) *
				 1024,
	};
	struct ag_result *off = &self->res[0], *on = &self->res[1];
	const char *lru_gen = variant->lru_gen;
	char lru[32];

	if (self->have_lru_gen) {
		/* RXE_ODP_AGING_LRU_GEN: other MGLRU capabilities, to study. */
		if (variant->need_mglru && getenv("RXE_ODP_AGING_LRU_GEN"))
			lru_gen = getenv("RXE_ODP_AGING_LRU_GEN");
		ASSERT_EQ(0, ag_write_str(AG_LRU_GEN, lru_gen))
			TH_LOG("cannot write %s to %s", lru_gen, AG_LRU_GEN);
		ASSERT_EQ(0, ag_read_str(AG_LRU_GEN, lru, sizeof(lru)));
		TH_LOG("lru_gen/enabled %s (was %s)", lru,
		       self->saved_lru_gen);
	}
	TH_LOG("swap: %lld KiB; memory.max %lu MiB, hot set %lu MiB of a %lu MiB ODP MR",
	       ag_swap_total_kb(), p.mem_max_mib, AG_HOT_SIZE / AG_MIB,
	       AG_MR_SIZE / AG_MIB);

	p.aging = false;
	ag_run(_metadata, &p, off);
	p.aging = true;
	ag_run(_metadata, &p, on);

	TH_LOG("%s: refaults off %lld, on %lld: ratio %.1f", variant->name,
	       ag_refaults(off), ag_refaults(on),
	       (double)ag_refaults(off) /
	       (ag_refaults(on) > 0 ? ag_refaults(on) : 1));
	EXPECT_EQ(0, off->cnt[AG_C_FAULT_ERRORS]);
	EXPECT_EQ(0, on->cnt[AG_C_FAULT_ERRORS]);
	EXPECT_EQ(0, off->cnt[AG_C_YOUNG])
		TH_LOG("odp_young moved with odp_aging=N");
	ASSERT_LT(0, on->cnt[AG_C_YOUNG])
		TH_LOG("odp_young did not move with odp_aging=Y: no %s callback answered yes",
		       variant->need_mglru ? "clear_young" :
					     "clear_flush_young");
	ASSERT_LT(0, ag_refaults(off))
		TH_LOG("no refaults with aging off: not enough memory pressure");
	ASSERT_LT(ag_refaults(on), ag_refaults(off));

	/*
	 * RXE_ODP_AGING_CPU_CONTROL (bench/aging.sh): the same run with the
	 * CPU reading the hot set at the device's pace, to compare the
	 * device's protection under aging with what page aging gives the
	 * CPU's own accesses.  Reported, not asserted.
	 */
	if (getenv("RXE_ODP_AGING_CPU_CONTROL")) {
		char lru_cpu[32];

		snprintf(lru_cpu, sizeof(lru_cpu), "%s-cpu-reader",
			 variant->name);
		p.lru = lru_cpu;
		p.cpu_reader = true;
		ag_run(_metadata, &p, &self->res[2]);
		TH_LOG("%s: CPU reader: refaults %lld, workingset_refault %lld; device: %lld, %lld",
		       variant->name, ag_refaults(&self->res[2]),
		       self->res[2].ws_refault_meas, ag_refaults(on),
		       on->ws_refault_meas);
	}
}

/* --- DAMON ------------------------------------------------------------ */

/* Write @val to the DAMON sysfs file @rel under kdamond 0. */
static int ag_damon_set(const char *rel, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), AG_DAMON "/0/%s", rel);
	return ag_write_str(path, val);
}

static int ag_damon_setl(const char *rel, unsigned long long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", val);
	return ag_damon_set(rel, buf);
}

#define AG_DCTX		"contexts/0/"
#define AG_DATTR	AG_DCTX "monitoring_attrs/"
#define AG_DTGT		AG_DCTX "targets/0/"
#define AG_DSCH		AG_DCTX "schemes/0/"
#define AG_DPAT		AG_DSCH "access_pattern/"
#define AG_DAMON_SECS	4

/*
 * Configure kdamond 0 to monitor @pid's hot set and the cold range after
 * it, with a "stat" scheme matching every region so that the regions can
 * be read back.  Sampling every 100 ms: a pass over the hot set takes a
 * few hundred ms in the VM, so a good part of it is read between the
 * clear_young of a sample and its test_young.  The regions are not updated
 * from the VMAs during the run (update interval 60 s).
 */
static int ag_damon_setup(pid_t pid, unsigned long hot)
{
	int ret = 0;

	ret |= ag_write_str(AG_DAMON "/nr_kdamonds", "1");
	ret |= ag_damon_set("contexts/nr_contexts", "1");
	ret |= ag_damon_set(AG_DCTX "operations", "vaddr");
	ret |= ag_damon_setl(AG_DATTR "intervals/sample_us", 100000);
	ret |= ag_damon_setl(AG_DATTR "intervals/aggr_us", 1000000);
	ret |= ag_damon_setl(AG_DATTR "intervals/update_us", 60000000);
	ret |= ag_damon_setl(AG_DATTR "nr_regions/min", 10);
	ret |= ag_damon_setl(AG_DATTR "nr_regions/max", 100);
	ret |= ag_damon_set(AG_DCTX "targets/nr_targets", "1");
	ret |= ag_damon_setl(AG_DTGT "pid_target", pid);
	/* Two initial regions, so that a boundary sits between the ranges. */
	ret |= ag_damon_set(AG_DTGT "regions/nr_regions", "2");
	ret |= ag_damon_setl(AG_DTGT "regions/0/start", hot);
	ret |= ag_damon_setl(AG_DTGT "regions/0/end", hot + AG_HOT_SIZE);
	ret |= ag_damon_setl(AG_DTGT "regions/1/start", hot + AG_HOT_SIZE);
	ret |= ag_damon_setl(AG_DTGT "regions/1/end", hot + 2 * AG_HOT_SIZE);
	ret |= ag_damon_set(AG_DCTX "schemes/nr_schemes", "1");
	ret |= ag_damon_set(AG_DSCH "action", "stat");
	ret |= ag_damon_setl(AG_DPAT "sz/max", ~0ULL);
	ret |= ag_damon_setl(AG_DPAT "nr_accesses/max", ~0U);
	ret |= ag_damon_setl(AG_DPAT "age/max", ~0U);
	return ret;
}

/* Shared between the reading loop and the thread that collects. */
struct ag_damon_state {
	unsigned long hot;
	struct ag_result *res;
	bool done;		/* atomic: set by the thread when it is done */
};

/*
 * Ask kdamond for the regions the scheme was last tried on (this waits for
 * an aggregation or two), and keep the highest nr_accesses of the regions
 * that overlap the hot set and of those wholly inside the cold range.
 */
static void *ag_damon_collect(void *arg)
{
	struct ag_damon_state *d = arg;
	struct ag_result *res = d->res;
	unsigned long long start, end;
	unsigned long hot = d->hot, cold = hot + AG_HOT_SIZE;
	long long n, acc;
	char path[256];
	int i;

	sleep(AG_DAMON_SECS);
	if (ag_damon_set("state", "update_schemes_tried_regions"))
		goto out;
	for (i = 0; i < 1000; i++) {
		snprintf(path, sizeof(path),
			 AG_DAMON "/0/" AG_DSCH "tried_regions/%d/start", i);
		n = ag_read_ll(path);
		if (n < 0)
			break;
		start = n;
		snprintf(path, sizeof(path),
			 AG_DAMON "/0/" AG_DSCH "tried_regions/%d/end", i);
		end = ag_read_ll(path);
		snprintf(path, sizeof(path),
			 AG_DAMON "/0/" AG_DSCH "tried_regions/%d/nr_accesses",
			 i);
		acc = ag_read_ll(path);
		res->damon_regions++;
		if (start < cold && end > hot && acc > res->damon_hot)
			res->damon_hot = acc;
		if (start >= cold && end <= cold + AG_HOT_SIZE &&
		    acc > res->damon_cold)
			res->damon_cold = acc;
	}
out:
	__atomic_store_n(&d->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The child's DAMON part: populate as much cold memory as the hot set and
 * leave it alone, then keep the device reading the hot set while DAMON,
 * set up by this process on itself, watches both ranges and a thread
 * collects its regions.  The CPU touches neither range meanwhile.
 */
static int ag_damon(struct ag_rdma *r, struct ag_stream *s,
		    struct ag_result *res)
{
	struct ag_damon_state d = { .hot = (uintptr_t)s->mem, .res = res };
	pthread_t thread;
	int ret = -1;

	memset(s->mem + AG_HOT_SIZE, 0x5a, AG_HOT_SIZE);
	if (ag_damon_setup(getpid(), d.hot))
		return ag_err(res, "cannot configure DAMON in %s", AG_DAMON);
	if (ag_damon_set("state", "on"))
		return ag_err(res, "cannot start kdamond: %s",
			      strerror(errno));
	if (pthread_create(&thread, NULL, ag_damon_collect, &d)) {
		ag_err(res, "pthread_create failed");
		goto out;
	}
	while (!__atomic_load_n(&d.done, __ATOMIC_ACQUIRE))
		if (ag_pass(r, s, false, res))
			break;
	pthread_join(thread, NULL);
	ret = res->msg[0] && !res->mismatches ? -1 : 0;
out:
	ag_damon_set("state", "off");
	ag_write_str(AG_DAMON "/nr_kdamonds", "0");
	return ret;
}

FIXTURE(damon) {
	const char *dev;
	char saved_aging[16];
	struct ag_result *res;
};

FIXTURE_SETUP(damon)
{
	struct ibv_device_attr_ex attr;
	struct ibv_context *ctx;

	self->dev = getenv("RXE_DEV") ?: AG_DEFAULT_DEV;
	self->res = mmap(NULL, 2 * sizeof(*self->res), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->res);
	ctx = ag_open_device(self->dev);
	if (!ctx && errno == ENODEV)
		SKIP(return, "RDMA device %s not found (set RXE_DEV)",
		     self->dev);
	ASSERT_NE(NULL, ctx);
	ASSERT_EQ(0, ibv_query_device_ex(ctx, NULL, &attr));
	ibv_close_device(ctx);
	if (!(attr.odp_caps.general_caps & IBV_ODP_SUPPORT))
		SKIP(return, "%s has no ODP support", self->dev);
	if (ag_read_str(AG_PARAM, self->saved_aging,
			sizeof(self->saved_aging)))
		SKIP(return, "rdma_rxe has no odp_aging parameter");
	if (access(AG_DAMON "/nr_kdamonds", W_OK))
		SKIP(return, "no DAMON sysfs interface (%s)", AG_DAMON);
	if (ag_read_ll(AG_DAMON "/nr_kdamonds") != 0)
		SKIP(return, "DAMON is in use (nr_kdamonds != 0)");
}

FIXTURE_TEARDOWN_PARENT(damon)
{
	ag_damon_set("state", "off");
	ag_write_str(AG_DAMON "/nr_kdamonds", "0");
	if (self->saved_aging[0])
		ag_write_str(AG_PARAM, self->saved_aging);
	munmap(self->res, 2 * sizeof(*self->res));
}

#define AG_DAMON_FMT \
	"DAMON nr_accesses (max over regions, %d/%d regions): hot set off %lld on %lld, cold off %lld on %lld"

/*
 * DAMON's vaddr monitoring asks test_young and clear_young: the hot set,
 * read only by the device, is seen as accessed with aging on and as idle
 * with aging off; the populated but untouched cold range is idle in both.
 */
TEST_F_TIMEOUT(damon, sees_device_reads, 120)
{
	struct ag_params p = { .dev = self->dev, .lru = "damon", .damon = true };
	struct ag_result *off = &self->res[0], *on = &self->res[1];

	p.aging = false;
	ag_run(_metadata, &p, off);
	p.aging = true;
	ag_run(_metadata, &p, on);
	TH_LOG(AG_DAMON_FMT,
	       off->damon_regions, on->damon_regions, off->damon_hot,
	       on->damon_hot, off->damon_cold, on->damon_cold);
	ASSERT_LT(0, off->damon_regions) TH_LOG("DAMON reported no regions");
	ASSERT_LT(0, on->damon_regions) TH_LOG("DAMON reported no regions");
	ASSERT_LT(0, on->damon_hot)
		TH_LOG("aging on: DAMON saw no access to the device-read hot set");
	EXPECT_EQ(0, off->damon_hot)
		TH_LOG("aging off: DAMON saw accesses to the hot set");
	EXPECT_GE(0, on->damon_cold)
		TH_LOG("DAMON saw accesses to the untouched cold range");
}

TEST_HARNESS_MAIN
