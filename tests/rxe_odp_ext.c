// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp authors.
 *
 * rxe_odp_ext - tests of the on-demand paging features of rxe-odp that
 * upstream rxe lacks: advise_mr prefetch, implicit ODP MRs, 2 MiB device
 * page table entries for THP and hugetlbfs, fault-around, and the ODP
 * counters, fault latency histogram and tracepoints.
 *
 * Two RC QPs of one device are connected to each other through the
 * IPv4-mapped RoCE v2 GID of port 1 (loopback); QP A is the requester.
 * Local SGEs are pinned MRs unless a test is about the local side, so that
 * the device's ODP counters (hw_counters/odp_*) count only the MR under
 * test: the tests check their deltas against the design (one fault per
 * fault-around window, one per 2 MiB huge page, ...).  Every transfer is
 * verified byte for byte.
 *
 * Tests that change module parameters, sysctls or trace settings restore
 * them in the fixture teardown; main() also restores, on exit, the values
 * it found at start (a test killed by its timeout skips its teardown).
 * Runs as root (module parameters, debugfs, tracefs, /proc/slabinfo).
 *
 * rdma-core 56's rxe provider has no advise_mr hook, so ibv_advise_mr()
 * answers EOPNOTSUPP; the tests then issue the command through
 * ibv_cmd_advise_mr(), libibverbs' (private) driver interface, found with
 * dlsym() because <infiniband/driver.h> is not installed.
 *
 * Environment: RXE_DEV selects the RDMA device (default "rxe0").
 */
#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include <infiniband/verbs.h>

/*
 * The harness is not -Wextra clean: unused parameters, and locals kept
 * across its setjmp() that -Wclobbered flags depending on inlining.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wclobbered"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif

#define OX_DEFAULT_DEV		"rxe0"
#define OX_PORT			1
#define OX_PSN			0x1234
#define OX_PAGE			4096UL
#define OX_KIB			1024UL
#define OX_MIB			(1024UL * 1024)
#define OX_HUGE			(2 * OX_MIB)
#define OX_WIN			(64 * OX_KIB)
#define OX_CQ_DEPTH		512
#define OX_QP_DEPTH		256
#define OX_BATCH		64
#define OX_CQ_TIMEOUT_MS	60000
#define OX_MAX_BUFS		24
#define OX_MAX_MRS		16
#define OX_MAX_SAVED		8
#define OX_OUT_MAX		(256 * 1024)

#define OX_ACCESS_ALL	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define OX_ODP		(OX_ACCESS_ALL | IBV_ACCESS_ON_DEMAND)
#define OX_RC_NEED	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | \
			 IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ)

#define OX_PARAMS	"/sys/module/rdma_rxe/parameters/"
#define OX_FAULT_AROUND	OX_PARAMS "odp_fault_around_kb"
#define OX_ODP_HUGE	OX_PARAMS "odp_huge"
#define OX_NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define OX_THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"
#define OX_DEBUGFS	"/sys/kernel/debug"
#define OX_LATENCY	OX_DEBUGFS "/rxe_odp/fault_latency"
#define OX_LAT_BUCKETS	16
#define OX_LEAF_CACHE	"kmalloc-8k"

/* What kind of pages a test buffer gets. */
enum ox_kind {
	OX_SMALL,	/* 4 KiB pages only: MADV_NOHUGEPAGE */
	OX_THP,		/* transparent huge pages wanted: MADV_HUGEPAGE */
	OX_HUGETLB,	/* hugetlbfs pages: MAP_HUGETLB */
	OX_ANY,		/* no advice */
};

/* The device's ODP counters. */
struct ox_cnt {
	__u64 faults;	/* odp_page_faults */
	__u64 pages;	/* odp_pages_faulted */
	__u64 errors;	/* odp_fault_errors */
	__u64 invals;	/* odp_invalidations */
	__u64 pinval;	/* odp_pages_invalidated */
};

static const char * const ox_cnt_names[] = {
	"odp_page_faults", "odp_pages_faulted", "odp_fault_errors",
	"odp_invalidations", "odp_pages_invalidated",
};

struct ox_buf {
	void *addr;
	size_t len;
};

/* A file the test changed and the value it held before. */
struct ox_saved {
	char path[160];
	char val[64];
};

/* A pinned, registered local buffer. */
struct ox_mem {
	__u8 *buf;
	struct ibv_mr *mr;
};

/* ibv_cmd_advise_mr() of libibverbs' driver interface, if exported. */
static int (*ox_cmd_advise_mr)(struct ibv_pd *pd,
			       enum ibv_advise_mr_advice advice, __u32 flags,
			       struct ibv_sge *sg_list, __u32 num_sge);

/* A local SGE in the program's data segment (implicit ODP). */
static __u8 ox_data_seg[3 * 4096 + 123];

FIXTURE(odp) {
	struct ibv_context *ctx;
	struct ibv_device_attr_ex attr;
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
	__u8 rd_atomic;
	struct ibv_pd *pd;
	struct ibv_cq *cq_a;
	struct ibv_cq *cq_b;
	struct ibv_qp *qp_a;
	struct ibv_qp *qp_b;
	const char *dev;
	int lifespan_ms;
	__u64 wr_id;
	struct ox_buf buf[OX_MAX_BUFS];
	int nbuf;
	struct ibv_mr *mr[OX_MAX_MRS];
	int nmr;
	struct ox_saved saved[OX_MAX_SAVED];
	int nsaved;
};

#define ox_fixture	FIXTURE_DATA(odp)

/* Byte @idx of test pattern @seed. */
static inline __u8 ox_pat(__u32 seed, size_t idx)
{
	__u32 x = (__u32)idx * 0x9e3779b1u + seed * 0x85ebca6bu;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return x >> 8;
}

static void ox_fill(void *p, size_t len, __u32 seed, size_t idx)
{
	__u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = ox_pat(seed, idx + i);
}

/* Does @p[0, @len) hold pattern @seed from index @idx?  Logs the first miss. */
static bool ox_check(struct __test_metadata *_metadata, const void *p,
		     size_t len, __u32 seed, size_t idx, const char *what)
{
	const __u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (b[i] != ox_pat(seed, idx + i)) {
			TH_LOG("%s: byte %zu of %zu is 0x%02x, want 0x%02x",
			       what, i, len, b[i], ox_pat(seed, idx + i));
			return false;
		}
	}
	return true;
}

static bool ox_check_zero(struct __test_metadata *_metadata, const void *p,
			  size_t len, const char *what)
{
	const __u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (b[i]) {
			TH_LOG("%s: byte %zu of %zu is 0x%02x, want 0",
			       what, i, len, b[i]);
			return false;
		}
	}
	return true;
}

/* Read a small file into @buf, NUL-terminated, trailing newlines cut. */
static int ox_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

static int ox_write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	int fd = open(path, O_WRONLY | O_TRUNC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		err = errno ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

/* Change @path to @val; the fixture teardown restores the old value. */
static void ox_set(struct __test_metadata *_metadata, ox_fixture *self,
		   const char *path, const char *val)
{
	struct ox_saved *s = NULL;
	int i, ret;

	for (i = 0; i < self->nsaved; i++)
		if (!strcmp(self->saved[i].path, path))
			s = &self->saved[i];
	if (!s) {
		ASSERT_GT(OX_MAX_SAVED, self->nsaved);
		s = &self->saved[self->nsaved];
		snprintf(s->path, sizeof(s->path), "%s", path);
		ret = ox_read_file(path, s->val, sizeof(s->val));
		ASSERT_EQ(0, ret) TH_LOG("read %s: %s", path, strerror(-ret));
		self->nsaved++;
	}
	ret = ox_write_file(path, val);
	ASSERT_EQ(0, ret) TH_LOG("write '%s' to %s: %s", val, path,
				 strerror(-ret));
}

/* Set the fault-around window and the huge entry switch of the module. */
static void ox_params(struct __test_metadata *_metadata, ox_fixture *self,
		      unsigned int fault_around_kb, bool huge)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", fault_around_kb);
	ox_set(_metadata, self, OX_FAULT_AROUND, v);
	ox_set(_metadata, self, OX_ODP_HUGE, huge ? "Y" : "N");
}

/*
 * The core caches hw_counters for their "lifespan" (10 ms by default) after
 * each refresh: wait that long, plus a jiffy, so that the values are fresh.
 */
static void ox_cnt_read(struct __test_metadata *_metadata, ox_fixture *self,
			struct ox_cnt *c)
{
	__u64 *v[] = { &c->faults, &c->pages, &c->errors, &c->invals,
		       &c->pinval };
	char path[256], val[64];
	size_t i;
	int ret;

	usleep((self->lifespan_ms + 20) * 1000);
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		snprintf(path, sizeof(path),
			 "/sys/class/infiniband/%s/ports/%d/hw_counters/%s",
			 self->dev, OX_PORT, ox_cnt_names[i]);
		ret = ox_read_file(path, val, sizeof(val));
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", path, strerror(-ret));
		*v[i] = strtoull(val, NULL, 0);
	}
}

/* Counter changes since @c0, logged as @what when @what is not NULL. */
static void ox_cnt_delta(struct __test_metadata *_metadata, ox_fixture *self,
			 const struct ox_cnt *c0, struct ox_cnt *d,
			 const char *what)
{
	struct ox_cnt now;

	ox_cnt_read(_metadata, self, &now);
	d->faults = now.faults - c0->faults;
	d->pages = now.pages - c0->pages;
	d->errors = now.errors - c0->errors;
	d->invals = now.invals - c0->invals;
	d->pinval = now.pinval - c0->pinval;
	if (what)
		TH_LOG("%s: faults %llu pages %llu errors %llu invals %llu pinval %llu",
		       what, (unsigned long long)d->faults,
		       (unsigned long long)d->pages,
		       (unsigned long long)d->errors,
		       (unsigned long long)d->invals,
		       (unsigned long long)d->pinval);
}

/* Map @len bytes aligned to @align, of page kind @kind; NULL if hugetlb fails. */
static void *ox_map(struct __test_metadata *_metadata, ox_fixture *self,
		    size_t len, size_t align, enum ox_kind kind)
{
	int prot = PROT_READ | PROT_WRITE;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t extra = align > OX_PAGE ? align : 0;
	char *p, *a;

	ASSERT_GT(OX_MAX_BUFS, self->nbuf);
	if (kind == OX_HUGETLB) {
		a = mmap(NULL, len, prot, flags | MAP_HUGETLB, -1, 0);
		if (a == MAP_FAILED) {
			TH_LOG("mmap(MAP_HUGETLB, %zu): %s", len,
			       strerror(errno));
			return NULL;
		}
	} else {
		p = mmap(NULL, len + extra, prot, flags, -1, 0);
		ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap(%zu): %s", len + extra,
						strerror(errno));
		a = p;
		if (extra) {
			a = (char *)(((uintptr_t)p + align - 1) & ~(align - 1));
			if (a > p)
				munmap(p, a - p);
			munmap(a + len, p + extra - a);
		}
	}
	if (kind == OX_SMALL)
		ASSERT_EQ(0, madvise(a, len, MADV_NOHUGEPAGE));
	if (kind == OX_THP)
		ASSERT_EQ(0, madvise(a, len, MADV_HUGEPAGE));
	self->buf[self->nbuf].addr = a;
	self->buf[self->nbuf].len = len;
	self->nbuf++;
	return a;
}

