"""What each command does: `cli.py` parses the command line and calls one of these
with the parsed arguments; each returns the process's exit code.

It is longer than 350 lines: one short function per command, kept together as the map of
what the command line does."""
from __future__ import annotations

import argparse
import json
import sys

from tabulate import tabulate

from relext_bench.argtypes import positive_float
from relext_bench.errors import UserError
from relext_bench.protocols import DEFAULT as DEFAULT_PROTOCOL
from relext_bench.safe_text import for_terminal
from relext_bench.specs import parse_items, parse_pairs
from relext_bench.training.stopping import MAX_EPOCHS


def corpora_list(args) -> int:
    from relext_bench.data import registry

    rows = []
    for e in registry.entries():
        ok, where = e.available()
        rows.append([e.name, e.language, e.size, e.license, e.source, "yes" if ok else f"no: {where}"])
    print(tabulate(rows, headers=["corpus", "lang", "size", "license (as stated upstream)",
                                  "data comes from", "available"], tablefmt="github"))
    print()
    for e in registry.entries():
        print(f"{e.name}: {e.description}. Cite: {e.citation}")
    return 0


def named_corpus(args) -> str:
    if not args.corpus:
        raise UserError("name a corpus (`relext-bench corpora list`) or give your own as --format dygie --path FILE_OR_DIR")
    return args.corpus


def corpora_stats(args) -> int:
    from relext_bench.corpus_stats import corpus_stats
    from relext_bench.data import registry
    from relext_bench.protocols import get_protocol

    stats = corpus_stats(registry.load(named_corpus(args)), get_protocol(args.protocol))
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    banner = "SYNTHETIC corpus (generated, not real data)" if stats["synthetic"] else "corpus"
    print(f"{banner}: {stats['corpus']} [{stats['language']}], digest {stats['digest']}, "
          f"protocol {stats['protocol']} (policy {stats['policy']['digest']})")
    keys = ["documents", "sentences", "entity_mentions", "relation_mentions", "instances",
            "positives", "negatives"]
    rows = [[name, *(part[k] for k in keys)] for name, part in stats["splits"].items()]
    rows.append(["total", *(stats["total"].get(k, 0) for k in keys)])
    print(tabulate(rows, headers=["split", *keys], tablefmt="github"))
    print(f"\nnegatives per positive: {stats['negatives_per_positive']}; entity mentions per "
          f"sentence: {stats['entity_mentions_per_sentence']}; relation mentions per sentence: "
          f"{stats['relation_mentions_per_sentence']}")
    print("\n" + tabulate([(for_terminal(k), v) for k, v in sorted(stats["positives_by_type"].items())],
                          headers=["label", "positives"], tablefmt="github"))
    if stats["skipped"]:
        print("\nskipped or suspicious (counted, not dropped silently):")
        for k, v in stats["skipped"].items():
            print(f"  {for_terminal(k)}: {v}")
    for note in stats["notes"]:
        print(f"note: {for_terminal(note)}")
    return 0


def corpora_show(args) -> int:
    from relext_bench.corpus_stats import show_instances
    from relext_bench.data import registry
    from relext_bench.protocols import get_protocol

    corpus = registry.load(named_corpus(args))
    if corpus.synthetic:
        print("SYNTHETIC corpus (generated, not real data)\n")
    sep = "" if corpus.language == "zh" else " "
    for inst in show_instances(corpus, get_protocol(args.protocol), args.n):
        m1, m2 = inst["mention1"], inst["mention2"]
        lines = [f"[{inst['label']}] sentence {inst['sentence']}, window {inst['window']}",
                 f"  mention 1: {m1['text']!r} {m1['type']} tokens {m1['span']}",
                 f"  mention 2: {m2['text']!r} {m2['type']} tokens {m2['span']}",
                 f"  text: {sep.join(inst['tokens'])}",
                 "  tags: " + " ".join(f"{t}/{g}" for t, g in zip(inst["tokens"], inst["tags"]))]
        print("\n".join(for_terminal(line) for line in lines) + "\n")
    return 0


def build_ext(args) -> int:
    from relext_bench.kernels import build

    try:
        directory = build.build(verbose=args.verbose)
    except Exception as e:
        raise UserError(f"the extension did not build: {str(e).strip().splitlines()[0] if str(e).strip() else e!r}") from None
    print(f"built the {'C++/CUDA' if build.cuda_wanted() else 'C++'} extension into {directory}")
    return 0


