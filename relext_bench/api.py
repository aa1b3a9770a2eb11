"""The public model interface, version `INTERFACE_VERSION`: everything a model needs,
whether it is one of the harness's (`ye2019`; the baselines in `relext_bench_baselines`)
or a user's plug-in. docs/models.md walks through writing one.

A model is a `RelationModel` subclass that declares
- `config_class`: a frozen dataclass extending `InputConfig` (word_dim, position_dim,
  tag_dim, input_dropout) with its own hyper-parameters and their defaults; a spec's
  `key=value` items override them (`mypkg.models:MyModel:filters=64`);
- `build_encoder(input_width) -> int`: creates its layers, returns its feature width F;
- `encode(x, batch) -> features [B, F]`, where x [B, L, input_width] is the embedded
  input (word | position to mention 1 | position to mention 2 | tag channels) and
  `batch` holds `tokens`, `pos1`, `pos2`, `tags` [B, L] (ids, 0 = padding), `mask`
  [B, L] (bool), `lengths` [B], and the mention spans `e1`, `e2` [B, 2] (start, end
  exclusive), relative to the row;
- optionally `default_objective` ("ce", "ranking" or "multitask"; every model supports
  all three: the heads are shared), `default_threshold`, `source`, a static
  `search_space(trial) -> dict` for `tune`, and `encode_shared(x, batch)` for the
  sentence-shared encoder (`pair_conv` computes it for a convolution).
A config or encoder that cannot work as asked raises `UserError` with one line that
names the option; the user sees that line, not a traceback.
The heads turn the features into one score per label (with Other for `ce`) and, for
`multitask`, identification logits; `predict` maps them to labels.

A model is found by name (`ye2019`, or a name an installed distribution registers
under the entry-point group `relext_bench.models`) or as `module:Class`.
"""
from relext_bench.errors import UserError
from relext_bench.models.base import (
    INTERFACE_VERSION,
    InputConfig,
    Output,
    RelationModel,
    SharedInput,
    Sizes,
    Spec,
    masked_max,
    masked_mean,
    same_conv,
)

__all__ = ["INTERFACE_VERSION", "InputConfig", "Output", "RelationModel", "SharedInput", "Sizes", "Spec",
           "UserError", "masked_max", "masked_mean", "same_conv"]
