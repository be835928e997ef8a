// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_mr.c - registration and release of on-demand paging MRs.
 */

#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "rxe_odp_loc.h"

/**
 * rxe_odp_mr_init_user() - register an on-demand paging user MR
 * @rxe: the device
 * @start: user virtual address of the first byte
 * @length: length of the region in bytes
 * @iova: I/O virtual address of the first byte (ibv_reg_mr_iova)
 * @access: IB_ACCESS_* flags, IB_ACCESS_ON_DEMAND among them
 * @mr: the rxe MR being registered
 *
 * Pins nothing and faults nothing: it inserts an interval notifier over the
 * range (through ib_umem_odp_get()) and allocates an empty device page
 * table.  Pages are mapped when the device first touches them.
 *
 * Context: process context of the registering task; may sleep.
 * Return:
 * * 0 on success
 * * -EOPNOTSUPP for implicit ODP or IB_ACCESS_FLUSH_PERSISTENT
 * * -EINVAL for a zero length
 * * -EFAULT for a range outside the user address space
 * * -EOVERFLOW for a range that wraps around
 * * -ENOMEM when the device page table cannot be allocated
 */
int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access, struct rxe_mr *mr)
{
	struct ib_umem_odp *umem_odp;
	struct rxe_odp_mr *odp;
	u64 end;
	int err;

	if (!start && length == U64_MAX) {
		rxe_dbg_mr(mr, "implicit ODP is not supported\n");
		return -EOPNOTSUPP;
	}
	/* Persistence cannot be promised for pages that come and go. */
	if (access & IB_ACCESS_FLUSH_PERSISTENT)
		return -EOPNOTSUPP;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length, &end) ||
	    end > U64_MAX - PAGE_SIZE)
		return -EOVERFLOW;
	if (!access_ok((void __user *)(uintptr_t)start, length))
		return -EFAULT;

	rxe_mr_init(access, mr);

	odp = kzalloc(sizeof(*odp), GFP_KERNEL);
	if (!odp)
		return -ENOMEM;
	odp->rxe = rxe;
	odp->mr = mr;
	odp->start = ALIGN_DOWN(start, PAGE_SIZE);
	odp->npages = (ALIGN(end, PAGE_SIZE) - odp->start) >> PAGE_SHIFT;
	rwlock_init(&odp->dpt_lock);
	odp->dpt = kvcalloc(odp->npages, sizeof(*odp->dpt),
			    GFP_KERNEL | __GFP_NOWARN);
	if (!odp->dpt) {
		err = -ENOMEM;
		goto err_free_odp;
	}

	umem_odp = ib_umem_odp_get(&rxe->ib_dev, start, length, access,
				   &rxe_odp_mni_ops);
	if (IS_ERR(umem_odp)) {
		err = PTR_ERR(umem_odp);
		rxe_dbg_mr(mr, "ib_umem_odp_get failed, err = %d\n", err);
		goto err_free_dpt;
	}
	if (WARN_ON_ONCE(ib_umem_start(umem_odp) != odp->start ||
			 ib_umem_odp_num_pages(umem_odp) != odp->npages)) {
		err = -EINVAL;
		goto err_release_umem;
	}
	odp->umem_odp = umem_odp;
	/*
	 * Invalidations may already run: until they see ->private they only
	 * advance the sequence count, which is all an empty DPT needs.
	 */
	smp_store_release(&umem_odp->private, odp);

	mr->umem = &umem_odp->umem;
	mr->odp = odp;
	mr->ibmr.type = IB_MR_TYPE_USER;
	mr->state = RXE_MR_STATE_VALID;
	return 0;

err_release_umem:
	ib_umem_odp_release(umem_odp);
err_free_dpt:
	kvfree(odp->dpt);
err_free_odp:
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
 * then ib_umem_odp_release() removes the notifier, waiting for a running
 * invalidation, after which nothing can reach the DPT.  mr->umem is cleared
 * so that rxe_mr_cleanup() does not release the umem a second time.
 *
 * Context: process context; may sleep.
 */
void rxe_odp_mr_cleanup(struct rxe_mr *mr)
{
	struct rxe_odp_mr *odp = mr->odp;

	if (!odp)
		return;

	write_lock(&odp->dpt_lock);
	__rxe_odp_dpt_zap(odp, odp->start,
			  odp->start + (odp->npages << PAGE_SHIFT), true);
	write_unlock(&odp->dpt_lock);

	ib_umem_odp_release(odp->umem_odp);
	mr->umem = NULL;
	mr->odp = NULL;
	kvfree(odp->dpt);
	kfree(odp);
}
