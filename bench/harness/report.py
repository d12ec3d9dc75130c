"""Turns the harness's results-*.json files of one results folder into report.md and chart.png.

Usage: report.py RESULTS_DIR [--note TEXT]
Every results-*.json in the folder counts: catch-up figures are the median over all runs of an
engine, with the spread (min-max) beside it; ratios are cdcflow/Flink and cdcflow/ceiling.
"""

import argparse
import glob
import json
import os
import statistics
import sys

GOALS = {  # issue #10's goals: cdcflow against Flink / the ceiling
    "throughput_vs_flink": ">= 5x",
    "throughput_vs_ceiling": ">= 50 %",
    "memory_vs_flink": "<= 1/4",
    "p99_vs_flink": "<= 1/3",
}


def load(folder):
    runs = []
    for path in sorted(glob.glob(os.path.join(folder, "results-*.json"))):
        with open(path) as f:
            runs.append(json.load(f))
    if not runs:
        sys.exit(f"report: no results-*.json in {folder}")
    return runs


def summarize(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    return statistics.median(values), min(values), max(values)


def fmt(v, digits=0, unit=""):
    if v is None:
        return "–"
    if digits == 0:
        return f"{v:,.0f}{unit}"
    return f"{v:,.{digits}f}{unit}"


def fmt_spread(med, lo, hi, digits=0):
    if med is None:
        return "–"
    if lo == hi:
        return fmt(med, digits)
    return f"{fmt(med, digits)} ({fmt(lo, digits)}–{fmt(hi, digits)})"


def ratio(a, b, digits=2, percent=False):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r * 100:.0f} %" if percent else f"{r:.{digits}f}×"


def cdcflow_workers(runs):
    """cdcflow's task managers and slots in the last run (runs before the options: 2 x 1)."""
    args = runs[-1]["args"]
    tms = args.get("cdcflow_task_managers", 2)
    slots = args.get("cdcflow_slots", 1)
    flags = args.get("cdcflow_tm_args", "")
    if tms == 0:
        return (f"one process: the job manager running a task manager (`--local-slots {slots}`"
                f"{', ' + flags if flags else ''})")
    return ("job manager + "
            f"{tms} task manager{'s' if tms != 1 else ''} ({slots} slot{'s' if slots != 1 else ''}"
            f"{' each' if tms != 1 else ''}{', ' + flags if flags else ''})")


def cdcflow_state(runs):
    """Where the last run kept cdcflow's keyed state (runs before the option: RocksDB)."""
    if runs[-1]["args"].get("cdcflow_state", "rocksdb") == "memory":
        return " (keyed state in memory, no --state-dir: `--cdcflow-state memory`)"
    return " (RocksDB state under --state-dir)"


