"""Resumable, multi-worker hyperparameter search; same as ``empathy-cause search``."""
from empathy_cause.benchmarks.search import main

raise SystemExit(main())
