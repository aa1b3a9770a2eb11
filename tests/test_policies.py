"""The instance builder's policies on hand-checked sentences."""
import numpy as np
import pytest
from conftest import hand_sentence, make_sentence, tiny_corpus

from relext_bench.data.instances import OTHER, POLICIES, Policy, builder_for


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


def test_standard_every_ordered_pair_with_direction():
    s = hand_sentence()
    builder, inst = build(POLICIES["standard"], [s])
    got = pairs_of(builder, s)
    assert len(got) == 12
    assert got[("A", "B")] == "ORG-AFF(e1,e2)" and got[("B", "A")] == "ORG-AFF(e2,e1)"
    assert got[("C", "A")] == "PHYS(e1,e2)" and got[("A", "C")] == "PHYS(e2,e1)"
    assert sum(v == OTHER for v in got.values()) == 8
    assert inst.rows()["tokens"].shape == (12, 10)  # the whole sentence
    assert (inst.w0 == 0).all()


def test_standard_without_direction_merges_labels():
    s = hand_sentence()
    builder, _ = build(POLICIES["standard"].replace(direction=False), [s])
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
    assert builder.report["second relation on the same pair"] == 1
    assert builder.report["relation outside the label set"] == 1