def build(folder, note=""):
    runs = load(folder)
    engines = []
    for r in runs:
        for c in r["catch_up"] + r["live"]:
            if c["engine"] not in engines:
                engines.append(c["engine"])
    order = [e for e in ("cdcflow", "flink", "ceiling") if e in engines]
    catch = {e: [c for r in runs for c in r["catch_up"] if c["engine"] == e] for e in order}
    live = {e: [c for r in runs for c in r["live"] if c["engine"] == e] for e in order}

    def metric(e, key, source=catch):
        return summarize([c.get(key) for c in source[e] if "error" not in c])

    m = {e: {k: metric(e, k) for k in ("events_per_s", "peak_rss_mb", "peak_pss_mb", "cpu_s",
                                       "first_output_s", "wall_s")} for e in order}
    lm = {e: {k: metric(e, k, live) for k in ("p50_ms", "p99_ms", "peak_rss_mb", "cpu_s",
                                             "recovery_s", "first_output_after_kill_s",
                                             "achieved_rate")} for e in order}
    machine = runs[-1]["machine"]
    events = runs[-1]["events"]
    lines = [f"# cdcflow vs Apache Flink: order enrichment, {runs[-1]['date'][:10]}", ""]
    if note:
        lines += [note, ""]
    n_runs = {e: len([c for c in catch[e] if "error" not in c]) for e in order}
    lines += [
        f"Backlog: **{events:,} Debezium change events** (orders, shipments, products; inserts, "
        "30 % updates, 10 % deletes with their tombstones) generated once through PostgreSQL → "
        "Debezium → Kafka, read by each engine from the earliest offset. Catch-up figures: median "
        "of " + ", ".join(f"{n_runs[e]} {e}" for e in order) + " run(s), (min–max) when "
        "repeated.", ""]

    lines += ["## Catch-up", "",
              "| | " + " | ".join(order) + " |", "|---|" + "---|" * len(order)]

    def row(label, key, digits=0):
        lines.append(f"| {label} | " + " | ".join(fmt_spread(*m[e][key], digits) for e in order)
                     + " |")
    row("throughput (events/s)", "events_per_s")
    row("catch-up wall time from launch (s)", "wall_s", 1)
    row("time from launch to first output (s)", "first_output_s", 1)
    row("peak RSS, all processes (MB)", "peak_rss_mb")
    if any(m[e]["peak_pss_mb"][0] is not None for e in order):
        row("peak PSS, all processes (MB)", "peak_pss_mb")
    row("CPU time (s)", "cpu_s", 1)
    eq = {e: [c.get("equal") for c in catch[e] if "error" not in c] for e in order}
    lines.append("| output = PostgreSQL join | " + " | ".join(
        "n/a" if e == "ceiling" else ("yes" if eq[e] and all(eq[e]) else
                                      ("**NO**" if eq[e] else "–")) for e in order) + " |")
    errors = [c for e in order for c in catch[e] + live[e] if "error" in c]
    rates = sorted({c.get("rate") for e in order for c in live[e] if c.get("rate")})
    live_engines = [e for e in order if e != "ceiling"]
    p99_by_rate = {}
    for rate in rates:
        lr = {e: [c for c in live[e] if c.get("rate") == rate and "error" not in c]
              for e in order}
        lmr = {e: {k: summarize([c.get(k) for c in lr[e]])
                   for k in ("achieved_rate", "p50_ms", "p99_ms", "unanswered_pct",
                             "peak_rss_mb", "cpu_s",
                             "first_output_after_kill_s", "recovery_s")} for e in order}
        p99_by_rate[rate] = {e: lmr[e]["p99_ms"][0] for e in order}
        lines += ["", f"## Fixed rate: {rate:,} events/s", "",
                  "Latency: from an event's append to its input topic to the first output record "
                  "of its order after it.", "",
                  "| | " + " | ".join(live_engines) + " |", "|---|" + "---|" * len(live_engines)]
        for label, key, digits in (("events with a latency figure / s (steady window)", "achieved_rate", 0),
                                   ("latency p50 (ms)", "p50_ms", 0),
                                   ("latency p99 (ms)", "p99_ms", 0),
                                   ("events with no output record of their own (%)",
                                    "unanswered_pct", 1),
                                   ("peak RSS (MB)", "peak_rss_mb", 0),
                                   ("CPU time (s)", "cpu_s", 1),
                                   ("kill -9 of a worker → first output (s)",
                                    "first_output_after_kill_s", 1),
                                   ("kill -9 of a worker → latency normal again (s)",
                                    "recovery_s", 1)):
            lines.append(f"| {label} | " + " | ".join(
                fmt_spread(*lmr[e][key], digits) for e in live_engines) + " |")
        leq = {e: [c.get("equal") for c in lr[e]] for e in order}
        lines.append("| output = join of its replayed input | " + " | ".join(
            ("yes" if leq[e] and all(leq[e]) else ("**NO**" if leq[e] else "–"))
            for e in live_engines) + " |")

    lines += ["", "## Ratios against the goals", "", "| | measured | goal |", "|---|---|---|"]
    c, f, ce = m.get("cdcflow"), m.get("flink"), m.get("ceiling")
    if c and f:
        lines.append(f"| cdcflow / Flink throughput | {ratio(c['events_per_s'][0], f['events_per_s'][0])}"
                     f" | {GOALS['throughput_vs_flink']} |")
        lines.append(f"| cdcflow / Flink peak memory | {ratio(c['peak_rss_mb'][0], f['peak_rss_mb'][0])}"
                     f" | {GOALS['memory_vs_flink']} |")
        if c["peak_pss_mb"][0] is not None and f["peak_pss_mb"][0] is not None:
            lines.append(f"| cdcflow / Flink peak memory (PSS) | "
                         f"{ratio(c['peak_pss_mb'][0], f['peak_pss_mb'][0])} | {GOALS['memory_vs_flink']} |")
        lines.append(f"| cdcflow / Flink CPU time | {ratio(c['cpu_s'][0], f['cpu_s'][0])} | – |")
        for rate in rates:
            pr = p99_by_rate[rate]
            if pr.get("cdcflow") is not None and pr.get("flink") is not None:
                lines.append(f"| cdcflow / Flink p99 latency at {rate:,} events/s | "
                             f"{ratio(pr['cdcflow'], pr['flink'], digits=3)}"
                             f" | {GOALS['p99_vs_flink']} |")
    if c and ce:
        lines.append(f"| cdcflow / ceiling throughput | "
                     f"{ratio(c['events_per_s'][0], ce['events_per_s'][0], percent=True)}"
                     f" | {GOALS['throughput_vs_ceiling']} |")
    if f and ce:
        lines.append(f"| Flink / ceiling throughput | "
                     f"{ratio(f['events_per_s'][0], ce['events_per_s'][0], percent=True)} | – |")
    if errors:
        lines += ["", "## Failures", ""]
        for e in errors:
            lines.append(f"- {e['engine']} ({e.get('run', 'live')}): {e['error']}")
    diffs = [c for e in order for c in catch[e] + live[e] if c.get("equal") is False]
    for d in diffs:
        lines += ["", f"Output of {d['engine']} ({d['run']}) differs from what it should be:", "",
                  "```", d.get("diff", ""), "```"]

    lines += ["", "![throughput and latency](chart.png)", "", "## Machine and versions", ""]
    la0 = machine.get("loadavg_start")
    la1 = machine.get("loadavg_end")
    lines += [
        f"- {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; Linux "
        f"{machine['kernel']}; shared with other engineers' builds (load average "
        f"{la0[0]:.1f} at the start, {la1[0]:.1f} at the end of the last run): figures are noisy, "
        "compare within one run.",
        f"- cdcflow {machine['git']}, release build, jobs/order_enrichment, "
        + cdcflow_workers(runs) + cdcflow_state(runs) + ", parallelism 2, "
        "checkpoints every 10 s.",
    ] + ([
        f"- Apache Flink {machine['flink']} (Maven Central jars, local MiniCluster in one JVM, "
        "-Xmx" + str(runs[-1]['args'].get('flink_heap', '?')) + "), Flink SQL with the "
        "debezium-json format and upsert-kafka, RocksDB state backend, parallelism 2, checkpoints "
        "every 10 s; " + machine['java'] + "."] if "flink" in engines else []) + [
        "- Ceiling: bench_ceiling, librdkafka consumer + simdjson on-demand parse of every "
        "event (op, every column of before/after, source.ts_ms), 2 threads, nothing else.",
        f"- Kafka {machine['kafka']}, Debezium {machine['debezium']}; "
        "all on this one machine, loopback.",
        "",
        "How each figure is taken: `bench/README.md`. Raw figures: the `results-*.json` files "
        "beside this report.", ""]
    with open(os.path.join(folder, "report.md"), "w") as f:
        f.write("\n".join(lines))
    chart(folder, order, catch, live)
    return os.path.join(folder, "report.md")


