"""Markdown reports, built only from an experiment's manifest and its stored run
records (and, for tuning, the study's stored trials): `relext-bench report DIR`
rebuilds them.

- `experiment.py`: the experiment as the reports see it, read through the declared
  records (`relext_bench/records.py`);
- `markdown.py`: number formatting and tables;
- `plan.py`: the comparison plan (which pairs are tested against which, the Holm family,
  the ablation pairs and the verdict on the tag claim) and its tables;
- `sections.py`: every other section of a report;
- `figures.py`: the PNG figures;
- `tuning.py`: the tuning section and report;
- `build.py`: whole reports, from a results directory.
"""
