/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * Tracepoints of rxe ODP: fault begin and end, invalidation.  Use them with
 * perf (perf record -e rxe_odp:*) or trace-cmd.
 */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM rxe_odp

#if !defined(_RXE_ODP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _RXE_ODP_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(rxe_odp_fault_begin,
	    TP_PROTO(struct rxe_odp_mr *odp, unsigned long va, size_t len,
		     unsigned int flags),
	    TP_ARGS(odp, va, len, flags),
	    TP_STRUCT__entry(__field(u32, lkey)
			     __field(unsigned long, va)
			     __field(size_t, len)
			     __field(unsigned int, flags)),
	    TP_fast_assign(__entry->lkey = odp->mr->lkey;
			   __entry->va = va;
			   __entry->len = len;
			   __entry->flags = flags;),
	    TP_printk("lkey=%#x va=%#lx len=%zu flags=%#x",
		      __entry->lkey, __entry->va, __entry->len,
		      __entry->flags)
);

TRACE_EVENT(rxe_odp_fault_end,
	    TP_PROTO(struct rxe_odp_mr *odp, unsigned long va, size_t len,
		     int ret, u64 ns),
	    TP_ARGS(odp, va, len, ret, ns),
	    TP_STRUCT__entry(__field(u32, lkey)
			     __field(unsigned long, va)
			     __field(size_t, len)
			     __field(int, ret)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->lkey = odp->mr->lkey;
			   __entry->va = va;
			   __entry->len = len;
			   __entry->ret = ret;
			   __entry->ns = ns;),
	    TP_printk("lkey=%#x va=%#lx len=%zu ret=%d ns=%llu",
		      __entry->lkey, __entry->va, __entry->len, __entry->ret,
		      __entry->ns)
);

TRACE_EVENT(rxe_odp_invalidate,
	    TP_PROTO(struct rxe_odp_mr *odp, unsigned long start,
		     unsigned long end, int event, unsigned long pages),
	    TP_ARGS(odp, start, end, event, pages),
	    TP_STRUCT__entry(__field(u32, lkey)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(int, event)
			     __field(unsigned long, pages)),
	    TP_fast_assign(__entry->lkey = odp->mr->lkey;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->event = event;
			   __entry->pages = pages;),
	    TP_printk("lkey=%#x range=%#lx-%#lx event=%d pages=%lu",
		      __entry->lkey, __entry->start, __entry->end,
		      __entry->event, __entry->pages)
);

#endif /* _RXE_ODP_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE rxe_odp_trace
#include <trace/define_trace.h>
