"""The Python client of the cross-language matrix: python3 matrix_client.py <uri> <model> <points>."""
import sys

import numpy as np

from demos_maas import Client

uri, model, points = sys.argv[1:4]
with open(points) as f:
    n, d = (int(v) for v in f.readline().split())
    x = np.array(f.read().split(), dtype=float).reshape(n, d)
with Client(uri, timeout=60) as client:
    for value in client.model(model).log_density(x):
        print(repr(float(value)))
