/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Copyright (c) 2026 The rxe-odp authors.
 *
 * rv_common.h - helpers shared by the rxe verbs test programs: the
 * kselftest harness include, the per-byte test patterns and their checks,
 * device and GID lookup, and work request and completion helpers that do
 * not depend on a fixture.
 *
 * The checks report through TH_LOG() and the waits through ASSERT_*(), so
 * they are only for the test process itself: forked children and extra
 * threads must not call them.
 */
#ifndef RV_COMMON_H
#define RV_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include <infiniband/verbs.h>

/*
 * The harness is not -Wextra clean: it has unused parameters, and the
 * TEST_F() wrappers it expands keep a local variable across setjmp(),
 * which -Wclobbered flags depending on inlining.  The test programs have
 * no setjmp() of their own.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wclobbered"

/*
 * Per-test time bounds scale with RXE_ODP_TIMEOUT_SCALE (an integer,
 * default 1): scripts/check-debug.sh sets it for the debug kernel, where
 * KASAN, lockdep and page-allocation debugging slow everything down.  The
 * harness sets a TEST_F()'s bound in a constructor, so a call works there
 * (TEST() keeps its constant bound).
 */
static inline int rv_timeout_scale(void)
{
	const char *s = getenv("RXE_ODP_TIMEOUT_SCALE");
	int n = s ? atoi(s) : 1;

	return n > 0 ? n : 1;
}

#undef TEST_F
#define TEST_F(fixture_name, test_name) \
	__TEST_F_IMPL(fixture_name, test_name, -1, \
		      TEST_TIMEOUT_DEFAULT * rv_timeout_scale())
#undef TEST_F_TIMEOUT
#define TEST_F_TIMEOUT(fixture_name, test_name, timeout) \
	__TEST_F_IMPL(fixture_name, test_name, -1, (timeout) * rv_timeout_scale())

#define RV_DEFAULT_DEV		"rxe0"
#define RV_PORT			1
#define RV_PSN			0x1234
#define RV_CQ_TIMEOUT_MS	(10000 * rv_timeout_scale())
#define RV_SENTINEL_SEED	0xa5a5a5a5u

#define RV_ACCESS_ALL	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

#define RV_ODP_RC_ALL	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | \
			 IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ | \
			 IBV_ODP_SUPPORT_ATOMIC)

/* Byte @idx of the test pattern @seed (a small integer hash). */
static inline __u8 rv_pat(__u32 seed, size_t idx)
{
	__u32 x = (__u32)idx ^ (seed * 0x9e3779b9u);

	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* Fill @len bytes at @p with pattern @seed, starting at pattern index @idx. */
static inline void rv_fill(void *p, size_t len, __u32 seed, size_t idx)
{
	__u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = rv_pat(seed, idx + i);
}

/* Reset a whole buffer to the sentinel pattern. */
static inline void rv_sentinel(void *p, size_t len)
{
	rv_fill(p, len, RV_SENTINEL_SEED, 0);
}

/*
 * First byte of @p[0, @len) that differs from pattern @seed from index
 * @idx, or -1.  Logs nothing: usable in forked children and threads.
 */
static inline long rv_mismatch(const void *p, size_t len, __u32 seed,
			       size_t idx)
{
	const __u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != rv_pat(seed, idx + i))
			return i;
	return -1;
}

/* Check that @buf[@off, @off + @len) holds pattern @seed from index @idx. */
static inline bool rv_check_data(struct __test_metadata *_metadata,
				 const void *buf, size_t off, size_t len,
				 __u32 seed, size_t idx)
{
	const __u8 *b = buf;
	long i = rv_mismatch(b + off, len, seed, idx);

	if (i < 0)
		return true;
	TH_LOG("data at %zu (range %zu+%zu): 0x%02x, want 0x%02x",
	       off + i, off, len, b[off + i], rv_pat(seed, idx + i));
	return false;
}

/* Check that no byte of @buf outside [@off, @off + @len) was modified. */
static inline bool rv_check_sentinel(struct __test_metadata *_metadata,
				     const void *buf, size_t buflen,
				     size_t off, size_t len)
{
	const __u8 *b = buf;
	size_t i;

	for (i = 0; i < buflen; i++) {
		__u8 want;

		if (i >= off && i - off < len)
			continue;
		want = rv_pat(RV_SENTINEL_SEED, i);
		if (b[i] != want) {
			TH_LOG("sentinel at %zu (range %zu+%zu): 0x%02x, want 0x%02x",
			       i, off, len, b[i], want);
			return false;
		}
	}
	return true;
}