def chart(folder, order, catch, live):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"cdcflow": "#1f77b4", "flink": "#e6550d", "ceiling": "#7f7f7f"}
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    (ax_tp, ax_rss), (ax_lat, ax_series) = axes

    def bars(ax, title, source, key, names):
        ax.set_title(title, fontsize=10)
        for i, e in enumerate(names):
            vals = [c.get(key) for c in source[e] if "error" not in c and c.get(key) is not None]
            if not vals:
                continue
            med = statistics.median(vals)
            ax.bar(i, med, color=colors[e])
            ax.scatter([i] * len(vals), vals, color="black", s=8, zorder=3)
            ax.text(i, med, f"{med:,.0f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(names)), names, fontsize=9)

    bars(ax_tp, "catch-up throughput (events/s)", catch, "events_per_s", order)
    bars(ax_rss, "peak RSS during catch-up, all processes (MB)", catch, "peak_rss_mb", order)

    engines = [e for e in order if e != "ceiling" and live.get(e)]
    ax_lat.set_title("latency at fixed rates, p50 (light) and p99 (ms, log)", fontsize=10)
    x, ticks, labels = 0, [], []
    rates = sorted({c.get("rate") for e in engines for c in live[e] if c.get("rate")})
    for rate, e in [(r, e) for r in rates for e in engines]:
        runs = [c for c in live[e] if "error" not in c and c.get("rate") == rate]
        for j, pk in enumerate(("p50_ms", "p99_ms")):
            vals = [c.get(pk) for c in runs if c.get(pk) is not None]
            if not vals:
                continue
            med = statistics.median(vals)
            ax_lat.bar(x, med, color=colors[e], alpha=0.5 if j == 0 else 1.0)
            ax_lat.text(x, med, f"{med:,.0f}", ha="center", va="bottom", fontsize=8)
            ticks.append(x)
            labels.append(f"{e} {pk[:3]}\n@{rate:,}/s")
            x += 1
        x += 0.5
    ax_lat.set_xticks(ticks, labels, fontsize=7)
    ax_lat.set_yscale("log")

    ax_series.set_title("latency of each event over the fixed-rate phase (ms)", fontsize=10)
    for e in engines:
        runs = [c for c in live[e] if "error" not in c and c.get("series")]
        if not runs:
            continue
        r = max(runs, key=lambda c: (c.get("killed_at_s") is not None, c.get("rate", 0)))
        xs = [p[0] for p in r["series"]]
        ys = [max(p[1], 1) for p in r["series"]]
        ax_series.scatter(xs, ys, s=3, color=colors[e], label=f"{e} @{r['rate']:,}/s", alpha=0.6)
        if r.get("killed_at_s") is not None:
            ax_series.axvline(r["killed_at_s"], color=colors[e], linestyle="--", linewidth=1)
    ax_series.set_yscale("log")
    ax_series.set_xlabel("seconds into the phase (dashed: kill -9 of a worker)", fontsize=9)
    if engines:
        ax_series.legend(fontsize=8)
    fig.suptitle("cdcflow vs Apache Flink — order enrichment (bars: median, dots: runs)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(os.path.join(folder, "chart.png"), dpi=100)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--note", default="")
    args = p.parse_args(argv)
    print(build(args.folder, args.note))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
