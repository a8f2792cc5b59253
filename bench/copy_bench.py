"""image_copy benchmark against skopeo copy, on two local registries (run through scripts/bench.sh).

  cold   ~512 MiB image in 5 layers of seeded random data, copied registry -> registry into a fresh, empty
         destination registry every run; wall time of a whole process: the engine (python -c ...) vs skopeo copy.
  warm   the destination already holds the image: requests on both registries (the engine's client.stats vs
         skopeo's, counted in the registries' access logs) and time (the engine in-process vs skopeo's whole process).
  rss    peak RSS (ru_maxrss) of a process running the engine on a single 1 GiB layer, and of skopeo doing the same.

Medians of RUNS runs (default 5). Prints the numbers, saves them with every run's value as
bench/results/copy-<time>.json (bench_results.py; bench/plot.py draws them) and writes them into docs/performance.md
between markers. Environment: PODKIT_BENCH_RUNS, PODKIT_BENCH_MIB (cold image size), PODKIT_BENCH_RSS_MIB (single layer size),
PODKIT_BENCH_NO_DOCS=1 to leave the docs alone.
"""
from __future__ import absolute_import, division, print_function

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
COLLECTIONS_ROOT = os.path.abspath(os.path.join(ROOT, '..', '..', '..'))

import bench_results  # noqa: E402  pylint: disable=wrong-import-position
import images  # noqa: E402  pylint: disable=wrong-import-position
import registry_server  # noqa: E402  pylint: disable=wrong-import-position

MIB = 1024 * 1024
RUNS = int(os.environ.get('PODKIT_BENCH_RUNS', '5'))
COLD_MIB = int(os.environ.get('PODKIT_BENCH_MIB', '512'))
RSS_MIB = int(os.environ.get('PODKIT_BENCH_RSS_MIB', '1024'))
DOCS = os.path.join(ROOT, 'docs', 'performance.md')
START = '<!-- image_copy-bench:start -->'
END = '<!-- image_copy-bench:end -->'
ACCESS_RE = re.compile(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) /v2/')

ENGINE = r'''
import json, resource, sys, time
sys.path.insert(0, %(root)r)
from ansible_collections.podkit.containers.plugins.module_utils.copy.engine import copy_image
from ansible_collections.podkit.containers.plugins.module_utils.options import RegistryOptions
start = time.time()
result = copy_image(sys.argv[1], sys.argv[2], RegistryOptions(insecure=True), RegistryOptions(insecure=True))
result['inner_seconds'] = time.time() - start
result['maxrss_kib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(result))
'''


