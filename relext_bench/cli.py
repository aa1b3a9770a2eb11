"""The command line: `relext-bench ...` or `python -m relext_bench ...`.

Errors a user can fix end with one line on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys

from tabulate import tabulate

from relext_bench.data.instances import TAG_SCHEMES
from relext_bench.errors import UserError
from relext_bench.protocols import PROTOCOLS


def _corpora_list(args) -> int:
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


def _named_corpus(args) -> str:
    if not args.corpus:
        raise UserError("name a corpus (`relext-bench corpora list`) or give your own as --format dygie --path FILE_OR_DIR")
    return args.corpus


def _corpora_stats(args) -> int:
    from relext_bench.data import registry
    from relext_bench.data.stats import corpus_stats
    from relext_bench.protocols import get_protocol

    stats = corpus_stats(registry.load(_named_corpus(args)), get_protocol(args.protocol))
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
    print("\n" + tabulate(sorted(stats["positives_by_type"].items()), headers=["label", "positives"],
                          tablefmt="github"))
    if stats["skipped"]:
        print("\nskipped or suspicious (counted, not dropped silently):")
        for k, v in stats["skipped"].items():
            print(f"  {k}: {v}")
    for note in stats["notes"]:
        print(f"note: {note}")
    return 0


def _corpora_show(args) -> int:
    from relext_bench.data import registry
    from relext_bench.data.stats import show_instances
    from relext_bench.protocols import get_protocol

    corpus = registry.load(_named_corpus(args))
    if corpus.synthetic:
        print("SYNTHETIC corpus (generated, not real data)\n")
    sep = "" if corpus.language == "zh" else " "
    for inst in show_instances(corpus, get_protocol(args.protocol), args.n):
        m1, m2 = inst["mention1"], inst["mention2"]
        print(f"[{inst['label']}] sentence {inst['sentence']}, window {inst['window']}")
        print(f"  mention 1: {m1['text']!r} {m1['type']} tokens {m1['span']}")
        print(f"  mention 2: {m2['text']!r} {m2['type']} tokens {m2['span']}")
        print(f"  text: {sep.join(inst['tokens'])}")
        print("  tags: " + " ".join(f"{t}/{g}" for t, g in zip(inst["tokens"], inst["tags"])))
        print()
    return 0


def _build_ext(args) -> int:
    from relext_bench.kernels import build

    try:
        directory = build.build(verbose=args.verbose)
    except Exception as e:
        raise UserError(f"the extension did not build: {str(e).strip().splitlines()[0] if str(e).strip() else e!r}") from None
    print(f"built the {'C++/CUDA' if build.cuda_wanted() else 'C++'} extension into {directory}")
    return 0


def _train(args) -> int:
    from pathlib import Path

    from relext_bench.data import registry
    from relext_bench.files import check_writable, write_or_keep
    from relext_bench.models.spec import ModelSpec, check_buildable
    from relext_bench.protocols import get_protocol
    from relext_bench.training.trainer import TrainConfig, train_run

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
    params = {}
    for item in args.param or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"--param takes key=value, not {item!r}")
        params[key] = value
    spec = ModelSpec(args.model, tags=args.tags, objective=args.objective, predict_rule=args.predict_rule,
                     threshold=args.threshold, encoder=args.encoder).with_params(**params)
    check_buildable(spec, args.model)
    cfg = TrainConfig(max_epochs=args.max_epochs, batch_size=args.batch_size, lr=args.lr,
                      optimizer=args.optimizer, threads=args.threads, early_stopping=args.early_stopping,
                      patience=args.patience, device=args.device, embeddings=args.embeddings)
    check_writable(args.out)
    record = train_run(corpus, protocol, partition, spec, args.seed, cfg)
    out = Path(args.out) / f"{corpus.name}-{protocol.name}-{partition.name}-{spec.key()}-seed{args.seed}.json"
    write_or_keep(out, record)
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
    print(f"record: {out}")
    return 0


def _bench_train(args) -> int:
    from relext_bench.training.bench import bench_train

    encoders = [e.strip() for e in args.encoder.split(",") if e.strip()]
    bad = [e for e in encoders if e not in ("dense", "shared")]
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


def _prepare(args) -> int:
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


def _train_config(args):
    from relext_bench.training.trainer import TrainConfig

    return TrainConfig(max_epochs=args.max_epochs, threads=args.threads, early_stopping=args.early_stopping,
                       patience=args.patience, device=args.device, embeddings=args.embeddings)


def _finish(args, kind: str, result: dict) -> int:
    from relext_bench.experiments import report

    print(f"{result['jobs']} runs: {result['already_done']} already stored, {len(result['ran'])} run now "
          f"({result['seconds'] / 60:.1f} min); records in {args.out}/runs")
    if result["failed"]:
        print(f"relext-bench: {len(result['failed'])} run(s) FAILED (listed in the report; a re-run retries "
              "them): " + ", ".join(result["failed"]), file=sys.stderr)
    for path in report.build(args.out, args.reports, ids=[result["manifest"]]):
        print(f"report: {path}")
    exp = report.load(args.out, result["manifest"])
    if kind != "sweep":
        print(report.table(report.main_rows(exp, exp.at(None)),
                           ["model", "runs", "P", "R", f"test {exp.metric}", "95% CI", "min", "max"]))
    return 1 if result["failed"] else 0


NAME_CHARS = "A-Za-z0-9_.=-"  # what results-directory and report names are made of


def _default_out(args) -> None:
    """Fills in what the experiment commands leave open (parents share argument
    objects, so per-command defaults are set here, not in the parsers)."""
    from relext_bench.data.registry import parse_spec

    args.corpus = args.corpus or "synth_zh"
    args.protocol = args.protocol or "standard"
    args.workers = args.workers or 1
    if args.out is None:
        name, options = parse_spec(args.corpus)
        options.pop("path", None)  # --format dygie --path: no directories in the name
        suffix = "".join(f"-{k}{v}" for k, v in sorted(options.items()))
        args.out = "results/" + re.sub(f"[^{NAME_CHARS}]+", "_", f"{name}{suffix}-{args.protocol}")


DEVICE_HELP = "cpu, cuda, cuda:N or auto (CUDA when available; the default)"
EMBEDDINGS_HELP = ("pretrained word vectors, word2vec text format (.gz too), for the words they cover; "
                   "their dimension must be the model's word_dim (e.g. cnn:word_dim=300)")
BASELINE_SEEDS_HELP = ("run cnn, pcnn, cr_cnn and att_bilstm on the first N seeds only "
                       "(they cost up to 3x a ye2019 run on CPU); default: every seed")


def _compare(args) -> int:
    from relext_bench.experiments.compare import QUICK, compare
    from relext_bench.experiments.tune import best_params

    if args.quick:
        args.corpus = args.corpus or QUICK["corpus"]
        args.seeds = args.seeds or QUICK["seeds"]
        args.max_epochs = args.max_epochs or QUICK["max_epochs"]
        args.models = args.models or ",".join(QUICK["models"])
        args.protocol = args.protocol or QUICK["protocol"]
        args.workers = args.workers or QUICK["workers"]
    args.corpus = args.corpus or "synth_zh"
    args.seeds = args.seeds or 5
    args.max_epochs = args.max_epochs or 50
    _default_out(args)
    models = _models(args)
    tuned = best_params(args.tuned, args.storage, args.out) if args.tuned else None
    result = compare(args.corpus, args.protocol, models, args.seeds, args.workers, args.out, _train_config(args),
                     reference=args.reference, tuned=tuned, preset="quick" if args.quick else None,
                     baseline_seeds=args.baseline_seeds, run=not args.no_run, report_name=args.name)
    return _finish(args, "compare", result)


def _ablate(args) -> int:
    from relext_bench.experiments.compare import ablate

    _default_out(args)
    params = {}
    for item in filter(None, (args.params or "").split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"--params takes key=value,..., not {item!r}")
        params[key.strip()] = value.strip()
    result = ablate(args.corpus, args.protocol, args.seeds, args.workers, args.out, _train_config(args),
                    baselines=not args.no_baselines, params=params, baseline_seeds=args.baseline_seeds,
                    run=not args.no_run, report_name=args.name)
    return _finish(args, "ablate", result)


def _sweep(args) -> int:
    from relext_bench.experiments.compare import sweep

    _default_out(args)
    ratios = []
    for item in args.ratios.split(","):
        item = item.strip()
        try:
            ratios.append(None if item == "all" else positive_float(item))
        except argparse.ArgumentTypeError as e:
            raise UserError(f"--ratios: {e} (each ratio is a number above 0, or 'all')") from None
    models = _models(args)
    result = sweep(args.corpus, args.protocol, models, tuple(ratios), args.seeds, args.workers, args.out,
                   _train_config(args), run=not args.no_run, report_name=args.name)
    return _finish(args, "sweep", result)


def _tune(args) -> int:
    from relext_bench.experiments.tune import tune

    _default_out(args)
    summary = tune(args.corpus, args.protocol, args.model, args.trials, args.timeout, args.storage, args.out,
                   _train_config(args), seed=args.seed, reports=args.reports, report_name=args.name)
    print(f"study {summary['study']} ({summary['storage']}): {summary['finished']} finished trials "
          f"({summary['pruned']} pruned, {summary['ran']} run now); best dev {summary['metric']} "
          f"{summary['best_value']:.4f} with {summary['best_params']}")
    print(f"report: {summary['report']}")
    return 0


def _report(args) -> int:
    from relext_bench.experiments import report

    for path in report.build(args.dir, args.reports, [args.kind] if args.kind else None):
        print(f"report: {path}")
    return 0


def _report_name(text: str) -> str:
    if not re.fullmatch(f"[{NAME_CHARS}]+", text) or text.startswith("."):
        raise argparse.ArgumentTypeError(f"{text!r}: a report name takes letters, digits and _ . = - only")
    return text


class _Parser(argparse.ArgumentParser):
    """argparse with one line for a bad argument (subcommands inherit it)."""

    def error(self, message):
        self.exit(2, f"relext-bench: error: {message} (see `{self.prog} --help`)\n")


def at_least(low: int):
    """An argparse type: a whole number >= low."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is less than {low}")
        return value
    parse.__name__ = f"whole number >= {low}"
    return parse