def train(args) -> int:
    from pathlib import Path

    from relext_bench.data import registry
    from relext_bench.experiments.runner import settings
    from relext_bench.experiments.store import run_key
    from relext_bench.files import check_writable, write_or_keep
    from relext_bench.models.spec import check_buildable
    from relext_bench.protocols import get_protocol
    from relext_bench.semeval import write_answers
    from relext_bench.training.trainer import train_run

    protocol = get_protocol(args.protocol)
    if not args.corpus:
        raise UserError("name a corpus with --corpus (or --format dygie --path FILE_OR_DIR)")
    corpus = registry.load(args.corpus)
    partitions = protocol.partitions(corpus)
    names = [p.name for p in partitions]
    if args.fold is not None:
        if protocol.scheme != "cv" or not 1 <= args.fold <= len(partitions):
            raise UserError(f"--fold takes 1..{len(partitions)} under the paper protocol" if protocol.scheme == "cv"
                            else "--fold applies to the paper protocol (cross-validation) only")
        partition = partitions[args.fold - 1]
    else:
        partition = partitions[0]
    spec = train_spec(args)
    check_buildable(spec, args.model)
    cfg = train_config(args)
    check_writable(args.out)
    # Named by the full run key (corpus digest, protocol, model, partition, seed, training
    # settings), as the experiments' store keys its runs: two different runs never share a file.
    key = run_key(corpus.digest, protocol.key(corpus), spec.key(), partition.name, args.seed, settings(cfg, None))
    record = train_run(corpus, protocol, partition, spec, args.seed, cfg)
    out = Path(args.out) / f"{corpus.name}-{protocol.name}-{partition.name}-seed{args.seed}-{key}.json"
    write_or_keep(out, record | {"key": key})
    answers = write_answers(out, record)
    if corpus.synthetic:
        print("SYNTHETIC corpus (generated, not real data)")
    if record["status"] != "finished":
        print(f"run FAILED: {record['failure']} (record: {out})")
        return 1
    t = record["test"]
    leak = record["leak_probe"]["test"]
    print(f"{spec.label()} on {corpus.name}, protocol {protocol.name}, {partition.name} of {', '.join(names)}, seed {args.seed}")
    print(f"test micro P/R/F1 {t['micro_p']:.4f}/{t['micro_r']:.4f}/{t['micro_f1']:.4f}; "
          f"macro F1 {t['macro_f1']:.4f}; weighted F1 {t['weighted_f1']:.4f}; "
          f"identification F1 {t['identification_f1']:.4f}")
    print(f"epochs {record['epochs']} (best {record['best_epoch']}); "
          f"{record['timings']['train_instances_per_s']:.0f} training instances/s; "
          f"leak probe F1 {leak['f1']:.3f} (lift {leak['lift']:.2f}); kernels: {record['environment']['kernel_backend']}")
    if record.get("refit"):
        r = record["refit"]
        print(f"the scores are the refit's: {r['instances']} train + dev instances for {r['epochs']} epochs; "
              f"the early-stopped model's test micro F1 {r['selected_test']['micro_f1']:.4f}")
    print(f"record: {out}" + (f"; answers for the official scorer: {answers}" if answers else ""))
    if "semeval_f1" in t:
        print(f"official score (SemEval-2010 Task 8, macro-F1 over 9 types, direction required): "
              f"{100 * t['semeval_f1']:.2f}")
    if record["best_epoch"] == record["epochs"]:
        print(f"relext-bench: warning: the best epoch is the last one trained ({record['epochs']} of at most "
              f"{args.max_epochs}): the run may not have converged; raise --max-epochs", file=sys.stderr)
    return 0


def train_spec(args):
    """`train`'s model: the --model spec with the options given as flags over it."""
    from relext_bench.models.spec import spec_with_options

    options = {f: getattr(args, f) for f in ("tags", "objective", "predict_rule", "threshold", "encoder")}
    return spec_with_options(args.model, options, parse_pairs(args.param or [], "--param"))


