// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_test_dmabuf - a test-only dma-buf exporter, misc device
 * /dev/rxe_test_dmabuf (interface: rxe_test_dmabuf.h).
 *
 * It hands out dma-bufs backed by an array of ordinary pages, either
 * static or dynamic (pin/unpin ops), with or without a vmap op, and on
 * request moves their storage to new pages or revokes it, notifying the
 * importers through dma_buf_move_notify() the way a GPU driver evicting a
 * buffer would.  It exists to drive the invalidation path of a dma-buf
 * importer (rdma_rxe's dma-buf MRs) in tests; it is not meant for anything
 * else.
 *
 * Locking: the state of a buffer that can change (struct rtd_buf: @pages,
 * @revoked, @moves and the counters) is protected by the reservation lock
 * of its dma-buf, dmabuf->resv.  The dma-buf core calls the pin, unpin,
 * map_dma_buf, unmap_dma_buf, vmap and vunmap ops with that lock held;
 * attach and detach are called without it and take it; the ioctls take it.
 * The lock is never held across copy_{to,from}_user(): the dma-buf core
 * primes lockdep with mmap_lock taken before dma_resv, and a user copy may
 * fault and take mmap_lock.  READ and WRITE therefore copy through a
 * one-page bounce buffer, taking the lock once per page.
 */

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "rxe_test_dmabuf.h"

/* Largest buffer CREATE accepts. */
#define RTD_MAX_SIZE	SZ_1G

/**
 * struct rtd_buf - one exported buffer (the dma-buf's priv)
 * @dmabuf: the dma-buf; its resv lock protects all the fields below
 *	but @npages and @flags, which never change
 * @npages: size of the buffer in pages
 * @flags: RXE_TEST_DMABUF_* of the CREATE
 * @pages: the storage, @npages pages; NULL once revoked
 * @vaddr: the kernel mapping handed out by the vmap op, or NULL
 * @moves: completed MOVEs
 * @attachments: attachments (attach op calls minus detach op calls)
 * @pins: pin op calls minus unpin op calls
 * @vmaps: kernel mappings held (vmap op calls minus vunmap op calls)
 * @maps: DMA mappings held (map_dma_buf calls minus unmap_dma_buf calls)
 * @revoked: REVOKE has run: no storage any more
 */
struct rtd_buf {
	struct dma_buf *dmabuf;
	unsigned long npages;
	u32 flags;
	struct page **pages;
	void *vaddr;
	u64 moves;
	u32 attachments;
	u32 pins;
	u32 vmaps;
	u32 maps;
	bool revoked;
};

/*
 * The revocation fences: each on a timeline of its own (they are signalled
 * under different reservation locks, in no order), one lock for all.
 */
static DEFINE_SPINLOCK(rtd_fence_lock);

static const char *rtd_fence_driver_name(struct dma_fence *fence)
{
	return KBUILD_MODNAME;
}

static const char *rtd_fence_timeline_name(struct dma_fence *fence)
{
	return "revoke";
}

/*
 * A fence can outlive its dma-buf (an importer or a sync_file may hold a
 * reference), and with it the module reference of the dma-buf: each fence
 * holds a module reference of its own, dropped here.
 */
static void rtd_fence_release(struct dma_fence *fence)
{
	dma_fence_free(fence);
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops rtd_fence_ops = {
	.get_driver_name = rtd_fence_driver_name,
	.get_timeline_name = rtd_fence_timeline_name,
	.release = rtd_fence_release,
};

/**
 * rtd_free_pages() - free a page array and the pages in it
 * @pages: the array (may be NULL), entries may be NULL
 * @npages: its length
 */
static void rtd_free_pages(struct page **pages, unsigned long npages)
{
	unsigned long i;

	if (!pages)
		return;
	for (i = 0; i < npages; i++)
		if (pages[i])
			__free_page(pages[i]);
	kvfree(pages);
}

/**
 * rtd_alloc_pages() - allocate a page array and zeroed pages for it
 * @npages: number of pages
 *
 * Return: the array, or NULL when out of memory (nothing left allocated).
 */
static struct page **rtd_alloc_pages(unsigned long npages)
{
	struct page **pages;
	unsigned long i;

	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < npages; i++) {
		pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pages[i]) {
			rtd_free_pages(pages, i);
			return NULL;
		}
		cond_resched();
	}
	return pages;
}

static int rtd_attach(struct dma_buf *dmabuf,
		      struct dma_buf_attachment *attach)
{
	struct rtd_buf *buf = dmabuf->priv;

