"""What is being run, resolved in one place: a corpus, a protocol and a model spec give
the instance policy (the protocol's, with the spec's tag scheme: the one place the two
meet), the instance builder (its word vocabulary from the training sentences), the
vocabulary sizes and the model. How the model wants its batches it says itself
(`RelationModel.batches_by_sentence`). The trainer, `bench-train`, `tune` (through the
trainer) and `corpora stats` come through here."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relext_bench.data.instances import InstanceBuilder, builder_for
from relext_bench.data.model import Corpus, Sentence
from relext_bench.data.policy import Policy
from relext_bench.protocols import Protocol

if TYPE_CHECKING:  # the models (and torch) load when a model is built, not for `corpora stats`
    from relext_bench.models import ModelSpec, RelationModel, Sizes


def policy_for(protocol: Protocol, spec: ModelSpec | None = None) -> Policy:
    """The protocol's policy, tagged as the spec asks (no spec: the protocol's own tags)."""
    return protocol.policy if spec is None else protocol.policy.replace(tags=spec.tags)


@dataclass(frozen=True)
class Run:
    spec: ModelSpec | None
    policy: Policy
    builder: InstanceBuilder

    @property
    def sizes(self) -> Sizes:
        from relext_bench.models import Sizes

        b = self.builder
        return Sizes(len(b.words), b.position_size, len(b.tags), len(b.labels))

    def model(self) -> RelationModel:
        from relext_bench.models import build_model

        return build_model(self.spec, self.sizes)


def resolve(corpus: Corpus, protocol: Protocol, spec: ModelSpec | None = None,
            train_sentences: Iterable[Sentence] = (), extra_words: Iterable[str] = ()) -> Run:
    spec = spec.resolved() if spec is not None else None
    policy = policy_for(protocol, spec)
    return Run(spec, policy, builder_for(corpus, policy, list(train_sentences), extra_words=extra_words))
