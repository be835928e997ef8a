// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_dpt.c - the device page table of ODP MRs (lookup, store, zap),
 * and the device accesses that go through it: packet copies, atomics,
 * atomic write and flush.
 */

#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/slab.h>

#include "rxe_odp_loc.h"

/**
 * DOC: Device access
 *
 * Every rxe data path that touches MR memory ends in rxe_mr_copy(),
 * rxe_mr_do_atomic_op(), rxe_mr_do_atomic_write() or rxe_flush_pmem_iova();
 * for an ODP MR each hands over to this file.  An access is split into
 * chunks of at most RXE_ODP_CHUNK_PAGES pages.  For each chunk it takes
 * dpt_lock for read, checks that every page has a valid entry (writable
 * for a write), copies while still holding the lock, sets the accessed
 * (and dirty) bits and drops the lock.  A missing entry makes it drop the
 * lock, fault the chunk in (see "Fault path") and look again.  Many QPs
 * read-lock one MR at once; only fault commits and invalidations take the
 * lock for write, for as long as it takes to update entries.
 */

/* The leaf index of @va, and the index of its entry within the leaf. */
static unsigned long rxe_odp_leaf_index(unsigned long va)
{
	return va >> RXE_ODP_LEAF_SHIFT;
}

static unsigned long rxe_odp_entry_index(unsigned long va)
{
	return (va >> PAGE_SHIFT) & (RXE_ODP_LEAF_ENTRIES - 1);
}

/**
 * __rxe_odp_dpt_entry() - find the entry word that maps a virtual address
 * @odp: the ODP MR
 * @va: the virtual address
 *
 * Context: dpt_lock held, in either mode.
 * Return: the entry (possibly 0, or the huge entry of the leaf), or NULL
 * when no leaf covers @va.
 */
unsigned long *__rxe_odp_dpt_entry(struct rxe_odp_mr *odp, unsigned long va)
{
	struct rxe_odp_leaf *leaf = xa_load(&odp->dir, rxe_odp_leaf_index(va));

	if (!leaf)
		return NULL;
	if (READ_ONCE(leaf->e[0]) & RXE_ODP_DPT_HUGE)
		return &leaf->e[0];
	return &leaf->e[rxe_odp_entry_index(va)];
}

/**
 * rxe_odp_dpt_prealloc() - make sure leaves cover a virtual range
 * @odp: the ODP MR
 * @start: first byte
 * @end: first byte after the range
 *
 * Called by the fault path before it takes dpt_lock, so that the commit
 * under the lock allocates nothing.  An empty leaf means "nothing mapped",
 * so inserting one needs only the xarray's own lock.
 *
 * Context: process context, dpt_lock not held; may sleep.
 * Return: 0 or -ENOMEM.
 */
int rxe_odp_dpt_prealloc(struct rxe_odp_mr *odp, unsigned long start,
			 unsigned long end)
{
	unsigned long i, last = rxe_odp_leaf_index(end - 1);
	struct rxe_odp_leaf *leaf;
	void *old;

	for (i = rxe_odp_leaf_index(start); i <= last; i++) {
		if (xa_load(&odp->dir, i))
			continue;
		leaf = kzalloc(sizeof(*leaf), GFP_KERNEL);
		if (!leaf)
			return -ENOMEM;
		old = xa_cmpxchg(&odp->dir, i, NULL, leaf, GFP_KERNEL);
		if (old) {
			kfree(leaf);
			if (xa_is_err(old))
				return xa_err(old);
		}
	}
	return 0;
}

/* Can the pfn that hmm reported at @va be mapped by one huge entry? */
static bool rxe_odp_can_map_huge(struct rxe_odp_mr *odp, unsigned long va,
				 unsigned long hmm_pfn)
{
	unsigned long base = ALIGN_DOWN(va, RXE_ODP_LEAF_SIZE);

	return READ_ONCE(rxe_odp_huge) &&
	       hmm_pfn_to_map_order(hmm_pfn) >= RXE_ODP_LEAF_SHIFT - PAGE_SHIFT &&
	       base >= odp->start && base + RXE_ODP_LEAF_SIZE <= odp->end;
}

