// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_dmabuf.c - memory regions over dma-bufs (ibv_reg_dmabuf_mr): the
 * exporter's pages enter the same device page table as an ODP MR's, and
 * the exporter's move_notify tears them down as an mmu notifier
 * invalidation does.
 */

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "rxe_odp_loc.h"
#include "rxe_odp_trace.h"

MODULE_IMPORT_NS(DMA_BUF);

/**
 * DOC: dma-buf memory regions
 *
 * A dma-buf MR names a byte range of a dma-buf (fd, offset, length) and
 * gives it an iova.  rxe has no DMA engine: the CPU that runs rxe's work
 * items is the device, so it needs the kernel CPU access a dma-buf offers,
 * the exporter's vmap (dma_buf_vmap()), bracketed by
 * dma_buf_begin_cpu_access() and dma_buf_end_cpu_access() for the MR's
 * lifetime.  DMA addresses from dma_buf_map_attachment() would be of no
 * use to a CPU, and struct pages behind an sg_table are not the
 * importer's to touch.  An exporter without vmap (or whose vmap is I/O
 * memory) cannot back a dma-buf MR: registration fails with -EOPNOTSUPP.
 *
 * The MR keeps an &struct rxe_odp_mr whose "virtual addresses" are byte
 * offsets into the dma-buf, so the data path is the ODP one: a device
 * access looks the pages up in the device page table under dpt_lock and
 * copies through the exporter's mapping; a missing entry faults, here by
 * rxe_odp_dmabuf_fault(), which maps the buffer if needed and enters its
 * pages, a 2 MiB leaf at a time.
 *
 * Two modes, chosen at registration:
 *
 * * Dynamic (move_notify).  The exporter is dynamic (it has pin/unpin)
 *   and the module parameter dmabuf_move_notify is set (its default is
 *   CONFIG_DMABUF_MOVE_NOTIFY, off in Debian 13's kernel).  The MR attaches
 *   with dma_buf_dynamic_attach() and importer ops; the buffer stays
 *   movable.  When the exporter moves it, it calls move_notify with the
 *   reservation lock held: the MR zaps its whole device page table under
 *   dpt_lock for write (waiting for the accesses in flight) and drops its
 *   vmap.  The next access faults: under the reservation lock it waits
 *   for the exporter's kernel fences (the move), refuses a buffer whose
 *   fence failed (revoked storage: the access completes in error), maps
 *   the buffer again and enters the new pages.
 *
 * * Pinned.  Every other case: the exporter cannot move buffers (vgem,
 *   udmabuf, the dma-heaps), or the kernel does not enable move_notify.
 *   A dynamic exporter's attachment is pinned with dma_buf_pin(); the vmap
 *   is taken at registration, so a buffer without CPU access fails there,
 *   and held until deregistration.  The device page table then only
 *   fills, once per 2 MiB.
 *
 * The MR holds a reference to the dma-buf: closing the fd, or freeing the
 * exporter's object, leaves the MR working until it is deregistered.  A
 * buffer exported read-only cannot be registered for writing (-EACCES).
 *
 * Limits.  CPU access begins once, at registration (after the vmap of a
 * pinned MR, so that exporters that maintain their vmap see it) and ends
 * at deregistration: on a system whose caches are not coherent with other
 * devices this is no synchronisation with their DMA in between.  Dynamic
 * mode suits exporters that keep buffers in system memory: a buffer moved
 * to I/O memory maps as iomem and its accesses fail (-EOPNOTSUPP, found
 * at the first access, not at registration).  Revocation is seen only
 * while the failed fence is in the reservation object; a fence that
 * fails for another reason (a GPU reset) also ends the MR's accesses for
 * good.  Atomics go through the exporter's mapping, write-combined for
 * vgem: atomic on x86, not promised on every architecture.
 */

