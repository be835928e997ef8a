// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_stats.c - ODP statistics: per-MR counters for 'rdma statistic
 * mr', and a fault latency histogram in debugfs.
 */

#include <linux/debugfs.h>
#include <linux/log2.h>
#include <linux/seq_file.h>
#include <net/netlink.h>
#include <rdma/rdma_netlink.h>
#include <rdma/restrack.h>

#include "rxe_odp_loc.h"

/**
 * DOC: Counters
 *
 * Per device, with the other rxe hw counters (``rdma statistic show``,
 * /sys/class/infiniband/rxe0/ports/1/hw_counters): odp_page_faults,
 * odp_pages_faulted, odp_fault_errors, odp_invalidations and
 * odp_pages_invalidated.  Per MR (``rdma statistic mr``): page_faults,
 * pages_faulted, page_invalidations, pages_invalidated, page_prefetch and
 * fault_errors.  Module wide, /sys/kernel/debug/rxe_odp/fault_latency: a
 * histogram of rxe_odp_fault() durations in powers of two microseconds.
 */

static atomic64_t rxe_odp_fault_hist[RXE_ODP_LAT_BUCKETS];
static struct dentry *rxe_odp_debugfs;

/**
 * rxe_odp_stats_fault_latency() - account one fault's duration
 * @ns: how long rxe_odp_fault() took, in nanoseconds
 *
 * Context: any; lockless.
 */
void rxe_odp_stats_fault_latency(u64 ns)
{
	u64 us = div_u64(ns, NSEC_PER_USEC);
	unsigned int b = us ? ilog2(us) + 1 : 0;

	atomic64_inc(&rxe_odp_fault_hist[min(b, RXE_ODP_LAT_BUCKETS - 1)]);
}

static int rxe_odp_stats_latency_show(struct seq_file *s, void *unused)
{
	unsigned int b;

	seq_puts(s, "# fault latency: bucket upper bound (us), faults\n");
	for (b = 0; b < RXE_ODP_LAT_BUCKETS - 1; b++)
		seq_printf(s, "<%u %lld\n", 1U << b,
			   atomic64_read(&rxe_odp_fault_hist[b]));
	seq_printf(s, ">=%u %lld\n", 1U << (RXE_ODP_LAT_BUCKETS - 2),
		   atomic64_read(&rxe_odp_fault_hist[b]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rxe_odp_stats_latency);

/* The per-MR counters, by name, as 'rdma statistic mr' shows them. */
static const struct {
	const char *name;
	size_t offset;
} rxe_odp_mr_counters[] = {
	{ "page_faults", offsetof(struct rxe_odp_mr, faults) },
	{ "pages_faulted", offsetof(struct rxe_odp_mr, pages_faulted) },
	{ "page_invalidations", offsetof(struct rxe_odp_mr, invalidations) },
	{ "pages_invalidated", offsetof(struct rxe_odp_mr, pages_invalidated) },
	{ "page_prefetch", offsetof(struct rxe_odp_mr, prefetches) },
	{ "fault_errors", offsetof(struct rxe_odp_mr, fault_errors) },
};

/**
 * rxe_odp_fill_stat_mr_entry() - per-MR ODP counters for 'rdma statistic'
 * @msg: the netlink message being built
 * @ibmr: the memory region
 *
 * The counters go in a nested RDMA_NLDEV_ATTR_STAT_HWCOUNTERS table, as
 * those of a port do; a pinned MR has none.
 *
 * Context: netlink request (process context).
 * Return: 0, or -EMSGSIZE when @msg is full.
 */
int rxe_odp_fill_stat_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr)
{
	struct rxe_odp_mr *odp = to_rmr(ibmr)->odp;
	struct nlattr *table;
	atomic64_t *v;
	unsigned int i;

	if (!odp)
		return 0;

	table = nla_nest_start(msg, RDMA_NLDEV_ATTR_STAT_HWCOUNTERS);
	if (!table)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(rxe_odp_mr_counters); i++) {
		v = (void *)odp + rxe_odp_mr_counters[i].offset;
		if (rdma_nl_stat_hwcounter_entry(msg, rxe_odp_mr_counters[i].name,
						 atomic64_read(v))) {
			nla_nest_cancel(msg, table);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(msg, table);
	return 0;
}

/**
 * rxe_odp_stats_init() - create /sys/kernel/debug/rxe_odp
 *
 * Context: module init.
 * Return: 0 (debugfs failures are not fatal).
 */
int rxe_odp_stats_init(void)
{
	rxe_odp_debugfs = debugfs_create_dir("rxe_odp", NULL);
	debugfs_create_file("fault_latency", 0444, rxe_odp_debugfs, NULL,
			    &rxe_odp_stats_latency_fops);
	return 0;
}

/**
 * rxe_odp_stats_exit() - remove /sys/kernel/debug/rxe_odp
 *
 * Context: module exit.
 */
void rxe_odp_stats_exit(void)
{
	debugfs_remove_recursive(rxe_odp_debugfs);
}
