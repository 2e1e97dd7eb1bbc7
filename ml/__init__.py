"""Machine learning on the feature marts: plain scikit-learn and pandas, no Dagster or dbt."""

import os

# scikit-learn's OpenMP threads spin while they wait. Next to another busy process (dbt, a BI
# query, a second test) that turns a 5-second gradient-boosting fit into minutes on 2 cores;
# passive waiting keeps the parallel speed without the spinning. Set before sklearn loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
