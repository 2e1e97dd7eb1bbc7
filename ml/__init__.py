"""Machine learning on the feature marts: plain scikit-learn and pandas, no Dagster or dbt."""

import os

# scikit-learn's OpenMP threads spin for a long time while they wait for work. Next to another
# busy process (dbt, a BI query, a second test) the spinning threads starve the working ones: a
# 5-second gradient-boosting fit took minutes on 2 cores. A short spin keeps the idle-machine
# speed (10k rows: 0.57 s either way; 200k rows: 2.7 s -> 3.2 s) and is 30% faster than the
# default under contention. Passive waiting is worse: 10x slower on small fits. Set before
# scikit-learn loads libgomp.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")
