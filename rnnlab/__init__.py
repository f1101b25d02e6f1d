"""rnnlab.

Importing rnnlab limits NumPy's BLAS to one thread in this process. The course's matrices are small
(a batch of 32 by 12-64 units): a multithreaded OpenBLAS spends more time waking and synchronising its
threads than multiplying, and notebook 05's LSTM at T >= 75 trained up to 15 times slower with several
threads than with one (benchmarks/blas_threads.py prints the ratio). The grader's kernels get the same
limit from their environment (OPENBLAS_NUM_THREADS=1, autograder/sandbox.py).
"""

import numpy as np  # noqa: F401 - loads the BLAS library, so that threadpoolctl finds it to limit
from threadpoolctl import threadpool_limits

# Not a context: the limit stays for the whole kernel (threadpoolctl restores it only when asked to).
_one_blas_thread = threadpool_limits(limits=1, user_api="blas")
