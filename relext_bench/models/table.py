"""The table of models: every model the harness can build, written out in one place.

An entry names the model's class and its config dataclass (the hyper-parameters a spec
may override), its default objective and prediction threshold, where it comes from,
its tuning search space, and whether it has the `shared` encoder. To add a model:
write its module (a config dataclass extending `InputConfig` and a `RelationModel`
with `build_encoder` and `encode`), then add one line here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relext_bench.models import att_bilstm, cnn, cr_cnn, pcnn, ye2019
from relext_bench.models.base import RelationModel, Sizes, config_from

if TYPE_CHECKING:  # the spec module looks entries up here, so no runtime import back
    from relext_bench.models.spec import ModelSpec


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

    def make(self, spec: ModelSpec, sizes: Sizes) -> RelationModel:
        return self.model(spec, sizes, config_from(self.config, spec))


MODELS: dict[str, ModelEntry] = {e.name: e for e in (
    ModelEntry("ye2019", ye2019.Ye2019, ye2019.Ye2019Config, "multitask", 0.5,
               "Ye et al. 2019 (ACL), the authors' released script", ye2019.search_space, shared=True),
    ModelEntry("cnn", cnn.CNN, cnn.CNNConfig, "ce", 0.0,
               "Zeng et al. 2014; Nguyen & Grishman 2015", cnn.search_space, shared=True),
    ModelEntry("pcnn", pcnn.PCNN, pcnn.PCNNConfig, "ce", 0.0, "Zeng et al. 2015", pcnn.search_space, shared=True),
    ModelEntry("cr_cnn", cr_cnn.CRCNN, cr_cnn.CRCNNConfig, "ranking", 0.0,
               "dos Santos et al. 2015", cr_cnn.search_space, shared=True),
    ModelEntry("att_bilstm", att_bilstm.AttBiLSTM, att_bilstm.AttBiLSTMConfig, "ce", 0.0,
               "Zhou et al. 2016", att_bilstm.search_space),
)}


def build_model(spec: ModelSpec, sizes: Sizes) -> RelationModel:
    spec = spec.resolved()
    return MODELS[spec.name].make(spec, sizes)
