// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_aging.c - the device's accessed bits take part in page aging,
 * through one mmu_notifier per mm with ODP MRs.
 */

#include <linux/interval_tree.h>
#include <linux/slab.h>

#include "rxe_odp_loc.h"

/**
 * DOC: Accessed-bit aging
 *
 * Every device access sets RXE_ODP_DPT_ACCESSED in the DPT entry it used
 * (an atomic bitop, only when the bit is clear).  Page aging asks secondary
 * MMUs whether a range was accessed, the way it asks the CPU's PTEs:
 *
 * * clear_flush_young: the classic LRU's folio_referenced() through
 *   ptep_clear_flush_young_notify() (lru_gen disabled);
 * * clear_young: the multi-gen LRU's page table walk and its look-around
 *   at eviction time (ptep_clear_young_notify(), lru_gen enabled, the
 *   Debian 13 default), and DAMON's virtual address monitoring;
 * * test_young: DAMON.
 *
 * These callbacks live only in &struct mmu_notifier_ops, so each mm with
 * ODP MRs gets one &struct rxe_odp_mm from mmu_notifier_get(): O(1) per
 * mm, no global list.  It keeps the mm's ODP MRs in an interval tree.  The
 * callbacks run under the page table lock and must not sleep: they take
 * the tree's spinlock, then walk the DPT leaves under RCU (leaves are
 * freed with kfree_rcu()) and test or clear the accessed bits with atomic
 * bitops, never taking dpt_lock.  A huge entry answers for its whole
 * 2 MiB.  The module parameter odp_aging=N makes them report nothing.
 */

static bool rxe_odp_aging = true;
module_param_named(odp_aging, rxe_odp_aging, bool, 0644);
MODULE_PARM_DESC(odp_aging,
		 "report the device's accessed bits to page aging (default Y)");

/**
 * struct rxe_odp_mm - the ODP MRs of one mm, for the aging callbacks
 * @mn: the mm's rxe mmu_notifier, shared through mmu_notifier_get()
 * @lock: protects @mrs; taken inside the page table lock by the callbacks,
 *	never held while taking another lock
 * @mrs: interval tree of &rxe_odp_mr.aging_node, by virtual range
 */
struct rxe_odp_mm {
	struct mmu_notifier	mn;
	spinlock_t		lock;	/* protects mrs */
	struct rb_root_cached	mrs;
};

/* Test, and optionally clear, the accessed bits of [start, end). */
static bool rxe_odp_dpt_young(struct rxe_odp_mr *odp, unsigned long start,
			      unsigned long end, bool clear)
{
	unsigned long index, va, hi, *e;
	struct rxe_odp_leaf *leaf;
	bool young = false;

	xa_for_each_range(&odp->dir, index, leaf, start >> RXE_ODP_LEAF_SHIFT,
			  (end - 1) >> RXE_ODP_LEAF_SHIFT) {
		va = max(start, index << RXE_ODP_LEAF_SHIFT);
		hi = min(end, (index + 1) << RXE_ODP_LEAF_SHIFT);
		if (READ_ONCE(leaf->e[0]) & RXE_ODP_DPT_HUGE)
			hi = va + PAGE_SIZE;
		for (; va < hi; va += PAGE_SIZE) {
			e = &leaf->e[(va >> PAGE_SHIFT) &
				     (RXE_ODP_LEAF_ENTRIES - 1)];
			if (READ_ONCE(leaf->e[0]) & RXE_ODP_DPT_HUGE)
				e = &leaf->e[0];
			if (!(READ_ONCE(*e) & RXE_ODP_DPT_ACCESSED))
				continue;
			young = true;
			if (!clear)
				return true;
			clear_bit(RXE_ODP_DPT_ACCESSED_BIT, e);
		}
	}
	return young;
}

