"""The baselines the harness compares against, as plug-ins: each module holds one model
written against the public interface only (`relext_bench.api`), and the distribution
registers them under the entry-point group `relext_bench.models` (setup.py), as any
user's model would be. Installed as `relext_bench_baselines` (docs/architecture.md says
why not `baselines`)."""
