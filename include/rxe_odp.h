/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Copyright (c) 2026 The rxe-odp developers.
 *
 * rxe_odp.h - the only ODP header that rxe includes: the hooks rxe calls and
 * the rxe_mr_is_odp() predicate.  Included at the end of rxe.h, after the
 * object definitions of rxe_verbs.h.  When CONFIG_INFINIBAND_ON_DEMAND_PAGING
 * is off every hook is an inline stub, so the rxe files need no #ifdef.
 */

#ifndef RXE_ODP_H
#define RXE_ODP_H

#include <linux/err.h>
#include <linux/types.h>

struct ib_mr;
struct ib_pd;
struct ib_sge;
struct rxe_dev;
struct rxe_mr;
struct rxe_odp_mr;
struct sk_buff;
struct uverbs_attr_bundle;

#if IS_ENABLED(CONFIG_INFINIBAND_ON_DEMAND_PAGING)

/* rxe_odp_main.c */
int rxe_odp_module_init(void);
void rxe_odp_module_exit(void);
void rxe_odp_init_device(struct rxe_dev *rxe);

/* rxe_odp_mr.c */
int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access, struct rxe_mr *mr);
void rxe_odp_mr_cleanup(struct rxe_mr *mr);

/* rxe_odp_dpt.c */
int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr,
		    unsigned int length, enum rxe_mr_copy_dir dir);
int rxe_odp_mr_atomic_op(struct rxe_mr *mr, u64 iova, int opcode,
			 u64 compare, u64 swap_add, u64 *orig_val);
int rxe_odp_mr_atomic_write(struct rxe_mr *mr, u64 iova, u64 value);
int rxe_odp_mr_flush(struct rxe_mr *mr, u64 iova, unsigned int length);

/* rxe_odp_dmabuf.c */
struct ib_mr *rxe_odp_reg_user_mr_dmabuf(struct ib_pd *ibpd, u64 offset,
					 u64 length, u64 iova, int fd,
					 int access,
					 struct uverbs_attr_bundle *attrs);

/* rxe_odp_prefetch.c */
int rxe_odp_advise_mr(struct ib_pd *ibpd,
		      enum ib_uverbs_advise_mr_advice advice, u32 flags,
		      struct ib_sge *sg_list, u32 num_sge,
		      struct uverbs_attr_bundle *attrs);

/* rxe_odp_stats.c */
int rxe_odp_fill_stat_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr);

/**
 * rxe_odp_mr_access() - access flags that only ODP registrations accept
 * @access: the IB_ACCESS_* flags of a registration
 *
 * Return: IB_ACCESS_HUGETLB (map a hugetlbfs range at its page size) for
 * an IB_ACCESS_ON_DEMAND registration, 0 otherwise.
 */
static inline int rxe_odp_mr_access(int access)
{
	return access & IB_ACCESS_ON_DEMAND ? IB_ACCESS_HUGETLB : 0;
}

/**
 * rxe_mr_is_odp() - does this memory region page on demand?
 * @mr: the memory region
 *
 * Return: true for an MR registered with IB_ACCESS_ON_DEMAND, whose memory
 * is reached through its device page table instead of mr->page_info.
 */
static inline bool rxe_mr_is_odp(struct rxe_mr *mr)
{
	return mr->odp;
}

#else /* CONFIG_INFINIBAND_ON_DEMAND_PAGING */

static inline int rxe_odp_module_init(void)
{
	return 0;
}

static inline void rxe_odp_module_exit(void) { }

static inline void rxe_odp_init_device(struct rxe_dev *rxe) { }

static inline int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start,
				       u64 length, u64 iova, int access,
				       struct rxe_mr *mr)
{
	return -EOPNOTSUPP;
}

static inline void rxe_odp_mr_cleanup(struct rxe_mr *mr) { }

static inline int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr,
				  unsigned int length,
				  enum rxe_mr_copy_dir dir)
{
	return -EOPNOTSUPP;
}

static inline int rxe_odp_mr_atomic_op(struct rxe_mr *mr, u64 iova,
				       int opcode, u64 compare, u64 swap_add,
				       u64 *orig_val)
{
	return RESPST_ERR_UNSUPPORTED_OPCODE;
}

static inline int rxe_odp_mr_atomic_write(struct rxe_mr *mr, u64 iova,
					  u64 value)
{
	return RESPST_ERR_UNSUPPORTED_OPCODE;
}

static inline int rxe_odp_mr_flush(struct rxe_mr *mr, u64 iova,
				   unsigned int length)
{
	return -EOPNOTSUPP;
}

static inline struct ib_mr *
rxe_odp_reg_user_mr_dmabuf(struct ib_pd *ibpd, u64 offset, u64 length,
			   u64 iova, int fd, int access,
			   struct uverbs_attr_bundle *attrs)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline int rxe_odp_advise_mr(struct ib_pd *ibpd,
				    enum ib_uverbs_advise_mr_advice advice,
				    u32 flags, struct ib_sge *sg_list,
				    u32 num_sge,
				    struct uverbs_attr_bundle *attrs)
{
	return -EOPNOTSUPP;
}

static inline int rxe_odp_fill_stat_mr_entry(struct sk_buff *msg,
					     struct ib_mr *ibmr)
{
	return 0;
}

static inline int rxe_odp_mr_access(int access)
{
	return 0;
}

static inline bool rxe_mr_is_odp(struct rxe_mr *mr)
{
	return false;
}

#endif /* CONFIG_INFINIBAND_ON_DEMAND_PAGING */

#endif /* RXE_ODP_H */
