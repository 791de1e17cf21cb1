"""gaussian1d served by UM-Bridge's reference Python server, for the cross-process report.

The model is the one `maas serve --model gaussian1d` serves (log N(x | 0, 1) of one point), written
against the `umbridge` package's model interface and served by its `serve_models`, so that the
report times the two servers' /Evaluate with the same client and the same request.

    /usr/bin/python3 gaussian_reference.py PORT

Needs the `umbridge` package (`pip install umbridge`, or PYTHONPATH pointing at a checkout of
github.com/UM-Bridge/umbridge) and aiohttp.
"""
import math
import sys

import umbridge

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class Gaussian1D(umbridge.Model):
    def __init__(self):
        super().__init__("gaussian1d")

    def get_input_sizes(self, config):
        return [1]

    def get_output_sizes(self, config):
        return [1]

    def __call__(self, parameters, config):
        x = parameters[0][0]
        return [[-0.5 * x * x - HALF_LOG_2PI]]

    def supports_evaluate(self):
        return True


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: gaussian_reference.py PORT")
    umbridge.serve_models([Gaussian1D()], port=int(sys.argv[1]))
