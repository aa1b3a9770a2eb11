"""A run's progress on disk, so that a run killed in mid-training (a stopped session, a
preempted machine) resumes at its last saved epoch instead of starting over: on CPU a
converged `att_bilstm` run on a large corpus takes hours.

The runner gives each local run the file `runs/KEY.ckpt` beside its future record; the
trainer writes it atomically at the end of an epoch at most every `EVERY_S` seconds (and
when early stopping decides), and the store removes it once the record is written. It
holds everything the next epoch depends on: the weights, the optimizer's state, the
numpy and torch random generators, the curve, the best epoch's weights and the stopper,
so a resumed run on CPU computes what the uninterrupted run would have.

A file that cannot be read, or whose weights do not fit the model (the code changed
under it), is set aside with a warning and the run starts over; nothing is lost but
the time it had saved. torch.save is the format: the state is tensors and plain Python.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import torch

EVERY_S = 60.0  # seconds of training between two writes: a SemEval epoch takes seconds, a SanWen one minutes


def save(path: Path, state: dict) -> None:
    """Writes the state atomically; a failed write (a full disk) is a warning, not the run's end."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The writer's pid in the temporary name, as for records: `Store.clean` removes a dead writer's.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
        os.replace(tmp, path)
    except OSError as e:
        print(f"relext-bench: warning: {path}: cannot save the run's progress ({e.strerror or e}); "
              "it trains on, but a kill now would start it over", file=sys.stderr)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def load(path: Path, model: torch.nn.Module, device: torch.device) -> dict | None:
    """The saved state, or None when there is none or it does not fit `model`."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=False)
        mine = model.state_dict()
        fits = state["model"].keys() == mine.keys() and all(
            state["model"][k].shape == v.shape for k, v in mine.items())
    except Exception as e:  # a truncated or foreign file
        fits, why = False, f"cannot read it ({type(e).__name__})"
    else:
        why = "its weights do not fit the model"
    if fits:
        return state
    path.replace(path.with_suffix(".ckpt.unused"))
    print(f"relext-bench: warning: {path}: {why}; set aside as {path.name}.unused, the run starts over",
          file=sys.stderr)
    return None


def capture(model, optim, np_rng, device: torch.device, stopper, fit, epoch: int, stopped: bool,
            train_s: float) -> dict:
    """The state after `epoch` (`fit`: the trainer's curve, best epoch and weights, steps)."""
    return {"model": model.state_dict(), "optimizer": optim.state_dict(), "numpy": np_rng.bit_generator.state,
            "random": random_state(device), "stopper": stopper, "epoch": epoch, "stopped": stopped,
            "curve": fit.curve, "best_epoch": fit.best_epoch, "best_state": fit.best_state, "steps": fit.steps,
            "train_s": train_s}


def restore(saved: dict, model, optim, np_rng, device: torch.device, fit):
    """Puts `capture`'s state back; returns (stopper, first epoch to train, whether it had stopped)."""
    model.load_state_dict(saved["model"])
    optim.load_state_dict(saved["optimizer"])
    np_rng.bit_generator.state = saved["numpy"]
    restore_random(saved["random"], device)
    fit.curve, fit.best_epoch, fit.best_state, fit.steps = (saved["curve"], saved["best_epoch"], saved["best_state"],
                                                            saved["steps"])
    fit.resumed_after, fit.train_s_before = saved["epoch"], saved["train_s"]
    return saved["stopper"], saved["epoch"] + 1, saved["stopped"]


def random_state(device: torch.device) -> dict:
    out = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        out["cuda"] = torch.cuda.get_rng_state(device)
    return out


def restore_random(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)
