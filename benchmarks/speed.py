"""The speed benchmark; same as ``empathy-cause benchmark speed``.

The code is empathy_cause/benchmarks/speed.py."""

from empathy_cause.benchmarks.speed import main

if __name__ == "__main__":
    raise SystemExit(main())
