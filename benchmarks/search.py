"""Resumable, multi-worker hyperparameter search; same as ``empathy-cause search``.

The code is empathy_cause/benchmarks/search.py."""

from empathy_cause.benchmarks.search import main

if __name__ == "__main__":
    raise SystemExit(main())
