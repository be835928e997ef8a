// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_dmabuf - dma-buf MRs of rxe (ibv_reg_dmabuf_mr()).
 *
 * Four exporters hand out page-backed dma-bufs with kernel CPU access:
 * vgem (a dumb buffer of the vgem card node, exported with PRIME), udmabuf
 * (a sealed memfd), the system dma-heap, and the test exporter
 * /dev/rxe_test_dmabuf (tests/kmod), which can also be dynamic, move its
 * storage and revoke it.  An MR over each must work on every data path,
 * local and remote (SEND/RECV, WRITE, READ, atomics) at a non-zero offset
 * and iova, unaligned lengths and transfers straddling pages, checked byte
 * for byte against the exporter's own CPU view of the buffer.
 *
 * Non-dynamic exporters are pinned: the MR holds a vmap for its lifetime.
 * A dynamic test-exporter buffer is attached dynamically only when
 * rdma_rxe's parameter dmabuf_move_notify is 1: then the exporter may move
 * it under traffic (the data survives, the MR drops its mapping and faults
 * again) or revoke it (accesses fail with an error status, dereg works);
 * with the parameter 0 the MR pins it and MOVE is EBUSY.
 *
 * Debian 13's rdma-core 56 rxe provider has no reg_dmabuf_mr entry:
 * ibv_reg_dmabuf_mr() fails with EOPNOTSUPP before the kernel is asked, so
 * the test then falls back to libibverbs' private ibv_cmd_reg_dmabuf_mr()
 * (found with dlsym(): <infiniband/driver.h> is not installed); a provider
 * that has the entry is used as it is.  An EOPNOTSUPP from the kernel
 * means rdma_rxe has no dma-buf MRs: a failure, not a skip.
 *
 * Every test reads the kernel log it caused (/dev/kmsg) and fails on a
 * complaint, and checks that the dma-bufs it made are gone at its end
 * (/sys/kernel/debug/dma_buf/bufinfo).  Runs as root; run_tests.sh loads
 * vgem and the test exporter.
 *
 * Environment: RXE_DEV selects the RDMA device (default "rxe0").
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include "rv_loop.h"
#include "kmod/rxe_test_dmabuf.h"

#define RD_PARAM	"/sys/module/rdma_rxe/parameters/dmabuf_move_notify"
#define RD_BUFINFO	"/sys/kernel/debug/dma_buf/bufinfo"
#define RD_HEAP_DEV	"/dev/dma_heap/system"
#define RD_UDMABUF_DEV	"/dev/udmabuf"

/* Pages of the fixture's dma-buf and bytes of each pinned staging buffer. */
#define RD_PAGES	16
#define RD_STAGE	(1024 * 1024)

#define RD_ACCESS_RW	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

/* ----------------------------------------------------------------------
 * Kernel log, dma-buf count, counters, module parameter
 */

/* dma-bufs in the system (bufinfo's "Total N objects"), -1 if unknown. */
static int rd_dmabuf_count(void)
{
	FILE *f = fopen(RD_BUFINFO, "r");
	char line[256];
	int n = -1;

	if (!f)
		return -1;
	/* Not "Total N devices attached", which each buffer has. */
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " objects, ") &&
		    sscanf(line, "Total %d objects", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Log bufinfo's table (when a count is off). */
static void rd_dmabuf_dump(struct __test_metadata *_metadata)
{
	FILE *f = fopen(RD_BUFINFO, "r");
	char line[256];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0])
			TH_LOG("bufinfo: %s", line);
	}
	fclose(f);
}

/*
 * Wait up to 2 s for the dma-buf count to come back to @want: a dma-buf
 * put from a kernel thread is released by the delayed fput work.
 */
static int rd_dmabuf_settle(int want)
{
	int i, n = rd_dmabuf_count();

	for (i = 0; i < 200 && n != want; i++) {
		usleep(10 * 1000);
		n = rd_dmabuf_count();
	}
	return n;
}

static long long rd_counter(struct ibv_context *ctx, const char *name)
{
	long long v = -1;
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/%d/hw_counters/%s",
		 ibv_get_device_name(ctx->device), RV_PORT, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* rdma_rxe's dmabuf_move_notify: 0, 1, or -errno if it cannot be read. */
static int rd_param_get(void)
{
	FILE *f = fopen(RD_PARAM, "r");
	char c = 0;

	if (!f)
		return -errno;
	if (fscanf(f, " %c", &c) != 1)
		c = 0;
	fclose(f);
	return c == '1' || c == 'Y' || c == 'y';
}

static int rd_param_set(int val)
{
	int fd = open(RD_PARAM, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val ? "1" : "0", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/* ----------------------------------------------------------------------
 * Registration
 */

/* libibverbs' struct verbs_mr (<infiniband/driver.h>). */
struct rd_verbs_mr {
	struct ibv_mr ibv_mr;
	int mr_type;
	int access;
};

/* Registrations that went through ibv_cmd_reg_dmabuf_mr(). */
static int rd_cmd_regs;

static int (*rd_cmd_reg_dmabuf_mr)(struct ibv_pd *pd, __u64 offset,
				   size_t length, __u64 iova, int fd,
				   int access, struct rd_verbs_mr *vmr,
				   void *driver);

/*
 * ibv_reg_dmabuf_mr(), falling back to ibv_cmd_reg_dmabuf_mr() when the
 * provider has no entry for it.  The MR is released by ibv_dereg_mr(): the
 * rxe provider's dereg frees the struct verbs_mr it gets, which is ours.
 * NULL with errno on failure.
 */
static struct ibv_mr *rd_reg(struct ibv_pd *pd, __u64 off, size_t len,
			     __u64 iova, int fd, int access)
{
	struct ibv_mr *mr = ibv_reg_dmabuf_mr(pd, off, len, iova, fd, access);
	struct rd_verbs_mr *vmr;
	int ret;

	if (mr || errno != EOPNOTSUPP)
		return mr;
	if (!rd_cmd_reg_dmabuf_mr)
		*(void **)&rd_cmd_reg_dmabuf_mr =
			dlsym(RTLD_DEFAULT, "ibv_cmd_reg_dmabuf_mr");
	if (!rd_cmd_reg_dmabuf_mr) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	vmr = calloc(1, sizeof(*vmr));
	if (!vmr)
		return NULL;
	rd_cmd_regs++;
	ret = rd_cmd_reg_dmabuf_mr(pd, off, len, iova, fd, access, vmr, NULL);
	if (ret) {
		free(vmr);
		errno = ret;
		return NULL;
	}
	return &vmr->ibv_mr;
}

static const char *rd_errname(int err)
{
	switch (err) {
	case 0:
		return "success";
	case EINVAL:
		return "EINVAL";
	case EBADF:
		return "EBADF";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EBUSY:
		return "EBUSY";
	case ENOENT:
		return "ENOENT";
	case EACCES:
		return "EACCES";
	default:
		return strerror(err);
	}
}

/* Register and release again: 0 if registration worked, else its errno. */
static int rd_try_reg(struct ibv_pd *pd, __u64 off, size_t len, __u64 iova,
		      int fd, int access)
{
	struct ibv_mr *mr;

	errno = 0;
	mr = rd_reg(pd, off, len, iova, fd, access);
	if (!mr)
		return errno ?: -1;
	ibv_dereg_mr(mr);
	return 0;
}

#define RD_NO_DMABUF_MR	"ibv_reg_dmabuf_mr: EOPNOTSUPP from the kernel: " \
			"the loaded rdma_rxe has no dma-buf MRs " \
			"(reg_user_mr_dmabuf)"

/* ----------------------------------------------------------------------
 * Exporters
 */

enum rd_kind { RD_VGEM, RD_UDMABUF, RD_HEAP, RD_TEST };

static const char * const rd_kind_name[] = {
	[RD_VGEM] = "vgem", [RD_UDMABUF] = "udmabuf",
	[RD_HEAP] = "system heap", [RD_TEST] = "test exporter",
};

struct rd_buf {
	enum rd_kind kind;
	__u32 flags;		/* RD_TEST: RXE_TEST_DMABUF_* */
	size_t size;
	int fd;			/* the dma-buf */
	int dev;		/* the exporter's device */
	int memfd;		/* RD_UDMABUF: the pages */
	__u32 handle;		/* RD_VGEM: the GEM object */
	__u8 *map;		/* the CPU view (not RD_TEST) */
};

/* The vgem card node (dumb buffers are not on render nodes): fd or -errno. */
static int rd_vgem_open(void)
{
	char path[32], name[16];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = {
			.name_len = sizeof(name) - 1,
			.name = name,
		};

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

static void rd_buf_init(struct rd_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->dev = -1;
	b->memfd = -1;
	b->map = MAP_FAILED;
}

/* Drop the exporter's own objects, keep the dma-buf fd. */
static void rd_buf_drop_exporter(struct rd_buf *b)
{
	if (b->map != MAP_FAILED)
		munmap(b->map, b->size);
	b->map = MAP_FAILED;
	if (b->kind == RD_VGEM && b->handle) {
		struct drm_gem_close c = { .handle = b->handle };

		ioctl(b->dev, DRM_IOCTL_GEM_CLOSE, &c);
		b->handle = 0;
	}
	if (b->memfd >= 0)
		close(b->memfd);
	b->memfd = -1;
}

static void rd_buf_destroy(struct rd_buf *b)
{
	rd_buf_drop_exporter(b);
	if (b->fd >= 0)
		close(b->fd);
	if (b->dev >= 0)
		close(b->dev);
	b->fd = -1;
	b->dev = -1;
}

/*
 * Make a dma-buf of @size bytes (page multiple) from exporter @kind
 * (@flags for the test exporter) and its CPU view: 0, -ENODEV if the
 * exporter's device is not there, else -errno (logged).
 */
static int rd_buf_create(struct __test_metadata *_metadata, struct rd_buf *b,
			 enum rd_kind kind, __u32 flags, size_t size)
{
	rd_buf_init(b);
	b->kind = kind;
	b->flags = flags;
	b->size = size;
	switch (kind) {
	case RD_VGEM: {
		struct drm_mode_create_dumb c = {
			.height = size / 4096,
			.width = 1024,
			.bpp = 32,
		};
		struct drm_prime_handle ph = { .flags = DRM_CLOEXEC | DRM_RDWR };

		b->dev = rd_vgem_open();
		if (b->dev < 0)
			return -ENODEV;
		if (ioctl(b->dev, DRM_IOCTL_MODE_CREATE_DUMB, &c)) {
			TH_LOG("vgem DRM_IOCTL_MODE_CREATE_DUMB: %s",
			       strerror(errno));
			return -errno;
		}
		b->handle = c.handle;
		ASSERT_LE(size, c.size);
		ph.handle = c.handle;
		if (ioctl(b->dev, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph)) {
			TH_LOG("vgem PRIME_HANDLE_TO_FD: %s", strerror(errno));
			return -errno;
		}
		b->fd = ph.fd;
		b->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			      b->fd, 0);
		break;
	}
	case RD_UDMABUF: {
		struct udmabuf_create c = {
			.flags = UDMABUF_FLAGS_CLOEXEC,
			.size = size,
		};

		b->dev = open(RD_UDMABUF_DEV, O_RDWR | O_CLOEXEC);
		if (b->dev < 0)
			return -ENODEV;
		b->memfd = memfd_create("rxe_odp_dmabuf",
					MFD_ALLOW_SEALING | MFD_CLOEXEC);
		ASSERT_LE(0, b->memfd);
		ASSERT_EQ(0, ftruncate(b->memfd, size));
		ASSERT_EQ(0, fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK));
		c.memfd = b->memfd;
		b->fd = ioctl(b->dev, UDMABUF_CREATE, &c);
		if (b->fd < 0) {
			TH_LOG("UDMABUF_CREATE: %s", strerror(errno));
			return -errno;
		}
		b->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			      b->memfd, 0);
		break;
	}
	case RD_HEAP: {
		struct dma_heap_allocation_data a = {
			.len = size,
			.fd_flags = O_RDWR | O_CLOEXEC,
		};

		b->dev = open(RD_HEAP_DEV, O_RDWR | O_CLOEXEC);
		if (b->dev < 0)
			return -ENODEV;
		if (ioctl(b->dev, DMA_HEAP_IOCTL_ALLOC, &a)) {
			TH_LOG("DMA_HEAP_IOCTL_ALLOC: %s", strerror(errno));
			return -errno;
		}
		b->fd = a.fd;
		b->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			      b->fd, 0);
		break;
	}
	case RD_TEST: {
		struct rxe_test_dmabuf_create c = {
			.size = size,
			.flags = flags,
		};

		b->dev = open(RXE_TEST_DMABUF_DEV, O_RDWR | O_CLOEXEC);
		if (b->dev < 0)
			return -ENODEV;
		if (ioctl(b->dev, RXE_TEST_DMABUF_IOCTL_CREATE, &c)) {
			TH_LOG("RXE_TEST_DMABUF_IOCTL_CREATE: %s",
			       strerror(errno));
			return -errno;
		}
		b->fd = c.fd;
		return 0;
	}
	}
	if (b->map == MAP_FAILED) {
		TH_LOG("mmap of the %s buffer: %s", rd_kind_name[kind],
		       strerror(errno));
		return -errno;
	}
	return 0;
}

