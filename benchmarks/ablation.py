"""Table 3 (co-attention ablation); same as ``empathy-cause benchmark ablation``."""
from empathy_cause.benchmarks.ablation import main

raise SystemExit(main())
