// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_notifier.c - tear the device page table down when the primary
 * mapping changes.
 */

#include <linux/mm.h>

#include "rxe_odp_loc.h"

/**
 * DOC: Invalidation
 *
 * The mm calls rxe_odp_mni_invalidate() from mmu_notifier_invalidate_range_
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
 * before invalidate_range_end).  The lock is a spinning rwlock and nothing
 * under it sleeps, so non-blockable invalidations (the OOM reaper) are
 * served, never refused.
 */

/**
 * __rxe_odp_dpt_zap() - unmap a virtual range from the device page table
 * @odp: the ODP MR
 * @start: first byte of the range, within the MR's pages
 * @end: first byte after the range
 * @blockable: the caller may sleep; then the lock is dropped between
 *	batches of entries when a reschedule is due
 *
 * Pages the device wrote are marked dirty before their entry goes, so that
 * reclaim writes them back instead of dropping the device's data.
 * Dropping the lock between batches is safe because the caller advanced
 * the interval sequence first: no fault can commit into the range until
 * the invalidation ends.
 *
 * Context: dpt_lock held for write, and held again on return.
 */
void __rxe_odp_dpt_zap(struct rxe_odp_mr *odp, unsigned long start,
		       unsigned long end, bool blockable)
	__must_hold(&odp->dpt_lock)
{
	unsigned long i = rxe_odp_dpt_index(odp, start);
	unsigned long last = rxe_odp_dpt_index(odp, end - 1);
	unsigned long entry;
	u64 zapped = 0;

	lockdep_assert_held_write(&odp->dpt_lock);

	for (; i <= last && odp->nmapped; i++) {
		if (blockable && !(i % RXE_ODP_ZAP_BATCH) && need_resched()) {
			write_unlock(&odp->dpt_lock);
			cond_resched();
			write_lock(&odp->dpt_lock);
		}
		entry = odp->dpt[i];
		if (!(entry & RXE_ODP_DPT_VALID))
			continue;
		if (entry & RXE_ODP_DPT_DIRTY)
			folio_mark_dirty(page_folio(rxe_odp_dpt_page(entry)));
		WRITE_ONCE(odp->dpt[i], 0);
		odp->nmapped--;
		zapped++;
	}
	if (zapped) {
		atomic64_add(zapped, &odp->pages_invalidated);
		rxe_odp_count(odp, RXE_CNT_ODP_PAGES_INVALIDATED, zapped);
	}
}

static bool rxe_odp_mni_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct ib_umem_odp *umem_odp =
		container_of(mni, struct ib_umem_odp, notifier);
	struct rxe_odp_mr *odp;
	unsigned long start, end;

	/* Pairs with the release in rxe_odp_mr_init_user(). */
	odp = smp_load_acquire(&umem_odp->private);

	/*
	 * Registration has not finished: nothing can have faulted yet, but a
	 * fault starting later must still see this invalidation's sequence.
	 */
	if (!odp) {
		mmu_interval_set_seq(mni, cur_seq);
		return true;
	}

	start = max(range->start, ib_umem_start(umem_odp));
	end = min(range->end, ib_umem_end(umem_odp));

	write_lock(&odp->dpt_lock);
	mmu_interval_set_seq(mni, cur_seq);
	if (start < end)
		__rxe_odp_dpt_zap(odp, start, end,
				  mmu_notifier_range_blockable(range));
	write_unlock(&odp->dpt_lock);
	atomic64_inc(&odp->invalidations);
	rxe_odp_count(odp, RXE_CNT_ODP_INVALIDATIONS, 1);
	return true;
}

const struct mmu_interval_notifier_ops rxe_odp_mni_ops = {
	.invalidate = rxe_odp_mni_invalidate,
};