static int rd_sync(struct rd_buf *b, __u64 flags)
{
	struct dma_buf_sync s = { .flags = flags | DMA_BUF_SYNC_RW };

	return ioctl(b->fd, DMA_BUF_IOCTL_SYNC, &s);
}

/* Copy @len bytes at @off of @b's storage to (@put false) or from @p. */
static void rd_cpu(struct __test_metadata *_metadata, struct rd_buf *b,
		   size_t off, size_t len, void *p, bool put)
{
	ASSERT_LE(off + len, b->size);
	if (b->kind == RD_TEST) {
		struct rxe_test_dmabuf_rw rw = {
			.fd = b->fd,
			.offset = off,
			.len = len,
			.uptr = (uintptr_t)p,
		};

		ASSERT_EQ(0, ioctl(b->dev, put ? RXE_TEST_DMABUF_IOCTL_WRITE :
				   RXE_TEST_DMABUF_IOCTL_READ, &rw))
			TH_LOG("test exporter %s: %s", put ? "WRITE" : "READ",
			       strerror(errno));
		return;
	}
	ASSERT_NE(MAP_FAILED, b->map) TH_LOG("no CPU view any more");
	ASSERT_EQ(0, rd_sync(b, DMA_BUF_SYNC_START))
		TH_LOG("DMA_BUF_IOCTL_SYNC start: %s", strerror(errno));
	if (put)
		memcpy(b->map + off, p, len);
	else
		memcpy(p, b->map + off, len);
	ASSERT_EQ(0, rd_sync(b, DMA_BUF_SYNC_END))
		TH_LOG("DMA_BUF_IOCTL_SYNC end: %s", strerror(errno));
}

/* Set the whole buffer to the sentinel, then [@off, +@len) to @seed. */
static void rd_cpu_fill(struct __test_metadata *_metadata, struct rd_buf *b,
			size_t off, size_t len, __u32 seed)
{
	__u8 *tmp = malloc(b->size);

	ASSERT_NE(NULL, tmp);
	rv_sentinel(tmp, b->size);
	rv_fill(tmp + off, len, seed, 0);
	rd_cpu(_metadata, b, 0, b->size, tmp, true);
	free(tmp);
}

/*
 * The CPU view holds pattern @seed in [@off, +@len) and the sentinel
 * everywhere else.
 */
static bool rd_cpu_check(struct __test_metadata *_metadata, struct rd_buf *b,
			 size_t off, size_t len, __u32 seed)
{
	__u8 *tmp = malloc(b->size);
	bool ok;

	if (!tmp)
		return false;
	rd_cpu(_metadata, b, 0, b->size, tmp, false);
	ok = rv_check(_metadata, tmp, b->size, off, len, seed, 0);
	free(tmp);
	return ok;
}

/* The CPU view outside [@off, +@len) is the sentinel. */
static bool rd_cpu_untouched(struct __test_metadata *_metadata,
			     struct rd_buf *b, size_t off, size_t len)
{
	__u8 *tmp = malloc(b->size);
	bool ok;

	if (!tmp)
		return false;
	rd_cpu(_metadata, b, 0, b->size, tmp, false);
	ok = rv_check_sentinel(_metadata, tmp, b->size, off, len);
	free(tmp);
	return ok;
}

/* The CPU view of [@off, +@len) holds pattern @seed (the rest unchecked). */
static bool rd_cpu_has(struct __test_metadata *_metadata, struct rd_buf *b,
		       size_t off, size_t len, __u32 seed)
{
	__u8 *tmp = malloc(len);
	bool ok;

	if (!tmp)
		return false;
	rd_cpu(_metadata, b, off, len, tmp, false);
	ok = rv_check_data(_metadata, tmp, 0, len, seed, 0);
	free(tmp);
	return ok;
}

static int rd_info(struct rd_buf *b, struct rxe_test_dmabuf_info *info)
{
	memset(info, 0, sizeof(*info));
	info->fd = b->fd;
	return ioctl(b->dev, RXE_TEST_DMABUF_IOCTL_INFO, info) ? errno : 0;
}

/* MOVE or REVOKE (@req) of a test-exporter buffer: 0 or its errno. */
static int rd_test_op(struct rd_buf *b, unsigned long req,
		      struct rxe_test_dmabuf_info *info)
{
	memset(info, 0, sizeof(*info));
	info->fd = b->fd;
	return ioctl(b->dev, req, info) ? errno : 0;
}

/* ----------------------------------------------------------------------
 * Work requests on raw keys and addresses
 */

static int rd_rdma(struct rv_qp *q, enum ibv_wr_opcode op, __u32 lkey,
		   __u64 laddr, size_t len, __u32 rkey, __u64 raddr)
{
	struct ibv_sge sge = { .addr = laddr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.wr.rdma.remote_addr = raddr,
		.wr.rdma.rkey = rkey,
	};

	return rv_post_wait(q, &wr, op == IBV_WR_RDMA_READ ?
			    IBV_WC_RDMA_READ : IBV_WC_RDMA_WRITE);
}

