"""Load generator of make bench's "loaded" pass: a separate process whose THREADS threads (default
2) each multiply 384×384 matrices in a loop until the process is killed, as another training or
compute job on the user's machine would. Each thread runs its own single-threaded product (numpy
releases the GIL in it), so the load never waits on itself and keeps THREADS cores busy.

Usage: python3 load.py [THREADS]
"""
import os
import sys

# One BLAS thread per product: the load's parallelism is its own threads, nothing else.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import threading  # noqa: E402

import numpy as np  # noqa: E402


def spin(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((384, 384), dtype=np.float32)
    b = rng.standard_normal((384, 384), dtype=np.float32)
    c = np.empty_like(a)
    while True:
        np.matmul(a, b, out=c)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    workers = [threading.Thread(target=spin, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    print("load: %d threads, pid %d" % (threads, os.getpid()), file=sys.stderr, flush=True)
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()