/* Data check of one range plus sentinel check of the rest of the buffer. */
static inline bool rv_check(struct __test_metadata *_metadata,
			    const void *buf, size_t buflen, size_t off,
			    size_t len, __u32 seed, size_t idx)
{
	return rv_check_data(_metadata, buf, off, len, seed, idx) &&
	       rv_check_sentinel(_metadata, buf, buflen, off, len);
}

/* Open the RDMA device @name; NULL with errno ENODEV if it does not exist. */
static inline struct ibv_context *rv_open_device(const char *name)
{
	struct ibv_context *ctx = NULL;
	struct ibv_device **list;
	int i, n, err = ENODEV;

	list = ibv_get_device_list(&n);
	if (!list) {
		/* No verbs support at all: the device does not exist either. */
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

/* Does the device support ODP MRs for RC with all of @rc_caps? */
static inline bool rv_odp_supported(const struct ibv_device_attr_ex *attr,
				    __u32 rc_caps)
{
	const struct ibv_odp_caps *odp = &attr->odp_caps;

	return (odp->general_caps & IBV_ODP_SUPPORT) &&
	       (odp->per_transport_caps.rc_odp_caps & rc_caps) == rc_caps;
}

/* Is @gid an IPv4-mapped IPv6 address (::ffff:a.b.c.d)? */
static inline bool rv_gid_is_v4mapped(const union ibv_gid *gid)
{
	static const __u8 prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(gid->raw, prefix, sizeof(prefix));
}

/* Return the index of the IPv4-mapped RoCE v2 GID of @port, or -1. */
static inline int rv_find_gid(struct ibv_context *ctx, int port, int tbl_len,
			      union ibv_gid *gid)
{
	struct ibv_gid_entry ent;
	int i;

	for (i = 0; i < tbl_len; i++) {
		if (ibv_query_gid_ex(ctx, port, i, &ent, 0))
			continue;
		if (ent.gid_type == IBV_GID_TYPE_ROCE_V2 &&
		    rv_gid_is_v4mapped(&ent.gid)) {
			*gid = ent.gid;
			return i;
		}
	}
	return -1;
}

/* Describe @len bytes at @addr, which lie inside @mr. */
static inline struct ibv_sge rv_sge(struct ibv_mr *mr, void *addr, size_t len)
{
	return (struct ibv_sge) {
		.addr = (uintptr_t)addr,
		.length = len,
		.lkey = mr->lkey,
	};
}

static inline void rv_post_send(struct __test_metadata *_metadata,
				struct ibv_qp *qp, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad = NULL;
	int ret = ibv_post_send(qp, wr, &bad);

	ASSERT_EQ(0, ret) TH_LOG("ibv_post_send: %s", strerror(ret));
}

static inline void rv_post_recv(struct __test_metadata *_metadata,
				struct ibv_qp *qp, __u64 wr_id,
				struct ibv_sge *sge, int nsge)
{
	struct ibv_recv_wr wr = {
		.wr_id = wr_id,
		.sg_list = sge,
		.num_sge = nsge,
	};
	struct ibv_recv_wr *bad = NULL;
	int ret = ibv_post_recv(qp, &wr, &bad);

	ASSERT_EQ(0, ret) TH_LOG("ibv_post_recv: %s", strerror(ret));
}

static inline long rv_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A work request that never completes is a hang somewhere in the driver:
 * leave the kernel's view in its log (blocked tasks, then what every CPU
 * is running) for the failure report.  Needs root and sysrq; best effort.
 */
static inline void rv_dump_kernel_state(void)
{
	FILE *f = fopen("/proc/sysrq-trigger", "w");

	if (!f)
		return;
	fputs("w", f);
	fflush(f);
	fputs("l", f);
	fclose(f);
}

/* Wait up to RV_CQ_TIMEOUT_MS for one completion on @cq, any status. */
static inline void rv_wait_wc(struct __test_metadata *_metadata,
			      struct ibv_cq *cq, struct ibv_wc *wc)
{
	struct timespec t0;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		n = ibv_poll_cq(cq, 1, wc);
		ASSERT_LE(0, n) TH_LOG("ibv_poll_cq: %d", n);
		if (n)
			return;
		if (rv_ms_since(&t0) >= RV_CQ_TIMEOUT_MS)
			rv_dump_kernel_state();
		ASSERT_GT(RV_CQ_TIMEOUT_MS, rv_ms_since(&t0))
			TH_LOG("no completion within %d ms", RV_CQ_TIMEOUT_MS);
		sched_yield();
	}
}

