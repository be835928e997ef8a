// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp_main.c - what an rxe device advertises about on-demand paging.
 */

#include "rxe_odp_loc.h"

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

/**
 * rxe_odp_init_device() - advertise on-demand paging
 * @rxe: the device being initialised
 *
 * Explicit ODP MRs work on every RC operation rxe implements and on UD
 * send and receive.  Implicit ODP (the whole address space) is not
 * advertised: rxe_odp_mr_init_user() refuses it.
 *
 * Context: device initialisation, before the device is registered.
 */
void rxe_odp_init_device(struct rxe_dev *rxe)
{
	struct ib_odp_caps *caps = &rxe->attr.odp_caps;

	rxe->attr.kernel_cap_flags |= IBK_ON_DEMAND_PAGING;
	caps->general_caps = IB_ODP_SUPPORT;
	caps->per_transport_caps.rc_odp_caps = IB_ODP_SUPPORT_SEND |
		IB_ODP_SUPPORT_RECV | IB_ODP_SUPPORT_WRITE |
		IB_ODP_SUPPORT_READ | IB_ODP_SUPPORT_ATOMIC |
		IB_ODP_SUPPORT_SRQ_RECV | IB_ODP_SUPPORT_FLUSH |
		IB_ODP_SUPPORT_ATOMIC_WRITE;
	caps->per_transport_caps.ud_odp_caps = IB_ODP_SUPPORT_SEND |
		IB_ODP_SUPPORT_RECV | IB_ODP_SUPPORT_SRQ_RECV;
}
