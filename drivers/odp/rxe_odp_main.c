// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_main.c - ODP module parameters, initialisation and what an rxe
 * device advertises about on-demand paging.
 */

#include <linux/moduleparam.h>

#include "rxe_odp_loc.h"

#define CREATE_TRACE_POINTS
#include "rxe_odp_trace.h"

/*
 * Transport capability bits that newer uapi headers name; 6.12's
 * enum ib_odp_transport_cap_bits stops at SRQ_RECV.
 */
#ifndef IB_ODP_SUPPORT_FLUSH
#define IB_ODP_SUPPORT_FLUSH		BIT(6)
#endif
#ifndef IB_ODP_SUPPORT_ATOMIC_WRITE
#define IB_ODP_SUPPORT_ATOMIC_WRITE	BIT(7)
#endif

unsigned int rxe_odp_fault_around_kb = 64;
module_param_named(odp_fault_around_kb, rxe_odp_fault_around_kb, uint, 0644);
MODULE_PARM_DESC(odp_fault_around_kb,
		 "ODP fault-around window in KiB, a power of two up to 2048; 0 or 4 disables (default 64)");

bool rxe_odp_huge = true;
module_param_named(odp_huge, rxe_odp_huge, bool, 0644);
MODULE_PARM_DESC(odp_huge,
		 "map 2 MiB huge pages (THP, hugetlbfs) with one ODP device page table entry (default Y)");

bool rxe_odp_dmabuf_move_notify = IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY);
module_param_named(dmabuf_move_notify, rxe_odp_dmabuf_move_notify, bool, 0644);
MODULE_PARM_DESC(dmabuf_move_notify,
		 "let dynamic dma-buf exporters move the buffers of new dma-buf MRs (move_notify) instead of pinning them (default: CONFIG_DMABUF_MOVE_NOTIFY)");

/**
 * rxe_odp_init_device() - advertise on-demand paging
 * @rxe: the device being initialised
 *
 * Explicit and implicit ODP MRs work on every RC operation rxe implements
 * and on UD send and receive.
 *
 * Context: device initialisation, before the device is registered.
 */
void rxe_odp_init_device(struct rxe_dev *rxe)
{
	struct ib_odp_caps *caps = &rxe->attr.odp_caps;

	rxe->attr.kernel_cap_flags |= IBK_ON_DEMAND_PAGING;
	caps->general_caps = IB_ODP_SUPPORT | IB_ODP_SUPPORT_IMPLICIT;
	caps->per_transport_caps.rc_odp_caps = IB_ODP_SUPPORT_SEND |
		IB_ODP_SUPPORT_RECV | IB_ODP_SUPPORT_WRITE |
		IB_ODP_SUPPORT_READ | IB_ODP_SUPPORT_ATOMIC |
		IB_ODP_SUPPORT_SRQ_RECV | IB_ODP_SUPPORT_FLUSH |
		IB_ODP_SUPPORT_ATOMIC_WRITE;
	caps->per_transport_caps.ud_odp_caps = IB_ODP_SUPPORT_SEND |
		IB_ODP_SUPPORT_RECV | IB_ODP_SUPPORT_SRQ_RECV;
}

/**
 * rxe_odp_module_init() - set up what ODP needs module-wide
 *
 * Context: module init, before any device exists.
 * Return: 0 or -ENOMEM.
 */
int rxe_odp_module_init(void)
{
	int err;

	err = rxe_odp_prefetch_init();
	if (err)
		return err;
	return rxe_odp_stats_init();
}

/**
 * rxe_odp_module_exit() - undo rxe_odp_module_init()
 *
 * Context: module exit, after every device is gone.
 */
void rxe_odp_module_exit(void)
{
	rxe_odp_prefetch_exit();
	rxe_odp_stats_exit();
	rxe_odp_aging_exit();
}
