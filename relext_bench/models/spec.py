"""What to build: a `ModelSpec` names a model (`models/registry.py` finds it), its tag
scheme, objective and prediction rule, and hyper-parameters over the model's config
defaults. Specs are written `name:key=value,...`, a plug-in's `module:Class` or
`module:Class:key=value,...` (`relext_bench/specs.py` parses the items); `spec_text`
writes one back.

A spec's `key()` identifies what it computes (the run store keys runs by it; a
plug-in's identity joins it), its `label()` names it in tables.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import unicodedata
from dataclasses import dataclass

from relext_bench.data.policy import TAG_SCHEMES
from relext_bench.errors import UserError, clip
from relext_bench.models import objectives
from relext_bench.specs import ENCODERS, PLUGIN, parse_items, parse_spec

# Options of every model; any other key of a spec is a hyper-parameter of the model's config.
SPEC_FIELDS = ("tags", "objective", "predict_rule", "threshold", "encoder")


def model_entry(name: str):
    """The registry's entry for `name` (the registry imports torch and the models, so it
    loads on first use)."""
    from relext_bench.models.registry import model_entry as entry

    return entry(name)


@dataclass(frozen=True)
class ModelSpec:
    """What to build: the model's name, its tag scheme and objective, the prediction
    rule, and hyper-parameters overriding the model's config defaults."""

    name: str
    tags: str = "bio_typed"
    objective: str | None = None  # None: the model's default
    predict_rule: str = "paper"
    threshold: float | None = None  # None: the model's default
    params: tuple[tuple[str, object], ...] = ()
    encoder: str = "shared"  # resolves to "dense" for models without a shared encoder

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise UserError(f"unknown encoder {self.encoder!r} (one of {', '.join(ENCODERS)})")
        if self.tags not in TAG_SCHEMES:
            raise UserError(f"unknown tag scheme {self.tags!r} (one of {', '.join(TAG_SCHEMES)})")
        if self.objective is not None and self.objective not in objectives.OBJECTIVES:
            raise UserError(f"unknown objective {self.objective!r} (one of {', '.join(objectives.OBJECTIVES)})")
        if self.predict_rule not in objectives.PREDICT_RULES:
            raise UserError(f"unknown prediction rule {self.predict_rule!r}")

    def with_params(self, **params) -> ModelSpec:
        merged = dict(self.params) | params
        return dataclasses.replace(self, params=tuple(sorted(merged.items())))

    def resolved(self) -> ModelSpec:
        """The spec with the model's defaults filled in (what a record stores)."""
        entry = model_entry(self.name)
        objective = self.objective or entry.default_objective
        threshold = self.threshold
        if threshold is None:
            threshold = entry.default_threshold if objective not in objectives.ARGMAX else 0.0
        encoder = self.encoder if entry.shared else "dense"
        return dataclasses.replace(self, objective=objective, threshold=threshold, encoder=encoder)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["params"] = dict(self.params)
        return d

    def key(self) -> str:
        d = self.resolved().to_dict()
        if d["encoder"] == "dense":  # runs stored before encoders existed were dense: same keys
            del d["encoder"]
        identity = model_entry(self.name).identity
        if identity is not None:  # a plug-in: its class and version (the harness's own models: none)
            d["implementation"] = identity
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def label(self) -> str:
        s = self.resolved()
        extra = "".join(f",{k}={v}" for k, v in s.params)
        if s.encoder == "dense" and model_entry(s.name).shared:
            extra += ",enc=dense"
        return f"{s.name}[tags={s.tags},obj={s.objective}{extra}]"


def spec_items(text: str) -> tuple[str, dict[str, str]]:
    """A model spec's name and items. Fullwidth digits and the like read as what they are
    (`filters=１００` is filters=100), so one value never makes two run keys."""
    text = unicodedata.normalize("NFKC", text)
    plugin = PLUGIN.fullmatch(text)
    if plugin:
        module, cls, rest = plugin.groups()
        return f"{module}:{cls}", parse_items(rest or "", f"model spec {clip(text)}")
    return parse_spec(text, "model spec")