	dma_resv_lock(dmabuf->resv, NULL);
	buf->attachments++;
	dma_resv_unlock(dmabuf->resv);
	return 0;
}

static void rtd_detach(struct dma_buf *dmabuf,
		       struct dma_buf_attachment *attach)
{
	struct rtd_buf *buf = dmabuf->priv;

	dma_resv_lock(dmabuf->resv, NULL);
	buf->attachments--;
	dma_resv_unlock(dmabuf->resv);
}

static int rtd_pin(struct dma_buf_attachment *attach)
{
	struct rtd_buf *buf = attach->dmabuf->priv;

	dma_resv_assert_held(attach->dmabuf->resv);
	if (buf->revoked)
		return -ENODEV;
	buf->pins++;
	return 0;
}

static void rtd_unpin(struct dma_buf_attachment *attach)
{
	struct rtd_buf *buf = attach->dmabuf->priv;

	dma_resv_assert_held(attach->dmabuf->resv);
	buf->pins--;
}

/**
 * rtd_map_dma_buf() - map the current storage for the attached device
 * @attach: the attachment, whose device does the DMA
 * @dir: the direction of the DMA
 *
 * Called with the reservation lock held.  The mapping stays valid until
 * unmapped; a dynamic importer must unmap it when notified of a move, and
 * MOVE and REVOKE refuse to free storage that is still mapped.
 *
 * Return: the DMA-mapped sg_table, or an ERR_PTR (-ENODEV once revoked).
 */
static struct sg_table *rtd_map_dma_buf(struct dma_buf_attachment *attach,
					enum dma_data_direction dir)
{
	struct rtd_buf *buf = attach->dmabuf->priv;
	struct sg_table *sgt;
	int ret;

	dma_resv_assert_held(attach->dmabuf->resv);
	if (buf->revoked)
		return ERR_PTR(-ENODEV);

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table_from_pages(sgt, buf->pages, buf->npages, 0,
					buf->npages << PAGE_SHIFT, GFP_KERNEL);
	if (ret)
		goto err_free;
	ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
	if (ret)
		goto err_table;
	buf->maps++;
	return sgt;

err_table:
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void rtd_unmap_dma_buf(struct dma_buf_attachment *attach,
			      struct sg_table *sgt,
			      enum dma_data_direction dir)
{
	struct rtd_buf *buf = attach->dmabuf->priv;

	dma_resv_assert_held(attach->dmabuf->resv);
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
	buf->maps--;
}

/**
 * rtd_vmap() - map the current storage into the kernel's address space
 * @dmabuf: the buffer
 * @map: out: the mapping
 *
 * Called with the reservation lock held, only when no mapping exists
 * (dma_buf_vmap() counts the users of one).  Importers must drop it
 * (dma_buf_vunmap()) when notified of a move.
 *
 * Return: 0, -ENOMEM, or -ENODEV once revoked.
 */
static int rtd_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct rtd_buf *buf = dmabuf->priv;
	void *vaddr;

	dma_resv_assert_held(dmabuf->resv);
	if (buf->revoked)
		return -ENODEV;
	if (WARN_ON(buf->vaddr))
		return -EBUSY;
	vaddr = vmap(buf->pages, buf->npages, VM_MAP, PAGE_KERNEL);
	if (!vaddr)
		return -ENOMEM;
	buf->vaddr = vaddr;
	buf->vmaps++;
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static void rtd_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct rtd_buf *buf = dmabuf->priv;

	dma_resv_assert_held(dmabuf->resv);
	if (WARN_ON(map->is_iomem || map->vaddr != buf->vaddr))
		return;
	vunmap(buf->vaddr);
	buf->vaddr = NULL;
	buf->vmaps--;
}

/**
 * rtd_release() - free a buffer once its last reference is gone
 * @dmabuf: the buffer
 *
 * Nobody else can reach the buffer any more, hence no lock.  Mappings,
 * pins or attachments still counted mean an importer leaked them.
 */
static void rtd_release(struct dma_buf *dmabuf)
{
	struct rtd_buf *buf = dmabuf->priv;

	WARN(buf->attachments || buf->pins || buf->vmaps || buf->maps,
	     "%s: released with %u attachments, %u pins, %u vmaps, %u maps\n",
	     KBUILD_MODNAME, buf->attachments, buf->pins, buf->vmaps,
	     buf->maps);
	rtd_free_pages(buf->pages, buf->npages);
	kfree(buf);
}

