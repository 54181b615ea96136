"""Table 4 (co-attention vs prompting, QA and naive baselines); same as ``empathy-cause benchmark compare``."""
from empathy_cause.benchmarks.compare import main

raise SystemExit(main())