def bench_train(args) -> int:
    from relext_bench.specs import ENCODERS
    from relext_bench.training.bench import bench_train

    encoders = [e.strip() for e in args.encoder.split(",") if e.strip()]
    bad = [e for e in encoders if e not in ENCODERS]
    if not encoders or bad:
        raise UserError(f"--encoder takes dense, shared or both (dense,shared), not {args.encoder!r}")
    result = bench_train(args.corpus or "synth_zh", args.model, args.protocol, encoders, args.batches, args.threads, args.device)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    rows = [[name, r["encoder"], r["batches"], r["instances"], f"{r['seconds']:.2f}", f"{r['instances_per_s']:.0f}"]
            for name, r in result["encoders"].items()]
    banner = " (SYNTHETIC corpus)" if result["synthetic"] else ""
    print(f"{result['spec']} on {result['corpus']}{banner}, protocol {result['protocol']}, device {result['device']} "
          f"(kernels {result['kernel_backend']}), {result['threads']} threads, batches of {result['batch_size']}")
    print(tabulate(rows, headers=["encoder", "runs as", "batches", "instances", "seconds", "instances/s"],
                   tablefmt="github"))
    if "ratio" in result:
        print(f"shared / dense: {result['ratio']:.2f}x")
    return 0


def prepare(args) -> int:
    from relext_bench.data import registry
    from relext_bench.paths import home

    if registry.parse_spec(args.corpus)[0] not in ("ace_zh", "ace_en"):
        raise UserError(f"prepare takes ace_zh or ace_en (public corpora download on first use), not {args.corpus!r}")
    corpus = registry.load(args.corpus)
    out = home() / "prepared" / f"{args.corpus}-split"
    out.mkdir(parents=True, exist_ok=True)
    for split, ids in corpus.splits.items():
        (out / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    sentences = sum(len(d.sentences) for d in corpus.documents)
    print(f"prepared {args.corpus}: {len(corpus.documents)} documents, {sentences} sentences; "
          + ", ".join(f"{k} {len(v)}" for k, v in corpus.splits.items()) + f"; split lists in {out}")
    for k, v in corpus.skipped.items():
        print(f"  {k}: {v}")
    return 0


def train_config(args):
    from relext_bench.training.trainer import TrainConfig, resolve_device

    if not getattr(args, "scheduler", None):  # a device this machine lacks: refused before any run
        resolve_device(args.device)
    return TrainConfig(max_epochs=args.max_epochs, threads=args.threads, early_stopping=args.early_stopping,
                       optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
                       batch_size=args.batch_size, patience=args.patience, min_steps=args.min_steps, device=args.device,
                       embeddings=args.embeddings, vocabulary=args.vocabulary, refit=args.refit)


def experiment_options(args):
    """The options every experiment shares, from its command line."""
    from relext_bench.experiments.runner import Options

    return Options(corpus=args.corpus, protocol=args.protocol, seeds=args.seeds, workers=args.workers, out=args.out,
                   train=train_config(args), run=not args.no_run, report_name=args.name, scheduler=args.scheduler)


def finish(args, kind: str, result: dict) -> int:
    from relext_bench.reporting import build, markdown, sections
    from relext_bench.reporting.experiment import load_experiment

    print(f"{result['jobs']} runs: {result['already_done']} already stored, {len(result['ran'])} run now "
          f"({result['seconds'] / 60:.1f} min); records in {args.out}/runs")
    if result["failed"]:
        print(f"relext-bench: {len(result['failed'])} run(s) FAILED (listed in the report; a re-run retries "
              "them): " + ", ".join(result["failed"]), file=sys.stderr)
    for path in build.build(args.out, args.reports, ids=[result["manifest"]]):
        print(f"report: {path}")
    exp = load_experiment(args.out, result["manifest"])
    print(f"signature: {sections.signature(exp).format(short=True)}")
    if kind != "sweep":
        print(markdown.table(sections.main_rows(exp, exp.at(None)),
                             ["model", "runs", "P", "R", f"test {exp.metric}", "95% CI", "min", "max"]))
    return 1 if result["failed"] else 0


def default_out(args) -> None:
    """Fills in what the experiment commands leave open (parents share argument
    objects, so per-command defaults are set here, not in the parsers)."""
    from relext_bench.data.registry import parse_spec, slug
    from relext_bench.experiments.runner import load_corpus
    from relext_bench.files import check_writable

    check_writable(args.reports)  # before any run trains, not after
    args.corpus = args.corpus or "synth_zh"
    args.protocol = args.protocol or DEFAULT_PROTOCOL
    if getattr(args, "scheduler", None) and args.workers:
        raise UserError("--workers and --scheduler: give one (local:N starts N Dask workers here)")
    args.workers = args.workers or 1
    if args.out is None:  # results/CORPUS-PROTOCOL; the user's data by its name and digest
        digest = load_corpus(args.corpus).digest if "path" in parse_spec(args.corpus)[1] else ""
        args.out = f"results/{slug(args.corpus, digest)}-{args.protocol}"


def compare(args) -> int:
    from relext_bench.experiments.compare import QUICK, compare
    from relext_bench.experiments.tune import best_params, warn_if_tuned_elsewhere

    if args.quick:
        args.corpus = args.corpus or QUICK["corpus"]
        args.seeds = args.seeds or QUICK["seeds"]
        args.max_epochs = args.max_epochs or QUICK["max_epochs"]
        args.models = args.models or ",".join(QUICK["models"])
        args.protocol = args.protocol or QUICK["protocol"]
        args.workers = args.workers or QUICK["workers"]
    args.corpus = args.corpus or "synth_zh"
    args.seeds = args.seeds or 5
    args.max_epochs = args.max_epochs or MAX_EPOCHS
    default_out(args)
    models = models_option(args)
    tuned = [best_params(study, args.storage, args.out) for study in args.tuned] if args.tuned else None
    for t in tuned or []:
        warn_if_tuned_elsewhere(t, args.corpus)
    result = compare(experiment_options(args), models, reference=args.reference, tuned=tuned,
                     preset="quick" if args.quick else None, baseline_seeds=args.baseline_seeds)
    return finish(args, "compare", result)


def ablate(args) -> int:
    from relext_bench.experiments.compare import ablate

    default_out(args)
    params = parse_items(args.params or "", "--params")
    from relext_bench.roles import BASELINES

    baselines = () if args.no_baselines else tuple(
        b.strip() for b in (args.baselines or ",".join(BASELINES)).split(",") if b.strip())
    result = ablate(experiment_options(args), baselines=baselines, params=params, baseline_seeds=args.baseline_seeds)
    return finish(args, "ablate", result)


def sweep(args) -> int:
    from relext_bench.experiments.compare import sweep

    default_out(args)
    ratios = []
    for item in args.ratios.split(","):
        item = item.strip()
        try:
            ratios.append(None if item == "all" else positive_float(item))
        except argparse.ArgumentTypeError as e:
            raise UserError(f"--ratios: {e} (each ratio is a number above 0, or 'all')") from None
    models = models_option(args)
    result = sweep(experiment_options(args), models, tuple(ratios))
    folded = [r for r in ratios if r is not None and r not in result["ratios"]]
    if folded:
        print(f"ratios {', '.join(f'{r:g}' for r in folded)}: at or above the training data's own negatives "
              "per positive, so they keep every negative and run as 'all'")
    return finish(args, "sweep", result)


def tune(args) -> int:
    from pathlib import Path

    from relext_bench.experiments.tune import tune
    from relext_bench.files import read_record
    from relext_bench.reporting.tuning import write_report

    if args.refit:
        raise UserError("tune --refit: a study scores its trials on the dev set, which a refit trains on; "
                        "refit the chosen configuration with compare --refit")
    default_out(args)
    summary = tune(args.corpus, args.protocol, args.model, args.trials, args.timeout, args.storage, args.out,
                   train_config(args), seed=args.seed)
    summary["report"] = str(write_report(read_record(summary["snapshot"]), Path(args.reports), args.name))
    if summary["best_value"] is None:  # every finished trial was pruned
        best = "no trial has completed yet, so there are no best parameters"
    else:
        best = f"best dev {summary['metric']} {summary['best_value']:.4f} with {summary['best_params']}"
    print(f"study {summary['study']} ({summary['storage']}): {summary['finished']} finished trials "
          f"({summary['pruned']} pruned, {summary['ran']} run now); {best}")
    print(f"report: {summary['report']}")
    return 0


def report(args) -> int:
    from relext_bench.files import check_writable
    from relext_bench.reporting import build

    check_writable(args.reports)
    for path in build.build(args.dir, args.reports, [args.kind] if args.kind else None, named=args.name):
        print(f"report: {path}")
    return 0


def models_option(args) -> list[str] | None:
    """--models as a list of specs (None: the command's default); empty or repeated specs are errors."""
    from relext_bench.models.spec import parse_model
    from relext_bench.specs import split_specs

    if args.models is None:
        return None
    models = split_specs(args.models)
    if not models:
        raise UserError(f"--models {args.models!r} names no model")
    seen: dict[str, str] = {}
    for text in models:
        key = parse_model(text).key()
        if key in seen:
            raise UserError(f"--models lists the same model twice: {seen[key]!r} and {text!r}")
        seen[key] = text
    return models


def claims(args) -> int:
    from relext_bench.reporting.claims import write_claims

    print(f"claims: {write_claims(args.dirs, args.readme)}")
    return 0
