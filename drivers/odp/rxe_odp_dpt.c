// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_dpt.c - device accesses to ODP memory regions through the device
 * page table: packet copies, atomics, atomic write and flush.
 */

#include <linux/highmem.h>

#include "rxe_odp_loc.h"

/**
 * DOC: Device access
 *
 * Every rxe data path that touches MR memory ends in rxe_mr_copy(),
 * rxe_mr_do_atomic_op(), rxe_mr_do_atomic_write() or rxe_flush_pmem_iova();
 * for an ODP MR each hands over to this file.  An access is split into
 * chunks of at most RXE_ODP_CHUNK_PAGES pages.  For each chunk it takes
 * dpt_lock for read, checks that every entry is valid (and writable for a
 * write), copies while still holding the lock, sets the accessed (and
 * dirty) bits and drops the lock.  A missing entry makes it drop the lock,
 * fault the chunk in and look again.  Many QPs read-lock one MR at once;
 * only faults committing entries and invalidations take the lock for
 * write, for as long as it takes to update the entries.
 */

static unsigned long rxe_odp_iova_to_va(struct rxe_mr *mr, u64 iova)
{
	return mr->umem->address + (iova - mr->ibmr.iova);
}

/* Are all pages of [va, va + len) mapped, and writable if @write? */
static bool __rxe_odp_dpt_present(struct rxe_odp_mr *odp, unsigned long va,
				  unsigned int len, bool write)
{
	unsigned long need = RXE_ODP_DPT_VALID | (write ? RXE_ODP_DPT_WRITE : 0);
	unsigned long i = rxe_odp_dpt_index(odp, va);
	unsigned long last = rxe_odp_dpt_index(odp, va + len - 1);

	lockdep_assert_held_read(&odp->dpt_lock);

	for (; i <= last; i++)
		if ((READ_ONCE(odp->dpt[i]) & need) != need)
			return false;
	return true;
}

/* Record a device access in the entry: cheap when the bits are set. */
static void __rxe_odp_dpt_touch(struct rxe_odp_mr *odp, unsigned long i,
				bool write)
{
	unsigned long entry = READ_ONCE(odp->dpt[i]);

	if (!(entry & RXE_ODP_DPT_ACCESSED))
		set_bit(RXE_ODP_DPT_ACCESSED_BIT, &odp->dpt[i]);
	if (write && !(entry & RXE_ODP_DPT_DIRTY))
		set_bit(RXE_ODP_DPT_DIRTY_BIT, &odp->dpt[i]);
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
 * and -EAGAIN when invalidations removed the pages again too often).
 */
static int rxe_odp_map_and_read_lock(struct rxe_odp_mr *odp,
				     unsigned long va, unsigned int len,
				     bool write)
	__acquires(&odp->dpt_lock)
{
	int tries, err;

	read_lock(&odp->dpt_lock);
	for (tries = 0; tries < RXE_ODP_MAX_TRIES; tries++) {
		if (__rxe_odp_dpt_present(odp, va, len, write))
			return 0;
		read_unlock(&odp->dpt_lock);
		err = rxe_odp_fault(odp, va, len, write);
		read_lock(&odp->dpt_lock);
		if (err < 0)
			return err;
	}
	return -EAGAIN;
}

/* Copy one chunk; dpt_lock is read-held and every page is present. */
static void __rxe_odp_dpt_copy(struct rxe_odp_mr *odp, unsigned long va,
			       void *addr, unsigned int len, bool write)
{
	unsigned int offset, bytes;
	unsigned long i;
	u8 *kva;

	lockdep_assert_held_read(&odp->dpt_lock);

	while (len) {
		i = rxe_odp_dpt_index(odp, va);
		offset = offset_in_page(va);
		bytes = min_t(unsigned int, len, PAGE_SIZE - offset);
		kva = kmap_local_page(rxe_odp_dpt_page(odp->dpt[i]));
		if (write)
			memcpy(kva + offset, addr, bytes);
		else
			memcpy(addr, kva + offset, bytes);
		kunmap_local(kva);
		__rxe_odp_dpt_touch(odp, i, write);
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
	unsigned long i;
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
		i = rxe_odp_dpt_index(odp, va);
		p = kmap_local_page(rxe_odp_dpt_page(odp->dpt[i])) +
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
		kunmap_local(p);
		__rxe_odp_dpt_touch(odp, i, true);
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
