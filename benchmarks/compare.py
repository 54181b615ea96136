"""Table 4 (co-attention vs prompting, QA and naive baselines); same as ``empathy-cause benchmark compare``.

The code is empathy_cause/benchmarks/compare.py."""

from empathy_cause.benchmarks.compare import main

if __name__ == "__main__":
    raise SystemExit(main())
