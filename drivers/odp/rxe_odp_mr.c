// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_mr.c - registration and release of on-demand paging MRs,
 * explicit (a range) and implicit (the whole address space).
 */

#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "rxe_odp_loc.h"

/**
 * rxe_odp_mr_alloc() - allocate the ODP state of a memory region
 * @rxe: the device
 * @mr: the memory region
 *
 * Context: process context; may sleep.
 * Return: the state with an empty device page table, or NULL.
 */
struct rxe_odp_mr *rxe_odp_mr_alloc(struct rxe_dev *rxe, struct rxe_mr *mr)
{
	struct rxe_odp_mr *odp = kzalloc(sizeof(*odp), GFP_KERNEL);

	if (!odp)
		return NULL;
	odp->rxe = rxe;
	odp->mr = mr;
	rwlock_init(&odp->dpt_lock);
	xa_init(&odp->dir);
	return odp;
}

/*
 * The core's implicit umem anchors the owning mm (and the pid) without the
 * per-page lists ib_umem_odp_get() would allocate for the whole range: rxe
 * keeps its own device page table, so registration costs the same for
 * 4 KiB and for 64 GiB.  The MR's own interval notifier covers its pages,
 * or the whole address space for an implicit MR (iova == va).
 */
static int rxe_odp_mr_init_range(struct rxe_dev *rxe, int access,
				 struct rxe_odp_mr *odp)
{
	struct ib_umem_odp *umem_odp;
	int err;

	/* IB_ACCESS_HUGETLB means nothing to the anchor (and it refuses it). */
	umem_odp = ib_umem_odp_alloc_implicit(&rxe->ib_dev,
					      access & ~IB_ACCESS_HUGETLB);
	if (IS_ERR(umem_odp))
		return PTR_ERR(umem_odp);
	odp->umem_odp = umem_odp;

	err = mmu_interval_notifier_insert(&odp->mni, current->mm, odp->start,
					   odp->end - odp->start,
					   &rxe_odp_mni_ops);
	if (err)
		ib_umem_odp_release(umem_odp);
	return err;
}

/**
 * rxe_odp_mr_init_user() - register an on-demand paging user MR
 * @rxe: the device
 * @start: user virtual address of the first byte (0 for implicit ODP)
 * @length: length of the region in bytes (U64_MAX for implicit ODP)
 * @iova: I/O virtual address of the first byte (ibv_reg_mr_iova)
 * @access: IB_ACCESS_* flags, IB_ACCESS_ON_DEMAND among them
 * @mr: the rxe MR being registered
 *
 * Pins nothing and faults nothing: it sets up an interval notifier over
 * the range and an empty device page table.  Pages are mapped when the
 * device first touches them or when advise_mr prefetches them.
 *
 * Context: process context of the registering task; may sleep.
 * Return:
 * * 0 on success
 * * -EOPNOTSUPP for IB_ACCESS_FLUSH_PERSISTENT
 * * -EINVAL for a zero length, or an implicit MR with an iova
 * * -EFAULT for a range outside the user address space
 * * -EOVERFLOW for a range that wraps around
 * * -ENOMEM
 */
int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access, struct rxe_mr *mr)
{
	bool implicit = !start && length == U64_MAX;
	struct rxe_odp_mr *odp;
	u64 end;
	int err;

	/* Persistence cannot be promised for pages that come and go. */
	if (access & IB_ACCESS_FLUSH_PERSISTENT)
		return -EOPNOTSUPP;
	if (implicit && iova)
		return -EINVAL;
	if (!implicit) {
		if (!length)
			return -EINVAL;
		if (check_add_overflow(start, length, &end) ||
		    end > U64_MAX - PAGE_SIZE)
			return -EOVERFLOW;
		if (!access_ok((void __user *)(uintptr_t)start, length))
			return -EFAULT;
	}

	rxe_mr_init(access, mr);
	odp = rxe_odp_mr_alloc(rxe, mr);
	if (!odp)
		return -ENOMEM;

	odp->implicit = implicit;
	if (implicit) {
		odp->start = 0;
		odp->end = TASK_SIZE;
	} else {
		odp->va = start;
		odp->start = ALIGN_DOWN(start, PAGE_SIZE);
		odp->end = ALIGN(end, PAGE_SIZE);
	}
	err = rxe_odp_mr_init_range(rxe, access, odp);
	if (err)
		goto err_free_odp;

	err = rxe_odp_aging_register(odp);
	if (err)
		goto err_release;

	mr->umem = &odp->umem_odp->umem;
	mr->odp = odp;
	mr->ibmr.type = IB_MR_TYPE_USER;
	mr->state = RXE_MR_STATE_VALID;
	return 0;

err_release:
	mmu_interval_notifier_remove(&odp->mni);
	ib_umem_odp_release(odp->umem_odp);
err_free_odp:
	rxe_dbg_mr(mr, "ODP registration failed, err = %d\n", err);
	xa_destroy(&odp->dir);
	kfree(odp);
	return err;
}

/**
 * rxe_odp_mr_cleanup() - release the ODP state of a memory region
 * @mr: the memory region, with no device access left in flight
 *
 * Called by rxe_mr_cleanup() once the last reference is gone.  The DPT is
 * zapped while the interval notifier is still registered, so that the pages
 * the device wrote are marked dirty while they are certainly still mapped;
 * then the notifier is removed, which waits for a running invalidation,
 * after which nothing can reach the DPT.  mr->umem is cleared so that
 * rxe_mr_cleanup() does not release the umem a second time.  A dma-buf
 * MR instead lets rxe_odp_dmabuf_release() free its DPT and give the
 * dma-buf back.
 *
 * Context: process context; may sleep.
 */
void rxe_odp_mr_cleanup(struct rxe_mr *mr)
{
	struct rxe_odp_mr *odp = mr->odp;

	if (!odp)
		return;

	if (odp->dmabuf) {
		rxe_odp_dmabuf_release(odp);
		mr->odp = NULL;
		kfree(odp);
		return;
	}

	rxe_odp_aging_unregister(odp);
	rxe_odp_dpt_destroy(odp);
	mmu_interval_notifier_remove(&odp->mni);
	ib_umem_odp_release(odp->umem_odp);
	mr->umem = NULL;
	mr->odp = NULL;
	kfree(odp);
}