def parse_model_spec(text: str) -> ModelSpec:
    """`name` or `name:key=value,...`: tags, objective, predict_rule, threshold and
    encoder are options of every model, other keys the model's hyper-parameters."""
    name, items = spec_items(text)
    fields: dict[str, object] = {k: v for k, v in items.items() if k in SPEC_FIELDS}
    params = {k: v for k, v in items.items() if k not in SPEC_FIELDS}
    if "threshold" in fields:
        try:
            fields["threshold"] = float(fields["threshold"])
        except ValueError:
            raise UserError(f"model spec {clip(text)}: threshold {clip(items['threshold'])} is not a number") from None
        if not math.isfinite(fields["threshold"]):
            raise UserError(f"model spec {clip(text)}: threshold {clip(items['threshold'])} is not finite")
    return ModelSpec(name, **fields).with_params(**params)


def spec_text(spec: ModelSpec) -> str:
    """The inverse of parse_model_spec, for manifests."""
    s = spec.resolved()
    items = [f"tags={s.tags}", f"objective={s.objective}", f"predict_rule={s.predict_rule}",
             f"threshold={s.threshold}", f"encoder={s.encoder}"] + [f"{k}={v}" for k, v in s.params]
    return f"{s.name}:{','.join(items)}"


def check_buildable(spec: ModelSpec, text: str) -> None:
    """Builds the model on a tiny vocabulary: its hyper-parameters' names, types and
    values are checked by the model itself (once per spec: experiments check the same
    specs many times)."""
    spec.resolved()
    problem = build_problem(spec)
    if problem is None:
        return
    model_says, message = problem
    raise UserError(message if model_says else
                    f"model spec {clip(text)}: its hyper-parameters do not make a model ({message})")


@functools.lru_cache(maxsize=256)
def build_problem(spec: ModelSpec) -> tuple[bool, str] | None:
    """Why the spec does not build: (True, the model's own message) or (False, the
    error's first line); None when it builds."""
    from relext_bench.models.registry import PROBE_SIZES, build_model, probe, why

    try:
        probe(build_model(spec, PROBE_SIZES))
    except UserError as e:  # PluginError included
        return True, str(e)
    except Exception as e:
        if model_entry(spec.name).identity is not None:  # a plug-in's own failure, whatever it is
            return True, f"model plug-in {spec.name}: building it fails ({why(e)})"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, (RuntimeError, ValueError, TypeError)):
            return False, first
        raise
    return None


def parse_model(text: str) -> ModelSpec:
    """A spec from text, checked by building it: unknown names and bad
    hyper-parameters fail here, before any run starts."""
    spec = parse_model_spec(text)
    check_buildable(spec, text)
    return spec


def spec_with_options(text: str, options: dict, params: dict[str, str]) -> ModelSpec:
    """The spec `text` (`cnn:word_dim=50,tags=none`) with `options` (tags, objective,
    predict_rule, threshold, encoder; None: not given) and hyper-parameters applied over
    it, as `train`'s flags are; what the spec also sets must agree with it."""
    spec = parse_model_spec(text)
    _, written = spec_items(text)
    for field, value in options.items():
        if value is None:
            continue
        if field in written and getattr(spec, field) != value:
            raise UserError(f"--{field.replace('_', '-')} {value} and --model {clip(text)} ({field}={written[field]}) "
                            "disagree: give it once")
        spec = dataclasses.replace(spec, **{field: value})
    own = dict(spec.params)
    clash = sorted(k for k in params if k in own and str(own[k]) != params[k])
    if clash:
        raise UserError(f"--param {clash[0]}={params[clash[0]]} and --model {clip(text)} disagree: give it once")
    return spec.with_params(**params)
