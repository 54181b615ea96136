"""Learning-curve benchmark: see empathy_cause/benchmarks/learning_curve.py."""
from empathy_cause.benchmarks.learning_curve import main

if __name__ == "__main__":
    raise SystemExit(main())
