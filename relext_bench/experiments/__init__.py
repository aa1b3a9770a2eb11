"""Experiments: runs of many models, partitions and seeds (`runner.py`), stored and
claimed so that processes share them (`store.py`, `claims.py`); `compare`, `ablate` and
`sweep` (`compare.py`); Optuna tuning (`tune.py`)."""
