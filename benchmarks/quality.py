"""The quality benchmark (baselines and models in three data regimes); same as ``empathy-cause benchmark quality``.

The code is empathy_cause/benchmarks/quality.py."""

from empathy_cause.benchmarks.quality import main

if __name__ == "__main__":
    raise SystemExit(main())
