/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_loc.h - private to drivers/odp: the per-MR ODP state, the device
 * page table (DPT) format and the prototypes shared between files.
 */

#ifndef RXE_ODP_LOC_H
#define RXE_ODP_LOC_H

#include <linux/bits.h>
#include <linux/interval_tree.h>
#include <linux/hmm.h>
#include <linux/mmu_notifier.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>
#include <rdma/ib_umem_odp.h>

#include "rxe.h"

/**
 * DOC: Lock order
 *
 * mmap_lock (taken by the fault path around hmm_range_fault(), held by
 * the mm around most invalidations), then &rxe_odp_mr.dpt_lock, then the
 * xa_lock of &rxe_odp_mr.dir.  The fault path drops mmap_lock before it
 * takes dpt_lock.  A dma-buf MR takes the buffer's reservation lock
 * (dma_resv) instead of mmap_lock, before dpt_lock: its fault, move_notify
 * and release hold it throughout, and allocate under it (the dma-buf core
 * orders dma_resv before fs_reclaim).  Nothing sleeps and nothing is allocated with
 * GFP_KERNEL while dpt_lock is held, in either mode, so an invalidation
 * from reclaim or from the OOM reaper can always take it.  umem_mutex of
 * &ib_umem_odp is not used by rxe.
 */

/**
 * DOC: Device page table
 *
 * Two levels.  &rxe_odp_mr.dir, an xarray indexed by virtual address
 * >> PMD_SHIFT, holds one &struct rxe_odp_leaf per 2 MiB of address space
 * that the device has touched; a leaf holds one entry per 4 KiB page.  An
 * entry is the pfn shifted by PAGE_SHIFT or'ed with the RXE_ODP_DPT_*
 * flags; 0 means not mapped.  When the primary mapping of the whole 2 MiB
 * is one huge page (THP or hugetlbfs) and the 2 MiB lie inside the MR, the
 * leaf's first entry carries RXE_ODP_DPT_HUGE and the pfn of the first
 * page, and maps all 512 pages by itself; the other entries are 0.  Leaves
 * are allocated by the fault path before it takes dpt_lock, and freed
 * (after an RCU grace period) when an invalidation empties their range,
 * so the table follows what is mapped, not the size of the MR.
 */
#define RXE_ODP_DPT_VALID	BIT(0)	/* the pfn is mapped */
#define RXE_ODP_DPT_WRITE	BIT(1)	/* the primary PTE was writable */
#define RXE_ODP_DPT_ACCESSED	BIT(2)	/* the device touched the page */
#define RXE_ODP_DPT_DIRTY	BIT(3)	/* the device wrote the page */
#define RXE_ODP_DPT_HUGE	BIT(4)	/* maps the whole 2 MiB leaf */

/* Bit numbers of the flags that the data path sets with set_bit(). */
#define RXE_ODP_DPT_ACCESSED_BIT	2
#define RXE_ODP_DPT_DIRTY_BIT		3

#define RXE_ODP_LEAF_SHIFT	PMD_SHIFT
#define RXE_ODP_LEAF_SIZE	BIT(RXE_ODP_LEAF_SHIFT)
#define RXE_ODP_LEAF_ENTRIES	(RXE_ODP_LEAF_SIZE >> PAGE_SHIFT)

/**
 * struct rxe_odp_leaf - the entries of 2 MiB of address space
 * @rcu: to free the leaf after lockless readers (aging) are done with it
 * @e: one entry per page, or a huge entry in e[0]
 */
struct rxe_odp_leaf {
	struct rcu_head	rcu;
	unsigned long	e[RXE_ODP_LEAF_ENTRIES];
};

/*
 * Most bytes one device access handles under one hold of dpt_lock: a
 * packet is at most 4 KiB plus an unaligned start, longer copies are split.
 */
#define RXE_ODP_CHUNK_PAGES	16

/* Lookups retried before a lookup that keeps losing its pages is timed. */
#define RXE_ODP_MAX_TRIES	8

