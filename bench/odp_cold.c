// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp authors.
 *
 * odp_cold - first-touch (cold) against warm RDMA WRITE bandwidth into an
 * on-demand paging MR.
 *
 *   odp_cold [-d DEV] [-s MIB] [-m KIB] [-q DEPTH] [-t]
 *
 * Maps a buffer of MIB MiB (default 64), 2 MiB aligned, with
 * MADV_NOHUGEPAGE, or with MADV_HUGEPAGE under -t, and registers an ODP MR
 * over it.  The cold pass first discards the buffer with MADV_DONTNEED, so
 * that every page is absent from the CPU and the device page tables, then
 * RDMA WRITEs the whole buffer once in KIB KiB messages (default 64, DEPTH
 * in flight, default 16) from a pinned source over a loopback RC QP pair.
 * The warm pass writes the now mapped buffer again.  One CSV line per pass
 * on stdout:
 *
 *   pass,mibps,page_faults,pages_faulted,thp_kb
 *
 * with the device's odp_page_faults and odp_pages_faulted deltas over the
 * pass and the AnonHugePages of the buffer after it.  The module
 * parameters (fault-around, huge entries) are set by the caller.  Prints,
 * never judges.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#define OC_PORT		1
#define OC_PSN		0x4321
#define OC_HUGE		(2UL << 20)
#define OC_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

struct oc {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
	const char *dev;
};

static void oc_die(const char *what, int err)
{
	fprintf(stderr, "odp_cold: %s: %s\n", what, strerror(err));
	exit(1);
}

static unsigned long long oc_counter(struct oc *o, const char *name)
{
	char path[256], val[64];
	FILE *f;

	/* hw_counters are cached for their lifespan (10 ms) after a read. */
	usleep(40000);
	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/%d/hw_counters/%s", o->dev,
		 OC_PORT, name);
	f = fopen(path, "r");
	if (!f)
		oc_die(path, errno);
	if (!fgets(val, sizeof(val), f))
		oc_die(path, EIO);
	fclose(f);
	return strtoull(val, NULL, 0);
}

/* AnonHugePages (kB) of the mappings overlapping [@p, @p + @len). */
static long oc_thp_kb(void *p, size_t len)
{
	unsigned long lo, hi, s = (uintptr_t)p, e = s + len;
	FILE *f = fopen("/proc/self/smaps", "r");
	long kb, total = 0;
	char line[512];
	int in = 0;

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

static void oc_open(struct oc *o)
{
	static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct ibv_device **list;
	struct ibv_port_attr port;
	struct ibv_gid_entry ent;
	int i, n;

	list = ibv_get_device_list(&n);
	if (!list)
		oc_die("ibv_get_device_list", errno);
	for (i = 0; i < n && !o->ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), o->dev))
			o->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!o->ctx)
		oc_die(o->dev, ENODEV);
	if (ibv_query_port(o->ctx, OC_PORT, &port))
		oc_die("ibv_query_port", errno);
	o->mtu = port.active_mtu;
	o->gid_index = -1;
	for (i = 0; i < port.gid_tbl_len && o->gid_index < 0; i++) {
		if (ibv_query_gid_ex(o->ctx, OC_PORT, i, &ent, 0))
			continue;
		if (ent.gid_type == IBV_GID_TYPE_ROCE_V2 &&
		    !memcmp(ent.gid.raw, v4mapped, sizeof(v4mapped))) {
			o->gid = ent.gid;
			o->gid_index = i;
		}
	}
	if (o->gid_index < 0)
		oc_die("no IPv4-mapped RoCE v2 GID", ENOENT);
}

static void oc_connect(struct oc *o, struct ibv_qp *qp, uint32_t dest)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = OC_PORT,
		.qp_access_flags = OC_ACCESS,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = o->mtu,
		.dest_qp_num = dest,
		.rq_psn = OC_PSN,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = OC_PORT,
			.grh = {
				.dgid = o->gid,
				.sgid_index = o->gid_index,
				.hop_limit = 64,
			},
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = OC_PSN,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = 1,
	};
	int err;

	err = ibv_modify_qp(qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (!err)
		err = ibv_modify_qp(qp, &rtr, IBV_QP_STATE | IBV_QP_AV |
				    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				    IBV_QP_RQ_PSN |
				    IBV_QP_MAX_DEST_RD_ATOMIC |
				    IBV_QP_MIN_RNR_TIMER);
	if (!err)
		err = ibv_modify_qp(qp, &rts, IBV_QP_STATE | IBV_QP_SQ_PSN |
				    IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				    IBV_QP_RNR_RETRY |
				    IBV_QP_MAX_QP_RD_ATOMIC);
	if (err)
		oc_die("ibv_modify_qp", err);
}

