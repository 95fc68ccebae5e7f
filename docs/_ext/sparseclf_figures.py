# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""Figures and tables drawn at every documentation build.

A Sphinx extension: when the builder starts, it writes PNG figures and
reStructuredText snippets (``.inc``, pulled in with ``.. include::``) into
``docs/generated/figures/`` (ignored by git), from two sources:

- the code itself: the active set of a sampled output layer, and the sizes
  and hash settings that ``"auto"`` picks for each number of outputs (read from
  ``sparseclf._sampler`` and ``sparseclf._text``, so the pages follow the code);
- the benchmarks' saved results, ``benchmarks/results/*.json`` (written by
  ``--save-json``): plots, tables, and the command, date and machine of each
  file.

Everything is drawn with matplotlib's Agg backend from local files and fixed
seeds: the build needs no network and gives the same figures every time.
"""

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

# Colours of the roles of output neurons and of the benchmarked methods.
ROLE_COLOURS = {
    "label": "#1b7837",
    "candidate": "#f1a340",
    "hub": "#762a83",
    "negative": "#4393c3",
    "off": "#ececec",
}
METHOD_COLOURS = {
    "sparseclf": "C0",
    "TextClassifier (sparseclf)": "C0",
    "torch": "C1",
    "omikuji": "C2",
    "fastText, defaults": "C1",
    "fastText, tuned": "C3",
    "fastText, epoch 10, lr 0.5": "C6",
    "TextClassifier, previous defaults": "C9",
    "tf-idf + MLPClassifier": "C4",
    "tf-idf + SGDClassifier": "C2",
    "tf-idf + LogisticRegression": "C5",
    "prior": "0.6",
}
# Figures carry no matplotlib version, so a rebuild writes the same bytes.
PNG_METADATA = {"Software": None}


def _save(fig, path):
    fig.savefig(path, dpi=110, metadata=PNG_METADATA)
    plt.close(fig)


def _fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def _list_table(header, rows, widths=None):
    """A ``list-table`` directive, as lines of reStructuredText."""
    lines = [".. list-table::", "   :header-rows: 1"]
    if widths:
        lines.append(f"   :widths: {' '.join(str(w) for w in widths)}")
    lines.append("")
    for row in [header, *rows]:
        # A bare "-" would start a nested list: escape it.
        row = [r"\-" if cell == "-" else cell for cell in row]
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    lines.append("")
    return lines


# --------------------------------------------------------- the sampled layer


def draw_active_sets(path):
    """One batch's active sets, schematically: a few samples x a few outputs.

    Each sample computes its own labels and LSH candidates; the batch shares
    one pool of negatives (the hubs and neurons drawn by label frequency);
    every other output neuron is skipped.
    """
    rng = np.random.RandomState(0)
    n_samples, n_cols = 4, 60
    roles = np.full((n_samples, n_cols), "off", dtype=object)
    hubs = rng.choice(n_cols, 3, replace=False)
    free = np.setdiff1d(np.arange(n_cols), hubs)
    negatives = rng.choice(free, 9, replace=False)
    roles[:, negatives] = "negative"
    roles[:, hubs] = "hub"
    for i in range(n_samples):
        own = rng.choice(n_cols, rng.randint(1, 4) + rng.randint(3, 7), replace=False)
        n_labels = rng.randint(1, 4)
        roles[i, own[n_labels:]] = "candidate"
        roles[i, own[:n_labels]] = "label"
    colours = np.vectorize(lambda r: matplotlib.colors.to_rgb(ROLE_COLOURS[r]))
    image = np.stack(colours(roles), axis=-1)

    fig, ax = plt.subplots(figsize=(9, 2.9))
    ax.imshow(image, aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_samples, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.2)
    ax.tick_params(which="both", length=0)
    ax.set_xticks([])
    ax.set_yticks(range(n_samples), [f"sample {i + 1}" for i in range(n_samples)])
    ax.set_xlabel("output neurons (a few of them)")
    ax.set_title("The active sets of one training batch", fontsize=11)
    legend = [
        Patch(color=ROLE_COLOURS["label"], label="the sample's labels"),
        Patch(color=ROLE_COLOURS["candidate"], label="its LSH candidates"),
        Patch(color=ROLE_COLOURS["hub"], label="hubs (shared)"),
        Patch(
            color=ROLE_COLOURS["negative"], label="drawn by label frequency (shared)"
        ),
        Patch(color=ROLE_COLOURS["off"], label="not computed"),
    ]
    ax.legend(
        handles=legend,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        ncol=3,
        frameon=False,
        fontsize=9,
    )
    fig.tight_layout()
    _save(fig, path)


def draw_active_size(path):
    """Output neurons computed per training sample against the layer's width,
    as ``output_sparsity="auto"`` chooses them (``_sampler.active_size``)."""
    from sparseclf._sampler import (
        _DENSE_MAX_OUTPUTS,
        _MAX_CAND_FRACTION,
        active_size,
    )

    n = np.unique(np.logspace(2, 7, 200).astype(int))
    m = np.array([active_size("auto", int(k)) for k in n])
    sparse = n > _DENSE_MAX_OUTPUTS
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(n, n, color="0.5", linestyle="--", label="dense layer: every output")
    ax.plot(n, m, color="C0", linewidth=2, label='active set, output_sparsity="auto"')
    ax.plot(
        n[sparse],
        (m[sparse] * _MAX_CAND_FRACTION).astype(int),
        color=ROLE_COLOURS["candidate"],
        label="of which LSH candidates, at most",
    )
    ax.axvspan(n[0], _DENSE_MAX_OUTPUTS, color="0.92", zorder=0)
    ax.text(
        150, 3e5, "trains densely\n(exact softmax)", fontsize=9, va="top", ha="left"
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="output neurons (classes)",
        ylabel="output neurons computed\nper training sample",
        xlim=(n[0], n[-1]),
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.2, 1.0))
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def autotune_table(path):
    """The active size and hash settings ``"auto"`` gives, by output width."""
    from sparseclf import SparseMLPClassifier
    from sparseclf._sampler import (
        _MAX_CAND_FRACTION,
        OutputSampler,
        SamplerSettings,
        active_size,
    )

    params = SparseMLPClassifier().get_params()
    settings = SamplerSettings(**{f: params[f] for f in SamplerSettings._fields})
    rows = []
    for n in (1_000, 1_001, 10_000, 100_000, 670_091, 1_000_000):
        m = active_size("auto", n)
        if m >= n:
            rows.append([f"{n:,}", f"{m:,} (all)", "-", "-", "-", "-", "-"])
            continue
        aimed = max(1, round(m * _MAX_CAND_FRACTION / 2))
        cells = [f"{n:,}", f"{m:,}", f"{aimed:,}"]
        for family in ("dwta", "simhash"):
            p = OutputSampler._hash_params(settings._replace(hash_family=family), m, n)
            cells.append(f"{p['hashes_per_table']} ({2 ** p['range_pow']:,})")
        cells += [str(p["n_tables"]), str(p["bucket_capacity"])]
        rows.append(cells)
    header = [
        "outputs",
        "active size",
        "candidates aimed at",
        "K, DWTA (buckets)",
        "K, SimHash (buckets)",
        "tables L",
        "bucket capacity",
    ]
    path.write_text("\n".join(_list_table(header, rows)), encoding="utf-8")


def text_schedule_table(path):
    """Epochs and learning rate of ``TextClassifier``'s ``"auto"`` settings."""
    from sparseclf._text import _auto_schedule

    rows = []
    for n, name in (
        (500, ""),
        (2_000, ""),
        (5_452, "TREC"),
        (11_314, "20 Newsgroups"),
        (30_000, ""),
        (67_349, "SST-2"),
        (500_000, ""),
    ):
        epochs, rate = _auto_schedule(n, "auto", "auto")
        fixed_epochs, _ = _auto_schedule(n, "auto", 1e-3)
        epochs20, rate20 = _auto_schedule(n, "auto", "auto", 20)
        label = f"{n:,}" + (f" ({name})" if name else "")
        rows.append(
            [
                label,
                str(epochs),
                f"{rate:.2g}",
                str(fixed_epochs),
                f"{epochs20}, {rate20:.2g}",
            ]
        )
    header = [
        "training documents",
        "epochs (2 classes)",
        "learning rate (2 classes)",
        "epochs if learning_rate_init is set (2 classes)",
        "epochs, learning rate (20 classes)",
    ]
    path.write_text("\n".join(_list_table(header, rows)), encoding="utf-8")


