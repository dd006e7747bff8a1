"""The peer of bench_mit: the same MiT forward in plain PyTorch (Debian's python3-torch), timed
the same way. It is the independent reference of tests/fixtures/mit_reference.py at the preset's
sizes, with random weights. Prints one JSON object per line.

Usage: python3 mit_peer.py PRESET SIZE BATCH LAST_STRIDE REPEATS
"""
import json
import os
import sys
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import mit_reference  # noqa: E402


def main():
    preset, size, batch, stride, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    # The same thread count as bench_mit (all cores); python3-torch may default to fewer.
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    model = mit_reference.Mit(preset, last_stride=stride).eval()
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        for capture in (False, True):
            model(x, capture)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(x, capture)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            print(json.dumps({"impl": "python3-torch " + torch.__version__, "preset": preset, "size": size,
                              "batch": batch, "stride": stride, "capture": capture,
                              "median_ms": times[len(times) // 2], "min_ms": times[0]}), flush=True)


if __name__ == "__main__":
    main()
