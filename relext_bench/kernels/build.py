"""Builds the extension with ninja on first use, cached under RELEXT_BENCH_HOME by torch
version, a hash of the sources and flags, and the CPU's instruction sets. CUDA sources join only
when torch has CUDA and nvcc is present.

On x86-64 the C++ code is compiled for the CPU that builds it (-march=native): the
extension is built where it runs, and the shared convolution's loops over filter
columns run about 7x faster with AVX-512 than with the baseline x86-64 instruction
set. The cache key includes the CPU's instruction-set flags, so a cache directory
shared by different machines never loads code built for another CPU."""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import platform
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import torch

from relext_bench.files import file_sha256
from relext_bench.paths import home

CSRC = Path(__file__).resolve().parents[2] / "csrc"
CPU_SOURCES = ["relext_ops.cpp", "softplus_cpu.cpp"]
CUDA_SOURCES = ["relext_ops_cuda.cu"]
CFLAGS = ["-O3", "-fopenmp", "-fno-math-errno"]

log = logging.getLogger(__name__)


def cuda_wanted() -> bool:
    return (torch.cuda.is_available() and torch.version.cuda is not None
            and shutil.which("nvcc") is not None and os.environ.get("RELEXT_BENCH_NO_CUDA") != "1")


def cpu_cflags() -> list[str]:
    return ["-march=native"] if platform.machine() in ("x86_64", "AMD64") else []


def cpu_tag() -> str:
    """The CPU's instruction sets (its /proc/cpuinfo flags), hashed; the machine name elsewhere."""
    flags = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags += line.split(":", 1)[1]
                break
    except OSError:
        pass
    return hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()[:8]


def source_hash(with_cuda: bool) -> str:
    """The sources' names and contents, the compiler flags, and where the sources are:
    the build files that `cpp_extension` writes name the source paths, so two checkouts
    sharing one cache would otherwise rebuild one library in turn under each other's feet."""
    h = hashlib.sha256(str(CSRC.resolve()).encode())
    h.update(" ".join(CFLAGS).encode())
    for path in sorted(CSRC.iterdir()):
        if path.suffix in (".h", ".cuh", ".cpp") or (with_cuda and path.suffix == ".cu"):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def build_dir(with_cuda: bool) -> Path:
    tag = f"torch-{torch.__version__}-{'cuda' if with_cuda else 'cpu'}-{cpu_tag()}-{source_hash(with_cuda)}"
    return home() / "extensions" / tag


def build(verbose: bool = False) -> Path:
    """Compiles (or finds in the cache) and loads the extension; returns its directory.

    One process at a time checks and builds a directory, under `build_lock`, which the
    kernel releases when its holder dies. A library already built and whole is loaded
    directly: `cpp_extension.load` would run ninja at every process start under a lock
    file of its own, and a process killed in that moment (a SIGKILLed comparison) left
    the file behind, so every later start waited on it for ever."""
    from torch.utils import cpp_extension

    if not CSRC.is_dir():
        raise RuntimeError(f"the C++ sources are not beside the package ({CSRC.name}/ missing)")
    with_cuda = cuda_wanted()
    directory = build_dir(with_cuda)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"relext_ops_{directory.name.rsplit('-', 1)[-1]}"
    sources = [str(CSRC / s) for s in CPU_SOURCES + (CUDA_SOURCES if with_cuda else [])]
    library = directory / f"{name}.so"
    with build_lock(directory):
        if (directory / "lock").exists():  # torch's lock, left by a builder that was killed
            abandon_build(directory)
        if library.exists() and verified(library):
            torch.ops.load_library(str(library))
            return directory
        if library.exists():  # a damaged library would crash the process when loaded (SIGBUS)
            print(f"relext-bench: the built extension {library} is damaged; rebuilding it", file=sys.stderr)
            for path in directory.iterdir():
                if path.name != "build.flock":  # the lock stays: it is held
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        print(f"relext-bench: compiling the C++{'/CUDA' if with_cuda else ''} extension "
              f"(once, about a minute) into {directory}", file=sys.stderr)
        try:
            cpp_extension.load(
                name=name, sources=sources, build_directory=str(directory), is_python_module=False,
                extra_cflags=CFLAGS + cpu_cflags(), extra_ldflags=["-fopenmp"],
                extra_cuda_cflags=["-O3"] if with_cuda else None,
                with_cuda=with_cuda, verbose=verbose)
        except (KeyboardInterrupt, SystemExit):
            abandon_build(directory)
            raise
        digest = directory / f"{library.name}.sha256"
        partial = digest.with_name(f".{digest.name}.{os.getpid()}")
        partial.write_text(file_sha256(library) + "\n")
        os.replace(partial, digest)  # written whole or not at all
    return directory


@contextmanager
def build_lock(directory: Path):
    """Holds `directory`'s build lock: an flock, so a holder that dies (even by SIGKILL)
    releases it. Where the file system has no flock, the build goes on without it."""
    with open(directory / "build.flock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX)
        except OSError:
            pass
        yield


def abandon_build(directory: Path) -> None:
    """After an interrupted or killed compile: ends the compilers still running in the
    build directory (torch stops ninja, not ninja's children; a SIGKILL stops neither)
    and removes the locks they leave, so the next build neither waits on a dead lock nor
    races a stray compiler."""
    import signal

    target = str(directory.resolve())
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if int(proc.name) != os.getpid() and os.readlink(proc / "cwd") == target:
                os.kill(int(proc.name), signal.SIGTERM)
        except (OSError, ValueError):  # gone meanwhile, or not ours to read
            continue
    for lock in ("lock", ".ninja_lock"):
        (directory / lock).unlink(missing_ok=True)


def verified(library: Path) -> bool:
    """The library is whole: its checksum, written beside it once it had loaded, still
    matches; without one (a build from before checksums, or one cut short), its ELF
    section headers lie within the file, which a truncated library's do not."""
    digest = library.with_name(library.name + ".sha256")
    if digest.exists():
        return digest.read_text().strip() == file_sha256(library)
    return elf_complete(library)


def elf_complete(path: Path) -> bool:
    import struct

    with open(path, "rb") as fh:
        head = fh.read(64)
        size = fh.seek(0, 2)
    if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit ELF only
        return False
    order = "<" if head[5] == 1 else ">"
    shoff, = struct.unpack_from(order + "Q", head, 0x28)
    shentsize, shnum = struct.unpack_from(order + "HH", head, 0x3A)
    return 0 < shoff and shoff + shentsize * shnum <= size
