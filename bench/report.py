"""Ratios, targets, the table and the chart of one benchmark run."""

from __future__ import annotations

from pathlib import Path

__all__ = ["evaluate", "print_table", "write_chart", "TARGETS"]

ORDER = ["spacy", "naive", "embedded", "embedded_1p", "kafka_1w", "kafka_2w", "peer_quix"]
LABELS = {
    "spacy": "spaCy nlp.pipe alone (the limit)",
    "naive": "naive: nlp() + 1 index call / article",
    "embedded": "newswire embedded, 1 process per core",
    "embedded_1p": "newswire embedded, 1 process",
    "kafka_1w": "newswire Kafka+ES, 1 enrich worker",
    "kafka_2w": "newswire Kafka+ES, 2 enrich workers",
    "peer_quix": "peer: Quix Streams + ES sink",
}
# key: (description, threshold, higher is better); issue 17's targets first. Wall-clock ratios, except
# enricher_vs_full_pipe (CPU per article); summary["cpu_normalized"] holds the CPU ratio beside each.
TARGETS = {
    "enricher_vs_full_pipe": ("Enricher CPU/article >= 1.6 x full nlp.pipe", 1.6, True),
    "embedded_vs_naive": ("embedded, all cores >= 2 x naive", 2.0, True),
    "embedded_scaling": ("embedded, all cores >= 1.8 x 1 process", 1.8, True),
    "kafka_1w_vs_embedded_1p": ("Kafka+ES 1 worker >= 0.95 x embedded 1 proc", 0.95, True),
    "scaling_2_workers": ("2 enrich workers >= 1.8 x one", 1.8, True),
    "p95_latency_s": ("p95 emit->searchable <= 1.5 s at half peak", 1.5, False),
    "enrich_rss_mb": ("enrich worker peak RSS <= 350 MB", 350.0, False),
    "throughput_ratio_to_spacy": ("Kafka+ES 1 worker >= 0.90 x nlp.pipe", 0.90, True),
    "speedup_vs_naive": ("Kafka+ES 1 worker >= 2 x naive", 2.0, True),
    "ratio_vs_peer": ("Kafka+ES 1 worker >= 1 x Quix peer", 1.0, True),
}


def _rate(result: dict | None) -> float | None:
    if not result or not result.get("seconds"):
        return None
    return result["articles"] / result["seconds"]


def _cpu_rate(result: dict | None) -> float | None:
    """Articles per CPU-second of the benchmarked Python processes (not Kafka's or Elasticsearch's)."""
    if not result:
        return None
    cpu = sum((result.get("cpu_seconds") or {}).values())
    return result["articles"] / cpu if cpu else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def evaluate(results: dict, latency: dict, errors: dict, context: dict, nlp_cost: dict | None = None) -> dict:
    rates = {name: _rate(results.get(name)) for name in ORDER}
    cpu_rates = {name: _cpu_rate(results.get(name)) for name in ORDER}
    contenders = {}
    for name in ORDER:
        if name not in results:
            continue
        result = dict(results[name])
        result["label"] = LABELS[name]
        result["articles_per_s"] = round(rates[name], 3) if rates[name] else None
        result["articles_per_cpu_s"] = round(cpu_rates[name], 3) if cpu_rates[name] else None
        result["ratio_to_spacy"] = _ratio(rates[name], rates["spacy"])
        result["ratio_to_naive"] = _ratio(rates[name], rates["naive"])
        result["ratio_to_peer"] = _ratio(rates[name], rates["peer_quix"])
        contenders[name] = result
    enrich_peaks = [results[n]["peak_rss_mb"].get("enrich") for n in ("kafka_1w", "kafka_2w") if n in results]
    enrich_peaks = [p for p in enrich_peaks if p]
    nlp_cost = nlp_cost or {}
    summary = {
        "enricher_vs_full_pipe": round(nlp_cost["enricher_vs_full"], 3) if nlp_cost else None,
        "embedded_vs_naive": _ratio(rates["embedded"], rates["naive"]),
        "embedded_scaling": _ratio(rates["embedded"], rates["embedded_1p"]),
        "kafka_1w_vs_embedded_1p": _ratio(rates["kafka_1w"], rates["embedded_1p"]),
        "throughput_ratio_to_spacy": _ratio(rates["kafka_1w"], rates["spacy"]),
        "speedup_vs_naive": _ratio(rates["kafka_1w"], rates["naive"]),
        "ratio_vs_peer": _ratio(rates["kafka_1w"], rates["peer_quix"]),
        "scaling_2_workers": _ratio(rates["kafka_2w"], rates["kafka_1w"]),
        "p95_latency_s": round(latency["p95_s"], 3) if latency.get("p95_s") is not None else None,
        "p50_latency_s": round(latency["p50_s"], 3) if latency.get("p50_s") is not None else None,
        "enrich_rss_mb": max(enrich_peaks) if enrich_peaks else None,
        "cpu_normalized": {
            "enricher_vs_full_pipe": round(nlp_cost["enricher_vs_full"], 3) if nlp_cost else None,
            "embedded_vs_naive": _ratio(cpu_rates["embedded"], cpu_rates["naive"]),
            "embedded_scaling": _ratio(cpu_rates["embedded"], cpu_rates["embedded_1p"]),
            "kafka_1w_vs_embedded_1p": _ratio(cpu_rates["kafka_1w"], cpu_rates["embedded_1p"]),
            "throughput_ratio_to_spacy": _ratio(cpu_rates["kafka_1w"], cpu_rates["spacy"]),
            "speedup_vs_naive": _ratio(cpu_rates["kafka_1w"], cpu_rates["naive"]),
            "ratio_vs_peer": _ratio(cpu_rates["kafka_1w"], cpu_rates["peer_quix"]),
        },
        "latency": latency,
        "nlp_cost": nlp_cost,
        "contenders": contenders,
        "machine": context,
        "errors": errors,
    }
    summary["targets"] = {}
    for key, (text, threshold, higher) in TARGETS.items():
        value = summary[key]
        met = None if value is None else (value >= threshold if higher else value <= threshold)
        summary["targets"][key] = {"target": text, "value": value, "met": met}
    return summary