static int rd_atomic(struct rv_qp *q, enum ibv_wr_opcode op, __u32 lkey,
		     __u64 laddr, __u32 rkey, __u64 raddr, __u64 cmp_add,
		     __u64 swap)
{
	struct ibv_sge sge = { .addr = laddr, .length = 8, .lkey = lkey };
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.wr.atomic.remote_addr = raddr,
		.wr.atomic.compare_add = cmp_add,
		.wr.atomic.swap = swap,
		.wr.atomic.rkey = rkey,
	};

	return rv_post_wait(q, &wr, op == IBV_WR_ATOMIC_FETCH_AND_ADD ?
			    IBV_WC_FETCH_ADD : IBV_WC_COMP_SWAP);
}

/* SEND @len bytes from (@slkey, @saddr) on @s into (@rlkey, @raddr) on @r. */
static int rd_send(struct rv_qp *s, __u32 slkey, __u64 saddr, size_t len,
		   struct rv_qp *r, __u32 rlkey, __u64 raddr)
{
	struct ibv_sge ssge = { .addr = saddr, .length = len, .lkey = slkey };
	struct ibv_sge rsge = { .addr = raddr, .length = len, .lkey = rlkey };
	struct ibv_send_wr wr = {
		.sg_list = &ssge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
	};
	struct ibv_recv_wr rwr = {
		.wr_id = ++r->wr_id,
		.sg_list = &rsge,
		.num_sge = 1,
	};
	struct ibv_recv_wr *bad;
	struct ibv_wc wc;
	int ret;

	ret = ibv_post_recv(r->qp, &rwr, &bad);
	if (ret)
		return -ret;
	ret = rv_post_wait(s, &wr, IBV_WC_SEND);
	if (ret)
		return ret;
	ret = rv_wait(r, r->wr_id, IBV_WC_RECV, &wc);
	if (!ret && wc.byte_len != len)
		ret = -EPROTO;
	return ret;
}

/* ----------------------------------------------------------------------
 * The environment of a test: a QP pair, pinned staging buffers, one dma-buf
 */

struct rd_env {
	struct rv_loop l;
	struct rv_qp a, b;
	size_t page;
	int kmsg;
	int dmabufs;		/* dma-bufs in the system at the start */
	int param;		/* dmabuf_move_notify to restore, or -1 */
	__u8 *src, *snk;	/* pinned: a WRITE's source, a READ's sink */
	struct ibv_mr *src_mr, *snk_mr;
	struct rd_buf buf;
	struct ibv_mr *mr;	/* over buf, or NULL */
	__u64 moff;		/* mr's offset in buf */
	__u64 iova;
};

/* Set dmabuf_move_notify to @val for this test; teardown restores it. */
static void rd_param_push(struct __test_metadata *_metadata, int *saved,
			  int val)
{
	int old = rd_param_get();

	ASSERT_LE(0, old) TH_LOG("%s: %s: rdma_rxe has no dma-buf support",
				 RD_PARAM, strerror(-old));
	if (*saved < 0)
		*saved = old;
	ASSERT_EQ(0, rd_param_set(val)) TH_LOG("writing %d to %s", val,
					       RD_PARAM);
	ASSERT_EQ(val, rd_param_get());
}

/* The device and the log, nothing else: the setup of every fixture. */
static int rd_env_init(struct __test_metadata *_metadata, struct rd_env *e)
{
	int ret;

	memset(e, 0, sizeof(*e));
	e->param = -1;
	e->kmsg = rv_kmsg_open();
	e->page = sysconf(_SC_PAGESIZE);
	e->dmabufs = rd_dmabuf_count();
	rd_buf_init(&e->buf);
	ret = rv_loop_open(&e->l, NULL);
	if (ret == -ENODEV)
		return ret;
	ASSERT_EQ(0, ret) TH_LOG("opening the device: %s", strerror(-ret));
	return 0;
}

/*
 * Everything: QPs, staging, dmabuf_move_notify @param (unless -1) and a
 * buffer of exporter @kind.  0, or -ENODEV when the device or the
 * exporter is not there (the caller skips; rd_env_skip() says why).
 */
static int rd_env_open(struct __test_metadata *_metadata, struct rd_env *e,
		       enum rd_kind kind, __u32 flags, int param)
{
	int ret = rd_env_init(_metadata, e);

	if (ret)
		return ret;
	ret = rv_pair_create(&e->l, &e->a, &e->b);
	ASSERT_EQ(0, ret) TH_LOG("QP pair: %s", strerror(-ret));
	e->src = mmap(NULL, RD_STAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	e->snk = mmap(NULL, RD_STAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e->src);
	ASSERT_NE(MAP_FAILED, e->snk);
	e->src_mr = rv_reg(&e->l, e->src, RD_STAGE, false);
	e->snk_mr = rv_reg(&e->l, e->snk, RD_STAGE, false);
	ASSERT_NE(NULL, e->src_mr);
	ASSERT_NE(NULL, e->snk_mr);
	if (param >= 0)
		rd_param_push(_metadata, &e->param, param);
	ret = rd_buf_create(_metadata, &e->buf, kind, flags,
			    RD_PAGES * e->page);
	if (ret == -ENODEV)
		return ret;
	ASSERT_EQ(0, ret) TH_LOG("creating the %s buffer",
				 rd_kind_name[kind]);
	return 0;
}

/* Why rd_env_open() said -ENODEV. */
static const char *rd_env_skip(struct rd_env *e)
{
	if (!e->l.ctx)
		return "RDMA device not found (set RXE_DEV)";
	switch (e->buf.kind) {
	case RD_VGEM:
		return "no vgem card node (modprobe vgem)";
	case RD_UDMABUF:
		return "no " RD_UDMABUF_DEV " (CONFIG_UDMABUF)";
	case RD_HEAP:
		return "no " RD_HEAP_DEV " (CONFIG_DMABUF_HEAPS_SYSTEM)";
	default:
		return "no " RXE_TEST_DMABUF_DEV
		       " (insmod build/tests/kmod/rxe_test_dmabuf.ko)";
	}
}

static void rd_env_close(struct rd_env *e)
{
	if (e->mr)
		ibv_dereg_mr(e->mr);
	e->mr = NULL;
	rd_buf_destroy(&e->buf);
	rv_pair_destroy(&e->a, &e->b);
	if (e->src_mr)
		ibv_dereg_mr(e->src_mr);
	if (e->snk_mr)
		ibv_dereg_mr(e->snk_mr);
	if (e->src && e->src != MAP_FAILED)
		munmap(e->src, RD_STAGE);
	if (e->snk && e->snk != MAP_FAILED)
		munmap(e->snk, RD_STAGE);
	rv_loop_close(&e->l);
	if (e->param >= 0)
		rd_param_set(e->param);
	if (e->kmsg >= 0)
		close(e->kmsg);
}

/*
 * Fixture xfer: one buffer of each exporter, the test exporter's in its
 * three modes (static: pinned by vmap; dynamic with dmabuf_move_notify 0:
 * pinned; dynamic with 1: attached dynamically).
 */
FIXTURE(xfer) {
	struct rd_env e;
};

FIXTURE_VARIANT(xfer) {
	enum rd_kind kind;
	__u32 flags;
	int param;		/* dmabuf_move_notify to set, or -1 */
};

FIXTURE_VARIANT_ADD(xfer, vgem) {
	.kind = RD_VGEM,
	.param = -1,
};

FIXTURE_VARIANT_ADD(xfer, udmabuf) {
	.kind = RD_UDMABUF,
	.param = -1,
};

FIXTURE_VARIANT_ADD(xfer, heap) {
	.kind = RD_HEAP,
	.param = -1,
};

FIXTURE_VARIANT_ADD(xfer, test_static) {
	.kind = RD_TEST,
	.param = -1,
};

FIXTURE_VARIANT_ADD(xfer, test_dyn_pinned) {
	.kind = RD_TEST,
	.flags = RXE_TEST_DMABUF_DYNAMIC,
	.param = 0,
};

FIXTURE_VARIANT_ADD(xfer, test_dyn_moving) {
	.kind = RD_TEST,
	.flags = RXE_TEST_DMABUF_DYNAMIC,
	.param = 1,
};

FIXTURE_SETUP(xfer)
{
	if (rd_env_open(_metadata, &self->e, variant->kind, variant->flags,
			variant->param))
		SKIP(return, "%s", rd_env_skip(&self->e));
}

FIXTURE_TEARDOWN(xfer)
{
	rd_env_close(&self->e);
}

/* Fixture texp: the test exporter's three modes, for INFO and REVOKE. */
FIXTURE(texp) {
	struct rd_env e;
};

FIXTURE_VARIANT(texp) {
	__u32 flags;
	int param;
};

FIXTURE_VARIANT_ADD(texp, static) {
	.param = -1,
};

FIXTURE_VARIANT_ADD(texp, dyn_pinned) {
	.flags = RXE_TEST_DMABUF_DYNAMIC,
	.param = 0,
};

FIXTURE_VARIANT_ADD(texp, dyn_moving) {
	.flags = RXE_TEST_DMABUF_DYNAMIC,
	.param = 1,
};

FIXTURE_SETUP(texp)
{
	if (rd_env_open(_metadata, &self->e, RD_TEST, variant->flags,
			variant->param))
		SKIP(return, "%s", rd_env_skip(&self->e));
}

FIXTURE_TEARDOWN(texp)
{
	rd_env_close(&self->e);
}

/* Fixture moving: a dynamic test-exporter buffer, dmabuf_move_notify 1. */
FIXTURE(moving) {
	struct rd_env e;
};

FIXTURE_SETUP(moving)
{
	if (rd_env_open(_metadata, &self->e, RD_TEST,
			RXE_TEST_DMABUF_DYNAMIC, 1))
		SKIP(return, "%s", rd_env_skip(&self->e));
}

FIXTURE_TEARDOWN(moving)
{
	rd_env_close(&self->e);
}

/* Fixture reg: the device and a PD only. */
FIXTURE(reg) {
	struct rd_env e;
};

FIXTURE_SETUP(reg)
{
	if (rd_env_init(_metadata, &self->e))
		SKIP(return, "%s", rd_env_skip(&self->e));
}

FIXTURE_TEARDOWN(reg)
{
	rd_env_close(&self->e);
}

/* Register e->mr over [@off, +@len) of the buffer at @iova, or fail. */
static void rd_reg_self(struct __test_metadata *_metadata,
			struct rd_env *e, __u64 off, size_t len,
			__u64 iova)
{
	e->mr = rd_reg(e->l.pd, off, len, iova, e->buf.fd, RV_ACCESS_ALL);
	if (!e->mr && errno == EOPNOTSUPP)
		ASSERT_NE(NULL, e->mr) TH_LOG(RD_NO_DMABUF_MR);
	ASSERT_NE(NULL, e->mr)
		TH_LOG("registering %zu bytes at offset %llu of a %s buffer, iova 0x%llx: %s",
		       len, (unsigned long long)off,
		       rd_kind_name[e->buf.kind], (unsigned long long)iova,
		       strerror(errno));
	if (rd_cmd_regs == 1)
		TH_LOG("no reg_dmabuf_mr in the rxe provider: %s",
		       "registering with ibv_cmd_reg_dmabuf_mr()");
	e->moff = off;
	e->iova = iova;
	ASSERT_EQ(len, e->mr->length);
}

static void rd_dereg_self(struct __test_metadata *_metadata,
			  struct rd_env *e)
{
	int ret = ibv_dereg_mr(e->mr);

