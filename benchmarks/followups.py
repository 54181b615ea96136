"""Section 6.2.1 follow-up analyses; same as ``empathy-cause benchmark followups``.

The code is empathy_cause/benchmarks/followups.py."""

from empathy_cause.benchmarks.followups import main

if __name__ == "__main__":
    raise SystemExit(main())
