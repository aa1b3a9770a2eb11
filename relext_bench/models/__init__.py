"""Models behind one interface. `build_model(spec, sizes)` makes any of them; every
model takes a tag scheme and an objective, so "tags improve other models" is one flag."""
from relext_bench.models.base import MODELS, ModelSpec, Output, RelationModel, Sizes, build_model

__all__ = ["MODELS", "ModelSpec", "Output", "RelationModel", "Sizes", "build_model"]