/**
 * struct rxe_odp_dmabuf - import state of a dma-buf MR
 * @dmabuf: the buffer, referenced for the MR's lifetime
 * @attach: the dynamic attachment, NULL for an exporter that is not
 *	dynamic (a pinned import of such a buffer needs only its vmap)
 * @dynamic: move_notify may tear the mapping down (else pinned)
 * @pinned: @attach is pinned with dma_buf_pin()
 * @cpu_access: dma_buf_begin_cpu_access() succeeded
 * @map: the exporter's CPU mapping, or clear; written under the buffer's
 *	reservation lock, and read by device accesses that hold dpt_lock
 *	and found a valid entry (entries are zapped before @map is cleared)
 * @revoked: the exporter failed a kernel fence: the storage is gone; under
 *	the reservation lock
 */
struct rxe_odp_dmabuf {
	struct dma_buf			*dmabuf;
	struct dma_buf_attachment	*attach;
	bool				dynamic;
	bool				pinned;
	bool				cpu_access;
	struct iosys_map		map;
	bool				revoked;
};

/* Drop the CPU mapping, the reservation lock held. */
static void rxe_odp_dmabuf_unmap(struct rxe_odp_dmabuf *db)
{
	dma_resv_assert_held(db->dmabuf->resv);
	if (iosys_map_is_null(&db->map))
		return;
	dma_buf_vunmap(db->dmabuf, &db->map);
	iosys_map_clear(&db->map);
}

/*
 * Make sure the buffer is mapped for the CPU, the reservation lock held.
 * A dynamic importer must not touch the storage before the exporter's
 * kernel fences (moves, clears) have signalled, and must not touch it at
 * all when one of them failed.
 */
static int rxe_odp_dmabuf_map(struct rxe_odp_dmabuf *db)
{
	struct dma_resv *resv = db->dmabuf->resv;
	struct dma_resv_iter cursor;
	struct dma_fence *fence;
	struct iosys_map map;
	long left;
	int err;

	dma_resv_assert_held(resv);
	if (!iosys_map_is_null(&db->map))
		return 0;
	if (db->revoked)
		return -ENODEV;

	left = dma_resv_wait_timeout(resv, DMA_RESV_USAGE_KERNEL, false,
				     msecs_to_jiffies(RXE_ODP_FAULT_TIMEOUT_MS));
	if (left < 0)
		return left;
	if (!left)
		return -EBUSY;
	dma_resv_for_each_fence(&cursor, resv, DMA_RESV_USAGE_KERNEL, fence) {
		if (dma_fence_get_status(fence) < 0) {
			db->revoked = true;
			return -ENODEV;
		}
	}

	err = dma_buf_vmap(db->dmabuf, &map);
	if (err)
		return err;
	if (map.is_iomem) {
		dma_buf_vunmap(db->dmabuf, &map);
		return -EOPNOTSUPP;
	}
	db->map = map;
	return 0;
}

/* The pfn behind a kernel address of the exporter's mapping, or 0. */
static unsigned long rxe_odp_dmabuf_pfn(const void *kaddr)
{
	if (is_vmalloc_addr(kaddr))
		return vmalloc_to_pfn(kaddr);
	if (virt_addr_valid(kaddr))
		return PHYS_PFN(__pa(kaddr));
	return 0;
}

/**
 * rxe_odp_dmabuf_fault() - enter pages of a dma-buf MR into its DPT
 * @odp: the MR's ODP state, with @odp->dmabuf set
 * @start: first byte (page aligned) of the range the access needs, as an
 *	offset into the dma-buf, within [@odp->start, @odp->end)
 * @end: first byte after that range (page aligned)
 * @flags: RXE_ODP_FAULT_SNAPSHOT enters pages only if the buffer is
 *	mapped already; the other flags of rxe_odp_fault() change nothing
 *
 * Maps the buffer if it is not (a dynamic MR after a move), then enters
 * the pages of the whole 2 MiB leaves around the range that lie inside
 * the MR: the mapping exists anyway, so a fault per leaf is enough.  The
 * reservation lock is held throughout, so move_notify cannot run between
 * the lookup of a page and its entry.
 *
 * Context: process context (rxe work queue or advise_mr); takes the
 * buffer's reservation lock, then dpt_lock for write; may sleep.
 * Return: the number of pages entered, or -EFAULT (revoked storage: the
 * data path reports it as it reports a hole in an ODP MR), -EBUSY (the
 * exporter's fences did not signal in time), -EOPNOTSUPP (no usable CPU
 * mapping), -ENOMEM.
 */
