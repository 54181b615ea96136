"""The paper's experiments as commands and reusable scikit-learn objects.

- :mod:`~empathy_cause.benchmarks.ablation`: Table 3, the co-attention ablation.
- :mod:`~empathy_cause.benchmarks.followups`: the section 6.2.1 follow-up analyses.
- :mod:`~empathy_cause.benchmarks.search`: resumable, multi-worker Optuna search.
- :mod:`~empathy_cause.benchmarks.common`: the shared protocol (splits, fitting, tables).

Submodules are imported on demand (the search needs Optuna).
"""

__all__ = ["ablation", "common", "followups", "learning_curve", "search"]
