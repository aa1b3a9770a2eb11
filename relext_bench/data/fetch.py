"""Pinned, checked downloads of public corpora.

Every file is pinned to an upstream commit and a sha256 (sources.json, the harness's
own pins); archives are checked member by member against a tree digest (docs/corpora.md).
Files land in the cache (RELEXT_BENCH_HOME/downloads/HOST/PATH) through a temporary
file and a rename, so the cache never holds a half-written or unverified file.
RELEXT_BENCH_MIRROR=DIR reads `https://HOST/PATH` from DIR/HOST/PATH instead of the
network; offline mode (RELEXT_BENCH_OFFLINE=1 or --offline) never touches the network.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from tqdm import tqdm

from relext_bench.data import access
from relext_bench.errors import UserError
from relext_bench.files import apply_umask
from relext_bench.paths import home

SOURCES = Path(__file__).with_name("sources.json")


@lru_cache(maxsize=1)
def sources() -> dict:
    with open(SOURCES, encoding="utf-8") as fh:
        return json.load(fh)


def offline() -> bool:
    return access.current().is_offline


def mirror() -> Path | None:
    value = os.environ.get("RELEXT_BENCH_MIRROR")
    return Path(value).expanduser() if value else None


def url_path(url: str) -> Path:
    """`https://HOST/PATH` -> HOST/PATH (also the mirror's and the cache's layout)."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    if not parsed.netloc or any(p in (".", "..") for p in parts):
        raise UserError(f"not a pinned download address: {url}")
    return Path(parsed.netloc, *parts)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_path(url: str) -> Path:
    return home() / "downloads" / url_path(url)


def fetch(url: str, sha256: str, size: int | None = None) -> Path:
    """The verified local copy of a pinned file: from the cache, else the mirror, else
    the network. A mismatch is an error and leaves nothing in the cache."""
    dest = cache_path(url)
    if dest.exists():
        if sha256_file(dest) == sha256:
            return dest
        dest.unlink()  # damaged since: fetch again
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _copy_from_source(url, out, size)
        got = sha256_file(tmp)
        if got != sha256:
            raise UserError(f"checksum mismatch for {url}: expected sha256 {sha256[:16]}..., got {got[:16]}... "
                            "(file damaged or changed upstream; nothing was cached)")
        apply_umask(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _copy_from_source(url: str, out, size: int | None) -> None:
    root = mirror()
    if root is not None:
        local = root / url_path(url)
        if not local.is_file():
            raise UserError(f"{url} is not in the mirror {root} (expected {local})")
        with open(local, "rb") as src:
            shutil.copyfileobj(src, out)
        return
    if offline():
        raise UserError(f"offline: {url} is not in the cache {home() / 'downloads'}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or size or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                      file=sys.stderr, leave=False) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise UserError(f"cannot download {url}: {reason} (no network? set RELEXT_BENCH_MIRROR "
                        "to a mirror folder, or fetch on a connected machine)") from None


def fetch_corpus_files(name: str) -> dict[str, Path]:
    """Every pinned file of a `files` corpus, verified: {path in the repository: local path}."""
    entry = sources()[name]
    if entry["kind"] != "files":
        raise ValueError(f"{name} is an archive corpus")
    missing = [f for f in entry["files"] if not (cache_path(f["url"]).exists())]
    if missing:
        where = f"mirror {mirror()}" if mirror() else ("nowhere (offline)" if offline() else "the network")
        print(f"relext-bench: fetching {name}: {len(missing)} files, "
              f"{sum(f['bytes'] for f in missing) / 1e6:.1f} MB of {entry['repo']} @ {entry['commit'][:8]} "
              f"from {where} into {home() / 'downloads'}", file=sys.stderr)
    return {f["path"]: fetch(f["url"], f["sha256"], f.get("bytes")) for f in entry["files"]}


def source_digest(name: str) -> str:
    """Identifies the pinned source (for the prepared cache)."""
    return sources()[name]["tree_digest"][:16]