/*
 * How long one device access keeps faulting while invalidations race it
 * (hmm_range_fault() -EBUSY, or pages gone again before the lookup).  The
 * interval sequence is per MR, so under heavy reclaim any page of a large
 * MR being swapped out restarts a fault anywhere in it; the core's
 * HMM_RANGE_DEFAULT_TIMEOUT (1 s) was seen to expire then, failing valid
 * accesses with a remote access error.  A hardware ODP device retries
 * such an access indefinitely (RNR NAK and retransmission); this bound
 * keeps an rxe work item from blocking without end.
 */
#define RXE_ODP_FAULT_TIMEOUT_MS	10000

/* Consecutive -EBUSY faults after which a fault backs off a little. */
#define RXE_ODP_BUSY_BACKOFF	16

/* How often a long zap that may sleep checks for a due reschedule. */
#define RXE_ODP_ZAP_BATCH	1024

/* Flags of rxe_odp_fault(). */
#define RXE_ODP_FAULT_WRITE	BIT(0)	/* map writable (break COW) */
#define RXE_ODP_FAULT_SNAPSHOT	BIT(1)	/* map what is present, fault nothing */
#define RXE_ODP_FAULT_AROUND	BIT(2)	/* may widen to the fault-around window */

/* Buckets of the fault latency histogram: <1us, <2us, ... <2^14us, more. */
#define RXE_ODP_LAT_BUCKETS	16

struct rxe_odp_mm;
struct rxe_odp_dmabuf;

/**
 * struct rxe_odp_mr - on-demand paging state of one rxe memory region
 * @rxe: the device, for its ODP counters
 * @mr: the memory region this state belongs to
 * @umem_odp: the core's ODP umem, an anchor for the owning mm (the core's
 *	implicit kind: no per-page lists, no notifier of its own)
 * @mni: the interval notifier over [@start, @end): the MR's pages, or the
 *	whole address space for an implicit MR
 * @implicit: the MR covers the whole address space (addr 0, length max)
 * @va: user virtual address of the MR's first byte (iova ibmr.iova); 0 for
 *	an implicit MR, whose iova is the virtual address
 * @start: first byte of the page-aligned virtual range the DPT may map
 * @end: first byte after that range
 * @dpt_lock: protects the entries of every leaf and the leaf pointers of
 *	@dir.  Device accesses hold it for read across the lookup *and* the
 *	copy, so several QPs copy in parallel; fault commits and the
 *	invalidation callback hold it for write.  Holding it for read keeps a
 *	mapped page alive: the DPT holds no page references, and the mm cannot
 *	free a page before the invalidation of its range has taken this lock
 *	for write.  ACCESSED and DIRTY are set with atomic bitops under the
 *	read lock.
 * @dir: the DPT directory, &struct rxe_odp_leaf pointers by va >> PMD_SHIFT;
 *	inserting an empty leaf needs only the xa_lock, everything else
 *	dpt_lock for write
 * @nmapped: valid entries (a huge entry counts once), under dpt_lock for
 *	write; lets invalidations of an MR with nothing mapped skip the walk
 * @faults: device faults resolved through hmm_range_fault()
 * @pages_faulted: pages mapped by those faults
 * @invalidations: invalidation callbacks that hit the range
 * @pages_invalidated: pages unmapped by them (512 for a huge entry)
 * @aging_mm: the mm's aging notifier state, NULL until registered
 * @aging_node: this MR's range in @aging_mm's interval tree, under its lock
 * @prefetches: pages mapped by advise_mr prefetch
 * @fault_errors: faults that ended in an error returned to the data path
 * @dmabuf: for an MR over a dma-buf (rxe_odp_dmabuf.c), its import state;
 *	then "virtual addresses" are byte offsets into the dma-buf, @umem_odp
 *	and @mni are unused, and move_notify plays the interval notifier's
 *	part.  NULL for an ODP MR.
 */
