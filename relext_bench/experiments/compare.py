"""The experiments users run: `compare` (models x seeds), `ablate` (the grid the
paper's reviewers asked for) and `sweep` (F1 against the training negative:positive
ratio). Each names its models ("roles") and hands them to the runner; the runs they
share are run once.
"""
from __future__ import annotations

from relext_bench.errors import UserError
from relext_bench.experiments.runner import About, Options, Role, run_experiment
from relext_bench.models.spec import parse_model
from relext_bench.roles import (
    BASELINES,
    CONTROLS,
    PAPER_VARIANTS,
    REFERENCE,
    is_tuned,
    tagged,
)
from relext_bench.roles import tuned as tuned_role
from relext_bench.training.stopping import MAX_EPOCHS

# The paper's four variants of ye2019 (the paper's names), then the baselines in their
# published form (no tags).
DEFAULT_MODELS = tuple(spec for _, spec in PAPER_VARIANTS) + tuple(f"{b}:tags=none" for b in BASELINES)

# The README's quick run on the embedded corpus, sized to train to convergence in under
# 10 minutes on 2 CPU cores: the paper's four variants under the paper's protocol
# (16-token windows, about ten times cheaper than whole sentences), 5 folds x 1 seed,
# early stopping on the dev metric (the trainer's defaults: patience 10 after 2000
# steps) under an epoch limit that no run reaches, 60 synthetic documents, 2 workers.
QUICK = {"corpus": "synth_zh:documents=60", "protocol": "paper", "models": [spec for _, spec in PAPER_VARIANTS],
         "seeds": 1, "max_epochs": MAX_EPOCHS, "workers": 2}


def role_for(text: str) -> Role:
    """A spec as given, named by the paper's name where it is one of the four variants."""
    spec = parse_model(text)
    for name, paper_spec in PAPER_VARIANTS:
        if parse_model(paper_spec).key() == spec.key():
            return Role(name, spec)
    return Role(text, spec)


def compare(options: Options, models: list[str] | None = None, reference: str | None = None,
            tuned: list[dict] | None = None, preset: str | None = None, baseline_seeds: int | None = None) -> dict:
    """`tuned`: studies, each {"study": name, "model": its model's name, "params": best
    parameters}; every model spec of a tuned model runs twice, with its defaults and,
    as "NAME (tuned)", with the study's parameters. `baseline_seeds`: the baselines run on the first that many
    seeds only (on CPU they cost up to three times a ye2019 run)."""
    roles = limit_baselines([role_for(m) for m in (models or DEFAULT_MODELS)], baseline_seeds)
    tuned_models = [study["model"] for study in tuned or []]
    twice = {m for m in tuned_models if tuned_models.count(m) > 1}
    if twice:
        raise UserError(f"--tuned: two studies tune {sorted(twice)[0]}; give one per model")
    for study in tuned or []:
        twins = [Role(tuned_role(r.name), r.spec.with_params(**study["params"]), r.seeds)
                 for r in roles if r.spec.name == study["model"] and not is_tuned(r.name)]
        if not twins:  # nothing tuned would run, yet the report would speak of it
            raise UserError(f"--tuned {study['study']}: the study tunes {study['model']}, which is not among the "
                            f"models compared ({', '.join(sorted({r.spec.name for r in roles}))}); add it to --models")
        roles += twins
    names = [r.name for r in roles]
    if reference is None:
        reference = next((n for n in names if n.startswith(REFERENCE)), names[0])
    return run_experiment("compare", options, roles, about=About(reference, tuned, preset))


def limit_baselines(roles: list[Role], seeds: int | None) -> list[Role]:
    return [Role(r.name, r.spec, seeds) if seeds is not None and r.spec.name in BASELINES else r for r in roles]


def ablation_roles(params: dict | None = None, baselines: tuple[str, ...] = BASELINES) -> list[Role]:
    """The reviewers' grid: the four variants; +MTL with random tags (the
    control); +MTL with constant tags (parameter-matched: same input width and parameter
    count, no tag information); +MTL with untyped BIO tags; every baseline without and
    with typed tags (`baselines`: which). `params` (e.g. smaller input widths) apply to every model."""
    roles = [Role(n, parse_model(s)) for n, s in PAPER_VARIANTS]
    roles += [Role(n, parse_model(s)) for n, s in CONTROLS]
    for b in baselines:
        roles += [Role(b, parse_model(f"{b}:tags=none")), Role(tagged(b), parse_model(f"{b}:tags=bio_typed"))]
    return [Role(r.name, r.spec.with_params(**params)) for r in roles] if params else roles


def ablate(options: Options, baselines: tuple[str, ...] = BASELINES, params: dict | None = None,
           baseline_seeds: int | None = None) -> dict:
    """`baselines`: the baselines whose rows (without and with tags) join the grid."""
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise UserError(f"--baselines: {unknown[0]!r} is not a baseline (one of {', '.join(BASELINES)})")
    roles = limit_baselines(ablation_roles(params, tuple(baselines)), baseline_seeds)
    return run_experiment("ablate", options, roles, about=About(reference=REFERENCE))


SWEEP_RATIOS = (1.0, 2.0, 5.0, 10.0, None)  # None: every negative


def sweep(options: Options, models: list[str] | None = None,
          ratios: tuple[float | None, ...] = SWEEP_RATIOS) -> dict:
    """Training negatives subsampled to each negative:positive ratio; dev and test untouched."""
    texts = models or [PAPER_VARIANTS[0][1], PAPER_VARIANTS[3][1]]
    roles = [role_for(m) for m in texts]
    return run_experiment("sweep", options, roles, list(ratios), About(reference=roles[-1].name))