/* Turn @leaf into one huge entry for the pfn that hmm reported at @va. */
static void __rxe_odp_leaf_make_huge(struct rxe_odp_mr *odp,
				     struct rxe_odp_leaf *leaf,
				     unsigned long va, unsigned long hmm_pfn)
{
	unsigned long head, keep = 0, i;

	if (leaf->e[0] & RXE_ODP_DPT_HUGE) {
		keep = leaf->e[0] & (RXE_ODP_DPT_ACCESSED | RXE_ODP_DPT_DIRTY);
		odp->nmapped--;
	} else {
		for (i = 0; i < RXE_ODP_LEAF_ENTRIES; i++) {
			if (!(leaf->e[i] & RXE_ODP_DPT_VALID))
				continue;
			keep |= leaf->e[i] & (RXE_ODP_DPT_ACCESSED |
					      RXE_ODP_DPT_DIRTY);
			WRITE_ONCE(leaf->e[i], 0);
			odp->nmapped--;
		}
	}
	head = page_to_pfn(hmm_pfn_to_page(hmm_pfn)) - rxe_odp_entry_index(va);
	WRITE_ONCE(leaf->e[0], head << PAGE_SHIFT | RXE_ODP_DPT_VALID |
		   RXE_ODP_DPT_HUGE | RXE_ODP_DPT_ACCESSED | keep |
		   (hmm_pfn & HMM_PFN_WRITE ? RXE_ODP_DPT_WRITE : 0));
	odp->nmapped++;
}

/**
 * __rxe_odp_dpt_store() - store the result of hmm_range_fault() in the DPT
 * @odp: the ODP MR
 * @range: the range just faulted, with mmu_interval_read_retry() false
 *
 * Pages hmm reported without HMM_PFN_VALID (a snapshot of absent pages)
 * are left alone.  A valid entry can only be replaced by the same page: a
 * new page at an address needs an invalidation first, and that would have
 * made mmu_interval_read_retry() fail, so accessed and dirty bits carry
 * over.
 *
 * Context: dpt_lock held for write; leaves preallocated for the range.
 * Return: the number of pages mapped.
 */
unsigned long __rxe_odp_dpt_store(struct rxe_odp_mr *odp,
				  struct hmm_range *range)
{
	unsigned long n = (range->end - range->start) >> PAGE_SHIFT;
	unsigned long i, va, pfn, entry, old, mapped = 0;
	struct rxe_odp_leaf *leaf;
	unsigned long *slot;

	lockdep_assert_held_write(&odp->dpt_lock);

	for (i = 0; i < n; i++) {
		pfn = range->hmm_pfns[i];
		if (!(pfn & HMM_PFN_VALID))
			continue;
		va = range->start + (i << PAGE_SHIFT);
		leaf = xa_load(&odp->dir, rxe_odp_leaf_index(va));
		/* Only an invalidation frees leaves: the retry check failed. */
		if (WARN_ON_ONCE(!leaf))
			break;

		if (rxe_odp_can_map_huge(odp, va, pfn)) {
			__rxe_odp_leaf_make_huge(odp, leaf, va, pfn);
			/* Skip the rest of this leaf's pages. */
			mapped += RXE_ODP_LEAF_ENTRIES - rxe_odp_entry_index(va);
			i += RXE_ODP_LEAF_ENTRIES - 1 - rxe_odp_entry_index(va);
			continue;
		}
		if (leaf->e[0] & RXE_ODP_DPT_HUGE) {
			/* Mapped already, by the same huge page. */
			WARN_ON_ONCE(rxe_odp_entry_page(leaf->e[0], va) !=
				     hmm_pfn_to_page(pfn));
			mapped++;
			continue;
		}

		slot = &leaf->e[rxe_odp_entry_index(va)];
		/*
		 * Born accessed, as the CPU's fault makes a young PTE: the
		 * device is about to use the page, and reclaim must not take
		 * it back before the access that faulted it has run.
		 */
		entry = page_to_pfn(hmm_pfn_to_page(pfn)) << PAGE_SHIFT |
			RXE_ODP_DPT_VALID | RXE_ODP_DPT_ACCESSED;
		if (pfn & HMM_PFN_WRITE)
			entry |= RXE_ODP_DPT_WRITE;
		old = *slot;
		if (old & RXE_ODP_DPT_VALID) {
			WARN_ON_ONCE((old ^ entry) & PAGE_MASK);
			entry |= old & (RXE_ODP_DPT_ACCESSED |
					RXE_ODP_DPT_DIRTY);
		} else {
			odp->nmapped++;
		}
		WRITE_ONCE(*slot, entry);
		mapped++;
	}
	return mapped;
}

