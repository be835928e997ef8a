// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_fault.c - fill the device page table from the primary page
 * tables with hmm_range_fault().
 */

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>

#include "rxe_odp_loc.h"
#include "rxe_odp_trace.h"

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
 *    ran meanwhile, so go back to 1, from then on faulting only the pages
 *    the access needs (any invalidation in the MR restarts the fault, so
 *    a short one is likelier to get through) and backing off now and
 *    then, for up to RXE_ODP_FAULT_TIMEOUT_MS;
 * 3. preallocate the DPT leaves of the range, take dpt_lock for write; if
 *    mmu_interval_read_retry() says an invalidation started since step 1,
 *    drop it and go back to 1;
 * 4. store the entries and drop the lock.
 *
 * A range that a userfaultfd watches is not faulted but snapshotted: the
 * fault could not wait for the handler (hmm_range_fault() does not allow
 * retries), so a missing page fails the access (-EFAULT) without asking
 * the mm, and present pages are used as usual.
 *
 * The access then retries its lookup.  Faults run in the rxe work queue
 * or in the advise_mr caller (process context), never in the UDP receive
 * softirq or in post_send.  A dma-buf MR takes none of the steps above:
 * rxe_odp_dmabuf_fault() maps from the exporter's CPU mapping instead.
 *
 * Fault-around: a device fault maps a whole aligned window around the
 * pages it needs (module parameter fault_around_kb, 0 disables), in the
 * same hmm_range_fault() call.  The window is first faulted like the
 * needed pages; if that fails (the window reaches a hole or a read-only
 * mapping) the call is repeated over the needed pages alone, so
 * fault-around never turns a valid access into an error.  A retry after an
 * invalidation race drops the window the same way.  (The range must shrink,
 * not merely stop asking for the window's pages: hmm_range_fault() takes
 * the request flags of a whole hugetlb page from its first pfn in the
 * range, which could then be a window page that asks for nothing.)
 */

/* The fault-around window for [start, end), clipped to the MR. */
static void rxe_odp_fault_window(struct rxe_odp_mr *odp, unsigned long *start,
				 unsigned long *end)
{
	unsigned long size = (unsigned long)READ_ONCE(rxe_odp_fault_around_kb) << 10;

	if (size <= PAGE_SIZE)
		return;
	size = rounddown_pow_of_two(min(size, RXE_ODP_LEAF_SIZE));
	*start = max(ALIGN_DOWN(*start, size), odp->start);
	*end = min(ALIGN(*end, size), odp->end);
}

/* Input flags of every pfn: fault the needed pages, maybe the rest. */
static void rxe_odp_fault_fill_flags(struct hmm_range *range,
				     unsigned long need_start,
				     unsigned long need_end,
				     unsigned long need, unsigned long rest)
{
	unsigned long i, va, n = (range->end - range->start) >> PAGE_SHIFT;

	for (i = 0; i < n; i++) {
		va = range->start + (i << PAGE_SHIFT);
		range->hmm_pfns[i] = va >= need_start && va < need_end ?
				     need : rest;
	}
}

/*
 * Does a userfaultfd watch part of [start, end)?  Such a range is only
 * snapshotted: hmm_range_fault() faults without FAULT_FLAG_ALLOW_RETRY,
 * so handle_userfault() could not wait for the handler anyway; it would
 * fail the fault (with a stack dump on CONFIG_DEBUG_VM kernels).
 */
static bool rxe_odp_uffd_armed(struct mm_struct *mm, unsigned long start,
			       unsigned long end)
{
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);
	for (vma = find_vma_intersection(mm, start, end); vma;
	     vma = find_vma_intersection(mm, vma->vm_end, end))
		if (userfaultfd_armed(vma))
			return true;
	return false;
}

/* Did a snapshot find every page of [start, end), writable if asked? */
static bool rxe_odp_fault_got(struct hmm_range *range, unsigned long start,
			      unsigned long end, unsigned int flags)
{
	unsigned long want = HMM_PFN_VALID |
			     (flags & RXE_ODP_FAULT_WRITE ? HMM_PFN_WRITE : 0);
	unsigned long va;

	if (flags & RXE_ODP_FAULT_SNAPSHOT)
		return true;
	for (va = start; va < end; va += PAGE_SIZE)
		if ((range->hmm_pfns[(va - range->start) >> PAGE_SHIFT] & want) !=
		    want)
			return false;
	return true;
}

/**
 * rxe_odp_fault() - map part of an ODP MR into its device page table
 * @odp: the ODP MR
 * @va: user virtual address of the first byte the device needs
 * @len: number of bytes, not 0
 * @flags: RXE_ODP_FAULT_WRITE to map writable, RXE_ODP_FAULT_SNAPSHOT to
 *	map only what is present (advise_mr PREFETCH_NO_FAULT),
 *	RXE_ODP_FAULT_AROUND to widen to the fault-around window
 *
 * Faults the pages of [@va, @va + @len) in through the primary MMU and
 * stores them in the DPT, so that a retried lookup finds them unless an
 * invalidation has removed them again in between.
 *
 * Context: process context; takes mmap_lock for read, then dpt_lock for
 * write; may sleep.  Must be called without dpt_lock.
 * Return:
 * * the number of pages mapped (>= 0) on success
 * * -EFAULT for an unmapped hole, a PROT_NONE page or an exited process,
 *   or a range outside the MR's [start, end) (a kernel address through an
 *   implicit MR)
 * * -EPERM for a write to a mapping that does not allow writing
 * * -EBUSY when invalidations kept racing the fault for too long
 * * -ENOMEM, or another -errno from hmm_range_fault()
 */
