/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_test_dmabuf.h - the ioctl interface of the test dma-buf exporter
 * (tests/kmod/rxe_test_dmabuf.c, misc device /dev/rxe_test_dmabuf).
 *
 * The exporter hands out page-backed dma-bufs whose storage it can move
 * (new pages, contents copied, dma_buf_move_notify() to the importers)
 * or revoke (importers notified, storage gone), so that tests can drive a
 * dma-buf importer's invalidation path the way a GPU driver evicting a
 * buffer would.  Shared by the module and the userspace tests.
 */

#ifndef RXE_TEST_DMABUF_H
#define RXE_TEST_DMABUF_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define RXE_TEST_DMABUF_DEV	"/dev/rxe_test_dmabuf"

/* Flags of struct rxe_test_dmabuf_create. */
#define RXE_TEST_DMABUF_DYNAMIC	0x1U /* pin/unpin ops: dynamic exporter */
#define RXE_TEST_DMABUF_NO_VMAP	0x2U /* no vmap op: no kernel CPU access */

/**
 * struct rxe_test_dmabuf_create - RXE_TEST_DMABUF_IOCTL_CREATE
 * @size: bytes, a multiple of the page size, not 0
 * @flags: RXE_TEST_DMABUF_* above
 * @fd: out: the dma-buf file descriptor (O_CLOEXEC | O_RDWR)
 * @pad: must be 0
 */
struct rxe_test_dmabuf_create {
	__u64 size;
	__u32 flags;
	__s32 fd;
	__u64 pad;
};

/**
 * struct rxe_test_dmabuf_rw - RXE_TEST_DMABUF_IOCTL_READ / _WRITE
 * @fd: a dma-buf of this exporter
 * @pad: must be 0
 * @offset: first byte in the buffer
 * @len: bytes; @offset + @len within the buffer
 * @uptr: user buffer to copy to (READ) or from (WRITE)
 */
struct rxe_test_dmabuf_rw {
	__s32 fd;
	__u32 pad;
	__u64 offset;
	__u64 len;
	__u64 uptr;
};

/**
 * struct rxe_test_dmabuf_info - RXE_TEST_DMABUF_IOCTL_MOVE / _REVOKE / _INFO
 * @fd: a dma-buf of this exporter
 * @pad: must be 0
 * @moves: out: storage moves so far (MOVE adds one when it moved)
 * @pins: out: importers holding the buffer pinned now (MOVE fails with
 *	EBUSY while this is not 0)
 * @attachments: out: importers attached now
 * @vmaps: out: kernel CPU mappings (vmap) held now
 * @revoked: out: 1 once REVOKE has run
 */
struct rxe_test_dmabuf_info {
	__s32 fd;
	__u32 pad;
	__u64 moves;
	__u32 pins;
	__u32 attachments;
	__u32 vmaps;
	__u32 revoked;
};

/* Allocate a buffer (zeroed) and export it. */
#define RXE_TEST_DMABUF_IOCTL_CREATE \
	_IOWR('R', 0x40, struct rxe_test_dmabuf_create)
/* Copy between the buffer's current storage and user memory. */
#define RXE_TEST_DMABUF_IOCTL_READ  _IOW('R', 0x41, struct rxe_test_dmabuf_rw)
#define RXE_TEST_DMABUF_IOCTL_WRITE _IOW('R', 0x42, struct rxe_test_dmabuf_rw)
/*
 * Move the storage to new pages, under the reservation lock: EBUSY if an
 * importer holds the buffer pinned; otherwise notify the importers
 * (dma_buf_move_notify()), after which they must have dropped their
 * kernel and DMA mappings (EBUSY, nothing moved, if a vmap or a
 * map_dma_buf mapping is still held); then copy the contents to newly
 * allocated pages, switch, free the old pages.  ENODEV once revoked.
 */
#define RXE_TEST_DMABUF_IOCTL_MOVE \
	_IOWR('R', 0x43, struct rxe_test_dmabuf_info)
/*
 * Revoke: under the reservation lock, EBUSY if pinned; otherwise notify
 * the importers, after which they must have dropped their mappings (EBUSY,
 * nothing revoked, if a vmap or a map_dma_buf mapping is still held); then
 * add to the reservation object a DMA_RESV_USAGE_KERNEL fence signalled
 * with -ENODEV, mark the buffer revoked and free the storage.  The lock is
 * held throughout, so an importer that maps again finds the fence: its
 * error status says the storage is gone for good.  The vmap and
 * map_dma_buf ops fail (ENODEV) from then on; a careful importer never
 * calls them (dma_buf_vmap() would WARN).  ENODEV if already revoked.
 */
#define RXE_TEST_DMABUF_IOCTL_REVOKE \
	_IOWR('R', 0x44, struct rxe_test_dmabuf_info)
#define RXE_TEST_DMABUF_IOCTL_INFO \
	_IOWR('R', 0x45, struct rxe_test_dmabuf_info)

#endif /* RXE_TEST_DMABUF_H */