static struct ibv_mr *ox_reg(struct __test_metadata *_metadata,
			     ox_fixture *self, void *addr, size_t len,
			     unsigned int access)
{
	struct ibv_mr *mr;

	ASSERT_GT(OX_MAX_MRS, self->nmr);
	mr = ibv_reg_mr(self->pd, addr, len, access);
	ASSERT_NE(NULL, mr) TH_LOG("ibv_reg_mr(%p, %zu, 0x%x): %s", addr, len,
				   access, strerror(errno));
	self->mr[self->nmr++] = mr;
	return mr;
}

/* Deregister @mr now instead of in the teardown. */
static int ox_dereg(ox_fixture *self, struct ibv_mr *mr)
{
	int i, j;

	for (i = 0; i < self->nmr; i++) {
		if (self->mr[i] != mr)
			continue;
		for (j = i + 1; j < self->nmr; j++)
			self->mr[j - 1] = self->mr[j];
		self->nmr--;
		break;
	}
	return ibv_dereg_mr(mr);
}

/* A pinned local buffer of @len bytes holding pattern @seed. */
static struct ox_mem ox_src(struct __test_metadata *_metadata,
			    ox_fixture *self, size_t len, __u32 seed)
{
	struct ox_mem m;

	m.buf = ox_map(_metadata, self, len, OX_PAGE, OX_ANY);
	ox_fill(m.buf, len, seed, 0);
	m.mr = ox_reg(_metadata, self, m.buf, len, IBV_ACCESS_LOCAL_WRITE);
	return m;
}

static struct ibv_sge ox_sge(struct ibv_mr *mr, void *addr, size_t len)
{
	return (struct ibv_sge) {
		.addr = (uintptr_t)addr,
		.length = len,
		.lkey = mr->lkey,
	};
}

static long ox_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Wait up to OX_CQ_TIMEOUT_MS for one completion on @cq. */
static void ox_poll(struct __test_metadata *_metadata, struct ibv_cq *cq,
		    struct ibv_wc *wc)
{
	struct timespec t0;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		n = ibv_poll_cq(cq, 1, wc);
		ASSERT_LE(0, n) TH_LOG("ibv_poll_cq: %d", n);
		if (n)
			return;
		ASSERT_GT(OX_CQ_TIMEOUT_MS, ox_ms_since(&t0))
			TH_LOG("no completion within %d ms", OX_CQ_TIMEOUT_MS);
		sched_yield();
	}
}

/* Wait for @n successful completions on @cq. */
static void ox_wait_ok(struct __test_metadata *_metadata, struct ibv_cq *cq,
		       int n)
{
	struct ibv_wc wc;

	while (n--) {
		ox_poll(_metadata, cq, &wc);
		ASSERT_TRUE(wc.status == IBV_WC_SUCCESS)
			TH_LOG("wr_id %llu: %s", (unsigned long long)wc.wr_id,
			       ibv_wc_status_str(wc.status));
	}
}

static void ox_post(struct __test_metadata *_metadata, ox_fixture *self,
		    struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad = NULL;
	int ret;

	wr->wr_id = ++self->wr_id;
	ret = ibv_post_send(self->qp_a, wr, &bad);
	ASSERT_EQ(0, ret) TH_LOG("ibv_post_send: %s", strerror(ret));
}

/* Post an RDMA READ or WRITE of @len bytes between @laddr and @raddr. */
static void ox_post_rdma(struct __test_metadata *_metadata, ox_fixture *self,
			 enum ibv_wr_opcode op, struct ibv_mr *lmr,
			 void *laddr, size_t len, void *raddr, __u32 rkey)
{
	struct ibv_sge sge = ox_sge(lmr, laddr, len);
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.wr.rdma.remote_addr = (uintptr_t)raddr,
		.wr.rdma.rkey = rkey,
	};

	ox_post(_metadata, self, &wr);
}

/* One RDMA READ or WRITE; returns the completion status. */
static enum ibv_wc_status ox_rdma_status(struct __test_metadata *_metadata,
					 ox_fixture *self,
					 enum ibv_wr_opcode op,
					 struct ibv_mr *lmr, void *laddr,
					 size_t len, void *raddr, __u32 rkey)
{
	struct ibv_wc wc;

	ox_post_rdma(_metadata, self, op, lmr, laddr, len, raddr, rkey);
	ox_poll(_metadata, self->cq_a, &wc);
	ASSERT_EQ(self->wr_id, wc.wr_id);
	return wc.status;
}

static void ox_rdma(struct __test_metadata *_metadata, ox_fixture *self,
		    enum ibv_wr_opcode op, struct ibv_mr *lmr, void *laddr,
		    size_t len, void *raddr, __u32 rkey)
{
	enum ibv_wc_status st;

	st = ox_rdma_status(_metadata, self, op, lmr, laddr, len, raddr, rkey);
	ASSERT_TRUE(st == IBV_WC_SUCCESS)
		TH_LOG("RDMA %s of %zu bytes at %p: %s",
		       op == IBV_WR_RDMA_READ ? "READ" : "WRITE", len, raddr,
		       ibv_wc_status_str(st));
}

/* RDMA WRITE @len bytes from local @laddr to remote @raddr. */
static void ox_write(struct __test_metadata *_metadata, ox_fixture *self,
		     struct ibv_mr *lmr, void *laddr, size_t len, void *raddr,
		     __u32 rkey)
{
	ox_rdma(_metadata, self, IBV_WR_RDMA_WRITE, lmr, laddr, len, raddr,
		rkey);
}

/* RDMA READ @len bytes from remote @raddr into local @laddr. */
static void ox_read(struct __test_metadata *_metadata, ox_fixture *self,
		    struct ibv_mr *lmr, void *laddr, size_t len, void *raddr,
		    __u32 rkey)
{
	ox_rdma(_metadata, self, IBV_WR_RDMA_READ, lmr, laddr, len, raddr,
		rkey);
}

/* advise_mr: the provider's hook, else the libibverbs command; an errno. */
static int ox_advise(ox_fixture *self, enum ibv_advise_mr_advice advice,
		     __u32 flags, struct ibv_sge *sge, __u32 num_sge)
{
	int ret = ibv_advise_mr(self->pd, advice, flags, sge, num_sge);

	if (ret == EOPNOTSUPP && ox_cmd_advise_mr)
		ret = ox_cmd_advise_mr(self->pd, advice, flags, sge, num_sge);
	return ret < 0 ? -ret : ret;
}

/* Resident pages of [@p, @p + @len) according to mincore(). */
static size_t ox_resident(struct __test_metadata *_metadata, void *p,
			  size_t len)
{
	size_t i, n = len / OX_PAGE, r = 0;
	unsigned char *vec = malloc(n);

	ASSERT_NE(NULL, vec);
	ASSERT_EQ(0, mincore(p, len, vec))
		TH_LOG("mincore: %s", strerror(errno));
	for (i = 0; i < n; i++)
		r += vec[i] & 1;
	free(vec);
	return r;
}

/* AnonHugePages (kB) of the mappings overlapping [@p, @p + @len). */
static long ox_thp_kb(void *p, size_t len)
{
	unsigned long lo, hi, s = (uintptr_t)p, e = s + len;
	FILE *f = fopen("/proc/self/smaps", "r");
	long kb, total = 0;
	bool in = false;
	char line[512];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = lo < e && hi > s;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			total += kb;
	}
	fclose(f);
	return total;
}

/* Can this system give us transparent huge pages at all? */
static bool ox_thp_possible(void)
{
	char v[128];

	return !ox_read_file(OX_THP_ENABLED, v, sizeof(v)) &&
	       !strstr(v, "[never]");
}

/* A /proc/meminfo value (kB or pages), or -1. */
static long ox_meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	size_t kl = strlen(key);
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Active objects of slab cache @cache (/proc/slabinfo), or -1. */
static long ox_slab_objs(const char *cache)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], name[64];
	long active, v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld", name, &active) == 2 &&
		    !strcmp(name, cache)) {
			v = active;
			break;
		}
	}
	fclose(f);
	return v;
}

/* Sum of the fault latency histogram; *@nb gets the number of buckets. */
static long long ox_hist_sum(int *nb)
{
	FILE *f = fopen(OX_LATENCY, "r");
	long long sum = 0;
	char line[128];
	char *sp;

	*nb = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sp = strchr(line, ' ');
		if (line[0] == '#' || !sp)
			continue;
		sum += strtoll(sp + 1, NULL, 10);
		(*nb)++;
	}
	fclose(f);
	return sum;
}

/* Run a shell command and return its output (malloc'd), or NULL. */
static char *ox_run(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *out;
	size_t n;

	if (!f)
		return NULL;
	out = malloc(OX_OUT_MAX);
	if (!out) {
		pclose(f);
		return NULL;
	}
	n = fread(out, 1, OX_OUT_MAX - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

/* The contents of file @path (malloc'd, NUL-terminated), or NULL. */
static char *ox_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *out;
	size_t n;

	if (!f)
		return NULL;
	out = malloc(OX_OUT_MAX);
	if (out) {
		n = fread(out, 1, OX_OUT_MAX - 1, f);
		out[n] = '\0';
	}
	fclose(f);
	return out;
}

/* The number after the word @key in @line (up to @end), or -1. */
static long long ox_word_value(const char *line, const char *end,
			       const char *key)
{
	size_t kl = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key)) && p < end) {
		if ((p == line || p[-1] == ' ') && p[kl] == ' ')
			return strtoll(p + kl + 1, NULL, 0);
		p += kl;
	}
	return -1;
}

/* The number after "@key": in [@obj, @end) (one JSON object); -1 if none. */
static long long ox_json_value(const char *obj, const char *end,
			       const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(obj, pat);
	if (!p || p >= end)
		return -1;
	return strtoll(p + strlen(pat), NULL, 0);
}

