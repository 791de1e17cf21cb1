"""Python client benchmark: python3 bench_client.py <uri> <model> <dim> <seconds>
1-point log-density latency (p50, p99) and batch-65,536 throughput, one line like the C# and C++ clients."""
import sys
import time

import numpy as np

from demos_maas import Client

uri, name, dim, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with Client(uri, timeout=60) as client:
    model = client.model(name)
    one = np.zeros((1, dim))
    latencies = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(latencies) < 200:
        start = time.perf_counter()
        model.log_density(one)
        latencies.append((time.perf_counter() - start) * 1e6)
    latencies.sort()
    batch = np.random.default_rng(1).random((65536, dim))
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or calls < 5:
        model.log_density(batch)
        calls += 1
    rate = calls * 65536 / (time.perf_counter() - start)
    print(f"python p50_us={latencies[len(latencies) // 2]:.1f} p99_us={latencies[int(len(latencies) * 0.99)]:.1f} "
          f"batch65536_points_per_s={rate:.0f} samples={len(latencies)}")
