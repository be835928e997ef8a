# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
#
# rxe-odp: rdma_rxe with On-Demand Paging for Debian 13's 6.12 kernel.
#
#   make            build rdma_rxe.ko (and the tests) inside the Debian 13 root,
#                   and the rxe verbs provider with userspace/patches/
#   make demo       perftest over the rebuilt rxe in QEMU
#   make check      static checks + the guest test suite in QEMU
#   make check-2host two guests on a virtual link (PEER=stock|upstream: interop)
#   make install    on a real Debian 13 machine: build against the running
#                   kernel and install into updates/ (see README.md)
#
# Kbuild (the top-level Kbuild file) does the compiling; this Makefile only
# drives scripts/.

S := scripts

all: root
	$(S)/build.sh all
	userspace/build.sh

root:
	$(S)/install-host-deps.sh
	$(S)/get-qemu.sh
	$(S)/mkroot.sh

module: root
	$(S)/build.sh module

tests: root
	$(S)/build.sh tests

check: all
	$(S)/check.sh

# Not in CI: builds a debug kernel (lockdep, KASAN, ...) once, then runs the
# ODP suites on it.
check-debug: all
	$(S)/check-debug.sh

# Two guests, rxe0 on a virtual link between them: verified transfers,
# perftest, RDMA CM, loss.  A few minutes; make check runs a subset.
# PEER=stock or PEER=upstream puts Debian's or the 7.x kernel's rxe on the
# second guest.
check-2host: all
	$(S)/check-2host.sh $(if $(PEER),--peer $(PEER))

demo: all
	$(S)/demo.sh

# Real hardware path (a Debian 13 machine, as root): rxe from the machine's
# own linux-source-6.12 plus patches/, built against the headers of KVER
# (default: the running kernel), installed as updates/rdma_rxe.ko so that it
# overrides the stock kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko.
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
install:
	@test -d $(KDIR) || { echo "no $(KDIR): apt-get install linux-headers-$(KVER)"; exit 1; }
	$(S)/prepare-src.sh / $(KVER)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates modules_install
	depmod -a $(KVER)

clean:
	rm -rf build
	find . -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name 'modules.order' -o -name 'Module.symvers' \
		| xargs rm -f

.PHONY: all root module tests check check-debug check-2host demo install clean
