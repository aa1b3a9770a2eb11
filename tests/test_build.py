"""The built extension is verified before it is loaded: a damaged one is rebuilt, and
a lock left by a killed process does not stop the next one."""
import os
import shutil
import subprocess
import sys

from relext_bench.kernels import backend, build


def built_library(tmp_path):
    backend()  # built (or found) in this session's home
    directory = build.build_dir(build.cuda_wanted())
    (library,) = directory.glob("relext_ops_*.so")
    copy = tmp_path / library.name
    shutil.copy(library, copy)
    return library, copy


def test_checksum_written_and_checked(tmp_path):
    library, copy = built_library(tmp_path)
    digest = library.with_name(library.name + ".sha256")
    assert digest.read_text().strip() == build.file_sha256(library) and build.verified(library)
    shutil.copy(digest, tmp_path / digest.name)
    assert build.verified(copy)
    with open(copy, "r+b") as fh:  # same size, one byte changed
        fh.seek(100)
        fh.write(b"\x00" if fh.read(1) != b"\x00" else b"\x01")
    assert not build.verified(copy)


def test_truncated_library_without_checksum_is_caught(tmp_path):
    _, copy = built_library(tmp_path)
    assert build.elf_complete(copy)
    with open(copy, "r+b") as fh:
        fh.truncate(copy.stat().st_size // 2)
    assert not build.elf_complete(copy) and not build.verified(copy)
    copy.write_bytes(b"")
    assert not build.elf_complete(copy)


def test_a_damaged_library_is_rebuilt_not_loaded(tmp_path, monkeypatch, capsys):
    from torch.utils import cpp_extension

    good, _ = built_library(tmp_path)
    monkeypatch.setenv("RELEXT_BENCH_HOME", str(tmp_path / "home"))
    directory = build.build_dir(build.cuda_wanted())
    directory.mkdir(parents=True)
    name = f"relext_ops_{directory.name.rsplit('-', 1)[-1]}"
    (directory / f"{name}.so").write_bytes(b"\x7fELF truncated")
    loads = []

    def fake_load(name, sources, build_directory, **kwargs):  # what ninja would link
        loads.append(sorted(p.name for p in directory.iterdir()))
        shutil.copy(good, directory / f"{name}.so")

    monkeypatch.setattr(cpp_extension, "load", fake_load)
    build.build()
    assert loads == [["build.flock"]]  # the damaged library was removed before the build
    assert "is damaged; rebuilding it" in capsys.readouterr().err
    assert build.verified(directory / f"{name}.so")


def test_two_checkouts_of_the_same_sources_build_apart(tmp_path, monkeypatch):
    """The build files name the source paths: a second checkout gets its own directory,
    so it never rebuilds (and replaces) the library another checkout is loading."""
    here = build.build_dir(False)
    copy = tmp_path / "csrc"
    shutil.copytree(build.CSRC, copy)
    monkeypatch.setattr(build, "CSRC", copy)
    elsewhere = build.build_dir(False)
    assert elsewhere != here and elsewhere.parent == here.parent
    (copy / "relext_ops.cpp").write_text((copy / "relext_ops.cpp").read_text() + "\n// changed\n")
    assert build.build_dir(False) != elsewhere


def test_a_lock_file_left_by_a_killed_process_does_not_stop_the_next_load():
    """torch's build step holds a lock file while it runs; a process SIGKILLed then
    (a killed comparison's worker starting up) left it, and every later start waited."""
    backend()
    directory = build.build_dir(build.cuda_wanted())
    (directory / "lock").touch()
    load = [sys.executable, "-c", "from relext_bench.kernels import build; print(build.build())"]
    done = subprocess.run(load, capture_output=True, text=True, timeout=120, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(directory) and not (directory / "lock").exists()
    assert "compiling" not in done.stderr  # loaded, not rebuilt


def test_the_compiler_flags_are_part_of_the_cache_key(monkeypatch):
    """A library is loaded without asking ninja whether it is current, so flags that
    change must give another directory."""
    here = build.build_dir(False)
    monkeypatch.setattr(build, "CFLAGS", [*build.CFLAGS, "-DCHANGED"])
    assert build.build_dir(False) != here