# ------------------------------------------------------------- benchmarks


def _provenance(record, path):
    """Where a results file comes from, as a paragraph."""
    m = record["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    threads = f", {m['threads']} threads used" if "threads" in m else ""
    cpus = m.get("usable_cpus", m.get("cpu_count"))
    load = "-".join(
        f"{x:.1f}"
        for x in (m["load_average"][0], record.get("load_average_end", [None])[0])
        if x is not None
    )
    commit = f" at commit ``{record['commit']}``" if record.get("commit") else ""
    note = f" Note: {record['note']}." if record.get("note") else ""
    return [
        f"``{path.name}`` (in ``benchmarks/results/``): "
        f"``{record['command']}``, run on {record['date']}{commit}; "
        f"{m['cpu']}, {cpus} CPUs{threads}; Python {m['python']}, {versions}; "
        f"load average {load} (1 minute, at the start and the end), "
        f"{record.get('total_wall_s', 0):,.0f} s in all.{note}",
        "",
    ]


def _xmc_rows(config):
    """Table rows of one bench_xmc configuration, in the order of ``names``."""
    names = {
        "sparseclf": "sparseclf",
        "sparseclf-lsh": "sparseclf, ``exact=False``",
        "sparseclf-nolsh": "sparseclf, no LSH candidates",
        "sparseclf-withlsh": 'sparseclf, ``output_sampler="lsh"``',
        "torch": "torch, dense",
        "omikuji": "omikuji",
        "prior": "5 most frequent labels",
    }
    order = list(names)
    rows = []
    rank = {method: i for i, method in enumerate(order)}
    for r in sorted(config["rows"], key=lambda r: rank.get(r["method"], len(rank))):
        rows.append(
            [
                names.get(r["method"], r["method"]),
                _fmt(r.get("samples_per_s"), ",.0f"),
                _fmt(r.get("train_s"), ".1f"),
                _fmt(r.get("p1"), ".3f"),
                _fmt(r.get("p5"), ".3f"),
                _fmt(r.get("predict_s"), ".2f"),
                _fmt(r.get("peak_rss_mib"), ",.0f"),
            ]
        )
    return rows


XMC_HEADER = [
    "method",
    "train samples/s",
    "train s",
    "P@1",
    "P@5",
    "predict top-5 s",
    "peak RSS MiB",
]


def _rows_by_method(config):
    return {r["method"]: r for r in config["rows"]}


def xmc_synthetic(record, path, out):
    """Speed and P@1 against the number of labels, sparseclf and torch."""
    configs = sorted(record["configs"].values(), key=lambda c: c["n_labels"])
    labels = [c["n_labels"] for c in configs]
    fig, (ax_speed, ax_p1) = plt.subplots(1, 2, figsize=(9, 3.5))
    for method, name in (("sparseclf", "sparseclf"), ("torch", "torch, dense")):
        pts = [
            (c["n_labels"], _rows_by_method(c).get(method))
            for c in configs
            if method in _rows_by_method(c)
        ]
        if not pts:
            continue
        x = [p[0] for p in pts]
        colour = METHOD_COLOURS[method]
        ax_speed.plot(x, [p[1]["samples_per_s"] for p in pts], "o-", c=colour)
        ax_p1.plot(x, [p[1]["p1"] for p in pts], "o-", c=colour, label=name)
    ax_speed.set(
        xscale="log",
        yscale="log",
        xlabel="labels",
        ylabel="training samples / s",
        title="Training speed",
        xticks=labels,
        xticklabels=[f"{n:,}" for n in labels],
    )
    ax_p1.set(
        xscale="log",
        xlabel="labels",
        ylabel="precision@1",
        title="Precision@1 on the test set",
        xticks=labels,
        xticklabels=[f"{n:,}" for n in labels],
        ylim=(0, 1),
    )
    # The speed ratio above each number of labels measured with both.
    for c in configs:
        rows = _rows_by_method(c)
        if "sparseclf" in rows and "torch" in rows:
            ratio = rows["sparseclf"]["samples_per_s"] / rows["torch"]["samples_per_s"]
            ax_speed.annotate(
                f"{ratio:.1f}x",
                (c["n_labels"], rows["sparseclf"]["samples_per_s"]),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
            )
    low, high = ax_speed.get_ylim()
    ax_speed.set_ylim(low, high * 1.6)  # room for the ratios
    ax_p1.legend()
    for ax in (ax_speed, ax_p1):
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    _save(fig, out / "bench_xmc_synthetic.png")

    lines = _provenance(record, path)
    lines += [
        ".. figure:: /generated/figures/bench_xmc_synthetic.png",
        "   :alt: Training samples per second and precision@1 against the number "
        "of labels, sparseclf and a dense torch MLP",
        "",
        "   Synthetic data, 128 hidden units, batch 256, Adam 1e-3, the same "
        "epochs for both; each method in its own process.",
        "",
    ]
    for name, c in sorted(record["configs"].items(), key=lambda kv: kv[1]["n_labels"]):
        lines += [
            f"**{name}**: {c['n_labels']:,} labels, {c['n_train']:,} training / "
            f"{c['n_test']:,} test samples, {c['epochs']} epoch(s).",
            "",
        ]
        lines += _list_table(XMC_HEADER, _xmc_rows(c))
    return lines


def xmc_mulan(record, path, out):
    """P@1 and P@5 on real data sets: sparseclf, torch and omikuji."""
    configs = record["configs"]
    methods = [
        ("sparseclf", "sparseclf"),
        ("torch", "torch, dense"),
        ("omikuji", "omikuji"),
        ("prior", "5 most frequent labels"),
    ]
    groups = [(name, k) for name in configs for k in ("p1", "p5")]
    x = np.arange(len(groups))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for i, (method, label) in enumerate(methods):
        values = [_rows_by_method(configs[g]).get(method, {}).get(k) for g, k in groups]
        heights = [np.nan if v is None else v for v in values]
        ax.bar(
            x + (i - (len(methods) - 1) / 2) * width,
            heights,
            width,
            label=label,
            color=METHOD_COLOURS[method],
        )
    ax.set_xticks(x, [f"{g}\n{'P@1' if k == 'p1' else 'P@5'}" for g, k in groups])
    ax.set(ylabel="precision on the test set", ylim=(0, 1))
    ax.legend(ncol=2, fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, out / "bench_xmc_mulan.png")

    lines = _provenance(record, path)
    lines += [
        ".. figure:: /generated/figures/bench_xmc_mulan.png",
        "   :alt: Precision at 1 and 5 of sparseclf, a dense torch MLP and "
        "omikuji on the MULAN data sets",
        "",
        "   omikuji with its default hyper-parameters; the neural models with 128 "
        "hidden units, the same epochs. Grey: the 5 most frequent training "
        "labels predicted for every sample.",
        "",
    ]
    return lines + _config_tables(
        configs, "omikuji's train time includes reading its file."
    )


def _config_tables(configs, note):
    """A caption and a table of each bench_xmc configuration."""
    lines = []
    for name, c in configs.items():
        lines += [
            f"**{name}**: {c['n_labels']:,} labels, {c['n_train']:,} training / "
            f"{c['n_test']:,} test samples, {c['epochs']} epochs. {note}",
            "",
        ]
        lines += _list_table(XMC_HEADER, _xmc_rows(c))
    return lines


def text_accuracy(record, path, out):
    """Accuracy and fit time per data set: TextClassifier, fastText, sklearn."""
    datasets = record["datasets"]
    names = {
        "sst2": "SST-2",
        "20newsgroups": "20 Newsgroups",
        "trec": "TREC",
        "sms": "SMS spam",
        "tweet_offensive": "offensive",
        "tweet_hate": "hate",
        "tweet_emotion": "emotion",
        "tweet_irony": "irony",
    }
    methods = []
    for d in datasets.values():
        for r in d["rows"]:
            if r["method"] not in methods:
                methods.append(r["method"])
    x = np.arange(len(datasets))
    width = 0.8 / len(methods)
    fig, (ax_acc, ax_time) = plt.subplots(2, 1, figsize=(10, 7))
    for i, method in enumerate(methods):
        rows = [_rows_by_method(d).get(method) for d in datasets.values()]
        shift = (i - (len(methods) - 1) / 2) * width
        acc = [np.nan if r is None else r["accuracy"] for r in rows]
        err = np.array(
            [
                (0, 0) if r is None else (a - r["accuracy_min"], r["accuracy_max"] - a)
                for r, a in zip(rows, acc)
            ]
        ).T.clip(min=0)  # a mean of equal fits can round past its min or max
        colour = METHOD_COLOURS.get(method, None)
        ax_acc.bar(x + shift, acc, width, yerr=err, label=method, color=colour)
        fit = [np.nan if r is None else r["fit_s"] for r in rows]
        ax_time.bar(x + shift, fit, width, color=colour)
    labels = [names.get(k, k) for k in datasets]
    finite = [
        r["accuracy"] for d in datasets.values() for r in d["rows"] if r["accuracy"]
    ]
    ax_acc.set(
        xticks=x,
        xticklabels=labels,
        ylabel="test accuracy",
        ylim=(max(0.0, math.floor(min(finite) * 10) / 10 - 0.1), 1.0),
        title="Accuracy (mean of the fits, min-max)",
    )
    ax_time.set(
        xticks=x,
        xticklabels=labels,
        yscale="log",
        ylabel="seconds",
        title="Fit time, raw text to model (median)",
    )
    handles, texts = ax_acc.get_legend_handles_labels()
    ncol = min(4, len(methods))
    fig.legend(handles, texts, loc="lower center", ncol=ncol, frameon=False)
    for ax in (ax_acc, ax_time):
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout(rect=(0, 0.03 * -(-len(methods) // ncol), 1, 1))
    _save(fig, out / "bench_text.png")

    lines = _provenance(record, path)
    lines += [
        ".. figure:: /generated/figures/bench_text.png",
        "   :alt: Test accuracy and fit time of TextClassifier, fastText and "
        "scikit-learn models on text classification data sets",
        "",
        f"   Each method fitted {record['repeats']} times (seeds 0, 1, ...) but "
        "LogisticRegression and MLPClassifier (once).",
        "",
    ]
    header = ["method", "accuracy", "min-max", "fit s", "predict one, p50 ms"]
    for key, d in datasets.items():
        has_dev = any(r["dev_accuracy"] is not None for r in d["rows"])
        lines += [
            f"**{names.get(key, key)}**: {d['n_train']:,} training / "
            f"{d['n_test']:,} test documents, {d['n_classes']} classes"
            + (" (dev: SST-2's 872 dev sentences)." if has_dev else "."),
            "",
        ]
        rows = []
        for r in d["rows"]:
            spread = (
                f"{r['accuracy_min']:.3f}-{r['accuracy_max']:.3f}"
                if r["fits"] > 1
                else "1 fit"
            )
            row = [r["method"], f"{r['accuracy']:.3f}", spread]
            if has_dev:
                row.append(_fmt(r["dev_accuracy"], ".3f"))
            row += [f"{r['fit_s']:.3g}", f"{r['predict_p50_ms']:.3f}"]
            rows.append(row)
        head = header[:3] + (["dev accuracy"] if has_dev else []) + header[3:]
        lines += _list_table(head, rows)
    return lines


# Results file -> the function drawing its figure and table.
def xmc_words(record, path, out):
    """The word-prediction task: a table per configuration, no figure."""
    note = "torch: the part of an epoch its time box allowed."
    return _provenance(record, path) + _config_tables(record["configs"], note)


RESULTS = {
    "xmc_synthetic.json": xmc_synthetic,
    "xmc_words.json": xmc_words,
    "xmc_mulan.json": xmc_mulan,
    "text.json": text_accuracy,
}


def benchmark_pages(results, out):
    """A figure and an ``.inc`` snippet for each results file."""
    for name, draw in RESULTS.items():
        path = results / name
        inc = out / (Path(name).stem + ".inc")
        if not path.exists():
            inc.write_text(
                f"(No ``benchmarks/results/{name}`` in this checkout.)\n",
                encoding="utf-8",
            )
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        inc.write_text("\n".join(draw(record, path, out)) + "\n", encoding="utf-8")


def generate(app):
    src = Path(app.srcdir)
    out = src / "generated" / "figures"
    out.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"font.size": 9, "svg.hashsalt": "sparseclf"}):
        draw_active_sets(out / "active_sets.png")
        draw_active_size(out / "active_size.png")
        autotune_table(out / "autotune.inc")
        text_schedule_table(out / "text_schedule.inc")
        benchmark_pages(src.parent / "benchmarks" / "results", out)


def setup(app):
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