/* Find the line of @out for which word @key has value @val; NULL if none. */
static const char *ox_find_line(const char *out, const char *key,
				long long val, const char **end)
{
	const char *line = out, *nl;

	while (line && *line) {
		nl = strchr(line, '\n');
		*end = nl ? nl : line + strlen(line);
		if (ox_word_value(line, *end, key) == val)
			return line;
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* Where tracefs is mounted (mounting it if needed), or NULL. */
static const char *ox_tracefs(void)
{
	static const char * const dirs[] = {
		"/sys/kernel/tracing", OX_DEBUGFS "/tracing",
	};
	char path[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/trace", dirs[i]);
		if (!access(path, W_OK))
			return dirs[i];
		if (i == 0 && !mount("nodev", dirs[0], "tracefs", 0, NULL) &&
		    !access(path, W_OK))
			return dirs[0];
	}
	return NULL;
}

static struct ibv_context *ox_open_device(const char *name)
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

/* The index of the IPv4-mapped RoCE v2 GID of @port, or -1. */
static int ox_find_gid(struct ibv_context *ctx, int port, int tbl_len,
		       union ibv_gid *gid)
{
	static const __u8 v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct ibv_gid_entry ent;
	int i;

	for (i = 0; i < tbl_len; i++) {
		if (ibv_query_gid_ex(ctx, port, i, &ent, 0))
			continue;
		if (ent.gid_type == IBV_GID_TYPE_ROCE_V2 &&
		    !memcmp(ent.gid.raw, v4mapped, sizeof(v4mapped))) {
			*gid = ent.gid;
			return i;
		}
	}
	return -1;
}

static struct ibv_qp *ox_create_qp(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr attr = {
		.send_cq = cq,
		.recv_cq = cq,
		.cap = {
			.max_send_wr = OX_QP_DEPTH,
			.max_recv_wr = OX_QP_DEPTH,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 1,
	};

	return ibv_create_qp(pd, &attr);
}

/* RESET -> INIT -> RTR -> RTS, connected to QP @dest_qpn on our own GID. */
static int ox_connect(ox_fixture *self, struct ibv_qp *qp, __u32 dest_qpn)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = OX_PORT,
		.qp_access_flags = OX_ACCESS_ALL,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = self->mtu,
		.dest_qp_num = dest_qpn,
		.rq_psn = OX_PSN,
		.max_dest_rd_atomic = self->rd_atomic,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = OX_PORT,
			.grh = {
				.dgid = self->gid,
				.sgid_index = self->gid_index,
				.hop_limit = 64,
			},
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = OX_PSN,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = self->rd_atomic,
	};
	int ret;

	ret = ibv_modify_qp(qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (!ret)
		ret = ibv_modify_qp(qp, &rtr, IBV_QP_STATE | IBV_QP_AV |
				    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				    IBV_QP_RQ_PSN |
				    IBV_QP_MAX_DEST_RD_ATOMIC |
				    IBV_QP_MIN_RNR_TIMER);
	if (!ret)
		ret = ibv_modify_qp(qp, &rts, IBV_QP_STATE | IBV_QP_SQ_PSN |
				    IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				    IBV_QP_RNR_RETRY |
				    IBV_QP_MAX_QP_RD_ATOMIC);
	return ret;
}

FIXTURE_SETUP(odp)
{
	const struct ibv_odp_caps *caps;
	struct ibv_port_attr port;
	char path[192], val[32];
	__u32 rc;

	self->dev = getenv("RXE_DEV") ?: OX_DEFAULT_DEV;
	if (sysconf(_SC_PAGESIZE) != (long)OX_PAGE)
		SKIP(return, "the tests assume 4 KiB pages");
	self->ctx = ox_open_device(self->dev);
	if (!self->ctx && errno == ENODEV)
		SKIP(return, "RDMA device %s not found (set RXE_DEV)",
		     self->dev);
	ASSERT_NE(NULL, self->ctx) TH_LOG("cannot open %s: %s", self->dev,
					  strerror(errno));
	ASSERT_EQ(0, ibv_query_device_ex(self->ctx, NULL, &self->attr));
	caps = &self->attr.odp_caps;
	rc = caps->per_transport_caps.rc_odp_caps;
	if (!(caps->general_caps & IBV_ODP_SUPPORT) ||
	    (rc & OX_RC_NEED) != OX_RC_NEED)
		SKIP(return, "%s has no RC ODP support (general 0x%llx, rc 0x%x)",
		     self->dev, (unsigned long long)caps->general_caps, rc);

	ASSERT_EQ(0, ibv_query_port(self->ctx, OX_PORT, &port));
	ASSERT_TRUE(port.state == IBV_PORT_ACTIVE);
	self->gid_index = ox_find_gid(self->ctx, OX_PORT, port.gid_tbl_len,
				      &self->gid);
	ASSERT_LE(0, self->gid_index)
		TH_LOG("no IPv4-mapped RoCE v2 GID on %s", self->dev);
	self->mtu = port.active_mtu;
	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/%d/hw_counters/lifespan",
		 self->dev, OX_PORT);
	self->lifespan_ms = 10;
	if (!ox_read_file(path, val, sizeof(val)))
		self->lifespan_ms = atoi(val);
	self->rd_atomic = 16;
	if (self->attr.orig_attr.max_qp_rd_atom < self->rd_atomic)
		self->rd_atomic = self->attr.orig_attr.max_qp_rd_atom;
	if (self->attr.orig_attr.max_qp_init_rd_atom < self->rd_atomic)
		self->rd_atomic = self->attr.orig_attr.max_qp_init_rd_atom;

	self->pd = ibv_alloc_pd(self->ctx);
	ASSERT_NE(NULL, self->pd);
	self->cq_a = ibv_create_cq(self->ctx, OX_CQ_DEPTH, NULL, NULL, 0);
	ASSERT_NE(NULL, self->cq_a);
	self->cq_b = ibv_create_cq(self->ctx, OX_CQ_DEPTH, NULL, NULL, 0);
	ASSERT_NE(NULL, self->cq_b);
	self->qp_a = ox_create_qp(self->pd, self->cq_a);
	ASSERT_NE(NULL, self->qp_a) TH_LOG("create QP: %s", strerror(errno));
	self->qp_b = ox_create_qp(self->pd, self->cq_b);
	ASSERT_NE(NULL, self->qp_b) TH_LOG("create QP: %s", strerror(errno));
	ASSERT_EQ(0, ox_connect(self, self->qp_a, self->qp_b->qp_num));
	ASSERT_EQ(0, ox_connect(self, self->qp_b, self->qp_a->qp_num));
}

FIXTURE_TEARDOWN(odp)
{
	int i;

	if (self->qp_a)
		ibv_destroy_qp(self->qp_a);
	if (self->qp_b)
		ibv_destroy_qp(self->qp_b);
	for (i = self->nmr - 1; i >= 0; i--)
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
	for (i = self->nsaved - 1; i >= 0; i--)
		if (ox_write_file(self->saved[i].path, self->saved[i].val))
			TH_LOG("could not restore %s to '%s'",
			       self->saved[i].path, self->saved[i].val);
}

/* Why a test skips when advise_mr answers EOPNOTSUPP to a valid request. */
#define OX_NO_ADVISE	"advise_mr: no provider hook and no ibv_cmd_advise_mr"

/* PREFETCH_WRITE with FLUSH maps a cold range writable: the WRITE takes no fault. */
TEST_F_TIMEOUT(odp, prefetch_write_sync, 120)
{
	size_t len = OX_MIB;
	__u8 *dst = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	struct ibv_mr *mr = ox_reg(_metadata, self, dst, len, OX_ODP);
	struct ox_mem src = ox_src(_metadata, self, len, 11);
	struct ibv_sge sge = ox_sge(mr, dst, len);
	struct ox_cnt c0, d;
	int ret;

	ox_params(_metadata, self, 64, true);
	ox_cnt_read(_metadata, self, &c0);
	ret = ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	if (ret == EOPNOTSUPP)
		SKIP(return, OX_NO_ADVISE);
	ASSERT_EQ(0, ret) TH_LOG("advise_mr: %s", strerror(ret));
	ox_cnt_delta(_metadata, self, &c0, &d, "PREFETCH_WRITE 1 MiB");
	ASSERT_EQ(len / OX_PAGE, d.pages);
	ASSERT_LE(1ULL, d.faults);
	ASSERT_GE(2ULL, d.faults);
	ASSERT_EQ(0ULL, d.errors);
	/* The pages were faulted in writable by the primary MMU. */
	ASSERT_EQ(len / OX_PAGE, ox_resident(_metadata, dst, len));

	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, len, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "WRITE after prefetch");
	ASSERT_EQ(0ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, dst, len, 11, 0, "dst"));
}

/* PREFETCH maps data for remote READs; (huge) zero pages are never written. */
TEST_F_TIMEOUT(odp, prefetch_read_sync, 120)
{
	size_t len = OX_MIB;
	__u8 *data = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	__u8 *cold = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	__u8 *hz = ox_map(_metadata, self, OX_HUGE, OX_HUGE, OX_THP);
	struct ox_mem loc = ox_src(_metadata, self, OX_HUGE, 0);
	struct ibv_mr *dmr, *cmr, *hmr;
	struct ibv_sge sge;
	struct ox_cnt c0, d;
	__u8 *fresh;
	int ret;

	ox_params(_metadata, self, 64, true);
	ox_fill(data, len, 21, 0);
	dmr = ox_reg(_metadata, self, data, len, OX_ODP);
	cmr = ox_reg(_metadata, self, cold, len, OX_ODP);
	hmr = ox_reg(_metadata, self, hz, OX_HUGE, OX_ODP);

	/* 1. Data the CPU wrote: mapped by the prefetch, READ needs no fault. */
	sge = ox_sge(dmr, data, len);
	ox_cnt_read(_metadata, self, &c0);
	ret = ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH,
			IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	if (ret == EOPNOTSUPP)
		SKIP(return, OX_NO_ADVISE);
	ASSERT_EQ(0, ret) TH_LOG("advise_mr: %s", strerror(ret));
	ox_cnt_delta(_metadata, self, &c0, &d, "PREFETCH of written data");
	ASSERT_EQ(len / OX_PAGE, d.pages);
	ASSERT_EQ(0ULL, d.errors);
	memset(loc.buf, 0xee, len);
	ox_cnt_read(_metadata, self, &c0);
	ox_read(_metadata, self, loc.mr, loc.buf, len, data, dmr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "READ after prefetch");
	ASSERT_EQ(0ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, loc.buf, len, 21, 0, "READ data"));

	/* 2. Never touched: the prefetch maps the zero page, read-only. */
	sge = ox_sge(cmr, cold, len);
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH,
			       IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1));
	ox_cnt_delta(_metadata, self, &c0, &d, "PREFETCH of untouched memory");
	ASSERT_EQ(len / OX_PAGE, d.pages);
	memset(loc.buf, 0xee, len);
	ox_cnt_read(_metadata, self, &c0);
	ox_read(_metadata, self, loc.mr, loc.buf, len, cold, cmr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "READ of zero pages");
	ASSERT_EQ(0ULL, d.faults);
	ASSERT_TRUE(ox_check_zero(_metadata, loc.buf, len, "READ of zero pages"));
	ox_fill(loc.buf, len, 22, 0);
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, loc.mr, loc.buf, len, cold, cmr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "WRITE over zero pages");
	/* Read-only entries: the WRITE must fault to break COW. */
	ASSERT_LE(1ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, cold, len, 22, 0, "WRITE data"));

	/* 3. A THP-eligible 2 MiB range: possibly the huge zero page. */
	sge = ox_sge(hmr, hz, OX_HUGE);
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH,
			       IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1));
	ox_cnt_delta(_metadata, self, &c0, &d, "PREFETCH of an empty THP range");
	ASSERT_EQ(OX_HUGE / OX_PAGE, d.pages);
	memset(loc.buf, 0xee, OX_HUGE);
	ox_read(_metadata, self, loc.mr, loc.buf, OX_HUGE, hz, hmr->rkey);
	ASSERT_TRUE(ox_check_zero(_metadata, loc.buf, OX_HUGE,
				  "READ of the empty THP range"));
	ox_fill(loc.buf, OX_HUGE, 23, 0);
	ox_write(_metadata, self, loc.mr, loc.buf, OX_HUGE, hz, hmr->rkey);
	ASSERT_TRUE(ox_check(_metadata, hz, OX_HUGE, 23, 0, "THP WRITE data"));

	/* Nothing was written through into a shared zero page. */
	fresh = ox_map(_metadata, self, OX_HUGE, OX_HUGE, OX_THP);
	ASSERT_TRUE(ox_check_zero(_metadata, fresh, OX_HUGE, "new THP range"));
	fresh = ox_map(_metadata, self, len, OX_PAGE, OX_SMALL);
	ASSERT_TRUE(ox_check_zero(_metadata, fresh, len, "new 4K range"));
}