/*
 * One ops table per combination of RXE_TEST_DMABUF_DYNAMIC (pin/unpin
 * ops) and RXE_TEST_DMABUF_NO_VMAP (no vmap/vunmap ops), indexed by those
 * flags: the dma-buf core tells both apart by the presence of the ops.
 */
static const struct dma_buf_ops rtd_ops[] = {
	[0] = {
		.attach = rtd_attach,
		.detach = rtd_detach,
		.map_dma_buf = rtd_map_dma_buf,
		.unmap_dma_buf = rtd_unmap_dma_buf,
		.release = rtd_release,
		.vmap = rtd_vmap,
		.vunmap = rtd_vunmap,
	},
	[RXE_TEST_DMABUF_DYNAMIC] = {
		.attach = rtd_attach,
		.detach = rtd_detach,
		.pin = rtd_pin,
		.unpin = rtd_unpin,
		.map_dma_buf = rtd_map_dma_buf,
		.unmap_dma_buf = rtd_unmap_dma_buf,
		.release = rtd_release,
		.vmap = rtd_vmap,
		.vunmap = rtd_vunmap,
	},
	[RXE_TEST_DMABUF_NO_VMAP] = {
		.attach = rtd_attach,
		.detach = rtd_detach,
		.map_dma_buf = rtd_map_dma_buf,
		.unmap_dma_buf = rtd_unmap_dma_buf,
		.release = rtd_release,
	},
	[RXE_TEST_DMABUF_DYNAMIC | RXE_TEST_DMABUF_NO_VMAP] = {
		.attach = rtd_attach,
		.detach = rtd_detach,
		.pin = rtd_pin,
		.unpin = rtd_unpin,
		.map_dma_buf = rtd_map_dma_buf,
		.unmap_dma_buf = rtd_unmap_dma_buf,
		.release = rtd_release,
	},
};

#define RTD_FLAGS	(RXE_TEST_DMABUF_DYNAMIC | RXE_TEST_DMABUF_NO_VMAP)

/**
 * rtd_get() - look up a dma-buf of this exporter by file descriptor
 * @fd: the file descriptor
 *
 * Return: the dma-buf with a reference (dma_buf_put() it), or an ERR_PTR:
 * -EBADF for no file, -EINVAL for a file that is not one of our dma-bufs.
 */
static struct dma_buf *rtd_get(int fd)
{
	struct dma_buf *dmabuf;
	unsigned int i;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return dmabuf;
	for (i = 0; i < ARRAY_SIZE(rtd_ops); i++)
		if (dmabuf->ops == &rtd_ops[i])
			return dmabuf;
	dma_buf_put(dmabuf);
	return ERR_PTR(-EINVAL);
}

/**
 * rtd_ioctl_create() - RXE_TEST_DMABUF_IOCTL_CREATE
 * @uarg: the user's struct rxe_test_dmabuf_create
 *
 * The file descriptor is reserved, written back, and only then installed,
 * so that a failing copy to the user leaves no descriptor behind.
 *
 * Return: 0 or a negative errno.
 */
static int rtd_ioctl_create(void __user *uarg)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct rxe_test_dmabuf_create args;
	struct dma_buf *dmabuf;
	struct rtd_buf *buf;
	int fd, ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.pad || args.flags & ~RTD_FLAGS || !args.size ||
	    args.size > RTD_MAX_SIZE || !PAGE_ALIGNED(args.size))
		return -EINVAL;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	buf->npages = args.size >> PAGE_SHIFT;
	buf->flags = args.flags;
	buf->pages = rtd_alloc_pages(buf->npages);
	if (!buf->pages) {
		kfree(buf);
		return -ENOMEM;
	}

	exp_info.ops = &rtd_ops[args.flags];
	exp_info.size = args.size;
	exp_info.flags = O_RDWR;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		rtd_free_pages(buf->pages, buf->npages);
		kfree(buf);
		return PTR_ERR(dmabuf);
	}
	buf->dmabuf = dmabuf;
	/* From here on the release op frees @buf. */

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_put;
	}
	args.fd = fd;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		ret = -EFAULT;
		goto err_fd;
	}
	fd_install(fd, dmabuf->file);
	return 0;

err_fd:
	put_unused_fd(fd);
err_put:
	dma_buf_put(dmabuf);
	return ret;
}

