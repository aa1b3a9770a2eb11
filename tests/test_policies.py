"""The instance builder's policies on hand-checked sentences."""
import numpy as np
import pytest
from conftest import hand_sentence, make_sentence, tiny_corpus

from relext_bench.data.instances import builder_for
from relext_bench.data.policy import OTHER, POLICIES, Policy


def build(policy, sentences, **kw):
    corpus = tiny_corpus(sentences, **kw)
    builder = builder_for(corpus, policy, list(corpus.sentences()))
    return builder, builder.build(list(corpus.sentences()))


def pairs_of(builder, sentence):
    return {(c.mention1.id, c.mention2.id): c.label for c in builder.candidates(sentence)}


def test_paper_pairs_positives_in_annotated_order_negatives_left_to_right():
    s = hand_sentence()
    builder, _ = build(POLICIES["paper"], [s])
    assert pairs_of(builder, s) == {
        ("A", "B"): "ORG-AFF", ("C", "A"): "PHYS",  # positives as annotated
        ("A", "D"): OTHER, ("B", "C"): OTHER, ("B", "D"): OTHER, ("C", "D"): OTHER,
    }


def test_paper_window_and_positions():
    s = hand_sentence()
    builder, inst = build(POLICIES["paper"], [s])
    rows = inst.rows()
    k = [i for i in range(len(inst)) if tuple(inst.spans[i]) == (7, 10, 1, 3)][0]  # (C, A)
    assert rows["tokens"].shape[1] == 16
    assert inst.w0[k] == 1 and rows["lengths"][k] == 9  # window from the leftmost mention
    words = [builder.words.itos[t] for t in rows["tokens"][k][:9]]
    assert words == ["a1", "a2", "t3", "t4", "b5", "t6", "c7", "d8", "c9"]
    assert (rows["tokens"][k][9:] == 0).all()
    d = 8
    pos1 = rows["pos1"][k][:9] - d - 1  # relative to C = [7, 10)
    pos2 = rows["pos2"][k][:9] - d - 1  # relative to A = [1, 3)
    assert pos1.tolist() == [-6, -5, -4, -3, -2, -1, 0, 0, 0]
    assert pos2.tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 7]
    assert (rows["pos1"][k][9:] == 0).all()
    assert rows["e1"][k].tolist() == [6, 9] and rows["e2"][k].tolist() == [0, 2]
    assert bool(inst.reversed[k]) is True


def test_paper_window_cuts_and_positions_clip():
    tokens = [f"w{i}" for i in range(30)]
    s = make_sentence("s", tokens, [("X", 0, 1, "PER"), ("Y", 20, 22, "ORG")], [("R", "ORG-AFF", "X", "Y")])
    _, inst = build(POLICIES["paper"], [s])
    rows = inst.rows()
    assert rows["lengths"].tolist() == [16]
    pos2 = rows["pos2"][0] - 9
    assert pos2.tolist() == [-8] * 13 + [-7, -6, -5]  # 0-20 .. 15-20, clipped at -8
    assert rows["e2"][0].tolist() == [16, 16]  # mention 2 cut off by the window


def test_standard_each_unordered_pair_once_left_to_right_with_direction():
    s = hand_sentence()  # mentions by (start, end): A [1,3), B [5,6), C [7,10), D [8,9)
    builder, inst = build(POLICIES["standard"], [s])
    got = pairs_of(builder, s)
    assert got == {
        ("A", "B"): "ORG-AFF(e1,e2)",  # Arg-1 A is the left mention
        ("A", "C"): "PHYS(e2,e1)",  # Arg-1 C is the right mention
        ("A", "D"): OTHER, ("B", "C"): OTHER, ("B", "D"): OTHER, ("C", "D"): OTHER,
    }
    assert builder.labels == [OTHER, "ORG-AFF(e1,e2)", "ORG-AFF(e2,e1)", "PHYS(e1,e2)", "PHYS(e2,e1)"]
    assert not inst.reversed.any()  # mention 1 always left: nothing to leak
    assert inst.rows()["tokens"].shape == (6, 10)  # the whole sentence
    assert (inst.w0 == 0).all()


def test_standard_symmetric_types_get_one_undirected_label():
    s = hand_sentence()
    builder, inst = build(POLICIES["standard"], [s], symmetric_types=("PHYS",))
    got = pairs_of(builder, s)
    assert got[("A", "C")] == "PHYS" and got[("A", "B")] == "ORG-AFF(e1,e2)"
    assert builder.labels == [OTHER, "ORG-AFF(e1,e2)", "ORG-AFF(e2,e1)", "PHYS"]  # 2r - s + 1
    # the ordered policy ignores the schema's symmetry; the paper's has no direction at all
    ordered, _ = build(POLICIES["ordered"], [s], symmetric_types=("PHYS",))
    assert "PHYS(e1,e2)" in ordered.labels and "PHYS" not in ordered.labels
    paper, _ = build(POLICIES["paper"], [s], symmetric_types=("PHYS",))
    assert paper.labels == [OTHER, "ORG-AFF", "PHYS"]