static void oc_setup(struct oc *o, int depth)
{
	struct ibv_qp_init_attr attr = {
		.cap = {
			.max_send_wr = depth,
			.max_recv_wr = 1,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 1,
	};
	int i;

	oc_open(o);
	o->pd = ibv_alloc_pd(o->ctx);
	o->cq = ibv_create_cq(o->ctx, 2 * depth + 2, NULL, NULL, 0);
	if (!o->pd || !o->cq)
		oc_die("PD/CQ", errno);
	attr.send_cq = o->cq;
	attr.recv_cq = o->cq;
	for (i = 0; i < 2; i++) {
		o->qp[i] = ibv_create_qp(o->pd, &attr);
		if (!o->qp[i])
			oc_die("ibv_create_qp", errno);
	}
	oc_connect(o, o->qp[0], o->qp[1]->qp_num);
	oc_connect(o, o->qp[1], o->qp[0]->qp_num);
}

static double oc_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Write all of @dst (@len bytes) in @msg byte messages, @depth in flight. */
static void oc_pass(struct oc *o, struct ibv_mr *smr, struct ibv_mr *dmr,
		    char *dst, size_t len, size_t msg, int depth)
{
	size_t posted = 0, done = 0, n = len / msg;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge = {
		.addr = (uintptr_t)smr->addr,
		.length = msg,
		.lkey = smr->lkey,
	};
	struct ibv_wc wc[16];
	int i, got, err;

	while (done < n) {
		while (posted < n && posted - done < (size_t)depth) {
			memset(&wr, 0, sizeof(wr));
			wr.wr_id = posted;
			wr.sg_list = &sge;
			wr.num_sge = 1;
			wr.opcode = IBV_WR_RDMA_WRITE;
			wr.wr.rdma.remote_addr = (uintptr_t)(dst + posted * msg);
			wr.wr.rdma.rkey = dmr->rkey;
			err = ibv_post_send(o->qp[0], &wr, &bad);
			if (err)
				oc_die("ibv_post_send", err);
			posted++;
		}
		got = ibv_poll_cq(o->cq, 16, wc);
		if (got < 0)
			oc_die("ibv_poll_cq", EIO);
		for (i = 0; i < got; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				fprintf(stderr, "odp_cold: WRITE %llu: %s\n",
					(unsigned long long)wc[i].wr_id,
					ibv_wc_status_str(wc[i].status));
				exit(1);
			}
			done++;
		}
	}
}

int main(int argc, char **argv)
{
	size_t len = 64UL << 20, msg = 64UL << 10;
	unsigned long long f0, p0;
	struct oc o = { .dev = "rxe0" };
	struct ibv_mr *smr, *dmr;
	int depth = 16, thp = 0, opt, pass;
	char *raw, *dst, *src;
	double t0, secs;

	while ((opt = getopt(argc, argv, "d:s:m:q:t")) != -1) {
		switch (opt) {
		case 'd':
			o.dev = optarg;
			break;
		case 's':
			len = strtoul(optarg, NULL, 0) << 20;
			break;
		case 'm':
			msg = strtoul(optarg, NULL, 0) << 10;
			break;
		case 'q':
			depth = atoi(optarg);
			break;
		case 't':
			thp = 1;
			break;
		default:
			fprintf(stderr,
				"usage: odp_cold [-d DEV] [-s MIB] [-m KIB] [-q DEPTH] [-t]\n");
			return 2;
		}
	}
	if (!len || !msg || len % msg || depth < 1 || depth > 256) {
		fprintf(stderr, "odp_cold: bad sizes\n");
		return 2;
	}
	oc_setup(&o, depth);

	raw = mmap(NULL, len + OC_HUGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = mmap(NULL, msg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED || src == MAP_FAILED)
		oc_die("mmap", errno);
	dst = (char *)(((uintptr_t)raw + OC_HUGE - 1) & ~(OC_HUGE - 1));
	if (madvise(dst, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		oc_die("madvise", errno);
	memset(src, 0xa5, msg);
	smr = ibv_reg_mr(o.pd, src, msg, IBV_ACCESS_LOCAL_WRITE);
	dmr = ibv_reg_mr(o.pd, dst, len, OC_ACCESS | IBV_ACCESS_ON_DEMAND);
	if (!smr || !dmr)
		oc_die("ibv_reg_mr", errno);

	for (pass = 0; pass < 2; pass++) {
		if (!pass && madvise(dst, len, MADV_DONTNEED))
			oc_die("MADV_DONTNEED", errno);
		f0 = oc_counter(&o, "odp_page_faults");
		p0 = oc_counter(&o, "odp_pages_faulted");
		t0 = oc_now();
		oc_pass(&o, smr, dmr, dst, len, msg, depth);
		secs = oc_now() - t0;
		printf("%s,%.2f,%llu,%llu,%ld\n", pass ? "warm" : "cold",
		       len / 1048576.0 / secs,
		       oc_counter(&o, "odp_page_faults") - f0,
		       oc_counter(&o, "odp_pages_faulted") - p0,
		       oc_thp_kb(dst, len));
	}
	fflush(stdout);
	ibv_destroy_qp(o.qp[0]);
	ibv_destroy_qp(o.qp[1]);
	ibv_dereg_mr(dmr);
	ibv_dereg_mr(smr);
	ibv_destroy_cq(o.cq);
	ibv_dealloc_pd(o.pd);
	ibv_close_device(o.ctx);
	return 0;
}