/*
 * Forget one entry, first marking dirty what the device wrote (the pages
 * of a dma-buf belong to its exporter, which keeps its own dirty state).
 */
static unsigned long __rxe_odp_entry_zap(struct rxe_odp_mr *odp,
					 unsigned long *slot, unsigned long va)
{
	unsigned long entry = *slot;

	if (!(entry & RXE_ODP_DPT_VALID))
		return 0;
	if ((entry & RXE_ODP_DPT_DIRTY) && !odp->dmabuf)
		folio_mark_dirty(page_folio(rxe_odp_entry_page(entry, va)));
	WRITE_ONCE(*slot, 0);
	return entry & RXE_ODP_DPT_HUGE ? RXE_ODP_LEAF_ENTRIES : 1;
}

/**
 * __rxe_odp_dpt_zap() - unmap a virtual range from the device page table
 * @odp: the ODP MR
 * @start: first byte of the range
 * @end: first byte after the range
 * @blockable: the caller may sleep; then the lock is dropped between
 *	batches of leaves when a reschedule is due
 *
 * Pages the device wrote are marked dirty before their entry goes, so that
 * reclaim writes them back instead of dropping the device's data.  A huge
 * entry goes as a whole when any part of its 2 MiB is zapped.  Leaves left
 * empty over the whole part of their 2 MiB that the MR covers are freed.
 * Dropping the lock between batches is safe because the caller advanced
 * the interval sequence first (or, for a dma-buf MR, holds the buffer's
 * reservation lock that every fault takes): no fault can commit into the
 * range until the invalidation ends.
 *
 * Context: dpt_lock held for write, and held again on return.
 */
void __rxe_odp_dpt_zap(struct rxe_odp_mr *odp, unsigned long start,
		       unsigned long end, bool blockable)
	__must_hold(&odp->dpt_lock)
{
	unsigned long index, va, base, lo, hi, zapped = 0, work = 0;
	struct rxe_odp_leaf *leaf;

	lockdep_assert_held_write(&odp->dpt_lock);

	start = max(start, odp->start);
	end = min(end, odp->end);
	if (start >= end)
		return;

	xa_for_each_range(&odp->dir, index, leaf, rxe_odp_leaf_index(start),
			  rxe_odp_leaf_index(end - 1)) {
		base = index << RXE_ODP_LEAF_SHIFT;
		lo = max(start, base);
		hi = min(end, base + RXE_ODP_LEAF_SIZE);

		if (leaf->e[0] & RXE_ODP_DPT_HUGE) {
			zapped += __rxe_odp_entry_zap(odp, &leaf->e[0], base);
			odp->nmapped--;
		} else {
			for (va = lo; va < hi && odp->nmapped; va += PAGE_SIZE) {
				if (__rxe_odp_entry_zap(odp,
							&leaf->e[rxe_odp_entry_index(va)],
							va)) {
					zapped++;
					odp->nmapped--;
				}
			}
		}

		/* Free the leaf if the zap covered all of its part of the MR. */
		if (lo <= max(base, odp->start) &&
		    hi >= min(base + RXE_ODP_LEAF_SIZE, odp->end)) {
			xa_erase(&odp->dir, index);
			kfree_rcu(leaf, rcu);
		}

		if (blockable && ++work % RXE_ODP_ZAP_BATCH == 0 &&
		    need_resched()) {
			write_unlock(&odp->dpt_lock);
			cond_resched();
			write_lock(&odp->dpt_lock);
		}
	}
	if (zapped) {
		atomic64_add(zapped, &odp->pages_invalidated);
		rxe_odp_count(odp, RXE_CNT_ODP_PAGES_INVALIDATED, zapped);
	}
}