	e->mr = NULL;
	ASSERT_EQ(0, ret) TH_LOG("ibv_dereg_mr: %s", rd_errname(ret));
}

/* Log a helper's status and check it; an error replaces the QPs. */
static void rd_expect(struct __test_metadata *_metadata,
		      struct rd_env *e, const char *what, int got,
		      int want)
{
	TH_LOG("%-52s %-22s (want %s)", what, rv_status_str(got),
	       rv_status_str(want));
	EXPECT_EQ(want, got) TH_LOG("%s: %s, want %s", what,
				    rv_status_str(got), rv_status_str(want));
	if (got != IBV_WC_SUCCESS)
		ASSERT_EQ(0, rv_pair_reset(&e->l, &e->a, &e->b));
}

/* The end of every test: MR and buffer gone, count back, log quiet. */
static void rd_end(struct __test_metadata *_metadata,
		   struct rd_env *e)
{
	int n;

	if (e->mr)
		rd_dereg_self(_metadata, e);
	rd_buf_destroy(&e->buf);
	n = rd_dmabuf_settle(e->dmabufs);
	if (e->dmabufs >= 0)
		EXPECT_EQ(e->dmabufs, n)
			TH_LOG("dma-bufs: %d at the start, %d at the end",
			       e->dmabufs, n);
	if (e->dmabufs >= 0 && n != e->dmabufs)
		rd_dmabuf_dump(_metadata);
	EXPECT_EQ(0, rv_kmsg_complaints(_metadata, e->kmsg))
		TH_LOG("the kernel complained during the test");
}

/* Local (iova) address of MR-relative position @pos. */
#define RD_VA(e, pos)	((e)->iova + (pos))
/* Offset in the buffer of MR-relative position @pos. */
#define RD_BO(e, pos)	((e)->moff + (pos))

/*
 * One range [@pos, +@len) of the MR through every data path; every result
 * is compared with the exporter's CPU view or the pinned staging buffer.
 */
static void rd_paths_range(struct __test_metadata *_metadata,
			   struct rd_env *e, size_t pos, size_t len,
			   __u32 seed)
{
	struct rd_buf *b = &e->buf;
	__u32 lkey = e->mr->lkey, rkey = e->mr->rkey;
	char what[96];

	/* Remote WRITE target. */
	rd_cpu_fill(_metadata, b, 0, 0, 0);
	rv_fill(e->src, len, seed, 0);
	snprintf(what, sizeof(what), "WRITE into the MR, %zu+%zu", pos, len);
	rd_expect(_metadata, e, what,
		  rd_rdma(&e->a, IBV_WR_RDMA_WRITE, e->src_mr->lkey,
			  (uintptr_t)e->src, len, rkey, RD_VA(e, pos)),
		  IBV_WC_SUCCESS);
	ASSERT_TRUE(rd_cpu_check(_metadata, b, RD_BO(e, pos), len, seed));

	/* Remote READ source. */
	rd_cpu_fill(_metadata, b, RD_BO(e, pos), len, seed + 1);
	rv_sentinel(e->snk, len + 64);
	snprintf(what, sizeof(what), "READ from the MR, %zu+%zu", pos, len);
	rd_expect(_metadata, e, what,
		  rd_rdma(&e->a, IBV_WR_RDMA_READ, e->snk_mr->lkey,
			  (uintptr_t)e->snk, len, rkey, RD_VA(e, pos)),
		  IBV_WC_SUCCESS);
	ASSERT_TRUE(rv_check(_metadata, e->snk, len + 64, 0, len,
			     seed + 1, 0));

	/* Local WRITE source. */
	rd_cpu_fill(_metadata, b, RD_BO(e, pos), len, seed + 2);
	rv_sentinel(e->snk, len + 64);
	snprintf(what, sizeof(what), "WRITE from the MR (lkey), %zu+%zu", pos,
		 len);
	rd_expect(_metadata, e, what,
		  rd_rdma(&e->a, IBV_WR_RDMA_WRITE, lkey, RD_VA(e, pos),
			  len, e->snk_mr->rkey, (uintptr_t)e->snk),
		  IBV_WC_SUCCESS);
	ASSERT_TRUE(rv_check(_metadata, e->snk, len + 64, 0, len,
			     seed + 2, 0));

	/* Local READ target. */
	rd_cpu_fill(_metadata, b, 0, 0, 0);
	rv_fill(e->src, len, seed + 3, 0);
	snprintf(what, sizeof(what), "READ into the MR (lkey), %zu+%zu", pos,
		 len);
	rd_expect(_metadata, e, what,
		  rd_rdma(&e->a, IBV_WR_RDMA_READ, lkey, RD_VA(e, pos),
			  len, e->src_mr->rkey, (uintptr_t)e->src),
		  IBV_WC_SUCCESS);
	ASSERT_TRUE(rd_cpu_check(_metadata, b, RD_BO(e, pos), len,
				 seed + 3));

	/* SEND from the MR. */
	rd_cpu_fill(_metadata, b, RD_BO(e, pos), len, seed + 4);
	rv_sentinel(e->snk, len + 64);
	snprintf(what, sizeof(what), "SEND from the MR, %zu+%zu", pos, len);
	rd_expect(_metadata, e, what,
		  rd_send(&e->a, lkey, RD_VA(e, pos), len, &e->b,
			  e->snk_mr->lkey, (uintptr_t)e->snk),
		  IBV_WC_SUCCESS);
	ASSERT_TRUE(rv_check(_metadata, e->snk, len + 64, 0, len,
			     seed + 4, 0));

	/* RECV into the MR. */
	rd_cpu_fill(_metadata, b, 0, 0, 0);
	rv_fill(e->src, len, seed + 5, 0);
	snprintf(what, sizeof(what), "RECV into the MR, %zu+%zu", pos, len);
	rd_expect(_metadata, e, what,
		  rd_send(&e->a, e->src_mr->lkey, (uintptr_t)e->src,
			  len, &e->b, lkey, RD_VA(e, pos)),
		  IBV_WC_SUCCESS);
	ASSERT_TRUE(rd_cpu_check(_metadata, b, RD_BO(e, pos), len,
				 seed + 5));
}

/*
 * Atomics on the 8-byte word at MR position @pos (iova 8-aligned): FETCH_ADD
 * and CMP_SWAP with the MR as the remote target, the old value landing in
 * the pinned sink, and once with the MR as the local result buffer too.
 */
static void rd_paths_atomic(struct __test_metadata *_metadata,
			    struct rd_env *e, size_t pos)
{
	struct rd_buf *b = &e->buf;
	__u64 v0 = 0x0102030405060708ULL, v, old;
	__u32 rkey = e->mr->rkey;
	size_t bo = RD_BO(e, pos);

	ASSERT_EQ(0U, RD_VA(e, pos) % 8);
	rd_cpu_fill(_metadata, b, 0, 0, 0);
	rd_cpu(_metadata, b, bo, 8, &v0, true);
	rd_expect(_metadata, e, "FETCH_ADD on the MR",
		  rd_atomic(&e->a, IBV_WR_ATOMIC_FETCH_AND_ADD,
			    e->snk_mr->lkey, (uintptr_t)e->snk, rkey,
			    RD_VA(e, pos), 0x1111, 0), IBV_WC_SUCCESS);
	memcpy(&old, e->snk, 8);
	rd_cpu(_metadata, b, bo, 8, &v, false);
	EXPECT_EQ(v0, old);
	EXPECT_EQ(v0 + 0x1111, v);

