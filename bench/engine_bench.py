"""Run the engine benchmark: ``python bench/engine_bench.py [--quick]`` (= ``pmoflow bench``)."""

import sys

from pmoflow.benchmark import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