/**
 * rxe_odp_dpt_destroy() - unmap everything and free the directory
 * @odp: the ODP MR, whose interval notifier is still registered (a
 *	dma-buf MR: under its buffer's reservation lock)
 *
 * Context: process context, no device access in flight; may sleep.
 */
void rxe_odp_dpt_destroy(struct rxe_odp_mr *odp)
{
	write_lock(&odp->dpt_lock);
	__rxe_odp_dpt_zap(odp, odp->start, odp->end, true);
	write_unlock(&odp->dpt_lock);
	/* The zap covered the whole range: every leaf is gone. */
	WARN_ON_ONCE(!xa_empty(&odp->dir));
	xa_destroy(&odp->dir);
}

/* Are all pages of [va, va + len) mapped, and writable if @write? */
static bool __rxe_odp_dpt_present(struct rxe_odp_mr *odp, unsigned long va,
				  unsigned int len, bool write)
{
	unsigned long need = RXE_ODP_DPT_VALID | (write ? RXE_ODP_DPT_WRITE : 0);
	unsigned long end = va + len;
	unsigned long *slot, entry;

	lockdep_assert_held_read(&odp->dpt_lock);

	for (va &= PAGE_MASK; va < end; va += PAGE_SIZE) {
		slot = __rxe_odp_dpt_entry(odp, va);
		if (!slot)
			return false;
		entry = READ_ONCE(*slot);
		if ((entry & need) != need)
			return false;
		if (entry & RXE_ODP_DPT_HUGE)
			va = ALIGN_DOWN(va, RXE_ODP_LEAF_SIZE) +
			     RXE_ODP_LEAF_SIZE - PAGE_SIZE;
	}
	return true;
}

/* Record a device access in the entry: cheap when the bits are set. */
static void __rxe_odp_dpt_touch(unsigned long *slot, bool write)
{
	unsigned long entry = READ_ONCE(*slot);

	if (!(entry & RXE_ODP_DPT_ACCESSED))
		set_bit(RXE_ODP_DPT_ACCESSED_BIT, slot);
	if (write && !(entry & RXE_ODP_DPT_DIRTY))
		set_bit(RXE_ODP_DPT_DIRTY_BIT, slot);
}

/**
 * rxe_odp_map_and_read_lock() - make a chunk present and read-lock the DPT
 * @odp: the ODP MR
 * @va: first byte of the chunk
 * @len: bytes in the chunk, at most RXE_ODP_CHUNK_PAGES pages' worth
 * @write: the access writes
 *
 * Returns with dpt_lock held for read whatever the result; the caller
 * accesses the pages only on success, then unlocks in both cases.
 *
 * Context: process context; may sleep (without the lock) to fault.
 * Return: 0 when every page is present, or -errno (see rxe_odp_fault(),
 * and -EAGAIN when invalidations kept removing the pages for
 * RXE_ODP_FAULT_TIMEOUT_MS).
 */
static int rxe_odp_map_and_read_lock(struct rxe_odp_mr *odp,
				     unsigned long va, unsigned int len,
				     bool write)
	__acquires(&odp->dpt_lock)
{
	unsigned int flags = RXE_ODP_FAULT_AROUND |
			     (write ? RXE_ODP_FAULT_WRITE : 0);
	unsigned long timeout = 0;
	int tries, err;

	read_lock(&odp->dpt_lock);
	for (tries = 0; ; tries++) {
		if (__rxe_odp_dpt_present(odp, va, len, write))
			return 0;
		/*
		 * Under heavy reclaim the pages may go again between the
		 * fault and this lookup: keep going while faults succeed,
		 * for as long as a fault itself would.
		 */
		if (tries == RXE_ODP_MAX_TRIES)
			timeout = jiffies +
				  msecs_to_jiffies(RXE_ODP_FAULT_TIMEOUT_MS);
		if (timeout && time_after(jiffies, timeout))
			return -EAGAIN;
		read_unlock(&odp->dpt_lock);
		err = rxe_odp_fault(odp, va, len, flags);
		read_lock(&odp->dpt_lock);
		if (err < 0)
			return err;
	}
}

