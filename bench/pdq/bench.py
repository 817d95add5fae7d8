"""PDQ benchmark: Comity's index and hasher against FAISS and pdqhash, in the same run.

Usage (from the repository root):
    pip install -r bench/pdq/requirements.txt
    python3 bench/pdq/bench.py [--n 10000000] [--queries 2000] [--skip-hash] [--skip-match]

Matching: the same hashes (uniform random, and clustered: near-duplicates of a few thousand bases)
go to Comity's HashIndex, FAISS IndexBinaryFlat and FAISS IndexBinaryMultiHash (16 tables of 16
bits, nflip=1, which is exact up to radius 31). Result sets are compared query by query.
Hashing: the same image files are decoded and hashed by Comity and by Pillow + pdqhash.
"""

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

import faiss
import numpy as np
import pdqhash
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
VECTORS = os.path.join(ROOT, "..", "shared", "vectors", "pdq-images")


def build_rust():
    env = dict(os.environ)
    # Popcount and wide vectors, as FAISS gets them by run-time dispatch.
    env.setdefault("RUSTFLAGS", "-C target-cpu=native")
    subprocess.run(
        ["cargo", "build", "--release", "-p", "comity-pdq", "--example", "pdq_bench"],
        cwd=ROOT, env=env, check=True,
    )
    return os.path.join(TARGET, "release", "examples", "pdq_bench")


def flip_bits(rng, hashes, max_flips):
    """Flips up to max_flips random bits in each row (uint8 view)."""
    out = hashes.copy()
    flips = rng.integers(0, max_flips + 1, len(out))
    for k in range(max_flips):
        rows = np.nonzero(flips > k)[0]
        bits = rng.integers(0, 256, len(rows))
        out[rows, bits // 8] ^= (1 << (bits % 8)).astype(np.uint8)
    return out


def datasets(n, n_queries, seed=7):
    rng = np.random.default_rng(seed)
    random_db = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    random_q = np.concatenate([
        flip_bits(rng, random_db[rng.integers(0, n, n_queries // 2)], 40),
        rng.integers(0, 256, (n_queries - n_queries // 2, 32), dtype=np.uint8),
    ])
    bases = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    clustered_db = flip_bits(rng, bases[rng.integers(0, len(bases), n)], 24)
    clustered_q = np.concatenate([
        flip_bits(rng, bases[rng.integers(0, len(bases), n_queries // 2)], 16),
        rng.integers(0, 256, (n_queries - n_queries // 2, 32), dtype=np.uint8),
    ])
    return {"random": (random_db, random_q), "clustered": (clustered_db, clustered_q)}


def digest(ids):
    ids = ids.astype(np.uint64)
    with np.errstate(over="ignore"):
        return [len(ids), int(ids.sum(dtype=np.uint64)), int((ids * ids).sum(dtype=np.uint64))]


def faiss_range(index, queries, radius):
    """FAISS counts distances strictly below its radius; ours are at most radius."""
    start = time.perf_counter()
    lims, _, ids = index.range_search(queries, radius + 1)
    qps = len(queries) / (time.perf_counter() - start)
    return qps, [digest(np.sort(ids[lims[i]:lims[i + 1]])) for i in range(len(queries))]


def bench_match(binary, n, n_queries, radius, flat_queries):
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (db, queries) in datasets(n, n_queries).items():
            db_path, q_path = os.path.join(tmp, "db.bin"), os.path.join(tmp, "q.bin")
            db.tofile(db_path)
            queries.tofile(q_path)
            out = subprocess.run([binary, "match", db_path, q_path, str(radius)], check=True,
                                 capture_output=True, text=True).stdout
            ours = json.loads(out)
            flat = faiss.IndexBinaryFlat(256)
            flat.add(db)
            flat_qps, flat_res = faiss_range(flat, queries[:flat_queries], radius)
            del flat
            multi = faiss.IndexBinaryMultiHash(256, 16, 16)
            multi.nflip = 1
            start = time.perf_counter()
            multi.add(db)
            multi_build = time.perf_counter() - start
            multi_qps, multi_res = faiss_range(multi, queries, radius)
            del multi
            same_flat = ours["results"][:flat_queries] == flat_res
            same_multi = ours["results"] == multi_res
            matches = sum(r[0] for r in ours["results"])
            report[name] = {
                "hashes": n, "queries": len(queries), "results": matches,
                "comity_qps_all_cores": ours["all_cores_qps"], "comity_qps_one_core": ours["one_core_qps"],
                "comity_build_s": ours["build_s"], "comity_bytes_per_hash": ours["bytes_per_hash"],
                "faiss_flat_qps": flat_qps, "faiss_multihash_qps": multi_qps,
                "faiss_multihash_build_s": multi_build,
                "ratio_vs_flat": ours["all_cores_qps"] / flat_qps,
                "ratio_vs_multihash": ours["all_cores_qps"] / multi_qps,
                "same_results_as_flat": same_flat, "same_results_as_multihash": same_multi,
            }
            print(json.dumps({name: report[name]}), flush=True)
    return report


def corpus(folder, count):
    """JPEG files of typical sizes made from the reference photographs."""
    sources = []
    for dirpath, _, names in os.walk(VECTORS):
        sources += [os.path.join(dirpath, f) for f in sorted(names) if f.endswith(".jpg")]
    files = []
    rng = np.random.default_rng(3)
    for i in range(count):
        with Image.open(sources[i % len(sources)]) as im:
            w, h = [(1024, 768), (800, 600), (1600, 1200), (640, 480)][i % 4]
            im = im.convert("RGB").resize((w, h))
            arr = np.asarray(im).astype(np.int16) + rng.integers(-6, 7, (h, w, 3))
            path = os.path.join(folder, f"{i:04d}.jpg")
            Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=90)
            files.append(path)
    return files


def reference_hash(path):
    with Image.open(path) as im:
        return pdqhash.compute(np.asarray(im.convert("RGB")))[1]


def bench_hash(binary, count):
    with tempfile.TemporaryDirectory() as tmp:
        files = corpus(tmp, count)
        out = subprocess.run([binary, "hash", *files], check=True, capture_output=True, text=True).stdout
        ours = json.loads(out)
        start = time.perf_counter()
        for f in files:
            reference_hash(f)
        ref_one = len(files) / (time.perf_counter() - start)
        cores = os.cpu_count() or 1
        start = time.perf_counter()
        with multiprocessing.Pool(cores) as pool:
            pool.map(reference_hash, files, chunksize=8)
        ref_all = len(files) / (time.perf_counter() - start)
        report = {
            "images": len(files), "cores": cores,
            "comity_ips_one_core": ours["one_core_ips"], "comity_ips_all_cores": ours["all_cores_ips"],
            "pdqhash_pillow_ips_one_core": ref_one, "pdqhash_pillow_ips_all_cores": ref_all,
            "ratio_one_core": ours["one_core_ips"] / ref_one, "ratio_all_cores": ours["all_cores_ips"] / ref_all,
        }
        print(json.dumps({"hashing": report}), flush=True)
        return report


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10_000_000)
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--flat-queries", type=int, default=100)
    p.add_argument("--radius", type=int, default=31)
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--skip-hash", action="store_true")
    p.add_argument("--skip-match", action="store_true")
    a = p.parse_args()
    binary = build_rust()
    print(f"faiss {faiss.__version__}, pdqhash {pdqhash.__version__}, {os.cpu_count()} cores", flush=True)
    if not a.skip_hash:
        bench_hash(binary, a.images)
    if not a.skip_match:
        bench_match(binary, a.n, a.queries, a.radius, a.flat_queries)


if __name__ == "__main__":
    sys.exit(main())
