"""PyTorch reference of bench/matmul.js: a float32 n x n by n x n matrix product.

    python3 bench/reference/matmul.py --size 1024 --threads 1 [--repeats 10]

Prints {"available": true, "gflops": ..., "ms_median": ..., "versions": {...}}: GFLOP/s = 2 n^3 / time.
"""
import argparse

from common import emit, import_torch, median, timed, versions


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    torch = import_torch(args.threads)
    n = args.size
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(n, n, generator=gen, dtype=torch.float32)
    b = torch.rand(n, n, generator=gen, dtype=torch.float32)
    with torch.no_grad():
        ms = timed(lambda: torch.matmul(a, b), args.warmup, args.repeats)
    med = median(ms)
    emit({
        "available": True,
        "size": n,
        "ms_median": med,
        "ms_best": min(ms),
        "gflops": 2.0 * n ** 3 / (med / 1000.0) / 1e9,
        "versions": versions(torch),
    })


if __name__ == "__main__":
    main()