	rd_expect(_metadata, e, "CMP_SWAP on the MR (matching)",
		  rd_atomic(&e->a, IBV_WR_ATOMIC_CMP_AND_SWP,
			    e->snk_mr->lkey, (uintptr_t)e->snk, rkey,
			    RD_VA(e, pos), v0 + 0x1111, 42), IBV_WC_SUCCESS);
	memcpy(&old, e->snk, 8);
	rd_cpu(_metadata, b, bo, 8, &v, false);
	EXPECT_EQ(v0 + 0x1111, old);
	EXPECT_EQ(42ULL, v);

	rd_expect(_metadata, e, "CMP_SWAP on the MR (not matching)",
		  rd_atomic(&e->a, IBV_WR_ATOMIC_CMP_AND_SWP,
			    e->snk_mr->lkey, (uintptr_t)e->snk, rkey,
			    RD_VA(e, pos), 41, 7), IBV_WC_SUCCESS);
	memcpy(&old, e->snk, 8);
	rd_cpu(_metadata, b, bo, 8, &v, false);
	EXPECT_EQ(42ULL, old);
	EXPECT_EQ(42ULL, v);

	/* The MR as the local result of an atomic on the pinned sink. */
	v = 1000;
	memcpy(e->snk + 64, &v, 8);
	rd_expect(_metadata, e, "FETCH_ADD with its result into the MR",
		  rd_atomic(&e->a, IBV_WR_ATOMIC_FETCH_AND_ADD,
			    e->mr->lkey, RD_VA(e, pos),
			    e->snk_mr->rkey, (uintptr_t)e->snk + 64, 5,
			    0), IBV_WC_SUCCESS);
	rd_cpu(_metadata, b, bo, 8, &v, false);
	EXPECT_EQ(1000ULL, v);
	memcpy(&v, e->snk + 64, 8);
	EXPECT_EQ(1005ULL, v);
	/* Nothing but the word changed. */
	EXPECT_TRUE(rd_cpu_untouched(_metadata, b, bo, 8));
}

/*
 * Every data path, local and remote, over two MRs of the buffer: the
 * whole of it (offset 0, page-aligned iova) and [page + 520, +10 pages +
 * 1234) at an iova with the same page offset.  Ranges: the first byte, a
 * multi-page range starting mid-page, the tail ending at the MR's end.
 * Accesses one byte outside either MR end fail (REM_ACCESS_ERR) and write
 * nothing.
 */
TEST_F_TIMEOUT(xfer, paths, 300)
{
	struct rd_env *e = &self->e;
	size_t p = e->page;
	const struct {
		__u64 off;
		size_t len;
		__u64 iova;
	} geo[] = {
		{ 0, RD_PAGES * p, 0x10000000ULL },
		{ p + 520, 10 * p + 1234, 0x7f0000000000ULL + 520 },
	};
	unsigned int g;

	for (g = 0; g < ARRAY_SIZE(geo); g++) {
		size_t len = geo[g].len;
		const size_t rng[][2] = {
			{ 0, 1 },
			{ p / 2 + 3, 2 * p + 1500 },
			{ len - 3001, 3001 },
		};
		unsigned int r;
		__u64 at;

		TH_LOG("MR: %s buffer offset %llu length %zu iova 0x%llx",
		       rd_kind_name[e->buf.kind],
		       (unsigned long long)geo[g].off, len,
		       (unsigned long long)geo[g].iova);
		rd_reg_self(_metadata, e, geo[g].off, len, geo[g].iova);
		for (r = 0; r < ARRAY_SIZE(rng); r++)
			rd_paths_range(_metadata, e, rng[r][0], rng[r][1],
				       100 + 10 * r + 40 * g);
		/* A word on the second page of the MR. */
		at = ((geo[g].iova + p + 64) & ~7ULL) - geo[g].iova;
		rd_paths_atomic(_metadata, e, at);

		/* One byte outside either end. */
		rd_cpu_fill(_metadata, &e->buf, 0, 0, 0);
		rv_fill(e->src, 64, 9, 0);
		rd_expect(_metadata, e, "WRITE one byte past the MR's end",
			  rd_rdma(&e->a, IBV_WR_RDMA_WRITE,
				  e->src_mr->lkey, (uintptr_t)e->src, 2,
				  e->mr->rkey, RD_VA(e, len - 1)),
			  IBV_WC_REM_ACCESS_ERR);
		rd_expect(_metadata, e, "READ one byte before the MR's start",
			  rd_rdma(&e->a, IBV_WR_RDMA_READ,
				  e->snk_mr->lkey, (uintptr_t)e->snk, 2,
				  e->mr->rkey, RD_VA(e, 0) - 1),
			  IBV_WC_REM_ACCESS_ERR);
		ASSERT_TRUE(rd_cpu_check(_metadata, &e->buf, 0, 0, 0));
		rd_dereg_self(_metadata, e);
	}
	rd_end(_metadata, e);
}

/*
 * Bad registrations of a good buffer, each with the errno of whoever
 * refuses it: the core (uverbs) checks that offset and iova have the same
 * page offset, refuses access flags other than LOCAL_WRITE, REMOTE_*,
 * RELAXED_ORDERING (so IBV_ACCESS_ON_DEMAND) and REMOTE_WRITE without
 * LOCAL_WRITE, all EINVAL; a range past the buffer and length 0 are EINVAL
 * from the driver (as ib_umem_dmabuf_get() answers).
 */
TEST_F(xfer, bad_ranges)
{
	struct rd_env *e = &self->e;
	size_t p = e->page, size = RD_PAGES * p;
	const struct {
		const char *what;
		__u64 off;
		size_t len;
		__u64 iova;
		int access;
		int want;
	} cases[] = {
		{ "the whole buffer (reference)", 0, size, 0x10000, RD_ACCESS_RW,
		  0 },
		{ "offset + length one byte past the end", 1, size, 0x10001,
		  RD_ACCESS_RW, EINVAL },
		{ "offset + length one page past the end", p, size, 0x10000,
		  RD_ACCESS_RW, EINVAL },
		{ "offset past the end", size + p, p, 0x10000, RD_ACCESS_RW,
		  EINVAL },
		{ "offset + length wrapping 2^64", p, (size_t)0 - p / 2,
		  0x10000, RD_ACCESS_RW, EINVAL },
		{ "length 0", 0, 0, 0x10000, RD_ACCESS_RW, EINVAL },
		{ "offset and iova in different page offsets", 8, p, 0x10010,
		  RD_ACCESS_RW, EINVAL },
		{ "IBV_ACCESS_ON_DEMAND", 0, size, 0x10000,
		  RD_ACCESS_RW | IBV_ACCESS_ON_DEMAND, EINVAL },
		{ "REMOTE_WRITE without LOCAL_WRITE", 0, size, 0x10000,
		  IBV_ACCESS_REMOTE_WRITE, EINVAL },
		{ "the last byte only", size - 1, 1, 0x20000 + p - 1,
		  RD_ACCESS_RW, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = rd_try_reg(e->l.pd, cases[i].off, cases[i].len,
				     cases[i].iova, e->buf.fd,
				     cases[i].access);

		TH_LOG("%-44s %-10s (want %s)", cases[i].what,
		       rd_errname(err), rd_errname(cases[i].want));
		if (!cases[i].want && err == EOPNOTSUPP)
			EXPECT_EQ(0, err) TH_LOG(RD_NO_DMABUF_MR);
		EXPECT_EQ(cases[i].want, err) TH_LOG("%s", cases[i].what);
	}
	rd_end(_metadata, e);
}

/*
 * The dma-buf fd closed, and the exporter's own object with it (the vgem
 * GEM handle, the udmabuf memfd, every mapping), while the MR lives: the
 * MR holds the dma-buf, so the buffer stays (one more dma-buf than at the
 * start) and traffic goes on, checked by WRITE and READ back; after the
 * dereg the buffer is freed.
 */
TEST_F(xfer, fd_closed)
{
	struct rd_env *e = &self->e;
	size_t p = e->page, len = 5 * p + 77;
	int i, n;

	rd_reg_self(_metadata, e, p, 8 * p, 0x40000000ULL);
	rd_expect(_metadata, e, "WRITE before the close",
		  rd_rdma(&e->a, IBV_WR_RDMA_WRITE, e->src_mr->lkey,
			  (uintptr_t)e->src, 100, e->mr->rkey,
			  RD_VA(e, 0)), IBV_WC_SUCCESS);
	n = rd_dmabuf_count();
	TH_LOG("dma-bufs: %d at the start, %d with the buffer open",
	       e->dmabufs, n);
	rd_buf_drop_exporter(&e->buf);
	close(e->buf.fd);
	e->buf.fd = -1;
	close(e->buf.dev);
	e->buf.dev = -1;
	n = rd_dmabuf_count();
	if (e->dmabufs >= 0)
		EXPECT_EQ(e->dmabufs + 1, n)
			TH_LOG("dma-bufs with only the MR holding one: %d, want %d",
			       n, e->dmabufs + 1);
	if (n != e->dmabufs + 1)
		rd_dmabuf_dump(_metadata);
	for (i = 0; i < 3; i++) {
		size_t pos = 13 + i * p;

		rv_fill(e->src, len, 200 + i, 0);
		rd_expect(_metadata, e, "WRITE after the close",
			  rd_rdma(&e->a, IBV_WR_RDMA_WRITE,
				  e->src_mr->lkey, (uintptr_t)e->src,
				  len, e->mr->rkey, RD_VA(e, pos)),
			  IBV_WC_SUCCESS);
		rv_sentinel(e->snk, len + 64);
		rd_expect(_metadata, e, "READ it back",
			  rd_rdma(&e->a, IBV_WR_RDMA_READ,
				  e->snk_mr->lkey, (uintptr_t)e->snk,
				  len, e->mr->rkey, RD_VA(e, pos)),
			  IBV_WC_SUCCESS);
		ASSERT_TRUE(rv_check(_metadata, e->snk, len + 64, 0, len,
				     200 + i, 0));
		rv_sentinel(e->snk, len);
		rd_expect(_metadata, e, "SEND from it",
			  rd_send(&e->a, e->mr->lkey, RD_VA(e, pos),
				  len, &e->b, e->snk_mr->lkey,
				  (uintptr_t)e->snk), IBV_WC_SUCCESS);
		ASSERT_TRUE(rv_check_data(_metadata, e->snk, 0, len,
					  200 + i, 0));
	}
	rd_end(_metadata, e);
}

#define RD_FLIGHT	32

/*
 * ibv_dereg_mr() while RD_FLIGHT transfers that name the MR are queued and
 * running, remote (rkey) and local (lkey, WRITE source): the dereg
 * succeeds at once, every work request completes, in order: successes,
 * then one error (REM_ACCESS_ERR for the dead rkey, LOC_QP_OP_ERR for the
 * dead lkey of a WRITE's payload, as rxe answers for any dead key), then
 * flushes; what succeeded moved its data.
 */
TEST_F_TIMEOUT(xfer, dereg_in_flight, 180)
{
	struct rd_env *e = &self->e;
	size_t p = e->page, slot = p / 2, size = RD_PAGES * p;
	int remote;

	for (remote = 1; remote >= 0; remote--) {
		int st[RD_FLIGHT], i, ok, flushed = 0, ret;
		struct ibv_send_wr wr[RD_FLIGHT], *bad;
		struct ibv_sge sge[RD_FLIGHT];
		struct ibv_wc wc;
		int want = remote ? IBV_WC_REM_ACCESS_ERR :
			IBV_WC_LOC_QP_OP_ERR;

		ASSERT_LE(RD_FLIGHT * slot, size);
		rd_reg_self(_metadata, e, 0, size, 0x50000000ULL);
		if (remote) {
			rd_cpu_fill(_metadata, &e->buf, 0, 0, 0);
			rv_fill(e->src, RD_FLIGHT * slot, 300, 0);
		} else {
			rd_cpu_fill(_metadata, &e->buf, 0, RD_FLIGHT * slot,
				    300);
			rv_sentinel(e->snk, RD_FLIGHT * slot);
		}
		memset(wr, 0, sizeof(wr));
		for (i = 0; i < RD_FLIGHT; i++) {
			__u64 stage = (uintptr_t)(remote ? e->src :
						  e->snk) + i * slot;

			if (remote) {
				sge[i] = (struct ibv_sge) { stage, slot,
					e->src_mr->lkey };
				wr[i].wr.rdma.remote_addr =
					RD_VA(e, i * slot);
				wr[i].wr.rdma.rkey = e->mr->rkey;
			} else {
				sge[i] = (struct ibv_sge) {
					RD_VA(e, i * slot), slot,
					e->mr->lkey };
				wr[i].wr.rdma.remote_addr = stage;
				wr[i].wr.rdma.rkey = e->snk_mr->rkey;
			}
			wr[i].wr_id = i;
			wr[i].sg_list = &sge[i];
			wr[i].num_sge = 1;
			wr[i].opcode = IBV_WR_RDMA_WRITE;
			wr[i].send_flags = IBV_SEND_SIGNALED;
			wr[i].next = i + 1 < RD_FLIGHT ? &wr[i + 1] : NULL;
		}
		ASSERT_EQ(0, ibv_post_send(e->a.qp, wr, &bad));
		ret = ibv_dereg_mr(e->mr);
		e->mr = NULL;
		EXPECT_EQ(0, ret) TH_LOG("dereg in flight: %s",
					 rd_errname(ret));
		for (i = 0; i < RD_FLIGHT; i++) {
			ASSERT_EQ(0, rv_poll(&e->a, &wc))
				TH_LOG("completion %d of %d did not come", i,
				       RD_FLIGHT);
			ASSERT_EQ((__u64)i, wc.wr_id);
			st[i] = wc.status;
		}
		for (ok = 0; ok < RD_FLIGHT && st[ok] == IBV_WC_SUCCESS; ok++)
			;
		for (i = ok + 1; i < RD_FLIGHT; i++)
			flushed += st[i] == IBV_WC_WR_FLUSH_ERR;
		TH_LOG("%s WRITEs, dereg at once: %d of %d done, then %s, %d flushed",
		       remote ? "remote" : "local", ok, RD_FLIGHT,
		       ok < RD_FLIGHT ? ibv_wc_status_str(st[ok]) : "nothing",
		       flushed);
		if (ok < RD_FLIGHT) {
			EXPECT_EQ(want, st[ok]) TH_LOG("first error %s, want %s",
						       ibv_wc_status_str(st[ok]),
						       ibv_wc_status_str(want));
			EXPECT_EQ(RD_FLIGHT - ok - 1, flushed);
		}
		if (remote) {
			__u8 *tmp = malloc(size);

			ASSERT_NE(NULL, tmp);
			rd_cpu(_metadata, &e->buf, 0, size, tmp, false);
			EXPECT_TRUE(rv_check_data(_metadata, tmp, 0, ok * slot,
						  300, 0));
			free(tmp);
		} else {
			EXPECT_TRUE(rv_check_data(_metadata, e->snk, 0,
						  ok * slot, 300, 0));
		}
		ASSERT_EQ(0, rv_pair_reset(&e->l, &e->a, &e->b));
	}
	/* The buffer registers and works again. */
	rd_reg_self(_metadata, e, 0, size, 0x50000000ULL);
	rd_paths_range(_metadata, e, 100, 3 * p, 310);
	rd_end(_metadata, e);
}

/* ----------------------------------------------------------------------
 * The test exporter: pinning, moves, revocation
 */

static void rd_log_info(struct __test_metadata *_metadata, const char *when,
			const struct rxe_test_dmabuf_info *i)
{
	TH_LOG("%-36s moves %llu pins %u attachments %u vmaps %u revoked %u",
	       when, (unsigned long long)i->moves, i->pins, i->attachments,
	       i->vmaps, i->revoked);
}

/* The test exporter's INFO for e->buf, logged. */
static void rd_info_log(struct __test_metadata *_metadata, struct rd_env *e,
			const char *when, struct rxe_test_dmabuf_info *info)
{
	ASSERT_EQ(0, rd_info(&e->buf, info));
	rd_log_info(_metadata, when, info);
}

/* Write @len bytes of @seed at MR position @pos and read them back. */
static void rd_roundtrip(struct __test_metadata *_metadata,
			 struct rd_env *e, size_t pos, size_t len,
			 __u32 seed)
{
	rv_fill(e->src, len, seed, 0);
	ASSERT_EQ(IBV_WC_SUCCESS,
		  rd_rdma(&e->a, IBV_WR_RDMA_WRITE, e->src_mr->lkey,
			  (uintptr_t)e->src, len, e->mr->rkey,
			  RD_VA(e, pos)));
	rv_sentinel(e->snk, len);
	ASSERT_EQ(IBV_WC_SUCCESS,
		  rd_rdma(&e->a, IBV_WR_RDMA_READ, e->snk_mr->lkey,
			  (uintptr_t)e->snk, len, e->mr->rkey,
			  RD_VA(e, pos)));
	ASSERT_TRUE(rv_check_data(_metadata, e->snk, 0, len, seed, 0));
}

/* A new pinned MR works: WRITE @seed into it and check. */
static void rd_fresh_mr(struct __test_metadata *_metadata, struct rd_env *e,
			__u32 seed)
{
	size_t p = e->page;
	struct ibv_mr *mr = rv_reg(&e->l, e->snk + p, p, false);

	ASSERT_NE(NULL, mr);
	rv_fill(e->src, 100, seed, 0);
	rd_expect(_metadata, e, "WRITE into a fresh MR",
		  rd_rdma(&e->a, IBV_WR_RDMA_WRITE, e->src_mr->lkey,
			  (uintptr_t)e->src, 100, mr->rkey,
			  (uintptr_t)e->snk + p), IBV_WC_SUCCESS);
	EXPECT_TRUE(rv_check_data(_metadata, e->snk, p, 100, seed, 0));
	ibv_dereg_mr(mr);
}

/*
 * How each test-exporter buffer is held by an MR.  Static: the MR holds a
 * vmap for its lifetime, MOVE is EBUSY (the vmap).  Dynamic with
 * dmabuf_move_notify 0: the MR pins the buffer (pins 1), MOVE is EBUSY.
 * Dynamic with 1: attached (attachments 1), never pinned (pins 0), MOVE
 * works.  After the dereg nothing is held and MOVE works in every mode.
 */
TEST_F(texp, exporter_state)
{
	struct rd_env *e = &self->e;
	struct rxe_test_dmabuf_info info;
	size_t p = e->page;
	bool dyn = e->buf.flags & RXE_TEST_DMABUF_DYNAMIC;
	bool moving = dyn && variant->param == 1;
	int err;

	rd_reg_self(_metadata, e, p, 4 * p, 0x60000000ULL);
	rd_info_log(_metadata, e, "registered", &info);
	rd_roundtrip(_metadata, e, 10, 2 * p, 400);
	rd_info_log(_metadata, e, "after a WRITE and a READ", &info);
	EXPECT_EQ(dyn && !moving ? 1U : 0U, info.pins);
	if (dyn)
		EXPECT_EQ(1U, info.attachments);
	if (!moving)
		EXPECT_EQ(1U, info.vmaps) TH_LOG("a pinned MR holds one vmap");
	err = rd_test_op(&e->buf, RXE_TEST_DMABUF_IOCTL_MOVE, &info);
	TH_LOG("%-44s %-10s (want %s)", "MOVE while the MR lives",
	       rd_errname(err), rd_errname(moving ? 0 : EBUSY));
	EXPECT_EQ(moving ? 0 : EBUSY, err);
	rd_roundtrip(_metadata, e, 10, 2 * p, 401);
	rd_dereg_self(_metadata, e);
	rd_info_log(_metadata, e, "after the dereg", &info);
	EXPECT_EQ(0U, info.pins);
	EXPECT_EQ(0U, info.attachments);
	EXPECT_EQ(0U, info.vmaps);
	if (dyn) {
		__u64 moves = info.moves;

		err = rd_test_op(&e->buf, RXE_TEST_DMABUF_IOCTL_MOVE,
				 &info);
		EXPECT_EQ(0, err) TH_LOG("MOVE after the dereg: %s",
					 rd_errname(err));
		EXPECT_EQ(moves + 1, info.moves);
	}
	rd_end(_metadata, e);
}

struct rd_mover {
	struct rd_buf *buf;
	bool stop;
	int moves, errors, last_err;
};

static void *rd_mover_run(void *arg)
{
	struct rd_mover *m = arg;
	struct rxe_test_dmabuf_info info;

	while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED)) {
		int err = rd_test_op(m->buf, RXE_TEST_DMABUF_IOCTL_MOVE, &info);

		if (err) {
			m->errors++;
			m->last_err = err;
		} else {
			m->moves++;
		}
		usleep(2000);
	}
	return NULL;
}

