// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_prefetch.c - ibv_advise_mr(): prefetch ODP MR ranges into the
 * device page table, synchronously or from a work queue.
 */

#include <linux/slab.h>
#include <linux/workqueue.h>

#include "rxe_odp_loc.h"

/**
 * DOC: Prefetch
 *
 * ibv_advise_mr() reaches rxe_odp_advise_mr() with a list of (lkey, addr,
 * length).  PREFETCH faults the pages in readable, PREFETCH_WRITE
 * writable (breaking COW), PREFETCH_NO_FAULT maps only the pages that are
 * already present (a snapshot: nothing is faulted, nothing fails for an
 * absent page).  With IB_UVERBS_ADVISE_MR_FLAG_FLUSH the call returns when
 * the pages are mapped, with the first error if any; without it the
 * prefetch runs from a work queue and errors are dropped, as the verbs
 * API allows.  A queued prefetch holds a reference on each MR it will
 * touch, so MR deregistration (and therefore device removal) waits for it,
 * and module unload flushes the work queue; a prefetch whose MR is being
 * deregistered stops at the next 2 MiB piece.
 */

/* Largest piece prefetched by one fault, so invalidations interleave. */
#define RXE_ODP_PREFETCH_PIECE	RXE_ODP_LEAF_SIZE

static struct workqueue_struct *rxe_odp_prefetch_wq;

/**
 * struct rxe_odp_prefetch_work - one queued advise_mr call
 * @work: the work item
 * @flags: RXE_ODP_FAULT_* flags for every range
 * @num_sge: entries in @sge and @mr
 * @sge: the ranges, copied from the caller
 * @mr: the MR of each range, each holding a reference until the work ends
 */
struct rxe_odp_prefetch_work {
	struct work_struct	work;
	unsigned int		flags;
	u32			num_sge;
	struct ib_sge		*sge;
	struct rxe_mr		**mr;
};

/*
 * Is @mr still registered?  Deregistration first removes the MR from its
 * pool, then waits for the references (a queued prefetch holds some): a
 * long prefetch stops between pieces once that has begun.
 */
static bool rxe_odp_prefetch_mr_live(struct rxe_mr *mr)
{
	struct rxe_mr *found;

	found = rxe_pool_get_index(&mr->odp->rxe->mr_pool, mr->elem.index);
	if (found)
		rxe_put(found);
	return found == mr;
}

/* Fault one range of an ODP MR in, piece by piece. */
static int rxe_odp_prefetch_range(struct rxe_mr *mr, u64 iova, u32 length,
				  unsigned int flags)
{
	struct rxe_odp_mr *odp = mr->odp;
	unsigned long va, end, piece;
	int ret;

	if (!length)
		return 0;
	if (mr_check_range(mr, iova, length))
		return -EINVAL;
	va = rxe_odp_iova_to_va(mr, iova);
	end = va + length;
	while (va < end) {
		if (!rxe_odp_prefetch_mr_live(mr))
			return -ENOENT;
		piece = min(end, ALIGN(va + 1, RXE_ODP_PREFETCH_PIECE)) - va;
		ret = rxe_odp_fault(odp, va, piece, flags);
		if (ret < 0)
			return ret;
		atomic64_add(ret, &odp->prefetches);
		va += piece;
	}
	return 0;
}

/* Look up the ODP MR of @lkey with a reference, or NULL. */
static struct rxe_mr *rxe_odp_prefetch_mr(struct ib_pd *ibpd, u32 lkey,
					  unsigned int flags)
{
	int access = flags & RXE_ODP_FAULT_WRITE ? IB_ACCESS_LOCAL_WRITE : 0;
	struct rxe_mr *mr;

	mr = lookup_mr(to_rpd(ibpd), access, lkey, RXE_LOOKUP_LOCAL);
	if (mr && !rxe_mr_is_odp(mr)) {
		rxe_put(mr);
		return NULL;
	}
	return mr;
}

static void rxe_odp_prefetch_work_free(struct rxe_odp_prefetch_work *pw)
{
	u32 i;

	for (i = 0; i < pw->num_sge; i++)
		if (pw->mr[i])
			rxe_put(pw->mr[i]);
	kfree(pw->mr);
	kfree(pw->sge);
	kfree(pw);
}

static void rxe_odp_prefetch_work_fn(struct work_struct *work)
{
	struct rxe_odp_prefetch_work *pw =
		container_of(work, struct rxe_odp_prefetch_work, work);
	u32 i;

	for (i = 0; i < pw->num_sge; i++)
		rxe_odp_prefetch_range(pw->mr[i], pw->sge[i].addr,
				       pw->sge[i].length, pw->flags);
	rxe_odp_prefetch_work_free(pw);
}

