"""Section 6.2.1 follow-up analyses; same as ``empathy-cause benchmark followups``."""
from empathy_cause.benchmarks.followups import main

raise SystemExit(main())