/* Wait for a successful completion of @wr_id with opcode @opcode. */
static inline void rv_expect_wc(struct __test_metadata *_metadata,
				struct ibv_cq *cq, __u64 wr_id,
				enum ibv_wc_opcode opcode, struct ibv_wc *wc)
{
	rv_wait_wc(_metadata, cq, wc);
	ASSERT_TRUE(wc->status == IBV_WC_SUCCESS)
		TH_LOG("wr_id %llu failed: %s (vendor_err 0x%x)",
		       (unsigned long long)wc->wr_id,
		       ibv_wc_status_str(wc->status), wc->vendor_err);
	ASSERT_EQ(wr_id, wc->wr_id);
	ASSERT_EQ(opcode, wc->opcode) TH_LOG("wr_id %llu: bad opcode",
					     (unsigned long long)wr_id);
}

/* Wait for the completion of @wr_id and return its (logged) status. */
static inline enum ibv_wc_status rv_wc_status(struct __test_metadata *_metadata,
					      struct ibv_cq *cq, __u64 wr_id)
{
	struct ibv_wc wc;

	rv_wait_wc(_metadata, cq, &wc);
	ASSERT_EQ(wr_id, wc.wr_id);
	TH_LOG("wr_id %llu completed with status %s",
	       (unsigned long long)wr_id, ibv_wc_status_str(wc.status));
	return wc.status;
}

/* What DMESG_BAD of scripts/common.sh calls a kernel complaint. */
#define RV_KMSG_BAD	"WARNING:|BUG:|BUG |Oops|Bad page|[Pp]oison|hung_task|" \
			"blocked for more than|soft lockup|rcu.*(stall|detected stalls)|" \
			"general protection|KASAN|UBSAN|kmemleak|possible circular|" \
			"possible recursive|inconsistent lock|Call Trace|" \
			"memory corruption|single bit error|list_(add|del) corruption|" \
			"refcount_t:|Out of memory: Killed"

/* Records logged after the first complaint, to show its whole report. */
#define RV_KMSG_CONTEXT	48

/* /dev/kmsg positioned at its end: what the test makes the kernel say. */
static inline int rv_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Read the kernel log records that appeared since rv_kmsg_open(): log the
 * complaints among them, the records that follow the first one (a page
 * poisoning report is a headline, a hex dump and a stack trace) and, when
 * there is none, the first few records for context; return how many
 * complaints there were.  The report of a memory cgroup's OOM kill, from
 * "invoked oom-killer" to "Memory cgroup out of memory: Killed process",
 * is what a cgroup test expects and not a complaint (scripts/common.sh
 * drop_memcg_oom() skips it the same way); a global OOM kill is one.
 */
static inline int rv_kmsg_complaints(struct __test_metadata *_metadata, int fd)
{
	int bad = 0, other = 0, context = 0;
	bool in_oom = false;
	char rec[2048];
	regex_t re;
	ssize_t n;

	if (fd < 0) {
		TH_LOG("no /dev/kmsg: the kernel log is not checked");
		return 0;
	}
	ASSERT_EQ(0, regcomp(&re, RV_KMSG_BAD, REG_EXTENDED | REG_NOSUB));
	for (;;) {
		char *msg, *nl;

		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE) {
			TH_LOG("kernel: records lost (log buffer overrun)");
			continue;
		}
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		if (strstr(msg, "invoked oom-killer")) {
			in_oom = true;
			continue;
		}
		if (in_oom) {
			if (strstr(msg, "Memory cgroup out of memory: Killed process"))
				in_oom = false;
			continue;
		}
		if (!regexec(&re, msg, 0, NULL, 0)) {
			TH_LOG("kernel: %s", msg);
			if (!bad++)
				context = RV_KMSG_CONTEXT;
		} else if (context) {
			TH_LOG("kernel: %s", msg);
			context--;
		} else if (!bad && other++ < 8) {
			TH_LOG("kernel (info): %s", msg);
		}
	}
	regfree(&re);
	if (other > 8)
		TH_LOG("kernel: %d more records", other - 8);
	return bad;
}

#endif /* RV_COMMON_H */
