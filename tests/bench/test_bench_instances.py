"""Instance building throughput (an ACE-sized corpus: about 100k instances under
the standard policy, half as many under the paper's left-to-right pairing)."""
import pytest

from relext_bench.data import registry
from relext_bench.data.instances import builder_for
from relext_bench.data.policy import POLICIES


@pytest.mark.parametrize("policy", ["standard", "paper"])
def test_build_instances(benchmark, policy):
    corpus = registry.load("synth_zh")
    sentences = list(corpus.sentences())
    builder = builder_for(corpus, POLICIES[policy], list(corpus.sentences(corpus.split("train"))))
    result = benchmark(builder.build, sentences)
    benchmark.extra_info["instances"] = len(result)
    assert len(result) > 45_000
