"""Where a model name leads: the harness's own model (`ye2019`), a model an installed
distribution registers under the entry-point group `relext_bench.models` (the
baselines are registered so, by this distribution, from the top-level `baselines/`
folder), or any class written `module:Class`.

Every model class goes through the same public interface (`relext_bench.api`), and
an entry is built from what the class declares. A model from another distribution, or
given as `module:Class`, carries an identity (its qualified name and its
distribution's version, else a digest of its source file) that joins its spec's key,
so two different models never share a run key; the harness's own models keep the keys
their runs were stored under.

A plug-in that does not load, declares no config, or whose features have the wrong
shape is refused with one line naming it (`PluginError`), checked on a probe batch
before any run.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import importlib.metadata
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from relext_bench.errors import UserError, clip
from relext_bench.models.base import (
    INTERFACE_VERSION,
    InputConfig,
    RelationModel,
    Sizes,
    Spec,
    config_from,
)
from relext_bench.models.ye2019 import Ye2019
from relext_bench.specs import PLUGIN

GROUP = "relext_bench.models"
OWN = "relext_bench"  # this distribution: its models' keys carry no identity
BUILT_IN = {"ye2019": Ye2019}


class PluginError(UserError):
    pass


def why(e: BaseException) -> str:
    """An exception as one short line: `Type: first line of its message`."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else "-"
    return f"{type(e).__name__}: {text[:160]}"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model: type[RelationModel]
    config: type  # the model's config dataclass
    default_objective: str
    default_threshold: float
    source: str
    search_space: Callable | None = None  # trial -> hyper-parameters (Optuna)
    shared: bool = False  # has a `shared` encoder (encode_shared)
    identity: str | None = None  # joins the spec key; None for the harness's own models

    def make(self, spec: Spec, sizes: Sizes) -> RelationModel:
        return self.model(spec, sizes, config_from(self.config, spec))


def entry_for(name: str, cls, identity: str | None) -> ModelEntry:
    """The entry of a model class, from what it declares; a PluginError when it
    declares what the interface does not allow."""
    if not (inspect.isclass(cls) and issubclass(cls, RelationModel)):
        raise PluginError(f"model plug-in {name}: {cls!r} is not a subclass of relext_bench.api.RelationModel")
    if cls.interface != INTERFACE_VERSION:
        raise PluginError(f"model plug-in {name}: written for relext_bench.api version {cls.interface}; this "
                          f"harness has version {INTERFACE_VERSION}")
    config = getattr(cls, "config_class", None)
    if not (inspect.isclass(config) and dataclasses.is_dataclass(config) and issubclass(config, InputConfig)):
        raise PluginError(f"model plug-in {name}: its class declares no config_class "
                          "(a dataclass extending relext_bench.api.InputConfig)")
    return ModelEntry(name, cls, config, cls.default_objective, cls.default_threshold, cls.source,
                      cls.search_space, shared=cls.encode_shared is not RelationModel.encode_shared,
                      identity=identity)


@functools.cache
def installed() -> dict[str, importlib.metadata.EntryPoint]:
    """The models installed distributions register (entry-point group `relext_bench.models`)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}


def known() -> list[str]:
    return [*BUILT_IN, *sorted(n for n in installed() if n not in BUILT_IN)]


def identity_of(cls, distribution: str | None) -> str:
    """`module:Class@version` of the installed distribution, else `module:Class#digest`
    of the class's source file."""
    qualified = f"{cls.__module__}:{cls.__qualname__}"
    if distribution:
        return f"{qualified}@{distribution}=={importlib.metadata.version(distribution)}"
    try:
        source = Path(inspect.getsourcefile(cls) or "").read_bytes()
    except (OSError, TypeError):
        return qualified
    return f"{qualified}#{hashlib.sha256(source).hexdigest()[:16]}"


def distribution_of(module: str) -> str | None:
    names = importlib.metadata.packages_distributions().get(module.partition(".")[0], [])
    return names[0] if names else None


def load(name: str) -> ModelEntry:
    """A plug-in given as `module:Class`, imported."""
    module, _, attr = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except AttributeError:
        raise PluginError(f"model plug-in {name}: module {module} has no {attr}") from None
    except Exception as e:  # a plug-in's own import error, whatever it is, is one line
        raise PluginError(f"model plug-in {name}: cannot import {module} "
                          f"({why(e)})") from None
    dist = distribution_of(module)
    return entry_for(name, cls, None if dist == OWN else identity_of(cls, dist))


@functools.lru_cache(maxsize=64)
def model_entry(name: str) -> ModelEntry:
    """The entry for `name`: built in, registered by an installed distribution, or `module:Class`."""
    if name in BUILT_IN:
        return entry_for(name, BUILT_IN[name], None)
    if PLUGIN.fullmatch(name):
        return load(name)
    ep = installed().get(name)
    if ep is None:
        raise UserError(f"unknown model {clip(name, 60)} (known: {', '.join(known())}; "
                        "or your own as module:Class)")
    try:
        cls = ep.load()
    except Exception as e:
        raise PluginError(f"model plug-in {name} ({ep.value}): cannot load it "
                          f"({why(e)})") from None
    dist = ep.dist.name if ep.dist else None
    own = dist is not None and dist.replace("-", "_") == OWN
    return entry_for(name, cls, None if own else identity_of(cls, dist))


def build_model(spec, sizes: Sizes) -> RelationModel:
    spec = spec.resolved()
    return model_entry(spec.name).make(spec, sizes)


PROBE_SIZES = Sizes(words=6, positions=9, tags=3, labels=3)  # what the probe batch's ids fit


def probe(model: RelationModel) -> None:
    """Runs a plug-in (built on PROBE_SIZES) through its dense path on a two-instance
    batch: its features must be one vector of the width `build_encoder` returned per
    instance (PluginError otherwise). The harness's own models are left to the tests."""
    if model_entry(model.spec.name).identity is None:
        return
    spec = model.spec
    model.eval()
    batch = {"tokens": torch.tensor([[2, 3, 4, 0], [2, 3, 4, 5]]), "tags": torch.tensor([[1, 2, 0, 0], [1, 2, 1, 2]]),
             "pos1": torch.tensor([[5, 6, 7, 0], [5, 6, 7, 8]]), "pos2": torch.tensor([[3, 4, 5, 0], [2, 3, 4, 5]]),
             "lengths": torch.tensor([3, 4]), "e1": torch.tensor([[0, 1], [0, 1]]),
             "e2": torch.tensor([[2, 3], [3, 4]])}
    batch["mask"] = torch.arange(4)[None, :] < batch["lengths"][:, None]
    try:
        with torch.no_grad():
            features = model.encode(model.embed(batch), batch)
    except Exception as e:
        raise PluginError(f"model plug-in {spec.name}: encode fails on a probe batch "
                          f"({why(e)})") from None
    if not isinstance(features, torch.Tensor) or tuple(features.shape) != (2, model.features):
        shape = list(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise PluginError(f"model plug-in {spec.name}: encode returned {shape} for 2 instances; expected "
                          f"[2, {model.features}] (one feature vector per instance, the width build_encoder returned)")