/* PREFETCH_NO_FAULT maps only the pages already present and faults nothing. */
TEST_F_TIMEOUT(odp, prefetch_no_fault, 120)
{
	size_t len = OX_MIB, half = len / 2;
	__u8 *buf = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	struct ox_mem loc = ox_src(_metadata, self, half, 0);
	struct ibv_sge sge;
	struct ibv_mr *mr;
	struct ox_cnt c0, d;
	int ret;

	ox_params(_metadata, self, 64, true);
	ox_fill(buf, half, 31, 0);
	/* A hole in the absent half: a snapshot does not fail on it. */
	ASSERT_EQ(0, munmap(buf + 200 * OX_PAGE, OX_PAGE));
	mr = ox_reg(_metadata, self, buf, len, OX_ODP);
	sge = ox_sge(mr, buf, len);

	ox_cnt_read(_metadata, self, &c0);
	ret = ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT,
			IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	if (ret == EOPNOTSUPP)
		SKIP(return, OX_NO_ADVISE);
	ASSERT_EQ(0, ret) TH_LOG("advise_mr: %s", strerror(ret));
	ox_cnt_delta(_metadata, self, &c0, &d, "PREFETCH_NO_FAULT");
	ASSERT_EQ(half / OX_PAGE, d.pages);
	ASSERT_EQ(0ULL, d.errors);
	/* Nothing was faulted in. */
	ASSERT_EQ(half / OX_PAGE, ox_resident(_metadata, buf, 200 * OX_PAGE));

	ox_cnt_read(_metadata, self, &c0);
	ox_read(_metadata, self, loc.mr, loc.buf, half, buf, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "READ of the present half");
	ASSERT_EQ(0ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, loc.buf, half, 31, 0, "READ data"));
}

/* Asynchronous PREFETCH_WRITE runs in the background; dereg right after is safe. */
TEST_F_TIMEOUT(odp, prefetch_async, 300)
{
	size_t len = OX_MIB, big = 128 * OX_MIB;
	__u8 *buf = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	__u8 *holed = ox_map(_metadata, self, OX_WIN, OX_WIN, OX_SMALL);
	__u8 *large = ox_map(_metadata, self, big, OX_HUGE, OX_SMALL);
	struct ibv_mr *mr = ox_reg(_metadata, self, buf, len, OX_ODP);
	struct ox_mem src = ox_src(_metadata, self, len, 41);
	struct ibv_mr *hmr, *lmr;
	struct timespec t0;
	struct ibv_sge sge;
	struct ox_cnt c0, d, d2;
	long ms;
	int ret;

	ox_params(_metadata, self, 64, true);
	sge = ox_sge(mr, buf, len);
	ox_cnt_read(_metadata, self, &c0);
	ret = ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, 0, &sge, 1);
	if (ret == EOPNOTSUPP)
		SKIP(return, OX_NO_ADVISE);
	ASSERT_EQ(0, ret) TH_LOG("advise_mr: %s", strerror(ret));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(10000);
		ox_cnt_delta(_metadata, self, &c0, &d, NULL);
	} while (d.pages < len / OX_PAGE && ox_ms_since(&t0) < 20000);
	ox_cnt_delta(_metadata, self, &c0, &d, "asynchronous PREFETCH_WRITE");
	ASSERT_EQ(len / OX_PAGE, d.pages);
	ASSERT_EQ(len / OX_PAGE, ox_resident(_metadata, buf, len));
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, len, buf, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "WRITE after it");
	ASSERT_EQ(0ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, buf, len, 41, 0, "dst"));

	/* The error of an asynchronous prefetch is only counted. */
	ASSERT_EQ(0, munmap(holed + 8 * OX_PAGE, OX_PAGE));
	hmr = ox_reg(_metadata, self, holed, OX_WIN, OX_ODP);
	sge = ox_sge(hmr, holed, OX_WIN);
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, 0,
			       &sge, 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(10000);
		ox_cnt_delta(_metadata, self, &c0, &d, NULL);
	} while (!d.errors && ox_ms_since(&t0) < 20000);
	ox_cnt_delta(_metadata, self, &c0, &d, "asynchronous prefetch of a hole");
	ASSERT_EQ(1ULL, d.errors);

	/* Deregistration right after queueing a large prefetch. */
	lmr = ox_reg(_metadata, self, large, big, OX_ODP);
	sge = ox_sge(lmr, large, big);
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, 0,
			       &sge, 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, ox_dereg(self, lmr));
	ms = ox_ms_since(&t0);
	ox_cnt_delta(_metadata, self, &c0, &d, "async prefetch of 128 MiB, dereg");
	TH_LOG("dereg took %ld ms", ms);
	/* Once dereg returned, the queued work no longer touches the MR. */
	usleep(300000);
	ox_cnt_delta(_metadata, self, &c0, &d2, NULL);
	ASSERT_EQ(d.pages, d2.pages);
	ASSERT_EQ(d.faults, d2.faults);

	/* The device still works. */
	ox_fill(src.buf, len, 42, 0);
	ox_write(_metadata, self, src.mr, src.buf, len, buf, mr->rkey);
	ASSERT_TRUE(ox_check(_metadata, buf, len, 42, 0, "dst after dereg"));
}

/* advise_mr rejects bad keys, ranges, access and flags; sync faults report errors. */
TEST_F_TIMEOUT(odp, advise_errors, 120)
{
	__u8 *buf = ox_map(_metadata, self, OX_WIN, OX_WIN, OX_SMALL);
	__u8 *ro = ox_map(_metadata, self, OX_WIN, OX_WIN, OX_SMALL);
	__u8 *pin = ox_map(_metadata, self, OX_WIN, OX_PAGE, OX_ANY);
	struct ibv_mr *mr = ox_reg(_metadata, self, buf, OX_WIN, OX_ODP);
	struct ibv_mr *romr = ox_reg(_metadata, self, ro, OX_WIN,
				     IBV_ACCESS_ON_DEMAND);
	struct ibv_mr *pmr = ox_reg(_metadata, self, pin, OX_WIN,
				    IBV_ACCESS_LOCAL_WRITE);
	const __u32 sync = IBV_ADVISE_MR_FLAG_FLUSH;
	struct ibv_sge sge = ox_sge(mr, buf, 4 * OX_PAGE);
	struct ox_cnt c0, d;
	int ret;

	ox_params(_metadata, self, 64, true);
	ret = ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, sync, &sge, 1);
	if (ret == EOPNOTSUPP)
		SKIP(return, OX_NO_ADVISE);
	ASSERT_EQ(0, ret) TH_LOG("advise_mr: %s", strerror(ret));

	/* An lkey with the right index but the wrong key byte. */
	sge.lkey = mr->lkey ^ 0x5a;
	ASSERT_EQ(EINVAL, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, sync,
				    &sge, 1));
	ASSERT_EQ(EINVAL, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, 0,
				    &sge, 1));
	/* A range running past the end of the MR. */
	sge = ox_sge(mr, buf + OX_WIN - OX_PAGE, 2 * OX_PAGE);
	ASSERT_EQ(EINVAL, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, sync,
				    &sge, 1));
	/* A pinned MR. */
	sge = ox_sge(pmr, pin, OX_PAGE);
	ASSERT_EQ(EINVAL, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, sync,
				    &sge, 1));
	/* PREFETCH_WRITE needs LOCAL_WRITE; a plain PREFETCH does not. */
	sge = ox_sge(romr, ro, OX_PAGE);
	ASSERT_EQ(EINVAL, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				    sync, &sge, 1));
	ASSERT_EQ(0, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, sync, &sge,
			       1));
	/* Unknown flags and advice. */
	sge = ox_sge(mr, buf, OX_PAGE);
	ret = ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, 1U << 5, &sge, 1);
	ASSERT_TRUE(ret == EINVAL || ret == EOPNOTSUPP)
		TH_LOG("unknown flag: %s", strerror(ret));
	ret = ox_advise(self, (enum ibv_advise_mr_advice)7, sync, &sge, 1);
	ASSERT_TRUE(ret == EINVAL || ret == EOPNOTSUPP)
		TH_LOG("unknown advice: %s", strerror(ret));

	/* A synchronous prefetch reports the fault error: hole. */
	ASSERT_EQ(0, munmap(buf + 6 * OX_PAGE, OX_PAGE));
	sge = ox_sge(mr, buf + 4 * OX_PAGE, 4 * OX_PAGE);
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(EFAULT, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, sync,
				    &sge, 1));
	ox_cnt_delta(_metadata, self, &c0, &d, "prefetch of a hole");
	ASSERT_LE(1ULL, d.errors);
	/* PROT_NONE. */
	ASSERT_EQ(0, mprotect(buf + 9 * OX_PAGE, OX_PAGE, PROT_NONE));
	sge = ox_sge(mr, buf + 8 * OX_PAGE, 3 * OX_PAGE);
	ASSERT_EQ(EFAULT, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, sync,
				    &sge, 1));
	/* A read-only mapping: PREFETCH_WRITE is refused, PREFETCH works. */
	ASSERT_EQ(0, mprotect(buf + 12 * OX_PAGE, 2 * OX_PAGE, PROT_READ));
	sge = ox_sge(mr, buf + 12 * OX_PAGE, 2 * OX_PAGE);
	ASSERT_EQ(EPERM, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				   sync, &sge, 1));
	ASSERT_EQ(0, ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH, sync, &sge,
			       1));
}

