"""Table 3 (co-attention ablation); same as ``empathy-cause benchmark ablation``.

The code is empathy_cause/benchmarks/ablation.py."""

from empathy_cause.benchmarks.ablation import main

if __name__ == "__main__":
    raise SystemExit(main())
