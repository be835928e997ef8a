/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_loc.h - private to drivers/odp: the per-MR ODP state, the device
 * page table (DPT) entry format and the prototypes shared between files.
 */

#ifndef RXE_ODP_LOC_H
#define RXE_ODP_LOC_H

#include <linux/bits.h>
#include <linux/spinlock.h>
#include <linux/mmu_notifier.h>
#include <rdma/ib_umem_odp.h>

#include "rxe.h"

/**
 * DOC: Lock order
 *
 * mmap_lock (taken by the fault path around hmm_range_fault(), held by
 * the mm around most invalidations), then &rxe_odp_mr.dpt_lock.  The fault
 * path drops mmap_lock before it takes dpt_lock; nothing is allocated and
 * nothing sleeps while dpt_lock is held, in either mode, so an invalidation
 * from reclaim or from the OOM reaper can always take it.  umem_mutex of
 * &ib_umem_odp is not used by rxe: the DPT has its own lock.
 */

/*
 * A DPT entry is the pfn of the page mapped at that virtual page, shifted
 * by PAGE_SHIFT, or'ed with these flags; 0 means not mapped.
 */
#define RXE_ODP_DPT_VALID	BIT(0)	/* the pfn is mapped */
#define RXE_ODP_DPT_WRITE	BIT(1)	/* the primary PTE was writable */
#define RXE_ODP_DPT_ACCESSED	BIT(2)	/* the device touched the page */
#define RXE_ODP_DPT_DIRTY	BIT(3)	/* the device wrote the page */
#define RXE_ODP_DPT_FLAGS	(RXE_ODP_DPT_VALID | RXE_ODP_DPT_WRITE | \
				 RXE_ODP_DPT_ACCESSED | RXE_ODP_DPT_DIRTY)

/* Bit numbers of the flags that the data path sets with set_bit(). */
#define RXE_ODP_DPT_ACCESSED_BIT	2
#define RXE_ODP_DPT_DIRTY_BIT		3

/*
 * Most pages one device access may touch under one hold of dpt_lock, and
 * so the most one fault maps for it: a packet is at most 4 KiB plus an
 * unaligned start; longer copies are split into such chunks.
 */
#define RXE_ODP_CHUNK_PAGES	16

/* How often a long zap that may sleep checks for a due reschedule. */
#define RXE_ODP_ZAP_BATCH	1024

/* A fault that keeps losing races to invalidations gives up after this. */
#define RXE_ODP_MAX_TRIES	8

/**
 * struct rxe_odp_mr - on-demand paging state of one rxe memory region
 * @rxe: the device, for its ODP counters
 * @mr: the memory region this state belongs to
 * @umem_odp: the core ODP umem: the mm, the range and the interval notifier
 * @start: first byte of the page-aligned virtual range the DPT covers
 * @npages: number of PAGE_SIZE entries in @dpt
 * @dpt_lock: protects the pfn and VALID/WRITE bits of every @dpt entry.
 *	Device accesses hold it for read across the lookup *and* the copy, so
 *	several QPs copy in parallel; the fault commit and the invalidation
 *	callback hold it for write.  Holding it for read keeps a mapped page
 *	alive: the DPT holds no page references, and the mm cannot free a page
 *	before the invalidation of its range has taken this lock for write.
 *	ACCESSED and DIRTY are set with atomic bitops under the read lock.
 * @dpt: the device page table, one entry per page of the range
 * @nmapped: number of valid entries in @dpt, under dpt_lock held for write;
 *	lets invalidations of an empty MR skip the walk
 * @faults: device faults resolved through hmm_range_fault()
 * @pages_faulted: pages mapped by those faults
 * @invalidations: invalidation callbacks that hit the range
 * @pages_invalidated: valid DPT entries zapped by them
 * @fault_errors: faults that ended in an error returned to the data path
 */
struct rxe_odp_mr {
	struct rxe_dev		*rxe;
	struct rxe_mr		*mr;
	struct ib_umem_odp	*umem_odp;
	unsigned long		start;
	unsigned long		npages;
	rwlock_t		dpt_lock;
	unsigned long		*dpt;
	unsigned long		nmapped;
	atomic64_t		faults;
	atomic64_t		pages_faulted;
	atomic64_t		invalidations;
	atomic64_t		pages_invalidated;
	atomic64_t		fault_errors;
};

static inline unsigned long rxe_odp_dpt_index(struct rxe_odp_mr *odp,
					      unsigned long va)
{
	return (va - odp->start) >> PAGE_SHIFT;
}

static inline void rxe_odp_count(struct rxe_odp_mr *odp,
				 enum rxe_counters index, u64 n)
{
	atomic64_add(n, &odp->rxe->stats_counters[index]);
}

static inline struct page *rxe_odp_dpt_page(unsigned long entry)
{
	return pfn_to_page(entry >> PAGE_SHIFT);
}

/* rxe_odp_fault.c */
int rxe_odp_fault(struct rxe_odp_mr *odp, unsigned long va, size_t len,
		  bool write);

/* rxe_odp_notifier.c */
extern const struct mmu_interval_notifier_ops rxe_odp_mni_ops;
void __rxe_odp_dpt_zap(struct rxe_odp_mr *odp, unsigned long start,
		       unsigned long end, bool blockable);

#endif /* RXE_ODP_LOC_H */