/* An implicit ODP MR serves every RC operation at any address, new mappings too. */
TEST_F_TIMEOUT(odp, implicit_rdma, 120)
{
	size_t len = 256 * OX_KIB, n = 100000, sn = 20000;
	struct ibv_mr *imr, *bad;
	struct ibv_send_wr wr;
	struct ibv_recv_wr rwr, *rbad = NULL;
	struct ibv_sge sge;
	struct ox_cnt c0, d;
	struct ox_mem src;
	__u8 *a, *b, *c, *p, *gone;
	enum ibv_wc_status st;
	__u64 *target;
	int ret;

	if (!(self->attr.odp_caps.general_caps & IBV_ODP_SUPPORT_IMPLICIT))
		SKIP(return, "%s does not advertise IBV_ODP_SUPPORT_IMPLICIT",
		     self->dev);
	ox_params(_metadata, self, 64, true);
	/* An implicit MR has no iova of its own. */
	bad = ibv_reg_mr_iova(self->pd, NULL, SIZE_MAX, 0x1000, OX_ODP);
	if (bad)
		ibv_dereg_mr(bad);
	ASSERT_EQ(NULL, bad) TH_LOG("implicit MR with iova 0x1000 accepted");
	imr = ox_reg(_metadata, self, NULL, SIZE_MAX, OX_ODP);

	/* Mapped after the registration. */
	a = ox_map(_metadata, self, len, OX_PAGE, OX_SMALL);
	b = ox_map(_metadata, self, len, OX_PAGE, OX_SMALL);
	c = ox_map(_metadata, self, len, OX_PAGE, OX_SMALL);
	ox_fill(a, len, 51, 0);
	ox_fill(b, len, 50, 0);

	/* WRITE: local SGE and remote address both through the implicit MR. */
	ox_write(_metadata, self, imr, a + 3, n, b + 777, imr->rkey);
	ASSERT_TRUE(ox_check(_metadata, b + 777, n, 51, 3, "WRITE data"));
	ASSERT_TRUE(ox_check(_metadata, b, 777, 50, 0, "before WRITE"));
	ASSERT_TRUE(ox_check(_metadata, b + 777 + n, len - 777 - n, 50,
			     777 + n, "after WRITE"));

	/* A local SGE in the data segment of the program. */
	ox_fill(ox_data_seg, sizeof(ox_data_seg), 52, 0);
	ox_write(_metadata, self, imr, ox_data_seg, sizeof(ox_data_seg),
		 c + 5, imr->rkey);
	ASSERT_TRUE(ox_check(_metadata, c + 5, sizeof(ox_data_seg), 52, 0,
			     "WRITE from .data"));

	/* READ. */
	ox_read(_metadata, self, imr, c + 8192, n, b + 777, imr->rkey);
	ASSERT_TRUE(ox_check(_metadata, c + 8192, n, 51, 3, "READ data"));

	/* SEND / RECV. */
	sge = ox_sge(imr, c + 150000, sn + 100);
	rwr = (struct ibv_recv_wr) { .wr_id = 1, .sg_list = &sge, .num_sge = 1 };
	ASSERT_EQ(0, ibv_post_recv(self->qp_b, &rwr, &rbad));
	sge = ox_sge(imr, a + 5, sn);
	wr = (struct ibv_send_wr) { .sg_list = &sge, .num_sge = 1,
				    .opcode = IBV_WR_SEND };
	ox_post(_metadata, self, &wr);
	ox_wait_ok(_metadata, self->cq_a, 1);
	ox_wait_ok(_metadata, self->cq_b, 1);
	ASSERT_TRUE(ox_check(_metadata, c + 150000, sn, 51, 5, "RECV data"));

	/* FETCH_AND_ADD, the result landing through the implicit lkey. */
	if (self->attr.orig_attr.atomic_cap != IBV_ATOMIC_NONE) {
		target = (__u64 *)(b + 4096);
		*target = 1000;
		sge = ox_sge(imr, c + 200000, sizeof(__u64));
		wr = (struct ibv_send_wr) {
			.sg_list = &sge,
			.num_sge = 1,
			.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD,
			.wr.atomic.remote_addr = (uintptr_t)target,
			.wr.atomic.compare_add = 234,
			.wr.atomic.rkey = imr->rkey,
		};
		ox_post(_metadata, self, &wr);
		ox_wait_ok(_metadata, self->cq_a, 1);
		ASSERT_EQ(1000ULL, *(__u64 *)(c + 200000));
		ASSERT_EQ(1234ULL, *target);
	}

	/* Prefetch through the implicit lkey; the source is pinned. */
	src = ox_src(_metadata, self, len, 53);
	p = ox_map(_metadata, self, OX_MIB, OX_WIN, OX_SMALL);
	sge = ox_sge(imr, p, OX_MIB);
	ox_cnt_read(_metadata, self, &c0);
	ret = ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	if (ret == EOPNOTSUPP) {
		TH_LOG("advise_mr unavailable: implicit prefetch not tested");
	} else {
		ASSERT_EQ(0, ret) TH_LOG("advise_mr: %s", strerror(ret));
		ox_cnt_delta(_metadata, self, &c0, &d, "implicit PREFETCH_WRITE");
		ASSERT_EQ(OX_MIB / OX_PAGE, d.pages);
		ox_cnt_read(_metadata, self, &c0);
		ox_write(_metadata, self, src.mr, src.buf, len, p + len,
			 imr->rkey);
		ox_cnt_delta(_metadata, self, &c0, &d, "WRITE after it");
		ASSERT_EQ(0ULL, d.faults);
		ASSERT_TRUE(ox_check(_metadata, p + len, len, 53, 0,
				     "prefetched dst"));
	}

	/* MADV_DONTNEED invalidates; a READ then sees the new zero pages. */
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, madvise(b, len, MADV_DONTNEED));
	ox_cnt_delta(_metadata, self, &c0, &d, "MADV_DONTNEED");
	ASSERT_LE(1ULL, d.invals);
	ASSERT_LE(1ULL, d.pinval);
	ox_read(_metadata, self, imr, c, 64 * OX_KIB, b, imr->rkey);
	ASSERT_TRUE(ox_check_zero(_metadata, c, 64 * OX_KIB, "READ after DONTNEED"));

	/* An address with nothing mapped: remote access error. */
	gone = ox_map(_metadata, self, OX_WIN, OX_PAGE, OX_SMALL);
	ASSERT_EQ(0, munmap(gone, OX_WIN));
	ox_cnt_read(_metadata, self, &c0);
	st = ox_rdma_status(_metadata, self, IBV_WR_RDMA_WRITE, imr, a,
			    OX_PAGE, gone, imr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "WRITE to an unmapped address");
	ASSERT_TRUE(st == IBV_WC_REM_ACCESS_ERR)
		TH_LOG("status %s", ibv_wc_status_str(st));
	ASSERT_LE(1ULL, d.errors);
}

/* Leaves under an unmapped range are freed: 1 GiB map/touch/unmap x5 stays flat. */
TEST_F_TIMEOUT(odp, implicit_leaves_freed, 900)
{
	const size_t len = 1024 * OX_MIB, nleaf = len / OX_HUGE;
	const int iters = 5;
	long slab_base = -1, avail_base = 0, before, mapped, after, avail;
	struct ox_mem src;
	struct timespec t0;
	struct ibv_mr *imr;
	struct ox_cnt c0, d;
	char *raw, *p, *dst;
	size_t i, j, off;
	int it;

	if (!(self->attr.odp_caps.general_caps & IBV_ODP_SUPPORT_IMPLICIT))
		SKIP(return, "%s does not advertise IBV_ODP_SUPPORT_IMPLICIT",
		     self->dev);
	ox_params(_metadata, self, 64, true);
	imr = ox_reg(_metadata, self, NULL, SIZE_MAX, OX_ODP);
	src = ox_src(_metadata, self, OX_PAGE, 0);

	for (it = 0; it < iters; it++) {
		raw = mmap(NULL, len + OX_HUGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		ASSERT_NE(MAP_FAILED, raw);
		p = (char *)(((uintptr_t)raw + OX_HUGE - 1) & ~(OX_HUGE - 1));
		if (p > raw)
			munmap(raw, p - raw);
		munmap(p + len, raw + OX_HUGE - p);
		ASSERT_EQ(0, madvise(p, len, MADV_NOHUGEPAGE));
		before = ox_slab_objs(OX_LEAF_CACHE);

		/* One 4 KiB WRITE into every 2 MiB of the range. */
		ox_fill(src.buf, OX_PAGE, 60 + it, 0);
		ox_cnt_read(_metadata, self, &c0);
		for (i = 0; i < nleaf; i += OX_BATCH) {
			for (j = i; j < i + OX_BATCH; j++) {
				off = j * OX_HUGE + (j % 32) * OX_WIN;
				ox_post_rdma(_metadata, self, IBV_WR_RDMA_WRITE,
					     src.mr, src.buf, OX_PAGE, p + off,
					     imr->rkey);
			}
			ox_wait_ok(_metadata, self->cq_a, OX_BATCH);
		}
		ox_cnt_delta(_metadata, self, &c0, &d, "touch 512 leaves");
		ASSERT_EQ(nleaf, d.faults);
		ASSERT_EQ(nleaf * (OX_WIN / OX_PAGE), d.pages);
		for (j = 0; j < nleaf; j++) {
			dst = p + j * OX_HUGE + (j % 32) * OX_WIN;
			ASSERT_TRUE(ox_check(_metadata, dst, OX_PAGE, 60 + it,
					     0, "leaf data"));
			ASSERT_TRUE(ox_check_zero(_metadata, dst + OX_PAGE,
						  OX_PAGE, "next page"));
		}
		mapped = ox_slab_objs(OX_LEAF_CACHE);

		ox_cnt_read(_metadata, self, &c0);
		ASSERT_EQ(0, munmap(p, len));
		ox_cnt_delta(_metadata, self, &c0, &d, "munmap 1 GiB");
		ASSERT_LE(1ULL, d.invals);
		ASSERT_EQ(nleaf * (OX_WIN / OX_PAGE), d.pinval);

		/* The leaves go after an RCU grace period (kfree_rcu). */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			usleep(100000);
			after = ox_slab_objs(OX_LEAF_CACHE);
		} while (after > before + 64 && ox_ms_since(&t0) < 20000);
		avail = ox_meminfo("MemAvailable");
		TH_LOG("iteration %d: %s objects %ld before, %ld mapped, %ld after %ld ms",
		       it, OX_LEAF_CACHE, before, mapped, after,
		       ox_ms_since(&t0));
		TH_LOG("iteration %d: MemAvailable %ld kB, Slab %ld kB", it,
		       avail, ox_meminfo("Slab"));
		/* The instrument sees the leaves while they exist. */
		if (before >= 0)
			ASSERT_LE(before + (long)nleaf * 3 / 4, mapped);
		if (it == 0) {
			slab_base = after;
			avail_base = avail;
		}
	}
	if (slab_base >= 0)
		ASSERT_GT(slab_base + 128, after)
			TH_LOG("%s grew from %ld to %ld objects over %d iterations",
			       OX_LEAF_CACHE, slab_base, after, iters - 1);
	ASSERT_LT(avail_base - 32 * 1024, avail)
		TH_LOG("MemAvailable fell from %ld to %ld kB", avail_base,
		       avail);
}

/*
 * Cold RDMA WRITE of a fresh 2 MiB aligned THP region; the counter deltas
 * in *@d.  Skips the test (and returns false) when no THP backs the region.
 */
