"""Batches: which instances go together (length-bucketed, or whole sentences for a model
that reads each sentence once for all its pairs), and their padded tensors."""
from __future__ import annotations

import numpy as np
import torch

from relext_bench.data.instances import InstanceSet


def to_batch(instances: InstanceSet, index: np.ndarray, device: torch.device,
             grouped: bool = False) -> dict[str, torch.Tensor]:
    rows = instances.rows(index, grouped=grouped)
    batch = {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in rows.items()}
    batch["mask"] = torch.arange(batch["tokens"].shape[1], device=device)[None, :] < batch["lengths"][:, None]
    return batch


def epoch_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator,
                  chunk: int = 50) -> list[np.ndarray]:
    """Length-bucketed batches: shuffle, sort each chunk of `chunk` batches by length,
    cut into batches, shuffle the batches. Padding then follows each batch's own
    longest window (whole-sentence instances vary from a few tokens to hundreds)."""
    order = rng.permutation(len(lengths))
    batches = []
    span = batch_size * chunk
    for start in range(0, len(order), span):
        part = order[start:start + span]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sentence_batches(sentence: np.ndarray, batch_size: int, rng: np.random.Generator | None = None,
                     lengths: np.ndarray | None = None) -> list[np.ndarray]:
    """Sentence-grouped batches, for the shared encoder: whole sentences packed into
    batches of at most `batch_size` instances (a sentence with more is split). With
    `rng` (training): sentences in random order, then the batches shuffled. Without
    (prediction): sentences by length (`lengths` of their instances), so that a batch
    pads little. A sentence's instances keep their order."""
    order = np.argsort(sentence, kind="stable")
    ids, starts = np.unique(sentence[order], return_index=True)
    members = np.split(order, starts[1:]) if len(order) else []
    if rng is not None:
        members = [members[i] for i in rng.permutation(len(members))]
    elif lengths is not None:
        members.sort(key=lambda m: int(lengths[m].max()))
    batches, current, size = [], [], 0
    for m in members:
        for piece in (m[i:i + batch_size] for i in range(0, len(m), batch_size)):
            if size + len(piece) > batch_size and current:
                batches.append(np.concatenate(current))
                current, size = [], 0
            current.append(piece)
            size += len(piece)
    if current:
        batches.append(np.concatenate(current))
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def training_batches(model, instances: InstanceSet, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches: sentence-grouped for the shared encoder, else length-bucketed."""
    if model.batches_by_sentence:
        return sentence_batches(instances.sentence, batch_size, rng)
    return epoch_batches(instances.lengths, batch_size, rng)
