#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
"""Medians, ODP/pinned ratios, targets, plots from bench/run.sh's CSVs.

    bench/report.py [--cmd "command line"] RESULTS_DIR

Reads RESULTS_DIR/ours.csv and RESULTS_DIR/upstream.csv (either may be
missing), writes RESULTS_DIR/bench.md, RESULTS_DIR/ratios.csv (one row per
workload: absolute medians and ratios of both kernels) and RESULTS_DIR/*.png
(gnuplot).  Explanations for missed targets come from bench/why.txt
("target-id<TAB>text" lines).

Every ratio is "ODP performance / pinned performance": > 1 means ODP is
faster.  For times (latency, registration, munmap) that is pinned time /
ODP time.
"""
import csv
import os
import statistics
import subprocess
import sys

KERNELS = ("ours", "upstream")


def load(path):
    data = {}
    meta = {}
    if not os.path.exists(path):
        return data, meta
    with open(path) as f:
        for r in csv.DictReader(f):
            try:
                v = float(r["value"])
            except ValueError:
                continue
            data.setdefault((r["workload"], r["param"], r["mode"]), []).append(v)
            meta["kernel"] = r["kernel"]
            meta["rxe"] = r["rxe"]
            meta["reps"] = max(meta.get("reps", 0), int(r["rep"]))
    return data, meta


def med(d, key):
    v = d.get(key)
    return statistics.median(v) if v else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, digits=3):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:.{digits}g}"


def fr(v):
    return "n/a" if v is None else f"{v:.3f}"


def hsize(p):
    n = int(float(p))
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def params(d, workload):
    return sorted({k[1] for k in d if k[0] == workload}, key=lambda p: float(p))


