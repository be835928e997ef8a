// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_notifier.c - tear the device page table down when the primary
 * mapping changes.
 */

#include <linux/mm.h>

#include "rxe_odp_loc.h"
#include "rxe_odp_trace.h"

/**
 * DOC: Invalidation
 *
 * The mm calls the interval notifier from mmu_notifier_invalidate_range_
 * start() for every change of the primary page tables that overlaps the
 * MR: munmap, MADV_DONTNEED, swap-out, migration, COW on fork, mprotect,
 * KSM, THP split and collapse, page_mkclean, process exit.  The callback
 * takes dpt_lock for write, which waits for every device access in flight
 * on this MR (they hold it for read across lookup and copy), advances the
 * interval sequence with mmu_interval_set_seq() and zaps the DPT entries
 * of the range, marking dirty the pages the device wrote.  When it returns
 * no device access can reach the old pages: a new access finds no entry
 * and faults, and that fault cannot commit until the mm has finished
 * (mmu_interval_read_retry() fails for any fault that sampled the sequence
 * before invalidate_range_end, and mmu_interval_read_begin() waits for
 * it).  The lock is a spinning rwlock and nothing under it sleeps, so
 * non-blockable invalidations (the OOM reaper) are served, never refused.
 */

static bool rxe_odp_mni_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct rxe_odp_mr *odp = container_of(mni, struct rxe_odp_mr, mni);
	unsigned long before;

	write_lock(&odp->dpt_lock);
	mmu_interval_set_seq(mni, cur_seq);
	before = atomic64_read(&odp->pages_invalidated);
	__rxe_odp_dpt_zap(odp, range->start, range->end,
			  mmu_notifier_range_blockable(range));
	write_unlock(&odp->dpt_lock);

	atomic64_inc(&odp->invalidations);
	rxe_odp_count(odp, RXE_CNT_ODP_INVALIDATIONS, 1);
	trace_rxe_odp_invalidate(odp, range->start, range->end, range->event,
				 atomic64_read(&odp->pages_invalidated) - before);
	return true;
}

const struct mmu_interval_notifier_ops rxe_odp_mni_ops = {
	.invalidate = rxe_odp_mni_invalidate,
};