/*
 * Kernel address of the page that @entry maps at @va.  An ODP MR's page is
 * reached through a local kmap; a dma-buf MR's through the exporter's own
 * CPU mapping (its vmap, which may be write-combined: the linear map of
 * the same page would alias it with another memory type).  That mapping
 * stays while an entry is valid and dpt_lock is held.
 */
static void *rxe_odp_entry_kmap(struct rxe_odp_mr *odp, unsigned long entry,
				unsigned long va)
{
	if (odp->dmabuf)
		return rxe_odp_dmabuf_kaddr(odp, va & PAGE_MASK);
	return kmap_local_page(rxe_odp_entry_page(entry, va));
}

static void rxe_odp_entry_kunmap(struct rxe_odp_mr *odp, void *kva)
{
	if (!odp->dmabuf)
		kunmap_local(kva);
}

/* Copy one chunk; dpt_lock is read-held and every page is present. */
static void __rxe_odp_dpt_copy(struct rxe_odp_mr *odp, unsigned long va,
			       void *addr, unsigned int len, bool write)
{
	unsigned int offset, bytes;
	unsigned long *slot;
	u8 *kva;

	lockdep_assert_held_read(&odp->dpt_lock);

	while (len) {
		slot = __rxe_odp_dpt_entry(odp, va);
		offset = offset_in_page(va);
		bytes = min_t(unsigned int, len, PAGE_SIZE - offset);
		kva = rxe_odp_entry_kmap(odp, READ_ONCE(*slot), va);
		if (write)
			memcpy(kva + offset, addr, bytes);
		else
			memcpy(addr, kva + offset, bytes);
		rxe_odp_entry_kunmap(odp, kva);
		__rxe_odp_dpt_touch(slot, write);
		va += bytes;
		addr += bytes;
		len -= bytes;
	}
}

/**
 * rxe_odp_mr_copy() - copy between a kernel buffer and an ODP MR
 * @mr: the ODP memory region; the range has been checked by the caller
 * @iova: I/O virtual address of the first byte in the MR
 * @addr: kernel buffer (packet payload or WQE data)
 * @length: number of bytes
 * @dir: RXE_TO_MR_OBJ to write the MR, RXE_FROM_MR_OBJ to read it
 *
 * Context: process context (rxe work queue); may sleep to fault pages in.
 * Return: 0, or a negative errno from the fault path; the callers turn it
 * into a protection or remote access error.
 */
int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr,
		    unsigned int length, enum rxe_mr_copy_dir dir)
{
	struct rxe_odp_mr *odp = mr->odp;
	bool write = dir == RXE_TO_MR_OBJ;
	unsigned long va = rxe_odp_iova_to_va(mr, iova);
	unsigned int chunk;
	int err;

	while (length) {
		chunk = min_t(unsigned int, length,
			      RXE_ODP_CHUNK_PAGES * PAGE_SIZE -
			      offset_in_page(va));
		err = rxe_odp_map_and_read_lock(odp, va, chunk, write);
		if (!err)
			__rxe_odp_dpt_copy(odp, va, addr, chunk, write);
		read_unlock(&odp->dpt_lock);
		if (err)
			return err;
		va += chunk;
		addr += chunk;
		length -= chunk;
	}
	return 0;
}

/*
 * Apply @opcode (compare-and-swap, fetch-and-add or atomic write) to the
 * aligned u64 at @iova, mapped writable, under dpt_lock held for read so
 * that the page cannot go away in the middle.
 */
