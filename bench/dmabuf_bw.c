// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * dmabuf_bw - RDMA WRITE and READ bandwidth into a memory region over a
 * dma-buf against an ordinary pinned MR, in one process, one boot.
 *
 *   dmabuf_bw [-s MSG] [-t TOTAL] [-d DEPTH] [-r REPS] KIND...
 *
 * KIND is pinned (anonymous memory, ibv_reg_mr), odp (the same with
 * IBV_ACCESS_ON_DEMAND), udmabuf (a memfd through /dev/udmabuf), heap
 * (/dev/dma_heap/system) or vgem (a dumb buffer of the vgem DRM driver,
 * /dev/dri/card* or renderD*).  For each repetition and each kind, in an
 * order that rotates between repetitions, the target MR (the responder's
 * memory) is of that kind and the local source or sink is pinned: TOTAL
 * bytes (default 64 MiB) are written with MSG-byte RDMA WRITEs (default
 * 64 KiB, DEPTH in flight, default 16), then read back with RDMA READs.
 * Every pass covers the buffer; the READ pass and the CPU view of the
 * buffer are compared with what was written.  Prints CSV rows
 * "dmabuf_write|dmabuf_read,MSG,KIND,MiB/s,MiB/s".
 */

#include <fcntl.h>
#include <glob.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>

#include "odp_bench.h"

#define BUF_SIZE	(16u << 20)	/* the target buffer, reused */
#define USAGE \
	"usage: dmabuf_bw [-s MSG] [-t TOTAL (16m multiple)] [-d 1..16] [-r REPS] KIND..."

struct target {
	const char *kind;
	void *cpu;		/* CPU view of the buffer (for the check) */
	int dmabuf;		/* -1 for anonymous memory */
	int aux;		/* memfd or DRM fd to close, or -1 */
	struct ibv_mr *mr;
};

static int dmabuf_udmabuf(struct target *t)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC,
				    .size = BUF_SIZE };
	int dev = open("/dev/udmabuf", O_RDWR);

	if (dev < 0)
		ob_die("/dev/udmabuf: %s", strerror(errno));
	t->aux = memfd_create("dmabuf_bw", MFD_ALLOW_SEALING);
	if (t->aux < 0 || ftruncate(t->aux, BUF_SIZE) ||
	    fcntl(t->aux, F_ADD_SEALS, F_SEAL_SHRINK))
		ob_die("memfd: %s", strerror(errno));
	c.memfd = t->aux;
	t->dmabuf = ioctl(dev, UDMABUF_CREATE, &c);
	if (t->dmabuf < 0)
		ob_die("UDMABUF_CREATE: %s", strerror(errno));
	close(dev);
	t->cpu = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      t->aux, 0);
	return t->cpu == MAP_FAILED ? -1 : 0;
}

static int dmabuf_heap(struct target *t)
{
	struct dma_heap_allocation_data a = {
		.len = BUF_SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	int dev = open("/dev/dma_heap/system", O_RDWR);

	if (dev < 0)
		ob_die("/dev/dma_heap/system: %s", strerror(errno));
	if (ioctl(dev, DMA_HEAP_IOCTL_ALLOC, &a))
		ob_die("DMA_HEAP_IOCTL_ALLOC: %s", strerror(errno));
	close(dev);
	t->dmabuf = a.fd;
	t->cpu = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      t->dmabuf, 0);
	return t->cpu == MAP_FAILED ? -1 : 0;
}

/* The first DRM node whose driver is vgem. */
static int vgem_open(void)
{
	char name[16] = "";
	struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };
	glob_t g;
	size_t i;
	int fd;

	if (glob("/dev/dri/*", 0, NULL, &g))
		ob_die("no /dev/dri (modprobe vgem)");
	for (i = 0; i < g.gl_pathc; i++) {
		fd = open(g.gl_pathv[i], O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		v.name_len = sizeof(name) - 1;
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem")) {
			globfree(&g);
			return fd;
		}
		close(fd);
	}
	globfree(&g);
	ob_die("no vgem DRM node (modprobe vgem)");
	return -1;
}