int rxe_odp_fault(struct rxe_odp_mr *odp, unsigned long va, size_t len,
		  unsigned int flags)
{
	unsigned long need_start = ALIGN_DOWN(va, PAGE_SIZE);
	unsigned long need_end = ALIGN(va + len, PAGE_SIZE);
	unsigned long need = 0, rest = 0, timeout, npages;
	struct hmm_range range = {
		.notifier = &odp->mni,
		.start = need_start,
		.end = need_end,
		.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
	};
	u64 t0 = ktime_get_ns();
	unsigned int busy = 0;
	bool narrowed = false, uffd = false;
	struct mm_struct *mm;
	int ret;

	trace_rxe_odp_fault_begin(odp, va, len, flags);

	/*
	 * The MR range check lets any address through an implicit MR (its
	 * length is U64_MAX), kernel addresses too: they are no user memory,
	 * and the window below must not be clipped to an empty range.
	 */
	if (va < odp->start || va >= odp->end || len > odp->end - va) {
		ret = -EFAULT;
		goto out;
	}

	/* A dma-buf MR maps from the exporter, whatever the flags. */
	if (odp->dmabuf) {
		ret = rxe_odp_dmabuf_fault(odp, need_start, need_end, flags);
		goto out;
	}

	mm = odp->umem_odp->umem.owning_mm;
	if (!(flags & RXE_ODP_FAULT_SNAPSHOT))
		need = HMM_PFN_REQ_FAULT;
	if (flags & RXE_ODP_FAULT_WRITE)
		need |= HMM_PFN_REQ_WRITE;
	if (flags & RXE_ODP_FAULT_AROUND) {
		rxe_odp_fault_window(odp, &range.start, &range.end);
		rest = need;
	}

	npages = (range.end - range.start) >> PAGE_SHIFT;
	range.hmm_pfns = kvmalloc_array(npages, sizeof(*range.hmm_pfns),
					GFP_KERNEL);
	if (!range.hmm_pfns) {
		ret = -ENOMEM;
		goto out;
	}
	if (!mmget_not_zero(mm)) {
		ret = -EFAULT;
		goto out_free;
	}

	timeout = jiffies + msecs_to_jiffies(RXE_ODP_FAULT_TIMEOUT_MS);
	for (;;) {
		if (time_after(jiffies, timeout)) {
			ret = -EBUSY;
			break;
		}
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		mmap_read_lock(mm);
		if (!uffd && rxe_odp_uffd_armed(mm, range.start, range.end)) {
			uffd = true;
			need &= ~(HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE);
			rest = 0;
		}
		if (!rest) {
			/* No window (any more): the needed pages only. */
			range.start = need_start;
			range.end = need_end;
		}
		rxe_odp_fault_fill_flags(&range, need_start, need_end, need,
					 rest);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mm);
		if (ret == -EBUSY) {
			/*
			 * Raced an invalidation somewhere in the MR: fault
			 * only the pages the access needs from now on, the
			 * shorter the fault the likelier it completes between
			 * two invalidations, and back off when that is not
			 * enough.
			 */
			rest = 0;
			if (++busy % RXE_ODP_BUSY_BACKOFF == 0)
				usleep_range(500, 1000);
			continue;
		}
		if ((ret == -EFAULT || ret == -EPERM) && rest && !narrowed) {
			/* The window hit something the access does not need. */
			rest = 0;
			narrowed = true;
			continue;
		}
		if (!ret && uffd && !rxe_odp_fault_got(&range, need_start,
						       need_end, flags))
			ret = -EFAULT;
		if (ret)
			break;

		ret = rxe_odp_dpt_prealloc(odp, range.start, range.end);
		if (ret)
			break;
		write_lock(&odp->dpt_lock);
		if (mmu_interval_read_retry(range.notifier,
					    range.notifier_seq)) {
			write_unlock(&odp->dpt_lock);
			rest = 0;	/* as for -EBUSY above */
			continue;
		}
		ret = __rxe_odp_dpt_store(odp, &range);
		write_unlock(&odp->dpt_lock);
		break;
	}
	mmput(mm);
out_free:
	kvfree(range.hmm_pfns);
out:
	if (ret < 0) {
		atomic64_inc(&odp->fault_errors);
		rxe_odp_count(odp, RXE_CNT_ODP_FAULT_ERRORS, 1);
		rxe_dbg_mr(odp->mr, "fault at %#lx+%zu (flags %#x) failed: %d\n",
			   va, len, flags, ret);
	} else {
		atomic64_inc(&odp->faults);
		atomic64_add(ret, &odp->pages_faulted);
		rxe_odp_count(odp, RXE_CNT_ODP_PAGE_FAULTS, 1);
		rxe_odp_count(odp, RXE_CNT_ODP_PAGES_FAULTED, ret);
	}
	t0 = ktime_get_ns() - t0;
	rxe_odp_stats_fault_latency(t0);
	trace_rxe_odp_fault_end(odp, va, len, ret, t0);
	return ret;
}