/*
 * A dynamically attached buffer (dmabuf_move_notify 1) moved by the
 * exporter: right after a MOVE the MR holds no vmap (vmaps 0) and the
 * data written before it reads back after it; the next access maps the
 * buffer again (vmaps 1), counted as a device page fault, and the move as
 * an invalidation (odp_invalidations).  Then moves from a second thread
 * while WRITE/READ/SEND round trips run on the MR: every byte checked,
 * every MOVE succeeds (the MR never keeps a mapping across a move).
 */
TEST_F_TIMEOUT(moving, move, 300)
{
	struct rd_env *e = &self->e;
	struct rxe_test_dmabuf_info info;
	long long inv0, inv1, flt0, flt1;
	size_t p = e->page, len = 3 * p + 100;
	struct rd_mover m = { .buf = &e->buf };
	struct timespec t0;
	pthread_t thr;
	int i, err;

	rd_reg_self(_metadata, e, 0, RD_PAGES * p, 0x70000000ULL);
	rd_roundtrip(_metadata, e, 5, len, 500);
	rd_info_log(_metadata, e, "after a round trip", &info);
	EXPECT_EQ(0U, info.pins);
	EXPECT_EQ(1U, info.attachments);
	ASSERT_LE(0, rd_counter(e->l.ctx, "odp_invalidations"))
		TH_LOG("no odp_invalidations counter");
	usleep(100 * 1000);	/* the core caches hw counters for ~10 ms */
	inv0 = rd_counter(e->l.ctx, "odp_invalidations");
	flt0 = rd_counter(e->l.ctx, "odp_page_faults");
	for (i = 0; i < 3; i++) {
		__u64 moves;

		rd_info_log(_metadata, e, "before MOVE", &info);
		moves = info.moves;
		err = rd_test_op(&e->buf, RXE_TEST_DMABUF_IOCTL_MOVE, &info);
		ASSERT_EQ(0, err) TH_LOG("MOVE: %s", rd_errname(err));
		EXPECT_EQ(moves + 1, info.moves);
		rd_info_log(_metadata, e, "right after MOVE", &info);
		EXPECT_EQ(0U, info.vmaps) TH_LOG("the MR kept its mapping");
		/* What was written before the move is there after it. */
		rv_sentinel(e->snk, len);
		ASSERT_EQ(IBV_WC_SUCCESS,
			  rd_rdma(&e->a, IBV_WR_RDMA_READ,
				  e->snk_mr->lkey, (uintptr_t)e->snk,
				  len, e->mr->rkey, RD_VA(e, 5)));
		ASSERT_TRUE(rv_check_data(_metadata, e->snk, 0, len,
					  500 + i, 0));
		rd_info_log(_metadata, e, "after the next access", &info);
		EXPECT_EQ(1U, info.vmaps) TH_LOG("the access did not map");
		rd_roundtrip(_metadata, e, 5, len, 501 + i);
	}
	usleep(100 * 1000);
	inv1 = rd_counter(e->l.ctx, "odp_invalidations");
	flt1 = rd_counter(e->l.ctx, "odp_page_faults");
	TH_LOG("3 moves: odp_invalidations %+lld, odp_page_faults %+lld",
	       inv1 - inv0, flt1 - flt0);
	EXPECT_LE(inv0 + 3, inv1) TH_LOG("moves not counted as invalidations");
	if (flt0 >= 0)
		EXPECT_LE(flt0 + 3, flt1)
			TH_LOG("accesses after a move not counted as faults");

	/* Moves under traffic. */
	ASSERT_EQ(0, pthread_create(&thr, NULL, rd_mover_run, &m));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 200 && rv_ms_since(&t0) < 10000; i++) {
		size_t pos = (i * 1237) % (RD_PAGES * p - len);

		rd_roundtrip(_metadata, e, pos, len, 600 + i);
		rv_sentinel(e->snk, len);
		ASSERT_EQ(IBV_WC_SUCCESS,
			  rd_send(&e->a, e->mr->lkey, RD_VA(e, pos),
				  len, &e->b, e->snk_mr->lkey,
				  (uintptr_t)e->snk));
		ASSERT_TRUE(rv_check_data(_metadata, e->snk, 0, len,
					  600 + i, 0));
		if (m.errors)
			break;
	}
	__atomic_store_n(&m.stop, true, __ATOMIC_RELAXED);
	pthread_join(thr, NULL);
	TH_LOG("%d round trips, %d moves under them, %d failed MOVEs (last %s)",
	       i, m.moves, m.errors, rd_errname(m.last_err));
	EXPECT_EQ(0, m.errors);
	EXPECT_LT(0, m.moves);
	/* The exporter's CPU view has the last data at the last place. */
	EXPECT_TRUE(rd_cpu_has(_metadata, &e->buf,
			       ((i - 1) * 1237) % (RD_PAGES * p - len), len,
			       600 + i - 1));
	rd_end(_metadata, e);
}

