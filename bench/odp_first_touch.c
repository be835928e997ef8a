// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Cold first-touch bandwidth of an ODP MR against warm ODP and pinned.
 *
 *   odp_first_touch [-o write|read] [-n ITERS] [-m MODES] SIZE...
 *
 * One RDMA operation of SIZE bytes at a time (queue depth 1) from qp0 to
 * qp1 on rxe0: WRITE into, or READ from, a target buffer of SIZE bytes,
 * the "remote" side.  Only the operations are timed.  Modes (default all,
 * in this order):
 *
 *   pinned        pinned target MR, warm
 *   odp_warm      ODP target MR, its pages mapped by a first operation
 *   odp_dontneed  ODP, MADV_DONTNEED on the target before every operation:
 *                 every page is absent (zap + invalidation) and the
 *                 operation faults it in (new zeroed page for a WRITE,
 *                 the zero page for a READ)
 *   odp_fresh     ODP, the target mmap()ed anew (MAP_FIXED, same address)
 *                 before every operation
 *   pinned_rereg  what fresh memory costs with pinned MRs: mmap, then
 *                 (timed) ibv_reg_mr + operation + ibv_dereg_mr
 *
 * Prints "first_touch_OP,SIZE,MODE,MiB/s,MiBps" rows.
 */
#include "odp_bench.h"

static const char *all_modes[] = {
	"pinned", "odp_warm", "odp_dontneed", "odp_fresh", "pinned_rereg", NULL
};

static double run(struct ob *b, enum ibv_wr_opcode op, const char *mode,
		  size_t size, int iters, void *lbuf, struct ibv_mr *lmr)
{
	int odp = !strncmp(mode, "odp", 3);
	int rereg = !strcmp(mode, "pinned_rereg");
	char *t = ob_map(size, 1);
	struct ibv_mr *mr = NULL;
	uint64_t ns = 0, t0;
	int i;

	if (!rereg) {
		if (!odp)
			memset(t, 0x5a, size);
		mr = ob_reg(b, t, size, odp);
		/* Warm-up: maps the ODP pages, primes rxe's caches. */
		if (ob_rdma(b, op, lbuf, lmr, (uintptr_t)t, mr->rkey, size))
			ob_die("%s warm-up failed", mode);
	}
	for (i = 0; i < iters; i++) {
		if (!strcmp(mode, "odp_dontneed")) {
			if (madvise(t, size, MADV_DONTNEED))
				ob_die("madvise: %s", strerror(errno));
		} else if (!strcmp(mode, "odp_fresh")) {
			if (mmap(t, size, PROT_READ | PROT_WRITE, MAP_FIXED |
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != t)
				ob_die("mmap fixed: %s", strerror(errno));
			madvise(t, size, MADV_NOHUGEPAGE);
		} else if (rereg) {
			munmap(t, size);
			t = ob_map(size, 1);
		}
		t0 = ob_ns();
		if (rereg)
			mr = ob_reg(b, t, size, 0);
		if (ob_rdma(b, op, lbuf, lmr, (uintptr_t)t, mr->rkey, size))
			ob_die("%s iteration %d failed", mode, i);
		if (rereg) {
			ibv_dereg_mr(mr);
			mr = NULL;
		}
		ns += ob_ns() - t0;
	}
	if (mr)
		ibv_dereg_mr(mr);
	munmap(t, size);
	return (double)size * iters / (1 << 20) / (ns / 1e9);
}

int main(int argc, char **argv)
{
	enum ibv_wr_opcode op = IBV_WR_RDMA_WRITE;
	const char *opname = "write";
	char *modes = NULL, *m, *save, wl[64], param[32];
	int iters = 0, c, a;
	struct ob b;

	while ((c = getopt(argc, argv, "o:n:m:")) != -1) {
		switch (c) {
		case 'o':
			opname = optarg;
			if (!strcmp(optarg, "read"))
				op = IBV_WR_RDMA_READ;
			else if (strcmp(optarg, "write"))
				ob_die("-o write|read");
			break;
		case 'n': iters = atoi(optarg); break;
		case 'm': modes = optarg; break;
		default:
			ob_die("usage: odp_first_touch [-o write|read] [-n ITERS] [-m MODES] SIZE...");
		}
	}
	ob_open(&b);
	snprintf(wl, sizeof(wl), "first_touch_%s", opname);
	for (a = optind; a < argc; a++) {
		size_t size = ob_size(argv[a]);
		int n = iters ?: (int)((32u << 20) / size);
		char *lbuf = ob_map(size, 1), *list;
		struct ibv_mr *lmr;

		if (n < 16)
			n = 16;
		if (n > 2000)
			n = 2000;
		memset(lbuf, 0xa5, size);
		lmr = ob_reg(&b, lbuf, size, 0);
		snprintf(param, sizeof(param), "%zu", size);
		if (modes) {
			list = strdup(modes);
			for (m = strtok_r(list, ",", &save); m;
			     m = strtok_r(NULL, ",", &save))
				ob_row(wl, param, m,
				       run(&b, op, m, size, n, lbuf, lmr), "MiBps");
			free(list);
		} else {
			for (c = 0; all_modes[c]; c++)
				ob_row(wl, param, all_modes[c],
				       run(&b, op, all_modes[c], size, n, lbuf,
					   lmr), "MiBps");
		}
		ibv_dereg_mr(lmr);
		munmap(lbuf, size);
	}
	return 0;
}
