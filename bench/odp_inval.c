// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Invalidation cost: munmap() of a populated region, unregistered vs
 * ODP-registered.
 *
 *   odp_inval [-s SIZE] [-p 4k|thp] [-m MODES]
 *
 * SIZE (default 1g) bytes of anonymous memory are populated by the CPU
 * (memset), as 4 KiB pages (-p 4k, MADV_NOHUGEPAGE, the default) or as
 * THPs (-p thp, MADV_HUGEPAGE).  Modes (default all):
 *
 *   plain       no MR: the munmap() baseline
 *   odp_idle    an ODP MR over the region, never accessed by the device:
 *               the invalidation finds an empty device page table
 *   odp_mapped  an ODP MR whose every page the device mapped (RDMA READ
 *               of the whole region, 1 MiB at a time): the invalidation
 *               zaps every device page table entry
 *
 * Only munmap() is timed; the MR is deregistered afterwards.  Prints
 * "inval_PAGES,SIZE,MODE,ms,ms".
 */
#include "odp_bench.h"

int main(int argc, char **argv)
{
	size_t size = 1ul << 30, chunk = 1 << 20, off;
	const char *modes = "plain,odp_idle,odp_mapped", *pages = "4k";
	char *list, *m, *save, param[32], wl[32];
	struct ibv_mr *smr;
	struct ob b;
	char *sink;
	int c;

	while ((c = getopt(argc, argv, "s:p:m:")) != -1) {
		switch (c) {
		case 's': size = ob_size(optarg); break;
		case 'p': pages = optarg; break;
		case 'm': modes = optarg; break;
		default: ob_die("usage: odp_inval [-s SIZE] [-p 4k|thp] [-m MODES]");
		}
	}
	ob_open(&b);
	sink = ob_map(chunk, 1);
	memset(sink, 0, chunk);
	smr = ob_reg(&b, sink, chunk, 0);
	snprintf(param, sizeof(param), "%zu", size);
	snprintf(wl, sizeof(wl), "inval_%s", pages);
	list = strdup(modes);
	for (m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		struct ibv_mr *mr = NULL;
		uint64_t t0, t1;
		char *p;

		/* 2 MiB aligned, so that -p thp gets huge pages throughout. */
		p = ob_map(size + (2 << 20), 0);
		p = (char *)(((uintptr_t)p + (2 << 20) - 1) & ~((2ul << 20) - 1));
		madvise(p, size, strcmp(pages, "thp") ? MADV_NOHUGEPAGE :
			MADV_HUGEPAGE);
		memset(p, 0x3c, size);
		if (strcmp(m, "plain"))
			mr = ob_reg(&b, p, size, 1);
		if (!strcmp(m, "odp_mapped"))
			for (off = 0; off < size; off += chunk)
				if (ob_rdma(&b, IBV_WR_RDMA_READ, sink, smr,
					    (uintptr_t)p + off, mr->rkey, chunk))
					ob_die("mapping READ failed");
		t0 = ob_ns();
		if (munmap(p, size))
			ob_die("munmap: %s", strerror(errno));
		t1 = ob_ns();
		if (mr)
			ibv_dereg_mr(mr);
		ob_row(wl, param, m, (t1 - t0) / 1e6, "ms");
	}
	free(list);
	return 0;
}