/*
 * REVOKE of a dynamically attached buffer while the MR lives: the storage
 * is gone, so every access through the MR fails with an error status and
 * nothing hangs: remote WRITE, READ and atomics IBV_WC_REM_ACCESS_ERR,
 * a local WRITE source and READ target IBV_WC_LOC_PROT_ERR.  The dereg
 * then works and leaves nothing attached.  With the buffer pinned
 * (dmabuf_move_notify 0, or a static buffer) REVOKE is EBUSY and the MR
 * keeps working.
 */
TEST_F(texp, revoke)
{
	struct rd_env *e = &self->e;
	struct rxe_test_dmabuf_info info;
	size_t p = e->page, len = 2 * p + 10;
	bool moving;
	int err;

	moving = (e->buf.flags & RXE_TEST_DMABUF_DYNAMIC) &&
		 variant->param == 1;
	rd_reg_self(_metadata, e, p, 8 * p, 0x80000000ULL + p);
	rd_roundtrip(_metadata, e, 1, len, 700);
	err = rd_test_op(&e->buf, RXE_TEST_DMABUF_IOCTL_REVOKE, &info);
	TH_LOG("%-44s %-10s (want %s)", "REVOKE while the MR lives",
	       rd_errname(err), rd_errname(moving ? 0 : EBUSY));
	ASSERT_EQ(moving ? 0 : EBUSY, err);
	rd_info_log(_metadata, e, "after REVOKE", &info);
	if (!moving) {
		rd_roundtrip(_metadata, e, 1, len, 701);
		goto dereg;
	}
	EXPECT_EQ(1U, info.revoked);
	EXPECT_EQ(0U, info.vmaps);
	rd_expect(_metadata, e, "WRITE into the revoked MR",
		  rd_rdma(&e->a, IBV_WR_RDMA_WRITE, e->src_mr->lkey,
			  (uintptr_t)e->src, len, e->mr->rkey,
			  RD_VA(e, 1)), IBV_WC_REM_ACCESS_ERR);
	rd_expect(_metadata, e, "READ from the revoked MR",
		  rd_rdma(&e->a, IBV_WR_RDMA_READ, e->snk_mr->lkey,
			  (uintptr_t)e->snk, len, e->mr->rkey,
			  RD_VA(e, 1)), IBV_WC_REM_ACCESS_ERR);
	rd_expect(_metadata, e, "FETCH_ADD on the revoked MR",
		  rd_atomic(&e->a, IBV_WR_ATOMIC_FETCH_AND_ADD,
			    e->snk_mr->lkey, (uintptr_t)e->snk,
			    e->mr->rkey, RD_VA(e, 8), 1, 0),
		  IBV_WC_REM_ACCESS_ERR);
	rd_expect(_metadata, e, "WRITE from the revoked MR (lkey)",
		  rd_rdma(&e->a, IBV_WR_RDMA_WRITE, e->mr->lkey,
			  RD_VA(e, 1), len, e->snk_mr->rkey,
			  (uintptr_t)e->snk), IBV_WC_LOC_PROT_ERR);
	rd_expect(_metadata, e, "READ into the revoked MR (lkey)",
		  rd_rdma(&e->a, IBV_WR_RDMA_READ, e->mr->lkey,
			  RD_VA(e, 1), len, e->src_mr->rkey,
			  (uintptr_t)e->src), IBV_WC_LOC_PROT_ERR);
	rd_info_log(_metadata, e, "after the failed accesses", &info);
	EXPECT_EQ(0U, info.vmaps) TH_LOG("the revoked buffer was mapped");
dereg:
	rd_dereg_self(_metadata, e);
	rd_info_log(_metadata, e, "after the dereg", &info);
	EXPECT_EQ(0U, info.attachments);
	EXPECT_EQ(0U, info.pins);
	EXPECT_EQ(0U, info.vmaps);
	/* The device works on. */
	rd_fresh_mr(_metadata, e, 702);
	rd_end(_metadata, e);
}

