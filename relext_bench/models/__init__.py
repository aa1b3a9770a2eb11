"""Models behind one interface. A newcomer reads, in this order: `spec.py` (what to
build), `table.py` (every model, one line each), `base.py` (the shared input layer,
encoders and heads), then one model's file (`ye2019.py`, `cnn.py`, ...)."""
from relext_bench.models.base import Output, RelationModel, Sizes
from relext_bench.models.spec import ModelSpec, parse_model
from relext_bench.models.table import MODELS, build_model

__all__ = ["MODELS", "ModelSpec", "Output", "RelationModel", "Sizes", "build_model", "parse_model"]
