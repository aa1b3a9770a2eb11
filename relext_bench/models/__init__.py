"""Models behind one interface. A newcomer reads, in this order: `spec.py` (what to
build), `registry.py` (where a name leads), `base.py` (the shared input layer,
encoders and heads, published as `relext_bench.api`), then `ye2019.py` or a baseline
in `relext_bench_baselines` (the top-level `baselines/` folder)."""
from relext_bench.models.base import Output, RelationModel, Sizes
from relext_bench.models.registry import build_model, known, model_entry
from relext_bench.models.spec import ModelSpec, parse_model

__all__ = ["ModelSpec", "Output", "RelationModel", "Sizes", "build_model", "known", "model_entry", "parse_model"]