def test_symmetric_subtype_labels():
    s = make_sentence("s", ["a", "b", "c", "d"], [("X", 0, 1, "PER"), ("Y", 2, 3, "PER"), ("Z", 3, 4, "GPE")],
                      [("R", "PHYS", "Y", "X", "Near"), ("R2", "PHYS", "Y", "Z", "Located")])
    policy = POLICIES["standard"].replace(label_level="subtype")
    builder, _ = build(policy, [s], symmetric_types=("PHYS.Near",))
    assert pairs_of(builder, s) == {("X", "Y"): "PHYS.Near", ("X", "Z"): OTHER, ("Y", "Z"): "PHYS.Located(e1,e2)"}
    assert builder.labels == [OTHER, "PHYS.Located(e1,e2)", "PHYS.Located(e2,e1)", "PHYS.Near"]


@pytest.mark.parametrize("symmetric", [(), ("ORG-AFF", "PHYS")])
def test_standard_each_gold_relation_is_exactly_one_positive(symmetric):
    """On every sentence of a corpus with nested mentions, Arg-1 on either side and
    symmetric types: one positive per relation, and it names that relation's pair."""
    from relext_bench.data import registry

    corpus = registry.load("synth_zh:documents=40")
    sentences = list(corpus.sentences())
    corpus = tiny_corpus(sentences, relation_types=corpus.relation_types, symmetric_types=symmetric)
    builder = builder_for(corpus, POLICIES["standard"], sentences)
    relations = 0
    for s in sentences:
        cands = list(builder.candidates(s))
        keys = [(c.mention1.id, c.mention2.id) for c in cands]
        assert len(keys) == len(set(keys)) == len(s.entities) * (len(s.entities) - 1) // 2
        positives = {(c.mention1.id, c.mention2.id): c.label for c in cands if c.label != OTHER}
        wanted = {}
        for r in s.relations:
            a, b = s.entity(r.arg1), s.entity(r.arg2)
            forward = (a.span(), a.id) < (b.span(), b.id)
            pair = (a.id, b.id) if forward else (b.id, a.id)
            direction = "" if r.type in symmetric else ("(e1,e2)" if forward else "(e2,e1)")
            wanted[pair] = r.type + direction
        assert positives == wanted
        relations += len(s.relations)
    assert relations > 30 and builder.skipped == {}


def test_relation_level_scoring_counts_a_wrong_direction_once_as_wrong():
    """One gold relation, predicted with the wrong direction: one false positive and one
    false negative, so precision = recall = 0 (not half credit as under `ordered`)."""
    from relext_bench.metrics import evaluate

    s = hand_sentence()
    builder, inst = build(POLICIES["standard"], [s])
    gold = inst.labels
    pred = gold.copy()
    k = builder.labels.index("PHYS(e2,e1)")
    pred[gold == k] = builder.labels.index("PHYS(e1,e2)")
    scores = evaluate(gold, pred, builder.labels)
    assert scores["micro_p"] == scores["micro_r"] == 0.5  # ORG-AFF right, PHYS wrong
    ordered, oinst = build(POLICIES["ordered"], [s])
    assert oinst.positives == 2 * inst.positives


def test_ordered_every_ordered_pair_with_direction():
    s = hand_sentence()
    builder, inst = build(POLICIES["ordered"], [s], symmetric_types=("PHYS",))
    got = pairs_of(builder, s)
    assert len(got) == 12
    assert got[("A", "B")] == "ORG-AFF(e1,e2)" and got[("B", "A")] == "ORG-AFF(e2,e1)"
    assert got[("C", "A")] == "PHYS(e1,e2)" and got[("A", "C")] == "PHYS(e2,e1)"
    assert sum(v == OTHER for v in got.values()) == 8
    assert inst.rows()["tokens"].shape == (12, 10)


def test_standard_window_protocol_cuts_the_window():
    from relext_bench.protocols import PROTOCOLS

    tokens = [f"w{i}" for i in range(30)]
    s = make_sentence("s", tokens, [("X", 0, 1, "PER"), ("Y", 20, 22, "ORG")], [("R", "ORG-AFF", "Y", "X")])
    builder, inst = build(PROTOCOLS["standard-window"].policy, [s])
    assert pairs_of(builder, s) == {("X", "Y"): "ORG-AFF(e2,e1)"}
    assert inst.rows()["tokens"].shape == (1, 16)


def test_protocol_key_follows_policy_and_symmetric_types():
    from relext_bench.protocols import PROTOCOLS

    plain = tiny_corpus([hand_sentence()])
    sym = tiny_corpus([hand_sentence()], symmetric_types=("PHYS",))
    std, ordered = PROTOCOLS["standard"], PROTOCOLS["ordered"]
    assert std.key(plain) != std.key(sym) != ordered.key(sym)
    assert ordered.key(plain) == ordered.key(sym)  # the ordered policy ignores symmetry
    assert "/" not in std.short_key(sym) and std.short_key(sym).startswith("standard@")