static int rxe_odp_mm_young(struct mmu_notifier *mn, unsigned long start,
			    unsigned long end, bool clear)
{
	struct rxe_odp_mm *om = container_of(mn, struct rxe_odp_mm, mn);
	struct interval_tree_node *node;
	struct rxe_odp_mr *odp;
	bool young = false;

	if (!READ_ONCE(rxe_odp_aging) || start >= end)
		return 0;

	spin_lock(&om->lock);
	rcu_read_lock();
	for (node = interval_tree_iter_first(&om->mrs, start, end - 1); node;
	     node = interval_tree_iter_next(node, start, end - 1)) {
		odp = container_of(node, struct rxe_odp_mr, aging_node);
		if (rxe_odp_dpt_young(odp, max(start, odp->start),
				      min(end, odp->end), clear)) {
			rxe_odp_count(odp, RXE_CNT_ODP_YOUNG, 1);
			young = true;
			if (!clear)
				break;
		}
	}
	rcu_read_unlock();
	spin_unlock(&om->lock);
	return young;
}

static int rxe_odp_mn_clear_flush_young(struct mmu_notifier *mn,
					struct mm_struct *mm,
					unsigned long start, unsigned long end)
{
	return rxe_odp_mm_young(mn, start, end, true);
}

static int rxe_odp_mn_clear_young(struct mmu_notifier *mn,
				  struct mm_struct *mm,
				  unsigned long start, unsigned long end)
{
	return rxe_odp_mm_young(mn, start, end, true);
}

static int rxe_odp_mn_test_young(struct mmu_notifier *mn,
				 struct mm_struct *mm, unsigned long address)
{
	return rxe_odp_mm_young(mn, address, address + PAGE_SIZE, false);
}

static struct mmu_notifier *rxe_odp_mn_alloc(struct mm_struct *mm)
{
	struct rxe_odp_mm *om = kzalloc(sizeof(*om), GFP_KERNEL);

	if (!om)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&om->lock);
	om->mrs = RB_ROOT_CACHED;
	return &om->mn;
}

/* Runs from SRCU after the last mmu_notifier_put(): must not sleep. */
static void rxe_odp_mn_free(struct mmu_notifier *mn)
{
	kfree(container_of(mn, struct rxe_odp_mm, mn));
}

static const struct mmu_notifier_ops rxe_odp_mn_ops = {
	.clear_flush_young = rxe_odp_mn_clear_flush_young,
	.clear_young = rxe_odp_mn_clear_young,
	.test_young = rxe_odp_mn_test_young,
	.alloc_notifier = rxe_odp_mn_alloc,
	.free_notifier = rxe_odp_mn_free,
};

/**
 * rxe_odp_aging_register() - let page aging see an ODP MR's accessed bits
 * @odp: the ODP MR, fully set up
 *
 * Context: process context of the registering task (current->mm is the
 * MR's mm); takes mmap_lock for write inside mmu_notifier_get().
 * Return: 0 or -errno.
 */
int rxe_odp_aging_register(struct rxe_odp_mr *odp)
{
	struct mmu_notifier *mn;
	struct rxe_odp_mm *om;

	mn = mmu_notifier_get(&rxe_odp_mn_ops, current->mm);
	if (IS_ERR(mn))
		return PTR_ERR(mn);
	om = container_of(mn, struct rxe_odp_mm, mn);
	odp->aging_mm = om;
	odp->aging_node.start = odp->start;
	odp->aging_node.last = odp->end - 1;
	spin_lock(&om->lock);
	interval_tree_insert(&odp->aging_node, &om->mrs);
	spin_unlock(&om->lock);
	return 0;
}

/**
 * rxe_odp_aging_unregister() - undo rxe_odp_aging_register()
 * @odp: the ODP MR
 *
 * After the tree lock is dropped no callback can find the MR; the DPT
 * leaves it may still be reading are freed after an RCU grace period.
 *
 * Context: process context; may sleep.
 */
void rxe_odp_aging_unregister(struct rxe_odp_mr *odp)
{
	struct rxe_odp_mm *om = odp->aging_mm;

	if (!om)
		return;
	spin_lock(&om->lock);
	interval_tree_remove(&odp->aging_node, &om->mrs);
	spin_unlock(&om->lock);
	odp->aging_mm = NULL;
	mmu_notifier_put(&om->mn);
}

/**
 * rxe_odp_aging_exit() - wait for deferred frees of rxe_odp_mm
 *
 * Context: module exit: free_notifier is module code.
 */
void rxe_odp_aging_exit(void)
{
	mmu_notifier_synchronize();
}