static bool ox_thp_write(struct __test_metadata *_metadata, ox_fixture *self,
			 struct ox_mem *src, __u8 **dstp, struct ibv_mr **mrp,
			 struct ox_cnt *d, const char *what)
{
	__u8 *dst = ox_map(_metadata, self, OX_HUGE, OX_HUGE, OX_THP);
	struct ibv_mr *mr = ox_reg(_metadata, self, dst, OX_HUGE, OX_ODP);
	struct ox_cnt c0;
	long kb;

	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src->mr, src->buf, OX_HUGE, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, d, what);
	kb = ox_thp_kb(dst, OX_HUGE);
	if (kb < 2048) {
		SKIP(return false,
		     "no transparent huge page backs the region (AnonHugePages %ld kB)",
		     kb);
	}
	ASSERT_TRUE(ox_check(_metadata, dst, OX_HUGE, 0, 0, what));
	*dstp = dst;
	*mrp = mr;
	return true;
}

/* A cold 2 MiB WRITE into a THP takes one fault that maps all 512 pages. */
TEST_F_TIMEOUT(odp, thp_one_fault, 120)
{
	struct ox_mem src, loc;
	struct ibv_mr *mr, *pmr;
	struct ox_cnt c0, d;
	__u8 *dst, *part;

	if (!ox_thp_possible())
		SKIP(return, "transparent huge pages are disabled");
	ox_params(_metadata, self, 64, true);
	src = ox_src(_metadata, self, OX_HUGE, 0);
	loc = ox_src(_metadata, self, OX_HUGE, 1);
	if (!ox_thp_write(_metadata, self, &src, &dst, &mr, &d, "2 MiB into THP"))
		return;
	ASSERT_EQ(1ULL, d.faults);
	ASSERT_LE(512ULL, d.pages);
	ASSERT_GE(528ULL, d.pages);

	ox_cnt_read(_metadata, self, &c0);
	ox_read(_metadata, self, loc.mr, loc.buf, OX_HUGE, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "READ it back");
	ASSERT_EQ(0ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, loc.buf, OX_HUGE, 0, 0, "READ data"));

	/* An MR over part of a THP cannot use a 2 MiB entry. */
	part = ox_map(_metadata, self, OX_HUGE, OX_HUGE, OX_THP);
	pmr = ox_reg(_metadata, self, part + 512 * OX_KIB, OX_MIB, OX_ODP);
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, OX_MIB, part + 512 * OX_KIB,
		 pmr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "1 MiB MR inside a THP");
	TH_LOG("AnonHugePages of that region: %ld kB",
	       ox_thp_kb(part, OX_HUGE));
	ASSERT_LE(16ULL, d.faults);
	ASSERT_GE(20ULL, d.faults);
	ASSERT_EQ(OX_MIB / OX_PAGE, d.pages);
	ASSERT_TRUE(ox_check_zero(_metadata, part, 512 * OX_KIB, "before MR"));
	ASSERT_TRUE(ox_check(_metadata, part + 512 * OX_KIB, OX_MIB, 0, 0,
			     "partial MR data"));
	ASSERT_TRUE(ox_check_zero(_metadata, part + 1536 * OX_KIB,
				  512 * OX_KIB, "after MR"));
}

/* With odp_huge=N the same THP WRITE needs one fault per 64 KiB window. */
TEST_F_TIMEOUT(odp, thp_odp_huge_off, 120)
{
	struct ox_cnt off, on;
	struct ox_mem src;
	struct ibv_mr *mr;
	__u8 *dst;

	if (!ox_thp_possible())
		SKIP(return, "transparent huge pages are disabled");
	src = ox_src(_metadata, self, OX_HUGE, 0);
	ox_params(_metadata, self, 64, false);
	if (!ox_thp_write(_metadata, self, &src, &dst, &mr, &off,
			  "2 MiB into THP, odp_huge=N"))
		return;
	ox_params(_metadata, self, 64, true);
	if (!ox_thp_write(_metadata, self, &src, &dst, &mr, &on,
			  "2 MiB into THP, odp_huge=Y"))
		return;
	ASSERT_EQ(OX_HUGE / OX_PAGE, off.pages);
	ASSERT_LE(16ULL, off.faults);
	ASSERT_GE(40ULL, off.faults);
	ASSERT_EQ(1ULL, on.faults);
	ASSERT_LT(on.faults, off.faults);
}

/* hugetlbfs: one fault per 2 MiB page (odp_huge=Y), many with odp_huge=N. */
static void ox_hugetlb(struct __test_metadata *_metadata, ox_fixture *self,
		       unsigned int extra_access)
{
	size_t len = 2 * OX_HUGE;
	long free_pages = ox_meminfo("HugePages_Free");
	long total = ox_meminfo("HugePages_Total");
	struct ox_mem src, loc;
	struct ox_cnt c0, d;
	struct ibv_mr *mr;
	char v[32];
	__u8 *dst;

	if (ox_meminfo("Hugepagesize") != 2048)
		SKIP(return, "the default huge page size is not 2 MiB");
	if (free_pages < 2) {
		snprintf(v, sizeof(v), "%ld", total + 16);
		ox_set(_metadata, self, OX_NR_HUGEPAGES, v);
	}
	dst = ox_map(_metadata, self, len, 0, OX_HUGETLB);
	if (!dst)
		SKIP(return, "no hugetlbfs pages could be had (HugePages_Free %ld)",
		     ox_meminfo("HugePages_Free"));
	ox_params(_metadata, self, 64, true);
	mr = ox_reg(_metadata, self, dst, len, OX_ODP | extra_access);
	src = ox_src(_metadata, self, len, 81);
	loc = ox_src(_metadata, self, len, 0);

	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, len, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "4 MiB into 2 hugetlb pages");
	ASSERT_EQ(2ULL, d.faults);
	ASSERT_EQ(len / OX_PAGE, d.pages);
	ASSERT_TRUE(ox_check(_metadata, dst, len, 81, 0, "hugetlb data"));
	ox_cnt_read(_metadata, self, &c0);
	ox_read(_metadata, self, loc.mr, loc.buf, len, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "READ it back");
	ASSERT_EQ(0ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, loc.buf, len, 81, 0, "READ data"));

	/* odp_huge=N: after MADV_DONTNEED the WRITE faults per 64 KiB. */
	ox_params(_metadata, self, 64, false);
	ox_cnt_read(_metadata, self, &c0);
	if (madvise(dst, len, MADV_DONTNEED)) {
		TH_LOG("MADV_DONTNEED on hugetlb: %s; odp_huge=N not tested",
		       strerror(errno));
		return;
	}
	ox_cnt_delta(_metadata, self, &c0, &d, "MADV_DONTNEED");
	ASSERT_EQ(len / OX_PAGE, d.pinval);
	ox_fill(src.buf, len, 82, 0);
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, len, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "4 MiB again, odp_huge=N");
	ASSERT_LE(32ULL, d.faults);
	ASSERT_EQ(len / OX_PAGE, d.pages);
	ASSERT_TRUE(ox_check(_metadata, dst, len, 82, 0, "hugetlb data"));
}

/* hugetlbfs pages in an ODP MR registered without IBV_ACCESS_HUGETLB. */
TEST_F_TIMEOUT(odp, hugetlb, 120)
{
	ox_hugetlb(_metadata, self, 0);
}

/* hugetlbfs pages in an ODP MR registered with IBV_ACCESS_HUGETLB. */
TEST_F_TIMEOUT(odp, hugetlb_access_flag, 120)
{
	ox_hugetlb(_metadata, self, IBV_ACCESS_HUGETLB);
}

/* Data stays right across THP splits: DONTNEED, mprotect, partial munmap. */
TEST_F_TIMEOUT(odp, thp_split, 120)
{
	const size_t z = 256 * OX_KIB, h = 512 * OX_KIB;
	struct ox_mem src, loc;
	struct ox_cnt c0, d;
	enum ibv_wc_status st;
	struct ibv_mr *mr;
	__u8 *dst;

	if (!ox_thp_possible())
		SKIP(return, "transparent huge pages are disabled");
	ox_params(_metadata, self, 64, true);
	src = ox_src(_metadata, self, OX_HUGE, 0);
	loc = ox_src(_metadata, self, OX_HUGE, 1);
	if (!ox_thp_write(_metadata, self, &src, &dst, &mr, &d, "2 MiB into THP"))
		return;
	ASSERT_EQ(1ULL, d.faults);
	ASSERT_EQ(0, madvise(dst, OX_HUGE, MADV_NOHUGEPAGE));

	/* 1. DONTNEED of one page: the device must not see the old page. */
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, madvise(dst + z, OX_PAGE, MADV_DONTNEED));
	ox_cnt_delta(_metadata, self, &c0, &d, "DONTNEED 4K inside the THP");
	ASSERT_LE(512ULL, d.pinval);
	ox_read(_metadata, self, loc.mr, loc.buf, OX_HUGE, dst, mr->rkey);
	ASSERT_TRUE(ox_check(_metadata, loc.buf, z, 0, 0, "READ before hole"));
	ASSERT_TRUE(ox_check_zero(_metadata, loc.buf + z, OX_PAGE,
				  "READ of the discarded page"));
	ASSERT_TRUE(ox_check(_metadata, loc.buf + z + OX_PAGE,
			     OX_HUGE - z - OX_PAGE, 0, z + OX_PAGE,
			     "READ after hole"));

	/* 2. mprotect of one page splits the mapping; new data everywhere. */
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, mprotect(dst + OX_MIB, OX_PAGE, PROT_READ));
	ASSERT_EQ(0, mprotect(dst + OX_MIB, OX_PAGE, PROT_READ | PROT_WRITE));
	ox_cnt_delta(_metadata, self, &c0, &d, "mprotect 4K");
	TH_LOG("AnonHugePages after the splits: %ld kB",
	       ox_thp_kb(dst, OX_HUGE));
	ox_fill(src.buf, OX_HUGE, 2, 0);
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, OX_HUGE, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "2 MiB WRITE after split");
	ASSERT_LE(2ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, dst, OX_HUGE, 2, 0, "data after split"));
	ox_read(_metadata, self, loc.mr, loc.buf, OX_HUGE, dst, mr->rkey);
	ASSERT_TRUE(ox_check(_metadata, loc.buf, OX_HUGE, 2, 0, "READ data"));

	/* 3. munmap of one page: the rest works, the hole is refused. */
	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, munmap(dst + h, OX_PAGE));
	ox_cnt_delta(_metadata, self, &c0, &d, "munmap 4K");
	/*
	 * At least the page; splitting the VMA inside a THP-sized range makes
	 * the mm invalidate the whole 2 MiB (__split_huge_pmd() notifies
	 * before it looks at the PMD), so all 512 entries may go.
	 */
	ASSERT_LE(1ULL, d.pinval);
	ASSERT_TRUE(ox_check(_metadata, dst, h, 2, 0, "data below hole"));
	ASSERT_TRUE(ox_check(_metadata, dst + h + OX_PAGE,
			     OX_HUGE - h - OX_PAGE, 2, h + OX_PAGE,
			     "data above hole"));
	ox_fill(src.buf, OX_HUGE, 3, 0);
	ox_write(_metadata, self, src.mr, src.buf, h, dst, mr->rkey);
	ox_write(_metadata, self, src.mr, src.buf + h + OX_PAGE,
		 OX_HUGE - h - OX_PAGE, dst + h + OX_PAGE, mr->rkey);
	ASSERT_TRUE(ox_check(_metadata, dst, h, 3, 0, "new data below hole"));
	ASSERT_TRUE(ox_check(_metadata, dst + h + OX_PAGE,
			     OX_HUGE - h - OX_PAGE, 3, h + OX_PAGE,
			     "new data above hole"));
	memset(loc.buf, 0xee, OX_HUGE);
	ox_read(_metadata, self, loc.mr, loc.buf, h, dst, mr->rkey);
	ASSERT_TRUE(ox_check(_metadata, loc.buf, h, 3, 0, "READ below hole"));
	ox_read(_metadata, self, loc.mr, loc.buf + h + OX_PAGE,
		OX_HUGE - h - OX_PAGE, dst + h + OX_PAGE, mr->rkey);
	ASSERT_TRUE(ox_check(_metadata, loc.buf + h + OX_PAGE,
			     OX_HUGE - h - OX_PAGE, 3, h + OX_PAGE,
			     "READ above hole"));
	ox_cnt_read(_metadata, self, &c0);
	st = ox_rdma_status(_metadata, self, IBV_WR_RDMA_WRITE, src.mr,
			    src.buf, OX_PAGE, dst + h, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "WRITE into the hole");
	ASSERT_TRUE(st == IBV_WC_REM_ACCESS_ERR)
		TH_LOG("status %s", ibv_wc_status_str(st));
	ASSERT_LE(1ULL, d.errors);
}