def test_without_direction_merges_labels():
    s = hand_sentence()
    builder, _ = build(POLICIES["ordered"].replace(direction=False), [s])
    got = pairs_of(builder, s)
    assert got[("A", "B")] == got[("B", "A")] == "ORG-AFF"
    assert builder.labels == [OTHER, "ORG-AFF", "PHYS"]


def tag_names(builder, inst):
    return [builder.tags[t] for t in inst.rows()["tags"][0][: inst.lengths[0]]]


def test_bio_typed_tags_from_all_mentions_innermost_wins():
    builder, inst = build(POLICIES["standard"], [hand_sentence()])
    assert tag_names(builder, inst) == ["O", "B-PER", "I-PER", "O", "O", "B-ORG", "O",
                                        "B-GPE", "B-LOC", "I-GPE"]


def test_bio_untyped_tags():
    builder, inst = build(POLICIES["standard"].replace(tags="bio"), [hand_sentence()])
    assert builder.tags == ["<pad>", "O", "B", "I"]
    assert tag_names(builder, inst) == ["O", "B", "I", "O", "O", "B", "O", "B", "B", "I"]


def test_subtype_tags():
    builder, inst = build(POLICIES["standard"].replace(tag_detail="subtype"), [hand_sentence()])
    assert tag_names(builder, inst)[1:3] == ["B-PER.Individual", "I-PER.Individual"]


def test_no_tags_are_padding():
    _, inst = build(POLICIES["standard"].replace(tags="none"), [hand_sentence()])
    assert (inst.rows()["tags"] == 0).all()


def test_random_tags_same_vocabulary_fixed_seed_uninformative():
    s = hand_sentence()
    typed, _ = build(POLICIES["standard"], [s])
    rnd, inst = build(POLICIES["standard"].replace(tags="random"), [s])
    assert rnd.tags == typed.tags
    tags = inst.rows()["tags"]
    assert (tags[:, :10] >= 1).all() and (tags < len(rnd.tags)).all()
    assert (tags == tags[0]).all()  # one draw per sentence, shared by its instances
    _, again = build(POLICIES["standard"].replace(tags="random"), [s])
    assert (again.rows()["tags"] == tags).all()
    _, other = build(POLICIES["standard"].replace(tags="random", tag_seed=1), [s])
    assert (other.rows()["tags"] != tags).any()
    # Over many tokens the draws are spread over the whole vocabulary.
    long = make_sentence("long", [f"w{i}" for i in range(2000)], [("X", 0, 1, "PER"), ("Y", 5, 6, "ORG")])
    b, big = build(POLICIES["standard"].replace(tags="random"), [long], relation_types=("ORG-AFF",))
    counts = np.bincount(big.rows(np.array([0]))["tags"][0], minlength=len(b.tags))
    assert counts[0] == 0 and (counts[1:] > 0).all()


def test_extent_span_option():
    s = make_sentence("s", ["the", "big", "boss", "of", "acme"],
                      [("P", 2, 3, "PER", None, (0, 3)), ("O", 4, 5, "ORG")], [("R", "ORG-AFF", "P", "O")])
    b_head, head = build(POLICIES["standard"], [s], relation_types=("ORG-AFF",))
    b_ext, ext = build(POLICIES["standard"].replace(mention_span="extent"), [s], relation_types=("ORG-AFF",))
    assert tag_names(b_head, head)[:3] == ["O", "O", "B-PER"]
    assert tag_names(b_ext, ext)[:3] == ["B-PER", "I-PER", "I-PER"]


def test_policy_hash_is_stable_and_option_sensitive():
    p = POLICIES["paper"]
    assert p.digest() == Policy(**p.to_dict()).digest()
    assert p.digest() != p.replace(tags="random").digest()
    assert p.digest() != POLICIES["standard"].digest()
    with pytest.raises(ValueError):
        Policy(tags="bioes")


def test_duplicate_and_unknown_relations_are_counted():
    s = make_sentence("s", ["a", "b", "c"], [("X", 0, 1, "PER"), ("Y", 2, 3, "ORG")],
                      [("R1", "ORG-AFF", "X", "Y"), ("R2", "ORG-AFF", "Y", "X"), ("R3", "ART", "X", "Y")])
    builder, _ = build(POLICIES["paper"], [s], relation_types=("ORG-AFF",))
    assert builder.skipped["relation annotated twice on the same pair"] == 1
    assert builder.skipped["relation outside the label set"] == 1
    s2 = make_sentence("s", ["a", "b", "c"], [("X", 0, 1, "PER"), ("Y", 2, 3, "ORG")],
                       [("R1", "ORG-AFF", "X", "Y"), ("R2", "PHYS", "Y", "X")])
    builder, _ = build(POLICIES["standard"], [s2])
    assert builder.skipped["second relation on the same pair"] == 1