/* ----------------------------------------------------------------------
 * Registration of what is no usable dma-buf
 */

/*
 * Descriptors that are no dma-buf: dma_buf_get() says EBADF for one that
 * is not open (-1, a closed one) and EINVAL for a file of another kind (a
 * memfd, /dev/null, the RDMA device's own uverbs file).  The driver never
 * gets to register anything; the kernel log stays quiet.
 */
TEST_F(reg, not_dmabuf)
{
	struct rd_env *e = &self->e;
	size_t p = sysconf(_SC_PAGESIZE);
	int memfd = memfd_create("rxe_odp_dmabuf", MFD_CLOEXEC);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int closed = dup(null);
	const struct {
		const char *what;
		int fd;
		int want;
	} cases[] = {
		{ "fd -1", -1, EBADF },
		{ "a closed fd", closed, EBADF },
		{ "fd 1 << 30", 1 << 30, EBADF },
		{ "a memfd", memfd, EINVAL },
		{ "/dev/null", null, EINVAL },
		{ "the uverbs device file", e->l.ctx->cmd_fd, EINVAL },
	};
	unsigned int i;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 4 * p));
	ASSERT_LE(0, null);
	ASSERT_EQ(0, close(closed));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = rd_try_reg(e->l.pd, 0, p, 0, cases[i].fd,
				     RD_ACCESS_RW);

		TH_LOG("%-44s %-10s (want %s)", cases[i].what,
		       rd_errname(err), rd_errname(cases[i].want));
		EXPECT_EQ(cases[i].want, err) TH_LOG("%s", cases[i].what);
	}
	close(memfd);
	close(null);
	EXPECT_EQ(0, rv_kmsg_complaints(_metadata, e->kmsg));
}

/*
 * A test-exporter buffer without a vmap op gives the kernel no CPU access,
 * which rxe needs for every copy: EOPNOTSUPP at registration, static or
 * dynamic, with dmabuf_move_notify 0 and 1.  Nothing stays attached.
 */
TEST_F(reg, no_vmap)
{
	struct rd_env *e = &self->e;
	size_t p = sysconf(_SC_PAGESIZE);
	__u32 flags[] = {
		RXE_TEST_DMABUF_NO_VMAP,
		RXE_TEST_DMABUF_NO_VMAP | RXE_TEST_DMABUF_DYNAMIC,
	};
	unsigned int i;
	int param, n;

	if (access(RXE_TEST_DMABUF_DEV, F_OK))
		SKIP(return, "no %s (insmod build/tests/kmod/rxe_test_dmabuf.ko)",
		     RXE_TEST_DMABUF_DEV);
	for (param = 0; param < 2; param++) {
		rd_param_push(_metadata, &e->param, param);
		for (i = 0; i < ARRAY_SIZE(flags); i++) {
			struct rxe_test_dmabuf_info info;
			struct rd_buf b;
			int err;

			ASSERT_EQ(0, rd_buf_create(_metadata, &b, RD_TEST,
						   flags[i], 8 * p));
			err = rd_try_reg(e->l.pd, 0, 8 * p, 0, b.fd,
					 RD_ACCESS_RW);
			TH_LOG("NO_VMAP%s, dmabuf_move_notify %d: %-10s (want EOPNOTSUPP)",
			       flags[i] & RXE_TEST_DMABUF_DYNAMIC ?
			       "|DYNAMIC" : "", param, rd_errname(err));
			EXPECT_EQ(EOPNOTSUPP, err);
			ASSERT_EQ(0, rd_info(&b, &info));
			EXPECT_EQ(0U, info.attachments);
			EXPECT_EQ(0U, info.pins);
			rd_buf_destroy(&b);
		}
	}
	n = rd_dmabuf_settle(e->dmabufs);
	if (e->dmabufs >= 0)
		EXPECT_EQ(e->dmabufs, n);
	EXPECT_EQ(0, rv_kmsg_complaints(_metadata, e->kmsg));
}

/*
 * A dma-buf exported read-only (a system-heap buffer whose fd is O_RDONLY)
 * takes no write access, local or remote (EACCES), and registers for
 * remote reads.
 */
TEST_F(reg, read_only)
{
	struct dma_heap_allocation_data a = {
		.len = 4 * sysconf(_SC_PAGESIZE),
		.fd_flags = O_RDONLY | O_CLOEXEC,
	};
	struct rd_env *e = &self->e;
	struct ibv_mr *mr;
	int heap, err, n;

	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, heap) TH_LOG("/dev/dma_heap/system: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a))
		TH_LOG("DMA_HEAP_IOCTL_ALLOC: %s", strerror(errno));
	close(heap);

	err = rd_try_reg(e->l.pd, 0, a.len, 0, a.fd, RD_ACCESS_RW);
	TH_LOG("read-only dma-buf, write access: %s (want EACCES)",
	       rd_errname(err));
	EXPECT_EQ(EACCES, err);
	err = rd_try_reg(e->l.pd, 0, a.len, 0, a.fd, IBV_ACCESS_LOCAL_WRITE);
	EXPECT_EQ(EACCES, err);
	mr = rd_reg(e->l.pd, 0, a.len, 0, a.fd, IBV_ACCESS_REMOTE_READ);
	EXPECT_NE(NULL, mr) TH_LOG("read-only dma-buf, REMOTE_READ: %s",
				   strerror(errno));
	if (mr)
		EXPECT_EQ(0, ibv_dereg_mr(mr));
	close(a.fd);
	n = rd_dmabuf_settle(e->dmabufs);
	if (e->dmabufs >= 0)
		EXPECT_EQ(e->dmabufs, n);
	EXPECT_EQ(0, rv_kmsg_complaints(_metadata, e->kmsg));
}

/*
 * The exporters themselves, without rxe: each makes a buffer and its CPU
 * view round-trips a pattern.  vgem's dumb buffers need the card node:
 * DRM_IOCTL_MODE_CREATE_DUMB is no render-node ioctl (EACCES there).
 */
TEST_F(reg, exporters)
{
	struct rd_env *e = &self->e;
	size_t p = sysconf(_SC_PAGESIZE), size = 4 * p;
	__u8 *tmp = malloc(size);
	unsigned int k;
	int fd;

	ASSERT_NE(NULL, tmp);
	fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		struct drm_mode_create_dumb c = {
			.height = 4, .width = 1024, .bpp = 32,
		};
		int ret = ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);

		TH_LOG("CREATE_DUMB on renderD128: %s",
		       ret ? rd_errname(errno) : "works");
		close(fd);
	}
	for (k = RD_VGEM; k <= RD_TEST; k++) {
		struct rd_buf b;
		int ret = rd_buf_create(_metadata, &b, k, 0, size);

		TH_LOG("%-14s %s", rd_kind_name[k], ret == -ENODEV ?
		       "no device" : rd_errname(-ret));
		EXPECT_NE(-ENODEV, ret) TH_LOG("no %s device",
					       rd_kind_name[k]);
		if (ret) {
			rd_buf_destroy(&b);
			continue;
		}
		rd_cpu_fill(_metadata, &b, p - 5, 2 * p, 800 + k);
		EXPECT_TRUE(rd_cpu_check(_metadata, &b, p - 5, 2 * p, 800 + k));
		rd_buf_destroy(&b);
	}
	free(tmp);
	fd = rd_dmabuf_settle(e->dmabufs);
	if (e->dmabufs >= 0)
		EXPECT_EQ(e->dmabufs, fd);
	EXPECT_EQ(0, rv_kmsg_complaints(_metadata, e->kmsg));
}

TEST_HARNESS_MAIN