int rxe_odp_dmabuf_fault(struct rxe_odp_mr *odp, unsigned long start,
			 unsigned long end, unsigned int flags)
{
	struct rxe_odp_dmabuf *db = odp->dmabuf;
	struct dma_resv *resv = db->dmabuf->resv;
	struct hmm_range range = {};
	unsigned long i, n, pfn;
	int ret;

	range.start = max(ALIGN_DOWN(start, RXE_ODP_LEAF_SIZE), odp->start);
	range.end = min(ALIGN(end, RXE_ODP_LEAF_SIZE), odp->end);
	n = (range.end - range.start) >> PAGE_SHIFT;
	range.hmm_pfns = kvmalloc_array(n, sizeof(*range.hmm_pfns), GFP_KERNEL);
	if (!range.hmm_pfns)
		return -ENOMEM;

	dma_resv_lock(resv, NULL);
	/* A snapshot enters only what is mapped: no vmap, no fence wait. */
	if ((flags & RXE_ODP_FAULT_SNAPSHOT) && iosys_map_is_null(&db->map)) {
		ret = 0;
		goto out_unlock;
	}
	ret = rxe_odp_dmabuf_map(db);
	/* Revoked storage is memory that is gone, as an unmapped hole. */
	if (ret == -ENODEV)
		ret = -EFAULT;
	if (ret)
		goto out_unlock;
	for (i = 0; i < n; i++) {
		pfn = rxe_odp_dmabuf_pfn(db->map.vaddr + range.start +
					 (i << PAGE_SHIFT));
		if (!pfn || !pfn_valid(pfn)) {
			ret = -EOPNOTSUPP;
			goto out_unlock;
		}
		/* Always writable: the MR's access flags guard writes. */
		range.hmm_pfns[i] = pfn | HMM_PFN_VALID | HMM_PFN_WRITE;
	}
	ret = rxe_odp_dpt_prealloc(odp, range.start, range.end);
	if (ret)
		goto out_unlock;
	write_lock(&odp->dpt_lock);
	ret = __rxe_odp_dpt_store(odp, &range);
	write_unlock(&odp->dpt_lock);
out_unlock:
	dma_resv_unlock(resv);
	kvfree(range.hmm_pfns);
	return ret;
}

/**
 * rxe_odp_dmabuf_kaddr() - kernel address of a byte of a dma-buf MR
 * @odp: the MR's ODP state, with @odp->dmabuf set
 * @offset: byte offset into the dma-buf
 *
 * Context: dpt_lock held, and a valid DPT entry found for @offset.
 * Return: the address in the exporter's CPU mapping.
 */
void *rxe_odp_dmabuf_kaddr(struct rxe_odp_mr *odp, unsigned long offset)
{
	return odp->dmabuf->map.vaddr + offset;
}

/*
 * The exporter is about to move the buffer (the reservation lock is
 * held): forget every page and the mapping.  Accesses in flight finish
 * first (dpt_lock for write); later ones fault and wait for the move.
 */
static void rxe_odp_dmabuf_moved(struct dma_buf_attachment *attach)
{
	struct rxe_odp_mr *odp = attach->importer_priv;
	unsigned long before;

	dma_resv_assert_held(attach->dmabuf->resv);

	write_lock(&odp->dpt_lock);
	before = atomic64_read(&odp->pages_invalidated);
	__rxe_odp_dpt_zap(odp, odp->start, odp->end, true);
	write_unlock(&odp->dpt_lock);
	rxe_odp_dmabuf_unmap(odp->dmabuf);

	atomic64_inc(&odp->invalidations);
	rxe_odp_count(odp, RXE_CNT_ODP_INVALIDATIONS, 1);
	trace_rxe_odp_invalidate(odp, odp->start, odp->end,
				 MMU_NOTIFY_MIGRATE,
				 atomic64_read(&odp->pages_invalidated) - before);
}