/**
 * rtd_rw() - copy between a buffer and user memory
 * @buf: the buffer
 * @offset: first byte in the buffer
 * @len: bytes, within the buffer
 * @uptr: the user memory
 * @write: copy from the user (WRITE) rather than to (READ)
 *
 * Page by page through a bounce page: the user copy happens without the
 * reservation lock (see the locking comment at the top), the copy from or
 * to the storage under it.  A MOVE may run between two pages; it copies the
 * contents, so it is invisible here.
 *
 * Return: 0, -EFAULT, -EINTR, -ENOMEM, or -ENODEV once revoked.
 */
static int rtd_rw(struct rtd_buf *buf, u64 offset, u64 len,
		  char __user *uptr, bool write)
{
	struct dma_resv *resv = buf->dmabuf->resv;
	void *bounce;
	int ret = 0;

	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	while (len) {
		size_t pgoff = offset_in_page(offset);
		size_t n = min_t(u64, len, PAGE_SIZE - pgoff);
		unsigned long idx = offset >> PAGE_SHIFT;

		if (write && copy_from_user(bounce, uptr, n)) {
			ret = -EFAULT;
			break;
		}
		ret = dma_resv_lock_interruptible(resv, NULL);
		if (ret)
			break;
		if (buf->revoked)
			ret = -ENODEV;
		else if (write)
			memcpy_to_page(buf->pages[idx], pgoff, bounce, n);
		else
			memcpy_from_page(bounce, buf->pages[idx], pgoff, n);
		dma_resv_unlock(resv);
		if (ret)
			break;
		if (!write && copy_to_user(uptr, bounce, n)) {
			ret = -EFAULT;
			break;
		}
		offset += n;
		uptr += n;
		len -= n;
		cond_resched();
	}
	kfree(bounce);
	return ret;
}

static int rtd_ioctl_rw(void __user *uarg, bool write)
{
	struct rxe_test_dmabuf_rw args;
	struct dma_buf *dmabuf;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.pad)
		return -EINVAL;
	dmabuf = rtd_get(args.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (args.offset > dmabuf->size || args.len > dmabuf->size - args.offset)
		ret = -EINVAL;
	else
		ret = rtd_rw(dmabuf->priv, args.offset, args.len,
			     u64_to_user_ptr(args.uptr), write);
	dma_buf_put(dmabuf);
	return ret;
}

static void rtd_fill_info(struct rtd_buf *buf,
			  struct rxe_test_dmabuf_info *info)
{
	dma_resv_assert_held(buf->dmabuf->resv);
	info->moves = buf->moves;
	info->pins = buf->pins;
	info->attachments = buf->attachments;
	info->vmaps = buf->vmaps;
	info->revoked = buf->revoked;
}

/*
 * After dma_buf_move_notify(): dynamic importers may have added fences for
 * accesses they could not stop at once; the storage is theirs until those
 * signal.
 */
static void rtd_wait_importers(struct rtd_buf *buf)
{
	dma_resv_wait_timeout(buf->dmabuf->resv, DMA_RESV_USAGE_BOOKKEEP,
			      false, MAX_SCHEDULE_TIMEOUT);
}

/**
 * rtd_move() - move a buffer's storage to new pages
 * @buf: the buffer, its reservation lock held
 *
 * The new pages are allocated first, so that running out of memory has no
 * effect.  The importers, notified, must drop their mappings of the old
 * pages; a mapping still held (a static importer, or one that ignored the
 * notification) fails the move and leaves the storage in place.
 *
 * Return: 0, -ENODEV once revoked, -EBUSY, or -ENOMEM.
 */
static int rtd_move(struct rtd_buf *buf)
{
	struct page **pages;
	unsigned long i;

	dma_resv_assert_held(buf->dmabuf->resv);
	if (buf->revoked)
		return -ENODEV;
	if (buf->pins)
		return -EBUSY;
	pages = rtd_alloc_pages(buf->npages);
	if (!pages)
		return -ENOMEM;
	dma_buf_move_notify(buf->dmabuf);
	rtd_wait_importers(buf);
	if (buf->vmaps || buf->maps) {
		rtd_free_pages(pages, buf->npages);
		return -EBUSY;
	}
	for (i = 0; i < buf->npages; i++) {
		copy_highpage(pages[i], buf->pages[i]);
		cond_resched();
	}
	swap(buf->pages, pages);
	rtd_free_pages(pages, buf->npages);
	buf->moves++;
	return 0;
}