struct rxe_odp_mr {
	struct rxe_dev		*rxe;
	struct rxe_mr		*mr;
	struct ib_umem_odp	*umem_odp;
	struct mmu_interval_notifier mni;
	bool			implicit;
	unsigned long		va;
	unsigned long		start;
	unsigned long		end;
	rwlock_t		dpt_lock;
	struct xarray		dir;
	unsigned long		nmapped;
	atomic64_t		faults;
	atomic64_t		pages_faulted;
	atomic64_t		invalidations;
	atomic64_t		pages_invalidated;
	struct rxe_odp_mm	*aging_mm;
	struct interval_tree_node aging_node;
	atomic64_t		prefetches;
	atomic64_t		fault_errors;
	struct rxe_odp_dmabuf	*dmabuf;
};

static inline void rxe_odp_count(struct rxe_odp_mr *odp,
				 enum rxe_counters index, u64 n)
{
	atomic64_add(n, &odp->rxe->stats_counters[index]);
}

/* The user virtual address of @iova in the ODP MR @mr. */
static inline unsigned long rxe_odp_iova_to_va(struct rxe_mr *mr, u64 iova)
{
	return mr->odp->va + (iova - mr->ibmr.iova);
}

/* The page that @entry maps at @va (a huge entry maps the whole leaf). */
static inline struct page *rxe_odp_entry_page(unsigned long entry,
					      unsigned long va)
{
	unsigned long pfn = entry >> PAGE_SHIFT;

	if (entry & RXE_ODP_DPT_HUGE)
		pfn += (va >> PAGE_SHIFT) & (RXE_ODP_LEAF_ENTRIES - 1);
	return pfn_to_page(pfn);
}

/* rxe_odp_aging.c */
int rxe_odp_aging_register(struct rxe_odp_mr *odp);
void rxe_odp_aging_unregister(struct rxe_odp_mr *odp);
void rxe_odp_aging_exit(void);

/* rxe_odp_dmabuf.c */
int rxe_odp_dmabuf_fault(struct rxe_odp_mr *odp, unsigned long start,
			 unsigned long end, unsigned int flags);
void *rxe_odp_dmabuf_kaddr(struct rxe_odp_mr *odp, unsigned long offset);
void rxe_odp_dmabuf_release(struct rxe_odp_mr *odp);

/* rxe_odp_dpt.c */
unsigned long *__rxe_odp_dpt_entry(struct rxe_odp_mr *odp, unsigned long va);
int rxe_odp_dpt_prealloc(struct rxe_odp_mr *odp, unsigned long start,
			 unsigned long end);
unsigned long __rxe_odp_dpt_store(struct rxe_odp_mr *odp,
				  struct hmm_range *range);
void __rxe_odp_dpt_zap(struct rxe_odp_mr *odp, unsigned long start,
		       unsigned long end, bool blockable);
void rxe_odp_dpt_destroy(struct rxe_odp_mr *odp);

/* rxe_odp_fault.c */
int rxe_odp_fault(struct rxe_odp_mr *odp, unsigned long va, size_t len,
		  unsigned int flags);

/* rxe_odp_mr.c */
struct rxe_odp_mr *rxe_odp_mr_alloc(struct rxe_dev *rxe, struct rxe_mr *mr);

/* rxe_odp_notifier.c */
extern const struct mmu_interval_notifier_ops rxe_odp_mni_ops;

/* rxe_odp_prefetch.c */
int rxe_odp_prefetch_init(void);
void rxe_odp_prefetch_exit(void);

/* rxe_odp_stats.c */
void rxe_odp_stats_fault_latency(u64 ns);
int rxe_odp_stats_init(void);
void rxe_odp_stats_exit(void);

/* rxe_odp_main.c */
extern unsigned int rxe_odp_fault_around_kb;
extern bool rxe_odp_huge;
extern bool rxe_odp_dmabuf_move_notify;

#endif /* RXE_ODP_LOC_H */