static int dmabuf_vgem(struct target *t)
{
	struct drm_mode_create_dumb c = { .width = BUF_SIZE / 4096,
					  .height = 1024, .bpp = 32 };
	struct drm_prime_handle p = { .flags = DRM_CLOEXEC | DRM_RDWR };

	t->aux = vgem_open();
	if (ioctl(t->aux, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		ob_die("DRM_IOCTL_MODE_CREATE_DUMB: %s", strerror(errno));
	if (c.size < BUF_SIZE)
		ob_die("vgem dumb buffer of %llu bytes", (unsigned long long)c.size);
	p.handle = c.handle;
	if (ioctl(t->aux, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		ob_die("DRM_IOCTL_PRIME_HANDLE_TO_FD: %s", strerror(errno));
	t->dmabuf = p.fd;
	t->cpu = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      t->dmabuf, 0);
	return t->cpu == MAP_FAILED ? -1 : 0;
}

static void target_open(struct ob *b, struct target *t, const char *kind)
{
	int odp = !strcmp(kind, "odp");
	int err;

	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->dmabuf = -1;
	t->aux = -1;
	if (!strcmp(kind, "pinned") || odp) {
		t->cpu = ob_map(BUF_SIZE, 0);
		memset(t->cpu, 0, BUF_SIZE);
		t->mr = ob_reg(b, t->cpu, BUF_SIZE, odp);
		return;
	}
	if (!strcmp(kind, "udmabuf"))
		err = dmabuf_udmabuf(t);
	else if (!strcmp(kind, "heap"))
		err = dmabuf_heap(t);
	else if (!strcmp(kind, "vgem"))
		err = dmabuf_vgem(t);
	else
		ob_die("unknown kind %s", kind);
	if (err)
		ob_die("%s: %s", kind, strerror(errno));
	/* iova 0: the offset into the buffer is the address. */
	t->mr = ibv_reg_dmabuf_mr(b->pd, 0, BUF_SIZE, 0, t->dmabuf, OB_ACCESS);
	if (!t->mr)
		ob_die("ibv_reg_dmabuf_mr %s: %s", kind, strerror(errno));
}

static void target_close(struct target *t)
{
	ibv_dereg_mr(t->mr);
	if (t->dmabuf < 0) {
		munmap(t->cpu, BUF_SIZE);
		return;
	}
	munmap(t->cpu, BUF_SIZE);
	close(t->dmabuf);
	if (t->aux >= 0)
		close(t->aux);
}

/* Bracket CPU reads of a dma-buf's mapping (DMA_BUF_IOCTL_SYNC). */
static void cpu_sync(struct target *t, __u64 flags)
{
	struct dma_buf_sync s = { .flags = flags | DMA_BUF_SYNC_READ };

	if (t->dmabuf >= 0 && ioctl(t->dmabuf, DMA_BUF_IOCTL_SYNC, &s))
		ob_die("DMA_BUF_IOCTL_SYNC: %s", strerror(errno));
}

/* The target's address for offset @off: its iova (0-based for dma-bufs). */
static unsigned long long target_addr(struct target *t, size_t off)
{
	return (t->dmabuf < 0 ? (uintptr_t)t->cpu : 0) + off;
}

/*
 * Move @total bytes with @op in @msg-byte operations, @depth in flight,
 * between @local (pinned, BUF_SIZE) and the target, wrapping around the
 * buffer.  Returns MiB/s.
 */
static double pass(struct ob *b, enum ibv_wr_opcode op, char *local,
		   struct ibv_mr *lmr, struct target *t, size_t msg,
		   size_t total, int depth)
{
	size_t posted = 0, done = 0, off = 0;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	struct ibv_wc wc[16];
	unsigned long long t0 = ob_ns();
	int inflight = 0, n, i;

	while (done < total) {
		while (inflight < depth && posted < total) {
			sge = (struct ibv_sge){ .addr = (uintptr_t)local + off,
						.length = msg, .lkey = lmr->lkey };
			wr = (struct ibv_send_wr){
				.wr_id = off, .sg_list = &sge, .num_sge = 1,
				.opcode = op, .send_flags = IBV_SEND_SIGNALED,
				.wr.rdma = { .remote_addr = target_addr(t, off),
					     .rkey = t->mr->rkey },
			};
			if (ibv_post_send(b->qp[0], &wr, &bad))
				ob_die("post_send: %s", strerror(errno));
			posted += msg;
			off = (off + msg) % BUF_SIZE;
			inflight++;
		}
		n = ibv_poll_cq(b->cq, 16, wc);
		if (n < 0)
			ob_die("poll_cq");
		for (i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS)
				ob_die("%s on %s: %s", op == IBV_WR_RDMA_WRITE ?
				       "WRITE" : "READ", t->kind,
				       ibv_wc_status_str(wc[i].status));
			done += msg;
			inflight--;
		}
	}
	return (double)total / (1 << 20) / ((ob_ns() - t0) / 1e9);
}

int main(int argc, char **argv)
{
	size_t msg = 65536, total = 64u << 20, i, j;
	int depth = 16, reps = 3, opt, r, nkinds;
	char name[32], *src, *dst;
	struct ibv_mr *smr, *dmr;
	struct target t;
	struct ob b;

	while ((opt = getopt(argc, argv, "s:t:d:r:")) != -1) {
		switch (opt) {
		case 's':
			msg = ob_size(optarg);
			break;
		case 't':
			total = ob_size(optarg);
			break;
		case 'd':
			depth = atoi(optarg);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			ob_die(USAGE);
		}
	}
	nkinds = argc - optind;
	if (nkinds < 1 || !msg || BUF_SIZE % msg || depth < 1 || depth > 16 ||
	    !total || total % BUF_SIZE)
		ob_die(USAGE);
	ob_open(&b);
	src = ob_map(BUF_SIZE, 0);
	dst = ob_map(BUF_SIZE, 0);
	for (i = 0; i < BUF_SIZE; i++)
		src[i] = (char)(i * 7 + i / 4096);
	smr = ob_reg(&b, src, BUF_SIZE, 0);
	dmr = ob_reg(&b, dst, BUF_SIZE, 0);
	snprintf(name, sizeof(name), "%zu", msg);

	for (r = 0; r < reps; r++) {
		for (j = 0; j < (size_t)nkinds; j++) {
			const char *kind = argv[optind + (j + r) % nkinds];
			double w, rd;

			target_open(&b, &t, kind);
			w = pass(&b, IBV_WR_RDMA_WRITE, src, smr, &t, msg,
				 total, depth);
			memset(dst, 0, BUF_SIZE);
			rd = pass(&b, IBV_WR_RDMA_READ, dst, dmr, &t, msg,
				  total, depth);
			cpu_sync(&t, DMA_BUF_SYNC_START);
			if (memcmp(src, dst, BUF_SIZE) ||
			    memcmp(src, t.cpu, BUF_SIZE))
				ob_die("%s: data read back differs", kind);
			cpu_sync(&t, DMA_BUF_SYNC_END);
			ob_row("dmabuf_write", name, kind, w, "MiB/s");
			ob_row("dmabuf_read", name, kind, rd, "MiB/s");
			target_close(&t);
		}
	}
	return 0;
}
