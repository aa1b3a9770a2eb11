"""Pinned archives (a repository at a commit), checked member by member.

Archive bytes are not stable upstream, so the check is on the members (docs/corpora.md):
tree_digest = sha256 of "".join(f"{path}\\t{sha256(content)}\\n" for sorted paths), over
the members under the selected prefixes. Extraction goes to a temporary folder that is
renamed into place only once the digest matches; a member that would land outside its
folder, a link, a truncated archive or a digest mismatch is an error and leaves nothing.
The pinned source states the selected members' count and total size: a member whose
header says it would exceed them is refused before a byte of it is read, and members
are copied in blocks, so a decompression bomb costs neither memory nor disk.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from relext_bench.data import fetch
from relext_bench.errors import UserError
from relext_bench.paths import home


def archive_dir(name: str) -> Path:
    """The verified, extracted members of a pinned archive corpus."""
    entry = fetch.sources()[name]
    final = home() / "archives" / f"{name}-{entry['tree_digest'][:16]}"
    if (final / ".verified").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    where = f"mirror {fetch.mirror()}" if fetch.mirror() else ("nowhere (offline)" if fetch.offline() else "the network")
    print(f"relext-bench: fetching {name}: {entry['repo']} @ {entry['commit'][:8]} ({entry['bytes'] / 1e6:.1f} MB "
          f"in {entry['members']} files) from {where} into {final}", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=f".{name}.") as tmp:
        tarball = Path(tmp) / "archive.tar.gz"
        with open(tarball, "wb") as out:
            fetch._copy_from_source(entry["url"], out, None)
        extracted = Path(tmp) / "tree"
        digest, count = extract_checked(tarball, entry["url"], entry["top_folder"], entry["select"], extracted,
                                        max_bytes=entry["bytes"], max_members=entry["members"])
        if digest != entry["tree_digest"]:
            raise UserError(f"tree digest mismatch for {entry['url']}: expected {entry['tree_digest'][:16]}..., "
                            f"got {digest[:16]}... over {count} members (nothing was cached)")
        (extracted / ".verified").write_text(digest + "\n")
        shutil.rmtree(final, ignore_errors=True)
        extracted.rename(final)
    return final


def selected(path: str, select: list[str]) -> bool:
    return any(path.startswith(p) if p.endswith("/") else path == p for p in select)


BLOCK = 1 << 20


def extract_checked(tarball: Path, label: str, top: str, select: list[str], dest: Path,
                    max_bytes: int | None = None, max_members: int | None = None) -> tuple[str, int]:
    """Extracts the selected regular-file members; returns (tree digest, member count).
    More members, or more bytes in all, than the pinned source states is an error."""
    lines, total = [], 0
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if member.name.startswith("/") or ".." in parts or not parts or parts[0] != top:
                    raise UserError(f"{label}: archive member {member.name!r} escapes its folder {top}/")
                rel = "/".join(parts[1:])
                if not rel or not selected(rel, select) or member.isdir():
                    continue
                if not member.isfile():
                    raise UserError(f"{label}: archive member {member.name!r} is a link or device, not a file")
                total += member.size
                if max_members is not None and len(lines) + 1 > max_members:
                    raise UserError(f"{label}: more selected members than the {max_members} pinned")
                if max_bytes is not None and total > max_bytes:
                    raise UserError(f"{label}: archive member {member.name!r} ({member.size:,} bytes) would take "
                                    f"the selected members past the {max_bytes:,} bytes pinned; not extracted")
                target = dest.joinpath(*parts[1:])
                target.parent.mkdir(parents=True, exist_ok=True)
                sha = hashlib.sha256()
                with tar.extractfile(member) as src, open(target, "wb") as out:
                    for block in iter(lambda: src.read(BLOCK), b""):
                        sha.update(block)
                        out.write(block)
                lines.append((rel, sha.hexdigest()))
    except (tarfile.TarError, EOFError, OSError) as e:
        raise UserError(f"{label}: truncated or damaged archive ({type(e).__name__}: {e})") from None
    blob = "".join(f"{path}\t{sha}\n" for path, sha in sorted(lines))
    return hashlib.sha256(blob.encode()).hexdigest(), len(lines)