static int rxe_odp_prefetch_async(struct ib_pd *ibpd, unsigned int flags,
				  struct ib_sge *sg_list, u32 num_sge)
{
	struct rxe_odp_prefetch_work *pw;
	u32 i;

	pw = kzalloc(sizeof(*pw), GFP_KERNEL);
	if (!pw)
		return -ENOMEM;
	pw->sge = kmemdup_array(sg_list, num_sge, sizeof(*sg_list),
				GFP_KERNEL);
	pw->mr = kcalloc(num_sge, sizeof(*pw->mr), GFP_KERNEL);
	pw->flags = flags;
	if (!pw->sge || !pw->mr) {
		rxe_odp_prefetch_work_free(pw);	/* num_sge 0: no MR to put */
		return -ENOMEM;
	}
	for (i = 0; i < num_sge; i++) {
		pw->mr[i] = rxe_odp_prefetch_mr(ibpd, sg_list[i].lkey, flags);
		pw->num_sge = i + 1;
		if (!pw->mr[i]) {
			rxe_odp_prefetch_work_free(pw);
			return -EINVAL;
		}
	}
	INIT_WORK(&pw->work, rxe_odp_prefetch_work_fn);
	queue_work(rxe_odp_prefetch_wq, &pw->work);
	return 0;
}

static int rxe_odp_prefetch_sync(struct ib_pd *ibpd, unsigned int flags,
				 struct ib_sge *sg_list, u32 num_sge)
{
	struct rxe_mr *mr;
	int err = 0;
	u32 i;

	for (i = 0; i < num_sge && !err; i++) {
		mr = rxe_odp_prefetch_mr(ibpd, sg_list[i].lkey, flags);
		if (!mr)
			return -EINVAL;
		err = rxe_odp_prefetch_range(mr, sg_list[i].addr,
					     sg_list[i].length, flags);
		rxe_put(mr);
	}
	return err;
}

/**
 * rxe_odp_advise_mr() - the advise_mr verb: prefetch ODP MR ranges
 * @ibpd: the protection domain of the MRs
 * @advice: IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH, _PREFETCH_WRITE or
 *	_PREFETCH_NO_FAULT
 * @flags: 0 or IB_UVERBS_ADVISE_MR_FLAG_FLUSH (synchronous)
 * @sg_list: the ranges, each an lkey, an address and a length
 * @num_sge: number of ranges
 * @attrs: uverbs attributes, unused
 *
 * Context: process context (the advise_mr system call); may sleep.
 * Return:
 * * 0 on success (for an asynchronous prefetch: once queued)
 * * -EOPNOTSUPP for another advice or flag
 * * -EINVAL for an lkey that is not an ODP MR of this PD with the access
 *   the advice needs, or a range outside its MR
 * * -EFAULT, -EPERM, -EBUSY, -ENOMEM from the fault (synchronous only)
 */
int rxe_odp_advise_mr(struct ib_pd *ibpd,
		      enum ib_uverbs_advise_mr_advice advice, u32 flags,
		      struct ib_sge *sg_list, u32 num_sge,
		      struct uverbs_attr_bundle *attrs)
{
	unsigned int fault_flags;

	switch (advice) {
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH:
		fault_flags = 0;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE:
		fault_flags = RXE_ODP_FAULT_WRITE;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT:
		fault_flags = RXE_ODP_FAULT_SNAPSHOT;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (flags & ~IB_UVERBS_ADVISE_MR_FLAG_FLUSH)
		return -EOPNOTSUPP;
	if (!num_sge)
		return 0;

	if (flags & IB_UVERBS_ADVISE_MR_FLAG_FLUSH)
		return rxe_odp_prefetch_sync(ibpd, fault_flags, sg_list,
					     num_sge);
	return rxe_odp_prefetch_async(ibpd, fault_flags, sg_list, num_sge);
}

/**
 * rxe_odp_prefetch_init() - create the asynchronous prefetch work queue
 *
 * Context: module init.
 * Return: 0 or -ENOMEM.
 */
int rxe_odp_prefetch_init(void)
{
	rxe_odp_prefetch_wq = alloc_workqueue("rxe_odp_prefetch", WQ_UNBOUND,
					      0);
	return rxe_odp_prefetch_wq ? 0 : -ENOMEM;
}

/**
 * rxe_odp_prefetch_exit() - finish queued prefetches, free the work queue
 *
 * Context: module exit, after every device is gone.
 */
void rxe_odp_prefetch_exit(void)
{
	destroy_workqueue(rxe_odp_prefetch_wq);
}