def engine_process(src, dest):
    start = time.time()
    proc = subprocess.run([sys.executable, '-c', ENGINE % {'root': COLLECTIONS_ROOT}, src, dest], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    wall = time.time() - start
    if proc.returncode != 0:
        raise RuntimeError('engine failed: %s' % proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return wall, result


SKOPEO = r'''
import json, resource, subprocess, sys, time
start = time.time()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(json.dumps({'wall': time.time() - start, 'maxrss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
'''


def skopeo_process(src, dest, authfile):
    """(wall seconds, peak RSS KiB) of one skopeo copy, measured by a small parent process of its own."""
    cmd = ['skopeo', 'copy', '-q', '--authfile', authfile, '--src-tls-verify=false', '--dest-tls-verify=false', src, dest]
    proc = subprocess.run([sys.executable, '-c', SKOPEO] + cmd, stdout=subprocess.PIPE, universal_newlines=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out['wall'], out['maxrss_kib']


def access_count(reg, offset):
    with open(reg.log_path, errors='replace') as f:
        f.seek(offset)
        return len(ACCESS_RE.findall(f.read()))


def log_size(reg):
    return os.path.getsize(reg.log_path)


def median(values):
    return statistics.median(values)


def main():
    work = tempfile.mkdtemp(prefix='podkit-bench-')
    loadavg_start = os.getloadavg()[0]
    authfile = registry_server.write_authfile(os.path.join(work, 'auth.json'), {})
    os.environ['REGISTRY_AUTH_FILE'] = authfile
    regs = []
    try:
        src = registry_server.start_registry(os.path.join(work, 'src'))
        regs.append(src)
        print('building the %d MiB / 5-layer image ...' % COLD_MIB, flush=True)
        image = images.random_layer_image(COLD_MIB * MIB, 'podkit-bench', layers=5, workdir=work)
        pushed = images.push(image, src, 'bench/cold:1')
        src_ref = 'docker://%s/bench/cold:1' % src.host

        cold_engine, cold_skopeo = [], []
        for i in range(RUNS):
            for which, bucket in (('engine', cold_engine), ('skopeo', cold_skopeo)):
                dest = registry_server.start_registry(os.path.join(work, 'cold-%s-%d' % (which, i)))
                regs.append(dest)
                dest_ref = 'docker://%s/bench/cold:1' % dest.host
                if which == 'engine':
                    wall, result = engine_process(src_ref, dest_ref)
                    assert result['dest_digest'] == pushed.digest and result['stats']['blobs_copied'] == 7, result
                else:
                    wall, dummy = skopeo_process(src_ref, dest_ref, authfile)
                bucket.append(wall)
                dest.stop()
                shutil.rmtree(dest.root, ignore_errors=True)
            print('cold run %d: engine %.2fs, skopeo %.2fs' % (i + 1, cold_engine[-1], cold_skopeo[-1]), flush=True)

        warm_dest = registry_server.start_registry(os.path.join(work, 'warm'))
        regs.append(warm_dest)
        warm_ref = 'docker://%s/bench/cold:1' % warm_dest.host
        engine_process(src_ref, warm_ref)
        warm_engine_s, warm_engine_req, warm_skopeo_s, warm_skopeo_req = [], [], [], []
        for i in range(RUNS):
            wall, result = engine_process(src_ref, warm_ref)
            assert result['changed'] is False, result
            warm_engine_s.append(result['inner_seconds'])
            warm_engine_req.append(sum(sum(v.values()) for v in result['stats']['requests'].values()))
            offsets = (log_size(src), log_size(warm_dest))
            wall, dummy = skopeo_process(src_ref, warm_ref, authfile)
            time.sleep(0.2)
            warm_skopeo_s.append(wall)
            warm_skopeo_req.append(access_count(src, offsets[0]) + access_count(warm_dest, offsets[1]))
        print('warm: engine %s requests, skopeo %s requests' % (warm_engine_req, warm_skopeo_req), flush=True)

        print('building the %d MiB single-layer image ...' % RSS_MIB, flush=True)
        big = images.random_layer_image(RSS_MIB * MIB, 'podkit-bench-rss', layers=1, workdir=work)
        images.push(big, src, 'bench/big:1')
        big_ref = 'docker://%s/bench/big:1' % src.host
        rss_engine, rss_skopeo = [], []
        for i in range(RUNS):
            dest = registry_server.start_registry(os.path.join(work, 'rss-%d' % i))
            regs.append(dest)
            dummy, result = engine_process(big_ref, 'docker://%s/bench/big:1' % dest.host)
            rss_engine.append(result['maxrss_kib'] / 1024.0)
            dest.stop()
            shutil.rmtree(dest.root, ignore_errors=True)
            dest = registry_server.start_registry(os.path.join(work, 'rss-skopeo-%d' % i))
            regs.append(dest)
            dummy, skopeo_rss = skopeo_process(big_ref, 'docker://%s/bench/big:1' % dest.host, authfile)
            rss_skopeo.append(skopeo_rss / 1024.0)
            dest.stop()
            shutil.rmtree(dest.root, ignore_errors=True)

        numbers = {
            'runs': RUNS, 'cold_mib': COLD_MIB, 'rss_mib': RSS_MIB,
            'cold_engine_s': median(cold_engine), 'cold_skopeo_s': median(cold_skopeo),
            'warm_engine_requests': median(warm_engine_req), 'warm_skopeo_requests': median(warm_skopeo_req),
            'warm_engine_s': median(warm_engine_s), 'warm_skopeo_s': median(warm_skopeo_s),
            'rss_engine_mib': median(rss_engine), 'rss_skopeo_mib': median(rss_skopeo),
            'date': time.strftime('%Y-%m-%d'), 'nproc': os.cpu_count(), 'python': sys.version.split()[0],
            'skopeo': subprocess.run(['skopeo', '--version'], stdout=subprocess.PIPE, universal_newlines=True,
                                     check=False).stdout.strip(),
            'loadavg_start': loadavg_start, 'loadavg_end': os.getloadavg()[0],
        }
        # Every run in round order: engine and skopeo of round i ran back to back (per-round ratios).
        all_runs = {
            'cold_engine_s': cold_engine, 'cold_skopeo_s': cold_skopeo, 'warm_engine_s': warm_engine_s,
            'warm_skopeo_s': warm_skopeo_s, 'warm_engine_requests': warm_engine_req, 'warm_skopeo_requests': warm_skopeo_req,
            'rss_engine_mib': rss_engine, 'rss_skopeo_mib': rss_skopeo,
        }
        bench_results.save('copy', numbers, all_runs=all_runs)
        report(numbers)
    finally:
        for reg in regs:
            reg.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(n):
    lines = [
        START,
        '### image_copy vs skopeo copy (measured by `make bench`, %s)' % n['date'],
        '',
        'Two local plain-http registries (distribution 2.8) on 127.0.0.1; medians of %d runs; %d cores (nproc), python %s, '
        '%s. Load average (1 min) at start/end: %.1f/%.1f.'
        % (n['runs'], n['nproc'], n['python'], n['skopeo'], n['loadavg_start'], n['loadavg_end']),
        '',
        '| measurement | image_copy engine | skopeo | ratio (engine / skopeo) |',
        '|---|---|---|---|',
        '| cold copy, %d MiB in 5 layers, fresh destination, whole process | %.2f s | %.2f s | %.2f |'
        % (n['cold_mib'], n['cold_engine_s'], n['cold_skopeo_s'], n['cold_engine_s'] / n['cold_skopeo_s']),
        '| warm copy (destination up to date): HTTP requests, both registries | %d | %d | %.2f |'
        % (n['warm_engine_requests'], n['warm_skopeo_requests'], float(n['warm_engine_requests']) / n['warm_skopeo_requests']),
        '| warm copy: engine in-process vs skopeo whole process | %.3f s | %.3f s | %.2f |'
        % (n['warm_engine_s'], n['warm_skopeo_s'], n['warm_engine_s'] / n['warm_skopeo_s']),
    ]
    lines.append('| peak RSS (ru_maxrss) copying one %d MiB layer | %.0f MiB | %.0f MiB | %.2f |'
                 % (n['rss_mib'], n['rss_engine_mib'], n['rss_skopeo_mib'], n['rss_engine_mib'] / n['rss_skopeo_mib']))
    lines += ['', 'Raw: `%s`' % json.dumps(n, sort_keys=True), END]
    bench_results.publish_block('\n'.join(lines), START, END, 'image_copy', DOCS)


if __name__ == '__main__':
    main()
