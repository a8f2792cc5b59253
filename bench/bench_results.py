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


def publish_block(block, start, end, heading, default_docs):
    """Print ``block``, and write it into docs/performance.md (write_docs_block) unless PODKIT_BENCH_NO_DOCS is set."""
    print(block)
    if not os.environ.get('PODKIT_BENCH_NO_DOCS'):
        write_docs_block(block, start, end, heading, default_docs)


def write_docs_block(block, start, end, heading, default_docs):
    """Put ``block`` (which begins with ``start`` and ends with ``end``) into docs/performance.md in place of the
    previous one, or append it under ``heading``; PODKIT_SRC_DOCS names the file (the source tree's, when the
    benchmark runs in the staged copy)."""
    docs = os.environ.get('PODKIT_SRC_DOCS') or default_docs
    text = ''
    if os.path.exists(docs):
        with open(docs) as f:
            text = f.read()
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip('\n') + ('\n\n' if text else '# Performance\n\n') + '## %s\n\n' % heading + block + '\n'
    with open(docs, 'w') as f:
        f.write(text)