/* Data stays right across MADV_COLLAPSE; afterwards one fault maps the 2 MiB. */
TEST_F_TIMEOUT(odp, thp_collapse, 120)
{
	const size_t q = 512 * OX_KIB;
	struct ox_mem src, loc;
	struct ox_cnt c0, d;
	struct ibv_mr *mr;
	int tries, ret = 0;
	__u8 *dst;
	long kb;

	if (!ox_thp_possible())
		SKIP(return, "transparent huge pages are disabled");
	ox_params(_metadata, self, 64, true);
	dst = ox_map(_metadata, self, OX_HUGE, OX_HUGE, OX_SMALL);
	ox_fill(dst, OX_HUGE, 120, 0);
	mr = ox_reg(_metadata, self, dst, OX_HUGE, OX_ODP);
	src = ox_src(_metadata, self, OX_HUGE, 121);
	loc = ox_src(_metadata, self, OX_HUGE, 0);

	/* The device writes the middle MiB through 4 KiB entries. */
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, OX_MIB, dst + q, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "1 MiB into 4K pages");
	ASSERT_LE(16ULL, d.faults);
	ASSERT_EQ(0L, ox_thp_kb(dst, OX_HUGE));

	ASSERT_EQ(0, madvise(dst, OX_HUGE, MADV_HUGEPAGE));
	ox_cnt_read(_metadata, self, &c0);
	for (tries = 0; tries < 5; tries++) {
		ret = madvise(dst, OX_HUGE, MADV_COLLAPSE);
		if (!ret || errno != EAGAIN)
			break;
	}
	if (ret)
		SKIP(return, "MADV_COLLAPSE failed: %s", strerror(errno));
	ox_cnt_delta(_metadata, self, &c0, &d, "MADV_COLLAPSE");
	kb = ox_thp_kb(dst, OX_HUGE);
	ASSERT_EQ(2048L, kb);
	/* The 256 device entries of the old pages are gone. */
	ASSERT_EQ(OX_MIB / OX_PAGE, d.pinval);

	ASSERT_TRUE(ox_check(_metadata, dst, q, 120, 0, "CPU data, low"));
	ASSERT_TRUE(ox_check(_metadata, dst + q, OX_MIB, 121, 0,
			     "device data"));
	ASSERT_TRUE(ox_check(_metadata, dst + q + OX_MIB, q, 120, q + OX_MIB,
			     "CPU data, high"));
	ox_cnt_read(_metadata, self, &c0);
	ox_read(_metadata, self, loc.mr, loc.buf, OX_HUGE, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "READ of the collapsed THP");
	ASSERT_EQ(1ULL, d.faults);
	ASSERT_EQ(OX_HUGE / OX_PAGE, d.pages);
	ASSERT_TRUE(ox_check(_metadata, loc.buf, q, 120, 0, "READ low"));
	ASSERT_TRUE(ox_check(_metadata, loc.buf + q, OX_MIB, 121, 0,
			     "READ middle"));
	ASSERT_TRUE(ox_check(_metadata, loc.buf + q + OX_MIB, q, 120,
			     q + OX_MIB, "READ high"));

	ox_fill(src.buf, OX_HUGE, 122, 0);
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, OX_HUGE, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "WRITE to the collapsed THP");
	ASSERT_EQ(0ULL, d.faults);
	ASSERT_TRUE(ox_check(_metadata, dst, OX_HUGE, 122, 0, "WRITE data"));
}

/* A cold 1 MiB WRITE: ~256 faults without fault-around, ~16 at 64 KiB, 1-2 at 2 MiB. */
TEST_F_TIMEOUT(odp, fault_around_counts, 180)
{
	static const unsigned int kb[] = { 0, 64, 2048 };
	size_t len = OX_MIB;
	__u64 faults[ARRAY_SIZE(kb)];
	struct ox_mem src;
	struct ox_cnt c0, d;
	struct ibv_mr *mr;
	char what[64];
	size_t i;
	__u8 *dst;

	src = ox_src(_metadata, self, len, 131);
	for (i = 0; i < ARRAY_SIZE(kb); i++) {
		dst = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
		mr = ox_reg(_metadata, self, dst, len, OX_ODP);
		ox_params(_metadata, self, kb[i], true);
		snprintf(what, sizeof(what), "fault-around %u KiB", kb[i]);
		ox_cnt_read(_metadata, self, &c0);
		ox_write(_metadata, self, src.mr, src.buf, len, dst, mr->rkey);
		ox_cnt_delta(_metadata, self, &c0, &d, what);
		faults[i] = d.faults;
		ASSERT_EQ(len / OX_PAGE, d.pages);
		ASSERT_EQ(0ULL, d.errors);
		ASSERT_TRUE(ox_check(_metadata, dst, len, 131, 0, what));
	}
	ASSERT_LE(240ULL, faults[0]);
	ASSERT_GE(300ULL, faults[0]);
	ASSERT_LE(16ULL, faults[1]);
	ASSERT_GE(20ULL, faults[1]);
	ASSERT_LE(1ULL, faults[2]);
	ASSERT_GE(2ULL, faults[2]);
}

/* Fault-around stops at holes, PROT_NONE and read-only pages without failing. */
TEST_F_TIMEOUT(odp, fault_around_hole, 120)
{
	static const struct {
		size_t off;
		size_t len;
	} r[] = {
		{ 0, 15 * OX_PAGE },			/* page 15: unmapped */
		{ 16 * OX_PAGE, 15 * OX_PAGE },		/* page 31: PROT_NONE */
		{ 32 * OX_PAGE, 15 * OX_PAGE },		/* page 47: PROT_READ */
		{ 48 * OX_PAGE + 100, 16 * OX_PAGE - 100 },
	};
	size_t len = 4 * OX_WIN, i;
	__u8 *buf = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	__u8 *ro = buf + 47 * OX_PAGE;
	enum ibv_wc_status st;
	struct ox_mem src;
	struct ox_cnt c0, d;
	struct ibv_mr *mr;

	ox_params(_metadata, self, 64, true);
	ox_fill(ro, OX_PAGE, 99, 0);
	ASSERT_EQ(0, mprotect(ro, OX_PAGE, PROT_READ));
	ASSERT_EQ(0, munmap(buf + 15 * OX_PAGE, OX_PAGE));
	ASSERT_EQ(0, mprotect(buf + 31 * OX_PAGE, OX_PAGE, PROT_NONE));
	mr = ox_reg(_metadata, self, buf, len, OX_ODP);
	src = ox_src(_metadata, self, len, 101);

	ox_cnt_read(_metadata, self, &c0);
	for (i = 0; i < ARRAY_SIZE(r); i++)
		ox_write(_metadata, self, src.mr, src.buf + r[i].off, r[i].len,
			 buf + r[i].off, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "WRITEs next to the holes");
	ASSERT_EQ(0ULL, d.errors);
	for (i = 0; i < ARRAY_SIZE(r); i++)
		ASSERT_TRUE(ox_check(_metadata, buf + r[i].off, r[i].len, 101,
				     r[i].off, "data next to a hole"));
	ASSERT_TRUE(ox_check_zero(_metadata, buf + 48 * OX_PAGE, 100,
				  "untouched bytes"));
	ASSERT_TRUE(ox_check(_metadata, ro, OX_PAGE, 99, 0, "read-only page"));

	/* A WRITE into the read-only page fails and changes nothing. */
	ox_cnt_read(_metadata, self, &c0);
	st = ox_rdma_status(_metadata, self, IBV_WR_RDMA_WRITE, src.mr,
			    src.buf, OX_PAGE, ro, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "WRITE into the read-only page");
	ASSERT_TRUE(st == IBV_WC_REM_ACCESS_ERR)
		TH_LOG("status %s", ibv_wc_status_str(st));
	ASSERT_LE(1ULL, d.errors);
	ASSERT_TRUE(ox_check(_metadata, ro, OX_PAGE, 99, 0, "read-only page"));
}

/* MADV_DONTNEED and munmap count invalidations; the next access faults again. */
TEST_F_TIMEOUT(odp, counters_invalidation, 120)
{
	size_t len = OX_MIB;
	__u8 *buf = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	struct ibv_mr *mr = ox_reg(_metadata, self, buf, len, OX_ODP);
	struct ox_mem src = ox_src(_metadata, self, len, 91);
	struct ox_mem loc = ox_src(_metadata, self, len, 0);
	struct ox_cnt c0, d;

	ox_params(_metadata, self, 64, true);
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, len, buf, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "cold WRITE");
	ASSERT_EQ(16ULL, d.faults);
	ASSERT_EQ(len / OX_PAGE, d.pages);
	ASSERT_TRUE(ox_check(_metadata, buf, len, 91, 0, "WRITE data"));

	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, madvise(buf, len, MADV_DONTNEED));
	ox_cnt_delta(_metadata, self, &c0, &d, "MADV_DONTNEED");
	ASSERT_EQ(1ULL, d.invals);
	ASSERT_EQ(len / OX_PAGE, d.pinval);

	ox_cnt_read(_metadata, self, &c0);
	ox_read(_metadata, self, loc.mr, loc.buf, len, buf, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "READ after it");
	ASSERT_EQ(16ULL, d.faults);
	ASSERT_EQ(0ULL, d.errors);
	ASSERT_TRUE(ox_check_zero(_metadata, loc.buf, len, "READ data"));

	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, munmap(buf + len / 2, len / 2));
	ox_cnt_delta(_metadata, self, &c0, &d, "munmap of the upper half");
	ASSERT_LE(1ULL, d.invals);
	ASSERT_EQ(len / 2 / OX_PAGE, d.pinval);

	ox_cnt_read(_metadata, self, &c0);
	ASSERT_EQ(0, ox_dereg(self, mr));
	ox_cnt_delta(_metadata, self, &c0, &d, "dereg (for information)");
}

