// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_fault.c - fill the device page table from the primary page
 * tables with hmm_range_fault().
 */

#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>

#include "rxe_odp_loc.h"

/**
 * DOC: Fault path
 *
 * A device access that finds a missing entry (or a read-only entry when it
 * needs to write) drops dpt_lock and calls rxe_odp_fault(), which follows
 * the pattern of Documentation/mm/hmm.rst:
 *
 * 1. sample the interval sequence with mmu_interval_read_begin(); this
 *    waits for an invalidation of the range that is in progress;
 * 2. under mmap_read_lock, hmm_range_fault() faults the pages in with the
 *    primary MMU's own fault handler (write faults break COW and need a
 *    writable VMA) and reports their pfns; -EBUSY means an invalidation
 *    ran meanwhile, so go back to 1;
 * 3. take dpt_lock for write; if mmu_interval_read_retry() says an
 *    invalidation started since step 1, drop it and go back to 1;
 * 4. store the entries and drop the lock.
 *
 * The access then retries its lookup.  Faults run in the rxe work queue
 * (process context), never in the UDP receive softirq or in post_send.
 */

/* Store the result of a successful hmm_range_fault() into the DPT. */
static void __rxe_odp_dpt_store(struct rxe_odp_mr *odp,
				struct hmm_range *range)
{
	unsigned long first = rxe_odp_dpt_index(odp, range->start);
	unsigned long n = (range->end - range->start) >> PAGE_SHIFT;
	unsigned long i, pfn, old, entry;

	lockdep_assert_held_write(&odp->dpt_lock);

	for (i = 0; i < n; i++) {
		pfn = range->hmm_pfns[i];
		/* hmm_range_fault() succeeded with REQ_FAULT on every page. */
		if (WARN_ON_ONCE(!(pfn & HMM_PFN_VALID)))
			continue;
		entry = page_to_pfn(hmm_pfn_to_page(pfn)) << PAGE_SHIFT;
		entry |= RXE_ODP_DPT_VALID;
		if (pfn & HMM_PFN_WRITE)
			entry |= RXE_ODP_DPT_WRITE;
		/*
		 * A valid entry can only be replaced by the same page: a new
		 * page at this address needs an invalidation first, and that
		 * would have failed mmu_interval_read_retry().  Keep its
		 * accessed and dirty bits.
		 */
		old = odp->dpt[first + i];
		if (old & RXE_ODP_DPT_VALID) {
			WARN_ON_ONCE((old ^ entry) & PAGE_MASK);
			entry |= old & (RXE_ODP_DPT_ACCESSED |
					RXE_ODP_DPT_DIRTY);
		} else {
			odp->nmapped++;
		}
		WRITE_ONCE(odp->dpt[first + i], entry);
	}
}

/**
 * rxe_odp_fault() - map part of an ODP MR into its device page table
 * @odp: the ODP MR
 * @va: user virtual address of the first byte the device needs
 * @len: number of bytes, at most RXE_ODP_CHUNK_PAGES pages' worth
 * @write: the device will write, so the pages must be mapped writable
 *
 * Faults the pages of [@va, @va + @len) in through the primary MMU and
 * stores them in the DPT, so that a retried lookup finds them unless an
 * invalidation has removed them again in between.
 *
 * Context: process context (rxe work queue); takes mmap_lock for read,
 * then dpt_lock for write; may sleep.  Must be called without dpt_lock.
 * Return:
 * * the number of pages mapped (> 0) on success
 * * -EFAULT for an unmapped hole, a PROT_NONE page or an exited process
 * * -EPERM for a write to a mapping that does not allow writing
 * * -EBUSY when invalidations kept racing the fault for too long
 * * another -errno from hmm_range_fault() (-ENOMEM, ...)
 */
int rxe_odp_fault(struct rxe_odp_mr *odp, unsigned long va, size_t len,
		  bool write)
{
	struct mm_struct *mm = odp->umem_odp->umem.owning_mm;
	unsigned long pfns[RXE_ODP_CHUNK_PAGES + 1];
	unsigned long timeout;
	struct hmm_range range = {
		.notifier = &odp->umem_odp->notifier,
		.start = ALIGN_DOWN(va, PAGE_SIZE),
		.end = ALIGN(va + len, PAGE_SIZE),
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT |
				 (write ? HMM_PFN_REQ_WRITE : 0),
	};
	unsigned long npages = (range.end - range.start) >> PAGE_SHIFT;
	int ret;

	if (WARN_ON_ONCE(npages > ARRAY_SIZE(pfns) || !len))
		return -EINVAL;
	if (!mmget_not_zero(mm)) {
		ret = -EFAULT;
		goto out;
	}

	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		if (time_after(jiffies, timeout)) {
			ret = -EBUSY;
			break;
		}
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		mmap_read_lock(mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			break;

		write_lock(&odp->dpt_lock);
		if (mmu_interval_read_retry(range.notifier,
					    range.notifier_seq)) {
			write_unlock(&odp->dpt_lock);
			continue;
		}
		__rxe_odp_dpt_store(odp, &range);
		write_unlock(&odp->dpt_lock);
		ret = npages;
		break;
	}
	mmput(mm);
out:
	if (ret < 0) {
		atomic64_inc(&odp->fault_errors);
		rxe_odp_count(odp, RXE_CNT_ODP_FAULT_ERRORS, 1);
		rxe_dbg_mr(odp->mr, "fault at %#lx+%zu (%s) failed: %d\n",
			   va, len, write ? "write" : "read", ret);
	} else {
		atomic64_inc(&odp->faults);
		atomic64_add(ret, &odp->pages_faulted);
		rxe_odp_count(odp, RXE_CNT_ODP_PAGE_FAULTS, 1);
		rxe_odp_count(odp, RXE_CNT_ODP_PAGES_FAULTED, ret);
	}
	return ret;
}