def _fmt(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(summary: dict) -> None:
    machine = summary["machine"]
    print(f"\nnewswire bench: {machine['articles']} articles ({machine['words']} words), batch size "
          f"{machine['batch_size']}; {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gb']} GB; "
          f"load average {machine['load_average_at_start'][0]} at start, {machine['load_average_at_end'][0]} at end")
    header = f"{'contender':<40} {'art/s':>7} {'xspaCy':>7} {'xnaive':>7} {'xpeer':>7} {'art/cpu-s':>9}  peak RSS MB"
    print(header)
    print("-" * len(header))
    for name in ORDER:
        result = summary["contenders"].get(name)
        if result is None:
            error = summary["errors"].get(name)
            if error:
                print(f"{LABELS[name]:<40} failed: {error[:80]}")
            continue
        rss = ", ".join(f"{role} {mb:.0f}" for role, mb in result["peak_rss_mb"].items())
        print(f"{LABELS[name]:<40} {_fmt(result['articles_per_s']):>7} {_fmt(result['ratio_to_spacy']):>7} "
              f"{_fmt(result['ratio_to_naive']):>7} {_fmt(result['ratio_to_peer']):>7} "
              f"{_fmt(result['articles_per_cpu_s']):>9}  {rss}")
    latency = summary["latency"]
    if latency:
        print(f"\nlatency (1 enrich worker, {latency.get('rate_per_s', 0):.2f} articles/s = half its peak, "
              f"{latency.get('searchable')}/{latency.get('produced')} articles): p50 {_fmt(latency.get('p50_s'))} s, "
              f"p95 {_fmt(latency.get('p95_s'))} s, max {_fmt(latency.get('max_s'))} s")
        for stage, values in (latency.get("stages") or {}).items():
            print(f"  {stage:<28} p50 {_fmt(values.get('p50_s'))} s, p95 {_fmt(values.get('p95_s'))} s")
    cost = summary.get("nlp_cost") or {}
    if cost:
        per = cost["cpu_ms_per_article"]
        print(f"\nNLP CPU per article ({cost['articles']} articles): full nlp.pipe {per['full']:.0f} ms, "
              f"Enricher {per['enricher']:.0f} ms ({cost['enricher_vs_full']:.2f}x), "
              f"NER alone {per['ner_alone']:.0f} ms (the floor, {cost['ner_alone_vs_full']:.2f}x)")
        print("  full pipe's CPU by component: "
              + ", ".join(f"{k} {100 * v:.0f} %" for k, v in cost["component_share"].items()))
    cpu = summary["cpu_normalized"]
    print("\ntargets (wall-clock ratio; in brackets the same ratio per CPU-second of the Python processes):")
    for key, target in summary["targets"].items():
        verdict = {True: "MET", False: "MISSED", None: "NOT MEASURED"}[target["met"]]
        beside = f" (cpu {_fmt(cpu[key])})" if key in cpu else ""
        print(f"  {verdict:<12} {target['target']:<45} {key} = {_fmt(target['value'])}{beside}")
    for name, error in summary["errors"].items():
        print(f"error in {name}: {error}")


def write_chart(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in ORDER if n in summary["contenders"]]
    rates = [summary["contenders"][n]["articles_per_s"] or 0 for n in names]
    rss = [max(summary["contenders"][n]["peak_rss_mb"].get(r, 0) for r in summary["contenders"][n]["peak_rss_mb"]
               if r != "connectors" and r != "sink") for n in names]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    colors = ["#888888" if n in ("spacy", "naive", "peer_quix") else "#1f77b4" for n in names]
    left.barh(names, rates, color=colors)
    spacy = summary["contenders"].get("spacy", {}).get("articles_per_s")
    if spacy:
        left.axvline(0.9 * spacy, color="red", linestyle="--", label="0.90 x nlp.pipe")
        left.legend(loc="lower right")
    left.set_xlabel("articles / second (first produce -> all searchable)")
    left.invert_yaxis()
    for y, rate in enumerate(rates):
        left.text(rate, y, f" {rate:.2f}", va="center")
    right.barh(names, rss, color=colors)
    right.axvline(400, color="red", linestyle="--", label="400 MB target (enrich worker)")
    right.legend(loc="lower right")
    right.set_xlabel("peak RSS of the enriching process, MB")
    right.invert_yaxis()
    machine = summary["machine"]
    latency = summary["latency"]
    fig.suptitle(f"newswire bench: {machine['articles']} articles, {machine['cpus']} CPUs; "
                 f"p50/p95 latency {_fmt(latency.get('p50_s'))}/{_fmt(latency.get('p95_s'))} s")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