/* The per-MR counters of 'rdma statistic show mr' that mr_statistic checks. */
static const char * const ox_mr_keys[] = {
	"page_faults", "pages_faulted", "page_invalidations",
	"pages_invalidated", "page_prefetch", "fault_errors",
};

/* The device's figures for ox_mr_keys[], in their order. */
static void ox_mr_expect(long long *v, const struct ox_cnt *d, __u64 prefetched)
{
	v[0] = d->faults;
	v[1] = d->pages;
	v[2] = d->invals;
	v[3] = d->pinval;
	v[4] = prefetched;
	v[5] = d->errors;
}

/* 'rdma statistic show mr' lists the per-MR ODP counters, equal to the device deltas. */
TEST_F_TIMEOUT(odp, mr_statistic, 120)
{
	size_t len = OX_MIB, q = 256 * OX_KIB, i;
	__u8 *buf = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	char *res = NULL, *stat = NULL, cmd[128], key[64];
	long long want[ARRAY_SIZE(ox_mr_keys)], most[ARRAY_SIZE(ox_mr_keys)];
	long long got, mrn;
	const char *line, *end = NULL;
	enum ibv_wc_status st;
	__u64 prefetched = 0;
	struct ox_cnt c0, d, d2;
	struct ox_mem src;
	struct ibv_sge sge;
	struct ibv_mr *mr;
	bool ok = true;
	int ret, tries;

	ox_params(_metadata, self, 64, true);
	ASSERT_EQ(0, munmap(buf + len - OX_PAGE, OX_PAGE));
	src = ox_src(_metadata, self, len, 141);
	ox_cnt_read(_metadata, self, &c0);
	mr = ox_reg(_metadata, self, buf, len, OX_ODP);

	sge = ox_sge(mr, buf, q);
	ret = ox_advise(self, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	if (ret != EOPNOTSUPP) {
		ASSERT_EQ(0, ret) TH_LOG("advise_mr: %s", strerror(ret));
		prefetched = q / OX_PAGE;
	}
	ox_write(_metadata, self, src.mr, src.buf, q, buf + 2 * q, mr->rkey);
	ASSERT_TRUE(ox_check(_metadata, buf + 2 * q, q, 141, 0, "WRITE data"));
	ASSERT_EQ(0, madvise(buf, q, MADV_DONTNEED));
	st = ox_rdma_status(_metadata, self, IBV_WR_RDMA_WRITE, src.mr,
			    src.buf, OX_PAGE, buf + len - OX_PAGE, mr->rkey);
	ASSERT_TRUE(st == IBV_WC_REM_ACCESS_ERR);
	/* The MR's restrack id (mrn), found by its lkey or its length. */
	snprintf(cmd, sizeof(cmd), "rdma resource show mr dev %s 2>&1",
		 self->dev);
	res = ox_run(cmd);
	ASSERT_NE(NULL, res);
	line = ox_find_line(res, "lkey", mr->lkey, &end);
	if (!line)
		line = ox_find_line(res, "mrlen", len, &end);
	mrn = line ? ox_word_value(line, end, "mrn") : -1;
	if (mrn < 0)
		TH_LOG("'%s':\n%s", cmd, res);
	ASSERT_LE(0LL, mrn) TH_LOG("MR (lkey 0x%x) not found", mr->lkey);

	/*
	 * The JSON form carries the counters whatever the text layout.  The
	 * MR is the device's only ODP MR, so its counters equal the device
	 * deltas, provided the kernel did not invalidate part of its range on
	 * its own (compaction, khugepaged) between the two reads: retry until
	 * the device counters stood still around the MR's.  If they never do,
	 * each MR counter must lie between the device's before and after.
	 */
	snprintf(key, sizeof(key), "\"mrn\":%lld,", mrn);
	for (tries = 0; tries < 5; tries++) {
		ox_cnt_delta(_metadata, self, &c0, &d, "device counters");
		free(stat);
		stat = ox_run("rdma -d -j statistic show mr 2>&1");
		ASSERT_NE(NULL, stat);
		ox_cnt_delta(_metadata, self, &c0, &d2, NULL);
		if (!memcmp(&d, &d2, sizeof(d)))
			break;
		TH_LOG("device counters moved during the read, again");
	}
	ox_mr_expect(want, &d, prefetched);
	ox_mr_expect(most, &d2, prefetched);
	line = strstr(stat, key);
	end = line ? strchr(line, '}') : NULL;
	TH_LOG("rdma -d -j statistic show mr, mrn %lld: %.*s", mrn,
	       end ? (int)(end - line) : 0, line ? line : "");
	if (!end)
		TH_LOG("'rdma -d -j statistic show mr':\n%s", stat);
	ASSERT_NE(NULL, end);
	for (i = 0; i < ARRAY_SIZE(ox_mr_keys); i++) {
		got = ox_json_value(line, end, ox_mr_keys[i]);
		if (got < want[i] || got > most[i]) {
			TH_LOG("%s: %lld, want %lld..%lld", ox_mr_keys[i], got,
			       want[i], most[i]);
			ok = false;
		}
	}
	free(res);
	free(stat);
	ASSERT_TRUE(ok);
}

/* debugfs rxe_odp/fault_latency counts each fault once, in 16 buckets. */
TEST_F_TIMEOUT(odp, fault_latency_histogram, 120)
{
	size_t len = OX_MIB;
	long long h0, h1;
	struct ox_mem src;
	struct ox_cnt c0, d;
	struct ibv_mr *mr;
	char head[128];
	__u8 *dst;
	int nb;

	if (access(OX_LATENCY, R_OK))
		mount("debugfs", OX_DEBUGFS, "debugfs", 0, NULL);
	if (access(OX_LATENCY, R_OK))
		SKIP(return, "%s: %s", OX_LATENCY, strerror(errno));
	ASSERT_EQ(0, ox_read_file(OX_LATENCY, head, sizeof(head)));
	ASSERT_EQ(0, strncmp(head, "# fault latency", 15)) TH_LOG("%s", head);

	ox_params(_metadata, self, 0, true);
	dst = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	mr = ox_reg(_metadata, self, dst, len, OX_ODP);
	src = ox_src(_metadata, self, len, 151);
	h0 = ox_hist_sum(&nb);
	ASSERT_EQ(OX_LAT_BUCKETS, nb);
	ox_cnt_read(_metadata, self, &c0);
	ox_write(_metadata, self, src.mr, src.buf, len, dst, mr->rkey);
	ox_cnt_delta(_metadata, self, &c0, &d, "cold WRITE, no fault-around");
	h1 = ox_hist_sum(&nb);
	ASSERT_EQ(OX_LAT_BUCKETS, nb);
	TH_LOG("histogram: %lld faults before, %lld after", h0, h1);
	ASSERT_LE(240ULL, d.faults);
	ASSERT_EQ((long long)(d.faults + d.errors), h1 - h0);
	ASSERT_TRUE(ox_check(_metadata, dst, len, 151, 0, "WRITE data"));
}

/* rxe_odp tracepoints report fault begin/end and invalidations of our MR. */
TEST_F_TIMEOUT(odp, tracepoints, 120)
{
	size_t len = 2 * OX_WIN;
	int begin = 0, end_ok = 0, inval = 0;
	char path[192], enable[192], key[32];
	char *out, *line, *save = NULL;
	const char *tr = ox_tracefs();
	struct ox_mem src;
	struct ibv_mr *mr;
	__u8 *dst;
	int fd;

	if (!tr)
		SKIP(return, "tracefs is not available");
	snprintf(enable, sizeof(enable), "%s/events/rxe_odp/enable", tr);
	if (access(enable, W_OK))
		SKIP(return, "%s: %s", enable, strerror(errno));
	ox_params(_metadata, self, 64, true);
	dst = ox_map(_metadata, self, len, OX_WIN, OX_SMALL);
	mr = ox_reg(_metadata, self, dst, len, OX_ODP);
	src = ox_src(_metadata, self, len, 161);

	snprintf(path, sizeof(path), "%s/tracing_on", tr);
	ox_set(_metadata, self, path, "1");
	snprintf(path, sizeof(path), "%s/trace", tr);
	fd = open(path, O_WRONLY | O_TRUNC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	close(fd);
	ox_set(_metadata, self, enable, "1");

	/* Two faults of 16 pages, then one invalidation of 32 pages. */
	ox_write(_metadata, self, src.mr, src.buf, len, dst, mr->rkey);
	ASSERT_EQ(0, madvise(dst, len, MADV_DONTNEED));
	ASSERT_EQ(0, ox_write_file(enable, "0"));
	ASSERT_TRUE(ox_check_zero(_metadata, dst, len, "after DONTNEED"));

	snprintf(path, sizeof(path), "%s/trace", tr);
	out = ox_slurp(path);
	ASSERT_NE(NULL, out) TH_LOG("%s: %s", path, strerror(errno));
	snprintf(key, sizeof(key), "lkey=0x%x ", mr->lkey);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || !strstr(line, key))
			continue;
		if (strstr(line, "rxe_odp_fault_begin:"))
			begin++;
		if (strstr(line, "rxe_odp_fault_end:") &&
		    strstr(line, " ret=16 "))
			end_ok++;
		if (strstr(line, "rxe_odp_invalidate:") &&
		    strstr(line, " pages=32"))
			inval++;
	}
	TH_LOG("%s: %d fault_begin, %d fault_end ret=16, %d invalidate pages=32",
	       key, begin, end_ok, inval);
	free(out);
	ASSERT_EQ(2, begin);
	ASSERT_EQ(2, end_ok);
	ASSERT_EQ(1, inval);
}

/* Module parameters and sysctls as found at start, restored at exit. */
static const char * const ox_global_paths[] = {
	OX_FAULT_AROUND, OX_ODP_HUGE, OX_NR_HUGEPAGES,
};

static char ox_global_vals[ARRAY_SIZE(ox_global_paths)][64];
static bool ox_global_ok[ARRAY_SIZE(ox_global_paths)];

static void ox_restore_globals(void)
{
	char cur[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ox_global_paths); i++) {
		if (!ox_global_ok[i] ||
		    (!ox_read_file(ox_global_paths[i], cur, sizeof(cur)) &&
		     !strcmp(cur, ox_global_vals[i])))
			continue;
		ox_write_file(ox_global_paths[i], ox_global_vals[i]);
	}
}

int main(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ox_global_paths); i++)
		ox_global_ok[i] = !ox_read_file(ox_global_paths[i],
						ox_global_vals[i],
						sizeof(ox_global_vals[i]));
	atexit(ox_restore_globals);
	*(void **)&ox_cmd_advise_mr = dlsym(RTLD_DEFAULT, "ibv_cmd_advise_mr");
	return test_harness_run(argc, argv);
}
