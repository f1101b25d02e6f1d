"""rnnlab: the helpers the course's notebooks import (one module per idea a learner meets).

Importing rnnlab limits NumPy's BLAS to one thread in this process. The course's matrices are small
(a batch of 32 by 12 to 64 units), and a multithreaded OpenBLAS spends more time waking and
synchronising its threads than multiplying them. On two cores, 03's lstm_backward at T = 75
(H = 12, batch 32) took 10 to 25 times longer with two threads than with one, and 05's LSTM at
T = 100 trained 3.5 to 5.5 times slower (benchmarks/blas_threads.py prints the ratios). The
grader's kernels get the same limit from their environment (OPENBLAS_NUM_THREADS=1 and friends,
autograder/sandbox.py).
"""

import numpy as np  # noqa: F401 - loads the BLAS library, so that threadpoolctl finds it to limit
from threadpoolctl import threadpool_limits

# Not a context: the limit stays for the whole kernel (threadpoolctl restores it only when asked to).
_one_blas_thread = threadpool_limits(limits=1, user_api="blas")