static const struct dma_buf_attach_ops rxe_odp_dmabuf_attach_ops = {
	.allow_peer2peer = false,
	.move_notify = rxe_odp_dmabuf_moved,
};

/* Attach to a dynamic exporter; pin unless move_notify is wanted. */
static int rxe_odp_dmabuf_attach(struct rxe_odp_mr *odp)
{
	struct rxe_odp_dmabuf *db = odp->dmabuf;
	struct dma_buf_attachment *attach;
	int err;

	attach = dma_buf_dynamic_attach(db->dmabuf, &odp->rxe->ib_dev.dev,
					&rxe_odp_dmabuf_attach_ops, odp);
	if (IS_ERR(attach))
		return PTR_ERR(attach);
	db->attach = attach;
	db->dynamic = READ_ONCE(rxe_odp_dmabuf_move_notify);
	if (db->dynamic)
		return 0;

	dma_resv_lock(db->dmabuf->resv, NULL);
	err = dma_buf_pin(attach);
	dma_resv_unlock(db->dmabuf->resv);
	if (err)
		return err;
	db->pinned = true;
	return 0;
}

/**
 * rxe_odp_dmabuf_release() - give a dma-buf MR's buffer back
 * @odp: the MR's ODP state, with @odp->dmabuf set (it is freed)
 *
 * Ends the CPU access while the mapping still exists, then under the
 * reservation lock (no move_notify can run meanwhile) unmaps and frees the
 * device page table and drops the mapping and the pin; detaches and drops
 * the MR's reference to the buffer.  Also undoes a partial registration.
 *
 * Context: process context, no device access in flight; may sleep.
 */
void rxe_odp_dmabuf_release(struct rxe_odp_mr *odp)
{
	struct rxe_odp_dmabuf *db = odp->dmabuf;
	struct dma_buf *dmabuf = db->dmabuf;

	/* While the mapping exists: exporters flush the vmap they know of. */
	if (db->cpu_access)
		dma_buf_end_cpu_access(dmabuf, DMA_BIDIRECTIONAL);

	dma_resv_lock(dmabuf->resv, NULL);
	rxe_odp_dpt_destroy(odp);
	rxe_odp_dmabuf_unmap(db);
	if (db->pinned)
		dma_buf_unpin(db->attach);
	dma_resv_unlock(dmabuf->resv);

	if (db->attach)
		dma_buf_detach(dmabuf, db->attach);
	dma_buf_put(dmabuf);
	odp->dmabuf = NULL;
	kfree(db);
}

/* Import the dma-buf of @fd for @odp; undone by rxe_odp_dmabuf_release(). */
static int rxe_odp_dmabuf_import(struct rxe_odp_mr *odp, int fd, u64 end,
				 int access)
{
	struct rxe_odp_dmabuf *db;
	struct dma_buf *dmabuf;
	int err;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (end > dmabuf->size) {
		dma_buf_put(dmabuf);
		return -EINVAL;
	}
	/* No kernel CPU access, nothing rxe could do with the buffer. */
	if (!dmabuf->ops->vmap) {
		dma_buf_put(dmabuf);
		return -EOPNOTSUPP;
	}
	/* A buffer exported read-only takes no writes, local or remote. */
	if (ib_access_writable(access) &&
	    !(dmabuf->file->f_mode & FMODE_WRITE)) {
		dma_buf_put(dmabuf);
		return -EACCES;
	}
	db = kzalloc(sizeof(*db), GFP_KERNEL);
	if (!db) {
		dma_buf_put(dmabuf);
		return -ENOMEM;
	}
	db->dmabuf = dmabuf;
	odp->dmabuf = db;

	if (dma_buf_is_dynamic(dmabuf)) {
		err = rxe_odp_dmabuf_attach(odp);
		if (err)
			return err;
	}
	if (!db->dynamic) {
		/* Pinned: map now, so that a buffer rxe cannot use fails here. */
		dma_resv_lock(dmabuf->resv, NULL);
		err = rxe_odp_dmabuf_map(db);
		dma_resv_unlock(dmabuf->resv);
		if (err)
			return err;
	}
	/* After the vmap: exporters invalidate the vmap they know of. */
	err = dma_buf_begin_cpu_access(dmabuf, DMA_BIDIRECTIONAL);
	if (err)
		return err;
	db->cpu_access = true;
	return 0;
}