/**
 * rtd_revoke() - take a buffer's storage away for good
 * @buf: the buffer, its reservation lock held
 *
 * The importers, notified, must drop their mappings (one still held fails
 * the revocation with -EBUSY, and nothing else happens).  Then a fence
 * signalled with -ENODEV goes into the reservation object, and the storage
 * is freed.  The lock is held throughout: an importer mapping again (under
 * the lock) finds the fence, so the one notification of a REVOKE looks
 * like that of a MOVE to the importers.  Note that a signalled fence is
 * skipped by the unlocked fence iterators (dma_resv_wait_timeout(),
 * sync_file export) and replaced by the next dma_resv_add_fence():
 * importers must look for it with dma_resv_for_each_fence() under the
 * lock.
 *
 * Return: 0, -ENODEV if already revoked, -EBUSY, or -ENOMEM.
 */
static int rtd_revoke(struct rtd_buf *buf)
{
	struct dma_resv *resv = buf->dmabuf->resv;
	struct dma_fence *fence;
	int ret;

	dma_resv_assert_held(resv);
	if (buf->revoked)
		return -ENODEV;
	if (buf->pins)
		return -EBUSY;
	ret = dma_resv_reserve_fences(resv, 1);
	if (ret)
		return ret;
	fence = kzalloc(sizeof(*fence), GFP_KERNEL);
	if (!fence)
		return -ENOMEM;

	dma_buf_move_notify(buf->dmabuf);
	rtd_wait_importers(buf);
	if (buf->vmaps || buf->maps) {
		kfree(fence);
		return -EBUSY;
	}

	__module_get(THIS_MODULE);	/* dropped by rtd_fence_release() */
	dma_fence_init(fence, &rtd_fence_ops, &rtd_fence_lock,
		       dma_fence_context_alloc(1), 1);
	dma_fence_set_error(fence, -ENODEV);
	dma_fence_signal(fence);
	dma_resv_add_fence(resv, fence, DMA_RESV_USAGE_KERNEL);
	dma_fence_put(fence);
	buf->revoked = true;

	rtd_free_pages(buf->pages, buf->npages);
	buf->pages = NULL;
	return 0;
}

/**
 * rtd_ioctl_info() - RXE_TEST_DMABUF_IOCTL_MOVE, _REVOKE and _INFO
 * @uarg: the user's struct rxe_test_dmabuf_info
 * @cmd: which of them
 *
 * Return: 0 or a negative errno; the counters are written back on success.
 */
static int rtd_ioctl_info(void __user *uarg, unsigned int cmd)
{
	struct rxe_test_dmabuf_info args;
	struct dma_buf *dmabuf;
	struct rtd_buf *buf;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.pad)
		return -EINVAL;
	dmabuf = rtd_get(args.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	buf = dmabuf->priv;

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		goto out;
	if (cmd == RXE_TEST_DMABUF_IOCTL_MOVE)
		ret = rtd_move(buf);
	else if (cmd == RXE_TEST_DMABUF_IOCTL_REVOKE)
		ret = rtd_revoke(buf);
	if (!ret)
		rtd_fill_info(buf, &args);
	dma_resv_unlock(dmabuf->resv);

	if (!ret && copy_to_user(uarg, &args, sizeof(args)))
		ret = -EFAULT;
out:
	dma_buf_put(dmabuf);
	return ret;
}

static long rtd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case RXE_TEST_DMABUF_IOCTL_CREATE:
		return rtd_ioctl_create(uarg);
	case RXE_TEST_DMABUF_IOCTL_READ:
		return rtd_ioctl_rw(uarg, false);
	case RXE_TEST_DMABUF_IOCTL_WRITE:
		return rtd_ioctl_rw(uarg, true);
	case RXE_TEST_DMABUF_IOCTL_MOVE:
	case RXE_TEST_DMABUF_IOCTL_REVOKE:
	case RXE_TEST_DMABUF_IOCTL_INFO:
		return rtd_ioctl_info(uarg, cmd);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations rtd_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = rtd_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice rtd_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "rxe_test_dmabuf",
	.fops = &rtd_fops,
	.mode = 0600,
};

static int __init rtd_init(void)
{
	return misc_register(&rtd_misc);
}

static void __exit rtd_exit(void)
{
	misc_deregister(&rtd_misc);
}

module_init(rtd_init);
module_exit(rtd_exit);

MODULE_DESCRIPTION("Test dma-buf exporter with movable and revocable storage");
MODULE_AUTHOR("The rxe-odp developers");
MODULE_LICENSE("Dual BSD/GPL");
MODULE_IMPORT_NS(DMA_BUF);
