"""Measured results of the benchmarks as JSON files: bench/results/<benchmark>-<UTC time>.json (git-ignored).

Each run writes a new file; bench/plot.py draws the newest file of each benchmark. PODKIT_BENCH_RESULTS names
another directory (scripts/bench.sh points it at the source tree, since the benchmarks run in a staged copy).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def results_dir():
    return os.environ.get('PODKIT_BENCH_RESULTS') or os.path.join(HERE, 'results')


def save(benchmark, numbers, **extra):
    """Write {benchmark, time, numbers, **extra} to a new file; returns its path."""
    directory = results_dir()
    if not os.path.isdir(directory):
        os.makedirs(directory)
    now = time.gmtime()
    data = dict(extra, benchmark=benchmark, time=time.strftime('%Y-%m-%dT%H:%M:%SZ', now), numbers=numbers)
    path = os.path.join(directory, '%s-%s.json' % (benchmark, time.strftime('%Y%m%dT%H%M%SZ', now)))
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    os.rename(tmp, path)
    print('results: %s' % path, flush=True)
    return path


def latest(benchmark, directory=None):
    """Path of the newest results file of ``benchmark`` (the UTC time in the name sorts), or None."""
    paths = sorted(glob.glob(os.path.join(directory or results_dir(), '%s-*.json' % benchmark)))
    return paths[-1] if paths else None