/**
 * rxe_odp_reg_user_mr_dmabuf() - register a memory region over a dma-buf
 * @ibpd: the protection domain
 * @offset: first byte of the region in the dma-buf
 * @length: bytes in the region
 * @iova: I/O virtual address of the first byte (same page offset as
 *	@offset, checked by the core)
 * @fd: the dma-buf file descriptor
 * @access: IB_ACCESS_* flags (the core lets only LOCAL_WRITE,
 *	REMOTE_READ, REMOTE_WRITE, REMOTE_ATOMIC and RELAXED_ORDERING in)
 * @attrs: uverbs attributes (unused)
 *
 * The ib_device_ops.reg_user_mr_dmabuf verb of rxe; see "dma-buf memory
 * regions" above.
 *
 * Context: process context of the registering task; may sleep.
 * Return: the new MR, or ERR_PTR() of -EINVAL (length 0, or a range
 * outside the buffer or wrapping around; also an fd that is not a dma-buf),
 * -EBADF (no such fd), -EOPNOTSUPP (an access flag rxe does not support,
 * or a buffer without kernel CPU access), -EACCES (write access to a
 * buffer exported read-only), -ENODEV (revoked storage),
 * -ENOMEM, or another error of the exporter.
 */
struct ib_mr *rxe_odp_reg_user_mr_dmabuf(struct ib_pd *ibpd, u64 offset,
					 u64 length, u64 iova, int fd,
					 int access,
					 struct uverbs_attr_bundle *attrs)
{
	struct rxe_dev *rxe = to_rdev(ibpd->device);
	struct rxe_pd *pd = to_rpd(ibpd);
	struct rxe_odp_mr *odp;
	struct rxe_mr *mr;
	int err, cleanup_err;
	u64 end;

	if (access & ~RXE_ACCESS_SUPPORTED_MR)
		return ERR_PTR(-EOPNOTSUPP);
	if (!length || check_add_overflow(offset, length, &end) ||
	    end > U64_MAX - PAGE_SIZE)
		return ERR_PTR(-EINVAL);

	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return ERR_PTR(-ENOMEM);
	err = rxe_add_to_pool(&rxe->mr_pool, mr);
	if (err)
		goto err_free;
	rxe_get(pd);
	mr->ibmr.pd = ibpd;
	mr->ibmr.device = ibpd->device;

	rxe_mr_init(access, mr);
	odp = rxe_odp_mr_alloc(rxe, mr);
	if (!odp) {
		err = -ENOMEM;
		goto err_cleanup;
	}
	odp->va = offset;
	odp->start = ALIGN_DOWN(offset, PAGE_SIZE);
	odp->end = ALIGN(end, PAGE_SIZE);
	/* From here rxe_mr_cleanup() undoes whatever the import did. */
	mr->odp = odp;
	err = rxe_odp_dmabuf_import(odp, fd, end, access);
	if (err)
		goto err_cleanup;

	mr->ibmr.iova = iova;
	mr->ibmr.length = length;
	mr->ibmr.type = IB_MR_TYPE_USER;
	mr->state = RXE_MR_STATE_VALID;
	rxe_finalize(mr);
	return &mr->ibmr;

err_cleanup:
	if (mr->odp && !mr->odp->dmabuf) {
		/* The import failed before it kept anything. */
		xa_destroy(&mr->odp->dir);
		kfree(mr->odp);
		mr->odp = NULL;
	}
	cleanup_err = rxe_cleanup(mr);
	if (cleanup_err)
		rxe_err_mr(mr, "cleanup failed, err = %d\n", cleanup_err);
err_free:
	kfree(mr);
	rxe_dbg_pd(pd, "dma-buf MR registration failed, err = %d\n", err);
	return ERR_PTR(err);
}
