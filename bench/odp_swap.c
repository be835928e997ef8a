// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * RDMA throughput while the target region is being swapped.
 *
 *   odp_swap [-s REGION] [-c CHUNK] [-p PASSES] [-o write|read] [-l LABEL] pinned|odp
 *
 * A REGION (default 384m) of anonymous 4 KiB pages (MADV_NOHUGEPAGE) is
 * filled by the CPU and registered (pinned or ODP); then PASSES (default
 * 2) sequential sweeps post one CHUNK (default 64k) RDMA WRITE (or READ)
 * at a time into (from) it.  Run inside a memory cgroup smaller than
 * REGION, with swap, an ODP region keeps being swapped out and faulted
 * back while the sweeps run; a pinned one cannot be (and must not be run
 * so).  After a WRITE run the region is checked against what was written.
 * Prints "swap_OP,REGION,LABEL,MiB/s,MiBps", "swap_OP_errors" (1 if an
 * operation failed: the sweep stops there and MiB/s covers what it moved)
 * and the swap-ins and swap-outs during the sweeps ("swap_OP_pswpin",
 * "swap_OP_pswpout").
 */
#include "odp_bench.h"

static unsigned long vmstat(const char *key)
{
	char k[64];
	unsigned long v;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return 0;
	while (fscanf(f, "%63s %lu", k, &v) == 2)
		if (!strcmp(k, key)) {
			fclose(f);
			return v;
		}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	size_t region = 384ul << 20, chunk = 64 << 10, off, i, nsrc = 16;
	enum ibv_wr_opcode op = IBV_WR_RDMA_WRITE;
	const char *opname = "write", *label = NULL;
	unsigned long in0, out0;
	char wl[32], param[32], key[48];
	int passes = 2, c, pass, odp, failed = 0;
	size_t done = 0;
	struct ibv_mr *mr, *smr;
	char *p, *src;
	uint64_t t0, ns;
	struct ob b;

	while ((c = getopt(argc, argv, "s:c:p:o:l:")) != -1) {
		switch (c) {
		case 's': region = ob_size(optarg); break;
		case 'c': chunk = ob_size(optarg); break;
		case 'p': passes = atoi(optarg); break;
		case 'o':
			opname = optarg;
			if (!strcmp(optarg, "read"))
				op = IBV_WR_RDMA_READ;
			break;
		case 'l': label = optarg; break;
		default: ob_die("usage: odp_swap [-s REGION] [-c CHUNK] [-p PASSES] [-o write|read] [-l LABEL] pinned|odp");
		}
	}
	if (optind >= argc)
		ob_die("pinned or odp?");
	odp = !strcmp(argv[optind], "odp");
	label = label ?: argv[optind];
	ob_open(&b);
	/* nsrc distinct, poorly compressible source chunks, pinned. */
	src = ob_map(nsrc * chunk, 1);
	srandom(42);
	for (i = 0; i < nsrc * chunk / sizeof(long); i++)
		((long *)src)[i] = random();
	smr = ob_reg(&b, src, nsrc * chunk, 0);
	p = ob_map(region, 1);
	for (off = 0; off < region; off += chunk)
		memcpy(p + off, src + (off / chunk + 1) % nsrc * chunk, chunk);
	mr = ob_reg(&b, p, region, odp);

	in0 = vmstat("pswpin");
	out0 = vmstat("pswpout");
	t0 = ob_ns();
	for (pass = 0; pass < passes && !failed; pass++)
		for (off = 0; off < region; off += chunk, done += chunk)
			if (ob_rdma(&b, op, src + off / chunk % nsrc * chunk,
				    smr, (uintptr_t)p + off, mr->rkey, chunk)) {
				fprintf(stderr, "bench: %s: RDMA at offset %zu (pass %d) failed\n",
					label, off, pass);
				failed = 1;
				break;
			}
	ns = ob_ns() - t0;
	snprintf(wl, sizeof(wl), "swap_%s", opname);
	snprintf(param, sizeof(param), "%zu", region);
	/* A failed sweep reports what it moved before failing, and an error. */
	ob_row(wl, param, label, (double)done / (1 << 20) / (ns / 1e9), "MiBps");
	snprintf(key, sizeof(key), "%s_errors", wl);
	ob_row(key, param, label, failed, "count");
	snprintf(key, sizeof(key), "%s_pswpin", wl);
	ob_row(key, param, label, vmstat("pswpin") - in0, "pages");
	snprintf(key, sizeof(key), "%s_pswpout", wl);
	ob_row(key, param, label, vmstat("pswpout") - out0, "pages");
	if (op == IBV_WR_RDMA_WRITE && !failed)
		for (off = 0; off < region; off += chunk)
			if (memcmp(p + off, src + off / chunk % nsrc * chunk,
				   chunk))
				ob_die("%s: data mismatch at offset %zu after the sweeps",
				       label, off);
	ibv_dereg_mr(mr);
	return 0;
}
