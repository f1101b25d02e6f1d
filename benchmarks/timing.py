"""What the benchmark scripts share: the median of repeated timings, after a warm-up run."""

import statistics
import time


def median_time(run, repeat):
    run()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