def finite_float(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = finite_float(text)
    except argparse.ArgumentTypeError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number above 0")
    return value


def _models(args) -> list[str] | None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="relext-bench", description=__doc__.splitlines()[0])
    data = argparse.ArgumentParser(add_help=False)  # options of every command that reads a corpus
    data.add_argument("--offline", action="store_true", help="never touch the network")
    data.add_argument("--ldc-dir", help="your LDC2006T06 copy (for ace_zh, ace_en)")
    data.add_argument("--format", choices=["dygie"], help="read your own data in this format")
    data.add_argument("--path", help="with --format dygie: a .json file or a folder of train/dev/test files")
    sub = parser.add_subparsers(dest="command", required=True)

    corpora = sub.add_parser("corpora", help="list, describe and look at corpora")
    csub = corpora.add_subparsers(dest="action", required=True)
    p = csub.add_parser("list", help="every corpus with its license and where its data comes from")
    p.set_defaults(func=_corpora_list)
    p = csub.add_parser("stats", help="counts per split under a protocol", parents=[data])
    p.add_argument("corpus", metavar="name", nargs="?", default=None,
                   help="corpus name or spec, e.g. synth_zh or synth_zh:seed=3 (or --format dygie --path ...)")
    p.add_argument("--protocol", default="standard", choices=list(PROTOCOLS))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--strict", action="store_true", help="skipped or damaged input is an error")
    p.set_defaults(func=_corpora_stats)
    p = csub.add_parser("show", help="a few instances with tokens, mentions, tags and label", parents=[data])
    p.add_argument("corpus", metavar="name", nargs="?", default=None, help="corpus name or spec")
    p.add_argument("--protocol", default="standard", choices=list(PROTOCOLS))
    p.add_argument("--n", type=at_least(1), default=2, help="how many positives and negatives")
    p.set_defaults(func=_corpora_show)

    p = sub.add_parser("train", help="train and evaluate one run; writes its record", parents=[data])
    p.add_argument("--corpus", default=None, help="corpus name or spec (or --format dygie --path ...)")
    p.add_argument("--model", required=True, help="ye2019, cnn, pcnn, cr_cnn, att_bilstm")
    p.add_argument("--tags", default="bio_typed", choices=list(TAG_SCHEMES))
    p.add_argument("--objective", default=None, choices=["ce", "ranking", "multitask"],
                   help="default: the model's own")
    p.add_argument("--predict-rule", default="paper", choices=["paper", "gated"])
    p.add_argument("--threshold", type=finite_float, default=None, help="ranking threshold (default: the model's)")
    p.add_argument("--encoder", default="shared", choices=["shared", "dense"],
                   help="shared: the sentence-shared convolution (default; att_bilstm is always dense)")
    p.add_argument("--param", action="append", help="hyper-parameter key=value (repeatable)")
    p.add_argument("--seed", type=at_least(0), default=1)
    p.add_argument("--protocol", default="standard", choices=list(PROTOCOLS))
    p.add_argument("--fold", type=at_least(1), default=None, help="1..5 under the paper protocol")
    p.add_argument("--max-epochs", type=at_least(1), default=50)
    p.add_argument("--batch-size", type=at_least(1), default=256)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--optimizer", default="rmsprop", choices=["rmsprop", "adam", "adadelta", "sgd"])
    p.add_argument("--early-stopping", default="dev_loss", choices=["dev_loss", "dev_metric"])
    p.add_argument("--patience", type=at_least(0), default=2, help="epochs without improvement before stopping")
    p.add_argument("--threads", type=at_least(1), default=None)
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--embeddings", default=None, metavar="FILE", help=EMBEDDINGS_HELP)
    p.add_argument("--out", default="results")
    p.set_defaults(func=_train)

    run = argparse.ArgumentParser(add_help=False, parents=[data])  # options of every experiment
    run.add_argument("--protocol", default=None, choices=list(PROTOCOLS), help="default: standard")
    run.add_argument("--workers", type=at_least(1), default=None, help="local worker processes (default 1)")
    run.add_argument("--threads", type=at_least(1), default=None, help="torch threads per run (default: cores / workers)")
    run.add_argument("--early-stopping", default="dev_loss", choices=["dev_loss", "dev_metric"])
    run.add_argument("--patience", type=at_least(0), default=2, help="epochs without improvement before a run stops")
    run.add_argument("--embeddings", default=None, metavar="FILE", help=EMBEDDINGS_HELP)
    run.add_argument("--device", default="auto", help=DEVICE_HELP + "; with several GPUs, --workers N "
                                                                     "spreads the runs over them")
    run.add_argument("--out", default=None, help="results directory (default: results/CORPUS-PROTOCOL); "
                                                 "runs stored there are reused")
    run.add_argument("--reports", default="reports", help="where the Markdown report goes")
    run.add_argument("--name", default=None, type=_report_name,
                     help="the report's name (default: CORPUS-PROTOCOL-KIND; tune: CORPUS-PROTOCOL-tune-MODEL); "
                          "kept with the results, so "
                          "`report DIR` rebuilds it under the same name")
    run.add_argument("--no-run", action="store_true", help="train nothing: write the manifest and the report "
                                                           "from the runs already stored (the rest show as missing)")

    p = sub.add_parser("compare", help="models x seeds (x folds) on one corpus; resumable", parents=[run])
    p.add_argument("--corpus", default=None, help="default: the embedded synth_zh")
    p.add_argument("--models", default=None, help="comma-separated specs, e.g. ye2019:tags=none,objective=ranking,cnn "
                                                  "(default: the paper's four ye2019 variants and the four baselines)")
    p.add_argument("--seeds", type=at_least(1), default=None, help="default 5")
    p.add_argument("--max-epochs", type=at_least(1), default=None, help="default 50")
    p.add_argument("--baseline-seeds", type=at_least(1), default=None, metavar="N", help=BASELINE_SEEDS_HELP)
    p.add_argument("--reference", default=None, help="the model the others are tested against "
                                                     "(default: Baseline+MTL+Tag when present)")
    p.add_argument("--tuned", default=None, metavar="STUDY", help="use the best parameters of this tuning study")
    p.add_argument("--storage", default=None, help="with --tuned: the study's storage (default: the SQLite file in --out)")
    p.add_argument("--quick", action="store_true",
                   help="the README's quick run (under 10 minutes on 2 cores): the four paper variants, paper "
                        "protocol, 1 seed x 5 folds, at most 6 epochs, synth_zh with 60 documents, 2 workers "
                        "(each can still be overridden)")
    p.set_defaults(func=_compare)

    p = sub.add_parser("ablate", help="the reviewers' ablation grid, with the tag-claim verdict", parents=[run])
    p.add_argument("--corpus", default=None, help="default: the embedded synth_zh")
    p.add_argument("--seeds", type=at_least(1), default=5)
    p.add_argument("--max-epochs", type=at_least(1), default=50)
    p.add_argument("--no-baselines", action="store_true", help="only the ye2019 rows of the grid")
    p.add_argument("--baseline-seeds", type=at_least(1), default=None, metavar="N", help=BASELINE_SEEDS_HELP)
    p.add_argument("--params", default=None, help="hyper-parameters for every model of the grid, e.g. "
                                                  "word_dim=100,position_dim=25,tag_dim=25 (CPU sizing)")
    p.set_defaults(func=_ablate)

    p = sub.add_parser("sweep", help="F1 against the training negative:positive ratio", parents=[run])
    p.add_argument("--corpus", default=None, help="default: the embedded synth_zh")
    p.add_argument("--models", default=None, help="default: Baseline and Baseline+MTL+Tag")
    p.add_argument("--ratios", default="1,2,5,10,all")
    p.add_argument("--seeds", type=at_least(1), default=3)
    p.add_argument("--max-epochs", type=at_least(1), default=50)
    p.set_defaults(func=_sweep)

    p = sub.add_parser("tune", help="an Optuna study of one model's hyper-parameters; resumable, shareable",
                       parents=[run])
    p.add_argument("--corpus", default=None, help="default: the embedded synth_zh")
    p.add_argument("--model", required=True, help="model spec, e.g. ye2019:tags=bio_typed,objective=multitask")
    p.add_argument("--trials", type=at_least(1), default=20, help="finished trials the study should have in all")
    p.add_argument("--timeout", type=positive_float, default=None, help="seconds this process may spend")
    p.add_argument("--storage", default=None, help="optuna storage URL: sqlite:///FILE, journal:FILE "
                                                   "(several processes on one machine), postgresql://... "
                                                   "(default: sqlite in --out)")
    p.add_argument("--seed", type=at_least(0), default=1, help="sampler and training seed")
    p.add_argument("--max-epochs", type=at_least(1), default=50)
    p.set_defaults(func=_tune)

    p = sub.add_parser("report", help="rebuild the Markdown reports of a results directory")
    p.add_argument("dir")
    p.add_argument("--kind", choices=["compare", "ablate", "sweep"], default=None, help="default: every one found")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=_report)

    p = sub.add_parser("prepare", help="parse ACE 2005 from your LDC copy and cache it")
    p.add_argument("corpus", metavar="name", choices=["ace_zh", "ace_en"])
    p.add_argument("--ldc-dir", required=True, help="the root of your LDC2006T06 copy")
    p.add_argument("--strict", action="store_true")
    p.set_defaults(func=_prepare)

    p = sub.add_parser("bench-train", help="training speed of the dense and shared encoders, side by side",
                       parents=[data])
    p.add_argument("--corpus", default=None, help="corpus name or spec (default synth_zh; or --format dygie --path ...)")
    p.add_argument("--model", required=True, help="model spec, e.g. ye2019 or cnn:tags=none")
    p.add_argument("--protocol", default="standard", choices=list(PROTOCOLS))
    p.add_argument("--encoder", default="dense,shared", help="dense, shared or dense,shared (default)")
    p.add_argument("--batches", type=at_least(2), default=40, help="timed training batches per encoder")
    p.add_argument("--threads", type=at_least(1), default=None, help="torch threads (default: torch's)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_bench_train)

    p = sub.add_parser("build-ext", help="compile the C++/CUDA extension ahead of time")
    p.add_argument("--verbose", action="store_true", help="show the compiler's output")
    p.set_defaults(func=_build_ext)
    return parser


def _apply_global_options(args) -> None:
    import os

    # The user's own data: every command that reads a corpus takes it the same way, as
    # its corpus (never as anything else, such as a report's name).
    if getattr(args, "format", None) == "dygie" or getattr(args, "path", None):
        if not getattr(args, "path", None):
            raise UserError("--format dygie needs --path FILE_OR_DIR")
        if args.corpus is not None:
            raise UserError(f"give the corpus either by name ({args.corpus!r}) or as --format dygie --path, not both")
        args.corpus = f"dygie:path={args.path}"
    if getattr(args, "ldc_dir", None):
        os.environ["RELEXT_BENCH_LDC_DIR"] = args.ldc_dir
    if getattr(args, "offline", False):
        os.environ["RELEXT_BENCH_OFFLINE"] = "1"
    if getattr(args, "strict", False) and getattr(args, "corpus", None):  # before any path=, which ends a spec
        name, _, rest = args.corpus.partition(":")
        args.corpus = f"{name}:strict=1" + (f",{rest}" if rest else "")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _apply_global_options(args)
        return args.func(args)
    except UserError as e:
        print(f"relext-bench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("relext-bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
