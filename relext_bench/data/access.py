"""How this process reaches corpora: offline or not (never touch the network), and the
user's LDC2006T06 copy. The command line sets them (`--offline`, `--ldc-dir`) with
`configure`; the loaders read them with `current`; worker processes get the planning
process's settings explicitly (`experiments/runner.open_pool`). Where a setting is not
given, the environment's default applies: RELEXT_BENCH_OFFLINE=1, RELEXT_BENCH_LDC_DIR."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Access:
    offline: bool | None = None  # None: the environment's default
    ldc_dir: str | None = None

    @property
    def is_offline(self) -> bool:
        if self.offline is not None:
            return self.offline
        return os.environ.get("RELEXT_BENCH_OFFLINE", "") not in ("", "0")

    @property
    def ldc(self) -> Path | None:
        value = self.ldc_dir or os.environ.get("RELEXT_BENCH_LDC_DIR")
        return Path(value).expanduser() if value else None


_settings = Access()


def configure(access: Access) -> None:
    global _settings
    _settings = access


def current() -> Access:
    return _settings