def main():
    args = sys.argv[1:]
    cmd = ""
    if args[:1] == ["--cmd"]:
        cmd = args[1]
        args = args[2:]
    res = args[0]
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    why = {}
    wf = os.path.join(top, "bench", "why.txt")
    if os.path.exists(wf):
        for line in open(wf):
            if "\t" in line and not line.startswith("#"):
                k, t = line.rstrip("\n").split("\t", 1)
                why[k] = t
    D = {}
    M = {}
    for k in KERNELS:
        D[k], M[k] = load(os.path.join(res, k + ".csv"))
    both = [k for k in KERNELS if D[k]]
    out = []
    rows = []   # ratios.csv
    targets = []  # (id, description, ours, upstream, met)

    def emit(s=""):
        out.append(s)

    emit("# rxe-odp benchmarks: ours vs upstream, ODP vs pinned")
    emit()
    if cmd:
        if " (tables redone by " in cmd:
            m, r = cmd.rstrip(")").split(" (tables redone by ", 1)
            emit(f"Produced by: `{m}` (tables redone by `{r}`)")
        else:
            emit(f"Produced by: `{cmd}`")
        emit()
    for k in both:
        emit(f"- **{k}**: kernel {M[k]['kernel']}, rdma_rxe {M[k]['rxe']}, "
             f"{M[k]['reps']} repetitions, medians; one VM boot "
             f"(`scripts/vm.sh --icount`: one vCPU, instruction-counted clock)")
    logs = {k: os.path.join(res, k + ".log") for k in both}
    for k in both:
        if os.path.exists(logs[k]):
            emit(f"- {k} settings: " + " ".join(
                l.strip() for l in open(logs[k]) if l.startswith(("settings", "  ")))
                .replace("settings: ", "", 1))
    emit()
    emit("Ratios are ODP performance / pinned performance (> 1: ODP faster; "
         "for times, pinned time / ODP time), each measured within one boot. "
         "Absolute figures are for an emulated CPU and drift between runs; "
         "the ratios are what count. \"ours >= upstream\" compares the ratios.")
    emit()

    def cmp_col(ro, ru):
        if ro is None or ru is None:
            return "n/a"
        return "yes" if ro >= ru * 0.97 else "**no**"

    # 1. Warm bandwidth.
    for title, unit, tests, ratio_fn, kind in (
            ("Warm bandwidth (perftest, MB/s, BW average)", "MB/s",
             ("ib_write_bw", "ib_read_bw", "ib_send_bw"),
             lambda p, o: ratio(o, p), "bw"),
            ("Warm latency (perftest, us, t_typical)", "us",
             ("ib_write_lat", "ib_read_lat", "ib_send_lat"),
             lambda p, o: ratio(p, o), "lat")):
        emit(f"## {title}")
        emit()
        emit("| test | size | ours pinned | ours ODP | ours ratio | upstream pinned "
             "| upstream ODP | upstream ratio | ours >= upstream | target |")
        emit("|---|---|---|---|---|---|---|---|---|---|")
        for t in tests:
            for p in params(D["ours"] or D["upstream"], t):
                v = {k: (med(D[k], (t, p, "pinned")), med(D[k], (t, p, "odp")))
                     for k in KERNELS}
                r = {k: ratio_fn(*v[k]) for k in KERNELS}
                tgt = ""
                if kind == "bw" and float(p) >= 4096:
                    ok = r["ours"] is not None and r["ours"] >= 0.97
                    tgt = ">= 0.97: " + ("met" if ok else "**missed**")
                    targets.append((f"warm-{t}-{p}",
                                    f"warm {t} {hsize(p)}: ODP/pinned >= 0.97",
                                    r["ours"], r["upstream"], ok))
                emit(f"| {t} | {hsize(p)} | {fmt(v['ours'][0])} | {fmt(v['ours'][1])} "
                     f"| {fr(r['ours'])} | {fmt(v['upstream'][0])} | {fmt(v['upstream'][1])} "
                     f"| {fr(r['upstream'])} | {cmp_col(r['ours'], r['upstream'])} | {tgt} |")
                rows.append([kind, t, p, v["ours"][0], v["ours"][1], r["ours"],
                             v["upstream"][0], v["upstream"][1], r["upstream"]])
                targets.append((f"cmp-{t}-{p}", f"{t} {hsize(p)}: ours >= upstream",
                                r["ours"], r["upstream"],
                                None if None in (r["ours"], r["upstream"])
                                else r["ours"] >= r["upstream"] * 0.97))
        emit()

    emit("ib_write_lat is left out: on one vCPU both of its sides spin on "
         "memory, so it measures the scheduler's time slice (4 ms), not rxe. "
         "ib_send_lat runs with -e (completion events) for the same reason.")
    emit()

    # 2. QPs on one MR.
    emit("## Several QPs on one MR (perftest -q N, 64 KiB, MB/s)")
    emit()
    emit("Scaling = bandwidth with N QPs / bandwidth with 1 QP, same mode. "
         "One vCPU: pinned itself cannot scale much; the target is that ODP "
         "scales like pinned (ODP/pinned flat in N).")
    emit()
    emit("| test | QPs | ours pinned | ours ODP | ours ratio | ours scaling pinned/ODP "
         "| upstream pinned | upstream ODP | upstream ratio | upstream scaling pinned/ODP "
         "| ours >= upstream |")
    emit("|---|---|---|---|---|---|---|---|---|---|---|")
    for t in ("qp_ib_write_bw", "qp_ib_read_bw", "qp_ib_send_bw"):
        ps = params(D["ours"] or D["upstream"], t)
        for p in ps:
            cells = []
            r = {}
            for k in KERNELS:
                pp, po = med(D[k], (t, p, "pinned")), med(D[k], (t, p, "odp"))
                p1, o1 = med(D[k], (t, ps[0], "pinned")), med(D[k], (t, ps[0], "odp"))
                r[k] = ratio(po, pp)
                cells += [fmt(pp), fmt(po), fr(r[k]),
                          f"{fr(ratio(pp, p1))} / {fr(ratio(po, o1))}"]
                if k == "ours":
                    rows.append(["qp", t, p, pp, po, r[k]])
                else:
                    rows[-1] += [pp, po, r[k]]
            emit(f"| {t[3:]} | {p} | " + " | ".join(cells) +
                 f" | {cmp_col(r['ours'], r['upstream'])} |")
            targets.append((f"cmp-{t}-{p}", f"{t[3:]} {p} QPs: ours >= upstream",
                            r["ours"], r["upstream"],
                            None if None in (r["ours"], r["upstream"])
                            else r["ours"] >= r["upstream"] * 0.97))
        if ps:
            last = ps[-1]
            for k in ("ours",):
                # ODP's scaling over pinned's: (odp_N/odp_1) / (pinned_N/pinned_1).
                rel = {}
                for kk in KERNELS:
                    rs = [ratio(med(D[kk], (t, p, "odp")), med(D[kk], (t, p, "pinned")))
                          for p in ps]
                    rel[kk] = (None if None in rs or not rs[0]
                               else min(x / rs[0] for x in rs[1:]))
                if rel["ours"] is not None:
                    targets.append((f"qp-{t}", f"{t[3:]}: ODP scales like pinned "
                                    f"(worst ODP-scaling/pinned-scaling over 2..{last} "
                                    f"QPs >= 0.9)", rel["ours"], rel["upstream"],
                                    rel["ours"] >= 0.9))
    emit()

    # 3. Cold first touch.
    emit("## Cold first touch (bench/odp_first_touch, MiB/s, one op at a time)")
    emit()
    emit("warm: ODP MR, pages mapped; dontneed: MADV_DONTNEED before every "
         "operation; fresh: new mmap (MAP_FIXED) before every operation; "
         "pinned_rereg: fresh memory with a pinned MR (reg + op + dereg "
         "timed). Ratio = cold / warm ODP.")
    emit()
    emit("| op | size | kernel | pinned | ODP warm | ODP dontneed | ODP fresh "
         "| pinned_rereg | dontneed/warm | fresh/warm | warm ODP/pinned |")
    emit("|---|---|---|---|---|---|---|---|---|---|---|")
    for op in ("write", "read"):
        t = f"first_touch_{op}"
        for p in params(D["ours"] or D["upstream"], t):
            r = {}
            for k in both:
                v = {m: med(D[k], (t, p, m)) for m in
                     ("pinned", "odp_warm", "odp_dontneed", "odp_fresh", "pinned_rereg")}
                r[k] = (ratio(v["odp_dontneed"], v["odp_warm"]),
                        ratio(v["odp_fresh"], v["odp_warm"]),
                        ratio(v["odp_warm"], v["pinned"]))
                emit(f"| {op} | {hsize(p)} | {k} | {fmt(v['pinned'])} | {fmt(v['odp_warm'])} "
                     f"| {fmt(v['odp_dontneed'])} | {fmt(v['odp_fresh'])} "
                     f"| {fmt(v['pinned_rereg'])} | {fr(r[k][0])} | {fr(r[k][1])} | {fr(r[k][2])} |")
            ro = r.get("ours", (None, None, None))
            ru = r.get("upstream", (None, None, None))
            rows.append(["cold", t, p, None, None, ro[0], None, None, ru[0]])
            for i, name in ((0, "dontneed"), (1, "fresh")):
                if float(p) == 65536:
                    ok = ro[i] is not None and ro[i] >= 0.5
                    targets.append((f"cold-{op}-{name}",
                                    f"cold ({name}) {op} 64 KiB >= 0.5x warm",
                                    ro[i], ru[i], ok))
                targets.append((f"cmp-cold-{op}-{name}-{p}",
                                f"cold ({name}) {op} {hsize(p)}: ours >= upstream",
                                ro[i], ru[i],
                                None if None in (ro[i], ru[i]) else ro[i] >= ru[i] * 0.97))
    emit()

    # 4. Registration.
    emit("## Registration time vs size (bench/odp_regtime, us)")
    emit()
    emit("pinned: pre-touched memory (the figure is the pinning alone); "
         "pinned cold: fresh memory (the registration also allocates and zeroes "
         "every page); ODP: untouched MAP_NORESERVE memory; implicit: whole "
         "address space (ours only: upstream rxe has no implicit ODP). "
         "Speedup = pinned time / ODP time. Pinned stops at the size that fits "
         "the guest.")
    emit()
    emit("| size | kernel | pinned | pinned cold | ODP | implicit | speedup vs pinned "
         "| speedup vs pinned cold | ODP dereg |")
    emit("|---|---|---|---|---|---|---|---|---|")
    regp = params(D["ours"] or D["upstream"], "reg")
    for p in regp:
        r = {}
        rc = {}
        for k in both:
            v = {m: med(D[k], ("reg", p, m)) for m in ("pinned", "pinned_cold", "odp", "implicit")}
            dr = med(D[k], ("dereg", p, "odp"))
            r[k] = ratio(v["pinned"], v["odp"])
            rc[k] = ratio(v["pinned_cold"], v["odp"])
            emit(f"| {hsize(p)} | {k} | {fmt(v['pinned'])} | {fmt(v['pinned_cold'])} "
                 f"| {fmt(v['odp'])} | {fmt(v['implicit'])} | {fmt(r[k])} | {fmt(rc[k])} "
                 f"| {fmt(dr)} |")
        ro, ru = r.get("ours"), r.get("upstream")
        rco, rcu = rc.get("ours"), rc.get("upstream")
        rows.append(["reg", "reg", p, None, None, ro, None, None, ru])
        if float(p) == 1 << 30:
            targets.append(("reg-1g", "ODP registration of 1 GiB >= 100x faster than "
                            "pinned (pre-touched memory)", ro, ru,
                            ro is not None and ro >= 100))
            targets.append(("reg-1g-cold", "ODP registration of 1 GiB >= 100x faster than "
                            "pinned (fresh memory)", rco, rcu,
                            rco is not None and rco >= 100))
        if ro is not None and ru is not None:
            targets.append((f"cmp-reg-{p}", f"registration {hsize(p)}: ours >= upstream",
                            ro, ru, ro >= ru * 0.97))
    if regp:
        for k in both:
            have = [p for p in regp if med(D[k], ("reg", p, "odp")) is not None]
            lo = med(D[k], ("reg", have[0], "odp")) if have else None
            hi = med(D[k], ("reg", have[-1], "odp")) if have else None
            f = ratio(hi, lo)
            if k == "ours" and have:
                reg_span = (have[0], have[-1])
            if k == "ours":
                ours_flat = f
            else:
                up_flat = f
        of = locals().get("ours_flat")
        uf = locals().get("up_flat")
        emit()
        emit(f"ODP registration time, largest size / smallest (4 KiB; includes the first-MR "
             f"cost): ours {fr(of)}, upstream {fr(uf)} (flat = about 1; upstream's largest "
             f"is the largest it accepts).")
        # "Flat": within 2x over the whole range; ratio reported as growth.
        targets.append(("reg-flat", f"ODP registration flat in size "
                        f"({hsize(regp[0])}..{hsize(regp[-1])} within 2x; figure: growth)",
                        of, uf, of is not None and of <= 2))
    emit()

    # 5. Invalidation.
    emit("## Invalidation cost: munmap() of a populated region (bench/odp_inval, ms)")
    emit()
    emit("plain: no MR; odp_idle: ODP MR, device page table empty; "
         "odp_mapped: every page mapped by the device (RDMA READ of the whole "
         "region first). Ratio = plain time / ODP time.")
    emit()
    emit("| pages | size | kernel | plain | ODP idle | ODP mapped | idle ratio | mapped ratio |")
    emit("|---|---|---|---|---|---|---|---|")
    for pg in ("4k", "thp"):
        t = f"inval_{pg}"
        for p in params(D["ours"] or D["upstream"], t):
            r = {}
            for k in both:
                v = {m: med(D[k], (t, p, m)) for m in ("plain", "odp_idle", "odp_mapped")}
                r[k] = (ratio(v["plain"], v["odp_idle"]), ratio(v["plain"], v["odp_mapped"]))
                emit(f"| {pg} | {hsize(p)} | {k} | {fmt(v['plain'])} | {fmt(v['odp_idle'])} "
                     f"| {fmt(v['odp_mapped'])} | {fr(r[k][0])} | {fr(r[k][1])} |")
            ro = r.get("ours", (None, None))
            ru = r.get("upstream", (None, None))
            rows.append(["inval", t, p, None, None, ro[1], None, None, ru[1]])
            targets.append((f"cmp-inval-{pg}", f"munmap of a mapped 1 GiB ODP region "
                            f"({pg} pages): ours >= upstream", ro[1], ru[1],
                            None if None in (ro[1], ru[1]) else ro[1] >= ru[1] * 0.97))
    emit()

    # 6. Swap.
    emit("## Swap under RDMA (bench/odp_swap, 64 KiB RDMA WRITEs sweeping the region, MiB/s)")
    emit()
    emit("pinned and odp_nopressure: no memory limit; odp_swap: the process in a "
         "memory cgroup smaller than the region, swap on zram, so the region "
         "is swapped out and faulted back during the sweeps. Ratio = ODP / pinned.")
    emit()
    emit("| region | kernel | pinned | ODP no pressure | ODP swapping | swap-ins | "
         "swap-outs | failed runs | swapping ratio | no-pressure ratio |")
    emit("|---|---|---|---|---|---|---|---|---|---|")
    for p in params(D["ours"] or D["upstream"], "swap_write"):
        r = {}
        for k in both:
            v = {m: med(D[k], ("swap_write", p, m)) for m in
                 ("pinned", "odp_nopressure", "odp_swap")}
            fails = sum(D[k].get(("swap_write_errors", p, "odp_swap"), []))
            runs = len(D[k].get(("swap_write_errors", p, "odp_swap"), []))
            sin = med(D[k], ("swap_write_pswpin", p, "odp_swap"))
            sout = med(D[k], ("swap_write_pswpout", p, "odp_swap"))
            r[k] = ratio(v["odp_swap"], v["pinned"])
            emit(f"| {hsize(p)} | {k} | {fmt(v['pinned'])} | {fmt(v['odp_nopressure'])} "
                 f"| {fmt(v['odp_swap'])} | {fmt(sin)} | {fmt(sout)} | {fails:.0f} of {runs} "
                 f"| {fr(r[k])} | {fr(ratio(v['odp_nopressure'], v['pinned']))} |")
        rows.append(["swap", "swap_write", p, None, None, r.get("ours"), None, None,
                     r.get("upstream")])
        targets.append(("cmp-swap", "swap under RDMA: ours >= upstream",
                        r.get("ours"), r.get("upstream"),
                        None if None in (r.get("ours"), r.get("upstream"))
                        else r["ours"] >= r["upstream"] * 0.97))
    emit()

    # Targets.
    emit("## Targets")
    emit()
    emit("\"ours >= upstream\" allows 3% (the run-to-run spread under --icount).")
    emit()
    emit("| target | ours | upstream | met | why missed / what would fix it |")
    emit("|---|---|---|---|---|")
    for tid, desc, ro, ru, ok in targets:
        mark = "n/a" if ok is None else ("yes" if ok else "**no**")
        text = ""
        if ok is False or ok is None:
            parts = tid.split("-")
            for i in range(len(parts), 0, -1):
                key = "-".join(parts[:i])
                if key in why:
                    text = why[key]
                    break
        emit(f"| {desc} | {fr(ro)} | {fr(ru)} | {mark} | {text} |")
    emit()
    head = [t for t in targets if not t[0].startswith("cmp-")]
    cmps = [t for t in targets if t[0].startswith("cmp-") and t[4] is not None]
    summary = [
        "## Summary",
        "",
        f"- Targets: {sum(1 for t in head if t[4])} of {len(head)} met "
        f"({', '.join(t[1] for t in head if t[4] is False) or 'none missed'} missed).",
        f"- Ours >= upstream (ratio, 3% slack): {sum(1 for t in cmps if t[4])} of "
        f"{len(cmps)} workloads; behind on: "
        f"{', '.join(t[1].replace(': ours >= upstream', '') for t in cmps if not t[4]) or 'none'}.",
        "- The why / fix of each miss is in the Targets table at the end.",
        "",
    ]
    at = out.index("## Warm bandwidth (perftest, MB/s, BW average)")
    out[at:at] = summary
    emit("Plots: bench-bw.png (warm ODP/pinned vs size), bench-reg.png "
         "(registration time vs size), bench-qp.png (bandwidth vs QPs), "
         "bench-cold.png (cold and warm ODP bandwidth vs size).")
    with open(os.path.join(res, "bench.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(res, "ratios.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["group", "workload", "param", "ours_pinned", "ours_odp",
                    "ours_ratio", "upstream_pinned", "upstream_odp", "upstream_ratio"])
        for r in rows:
            w.writerow(["" if x is None else (f"{x:.6g}" if isinstance(x, float) else x)
                        for x in r])
    plots(res, D, both)
    print("\n".join(out))


def plots(res, D, both):
    """gnuplot PNGs; data files are written to a temporary directory."""
    import tempfile
    tmp = tempfile.mkdtemp()
    series = []

    def dat(name, pts):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            for x, y in pts:
                if y is not None:
                    f.write(f"{x} {y}\n")
        return path

    def plot(png, title, xl, yl, lines, logx=True, logy=False):
        g = ["set terminal pngcairo size 800,500 font ',10'",
             f"set output '{os.path.join(res, png)}'",
             f"set title '{title}'", f"set xlabel '{xl}'", f"set ylabel '{yl}'",
             "set key outside right", "set grid", "set termoption noenhanced"]
        if logx:
            g += ["set logscale x 2", "set format x '%.0b %BB'"]
        if logy:
            g.append("set logscale y 10")
        pl = []
        for path, label in lines:
            if os.path.getsize(path):
                pl.append(f"'{path}' using 1:2 with linespoints title '{label}'")
        if not pl:
            return
        g.append("plot " + ", ".join(pl))
        subprocess.run(["gnuplot"], input="\n".join(g), text=True, check=False)

    src = D["ours"] or D["upstream"]
    lines = []
    for k in both:
        for t in ("ib_write_bw", "ib_read_bw", "ib_send_bw"):
            pts = [(p, ratio(med(D[k], (t, p, "odp")), med(D[k], (t, p, "pinned"))))
                   for p in params(src, t)]
            lines.append((dat(f"bw-{k}-{t}", pts), f"{k} {t}"))
    plot("bench-bw.png", "Warm ODP/pinned bandwidth", "message size (bytes)",
         "ODP / pinned", lines)
    lines = []
    for k in both:
        for m in ("pinned", "odp", "implicit"):
            pts = [(p, med(D[k], ("reg", p, m))) for p in params(src, "reg")]
            lines.append((dat(f"reg-{k}-{m}", pts), f"{k} {m}"))
    plot("bench-reg.png", "Registration time", "region size (bytes)", "us", lines,
         logy=True)
    lines = []
    for k in both:
        for m in ("pinned", "odp"):
            pts = [(p, med(D[k], ("qp_ib_write_bw", p, m)))
                   for p in params(src, "qp_ib_write_bw")]
            lines.append((dat(f"qp-{k}-{m}", pts), f"{k} {m}"))
    plot("bench-qp.png", "ib_write_bw 64 KiB, QPs on one MR", "QPs", "MB/s", lines,
         logx=False)
    lines = []
    for k in both:
        for m in ("odp_warm", "odp_dontneed", "odp_fresh", "pinned_rereg"):
            pts = [(p, med(D[k], ("first_touch_write", p, m)))
                   for p in params(src, "first_touch_write")]
            lines.append((dat(f"cold-{k}-{m}", pts), f"{k} {m}"))
    plot("bench-cold.png", "RDMA WRITE into warm vs cold memory", "size (bytes)",
         "MiB/s", lines)


if __name__ == "__main__":
    main()
