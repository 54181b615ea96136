"""Quality benchmark: see empathy_cause/benchmarks/quality.py."""
from empathy_cause.benchmarks.quality import main

if __name__ == "__main__":
    raise SystemExit(main())
