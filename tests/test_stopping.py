"""The stopping rule: patience counted in epochs, never before a minimum of steps."""
from relext_bench.training.stopping import Stopper


def run(scores, patience, min_steps, steps_per_epoch):
    """The epoch a run stops at (or len(scores) when it never does) and its best epoch."""
    stopper = Stopper(patience, min_steps)
    for epoch, score in enumerate(scores, 1):
        if not stopper.improved(epoch, score) and stopper.should_stop(epoch * steps_per_epoch):
            return epoch, stopper.best_epoch
    return len(scores), stopper.best_epoch


def test_patience_counts_epochs_after_the_best():
    scores = [0.1, 0.3, 0.2, 0.2, 0.2, 0.2]
    assert run(scores, patience=2, min_steps=0, steps_per_epoch=1) == (5, 2)
    assert run(scores, patience=3, min_steps=0, steps_per_epoch=1) == (6, 2)
    assert run(scores, patience=4, min_steps=0, steps_per_epoch=1) == (6, 2)  # never stopped


def test_no_stop_before_min_steps_then_patience_rules():
    # A slow learner: a plateau, then a late rise (the CrossRE multitask curves).
    scores = [0.05, 0.07, 0.04, 0.05, 0.06, 0.04, 0.05, 0.06, 0.10, 0.15, 0.19, 0.18, 0.18, 0.18]
    assert run(scores, patience=2, min_steps=0, steps_per_epoch=37) == (5, 2)  # stopped on the plateau
    assert run(scores, patience=2, min_steps=300, steps_per_epoch=37) == (14, 11)
    # Past the minimum, patience alone decides: the same epoch as without a minimum.
    late = [0.1, 0.2] + [0.1] * 10
    assert run(late, patience=2, min_steps=37, steps_per_epoch=37) == (5, 2)


def test_ties_keep_the_first_best():
    stopper = Stopper(patience=5, min_steps=0)
    assert stopper.improved(1, 0.5) and not stopper.improved(2, 0.5)
    assert stopper.best_epoch == 1 and stopper.epochs_since_best == 1