static int rxe_odp_mr_u64_op(struct rxe_mr *mr, u64 iova, int opcode,
			     u64 compare, u64 value, u64 *orig_val)
{
	struct rxe_odp_mr *odp = mr->odp;
	unsigned long va = rxe_odp_iova_to_va(mr, iova);
	unsigned long *slot;
	u64 *p, old = 0;
	int err;

	if (unlikely(mr->state != RXE_MR_STATE_VALID))
		return RESPST_ERR_RKEY_VIOLATION;
	if (mr_check_range(mr, iova, sizeof(u64)))
		return RESPST_ERR_RKEY_VIOLATION;
	if (unlikely(va & (sizeof(u64) - 1)))
		return RESPST_ERR_MISALIGNED_ATOMIC;

	err = rxe_odp_map_and_read_lock(odp, va, sizeof(u64), true);
	if (!err) {
		slot = __rxe_odp_dpt_entry(odp, va);
		p = rxe_odp_entry_kmap(odp, READ_ONCE(*slot), va) +
		    offset_in_page(va);
		switch (opcode) {
		case IB_OPCODE_RC_COMPARE_SWAP:
			old = cmpxchg64(p, compare, value);
			break;
		case IB_OPCODE_RC_FETCH_ADD:
			old = READ_ONCE(*p);
			while (!try_cmpxchg64(p, &old, old + value))
				;
			break;
		default:	/* IB_OPCODE_RC_ATOMIC_WRITE */
			smp_store_release(p, value);
			break;
		}
		rxe_odp_entry_kunmap(odp, p);
		__rxe_odp_dpt_touch(slot, true);
	}
	read_unlock(&odp->dpt_lock);
	if (err)
		return RESPST_ERR_RKEY_VIOLATION;
	if (orig_val)
		*orig_val = old;
	return 0;
}

/**
 * rxe_odp_mr_atomic_op() - compare-and-swap or fetch-and-add on an ODP MR
 * @mr: the ODP memory region
 * @iova: I/O virtual address of the 8-byte aligned target
 * @opcode: IB_OPCODE_RC_COMPARE_SWAP or IB_OPCODE_RC_FETCH_ADD
 * @compare: value to compare with (compare-and-swap)
 * @swap_add: value to store (compare-and-swap) or to add (fetch-and-add)
 * @orig_val: where to return the value found at @iova
 *
 * The update is a CPU atomic instruction, so it is atomic against other
 * device atomics on ODP MRs and against the CPUs of the process.  (Pinned
 * MRs serialise their atomics on a lock in rxe_mr.c instead: concurrent
 * atomics on one address through a pinned and an ODP MR are not atomic
 * with each other.)
 *
 * Context: process context (rxe work queue); may sleep to fault.
 * Return: 0 or a RESPST_ERR_* code, as rxe_mr_do_atomic_op().
 */
int rxe_odp_mr_atomic_op(struct rxe_mr *mr, u64 iova, int opcode,
			 u64 compare, u64 swap_add, u64 *orig_val)
{
	return rxe_odp_mr_u64_op(mr, iova, opcode, compare, swap_add,
				 orig_val);
}

/**
 * rxe_odp_mr_atomic_write() - ATOMIC WRITE of 8 bytes into an ODP MR
 * @mr: the ODP memory region
 * @iova: I/O virtual address of the 8-byte aligned target
 * @value: the value to store, after all earlier writes (release)
 *
 * Context: process context (rxe work queue); may sleep to fault.
 * Return: 0 or a RESPST_ERR_* code, as rxe_mr_do_atomic_write().
 */
int rxe_odp_mr_atomic_write(struct rxe_mr *mr, u64 iova, u64 value)
{
	return rxe_odp_mr_u64_op(mr, iova, IB_OPCODE_RC_ATOMIC_WRITE, 0,
				 value, NULL);
}

/**
 * rxe_odp_mr_flush() - persistent flush of an ODP MR range
 * @mr: the ODP memory region
 * @iova: first byte
 * @length: number of bytes
 *
 * ODP MRs refuse IB_ACCESS_FLUSH_PERSISTENT at registration, so the
 * responder never asks for a persistent flush of one; global-visibility
 * flushes need no page access.  Refuse rather than touch page_info.
 *
 * Context: any.
 * Return: -EOPNOTSUPP.
 */
int rxe_odp_mr_flush(struct rxe_mr *mr, u64 iova, unsigned int length)
{
	return -EOPNOTSUPP;
}
