// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Registration (and deregistration) time against size, pinned vs ODP.
 *
 *   odp_regtime [-P MAXPINNED] [-m MODES] SIZE...
 *
 * For each SIZE and mode (default "pinned,odp"; "implicit" registers the
 * whole address space, SIZE is then ignored but kept as the row key):
 * mmap SIZE bytes (MAP_NORESERVE), for "pinned" pre-touch them (so that
 * the figure is the pinning alone), for "pinned_cold" not (the figure then
 * includes allocating and zeroing every page, as registering fresh memory
 * does), then time ibv_reg_mr and ibv_dereg_mr.  Pinned sizes above MAXPINNED (default
 * 1 GiB) are skipped: they would not fit the guest.  Prints
 * "reg,SIZE,MODE,us,us" and "dereg,SIZE,MODE,us,us".
 */
#include "odp_bench.h"

int main(int argc, char **argv)
{
	size_t maxpinned = 1ul << 30;
	const char *modes = "pinned,odp";
	char *list, *m, *save, param[32];
	struct ob b;
	int c, a;

	while ((c = getopt(argc, argv, "P:m:")) != -1) {
		switch (c) {
		case 'P': maxpinned = ob_size(optarg); break;
		case 'm': modes = optarg; break;
		default: ob_die("usage: odp_regtime [-P MAXPINNED] [-m MODES] SIZE...");
		}
	}
	ob_open(&b);
	for (a = optind; a < argc; a++) {
		size_t size = ob_size(argv[a]);

		snprintf(param, sizeof(param), "%zu", size);
		list = strdup(modes);
		for (m = strtok_r(list, ",", &save); m;
		     m = strtok_r(NULL, ",", &save)) {
			int pinned = !strncmp(m, "pinned", 6);
			int implicit = !strcmp(m, "implicit");
			struct ibv_mr *mr;
			uint64_t t0, t1, t2;
			char *p = NULL;

			if (pinned && size > maxpinned)
				continue;
			if (!implicit) {
				p = ob_map(size, 0);
				if (!strcmp(m, "pinned"))
					memset(p, 1, size);
			}
			t0 = ob_ns();
			if (implicit)
				mr = ibv_reg_mr(b.pd, NULL, SIZE_MAX, OB_ACCESS |
						IBV_ACCESS_ON_DEMAND);
			else
				mr = ibv_reg_mr(b.pd, p, size, OB_ACCESS |
						(pinned ? 0 : IBV_ACCESS_ON_DEMAND));
			t1 = ob_ns();
			if (!mr) {
				fprintf(stderr, "bench: reg %s %zu: %s\n", m,
					size, strerror(errno));
			} else {
				ibv_dereg_mr(mr);
				t2 = ob_ns();
				ob_row("reg", param, m, (t1 - t0) / 1e3, "us");
				ob_row("dereg", param, m, (t2 - t1) / 1e3, "us");
			}
			if (p)
				munmap(p, size);
		}
		free(list);
	}
	return 0;
}
