"""Render the figures the reliability tests recorded (tests/integration/reliability.py, record()) into the block
of docs/reliability.md between its markers. Run by scripts/reliability.sh; nothing here is typed by hand."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bench'))
import bench_results  # noqa: E402  pylint: disable=wrong-import-position

START = '<!-- reliability figures: start (scripts/reliability.sh writes this block) -->'
END = '<!-- reliability figures: end -->'
LOOP_ROWS = (
    ('trials', 'trials'),
    ('passed', 'passed (the expected digest)'),
    ('clear_failures', 'clear failures (a one-line msg)'),
    ('tracebacks', 'tracebacks (goal: zero)'),
    ('leaks', 'credential leaks (results, other origins)'),
    ('must_succeed_failures', 'runs failed by a fault a retry must absorb'),
    ('wrong_digests', 'runs that succeeded with a wrong digest'),
    ('invariant_violations', 'destination invariant violations'),
    ('faults_fired', 'faults fired'),
    ('redirects_checked', 'redirects whose other origin was checked'),
)
CONCURRENCY = (
    ('concurrency_logins', 'registry_login into one auth file', 'runs', 'entries'),
    ('concurrency_layout', 'image_copy into one OCI layout (processes)', 'runs', 'entries'),
    ('concurrency_layout_threads', 'copy engine into one OCI layout (threads at a barrier)', 'runs', 'entries'),
    ('concurrency_tag', 'image_copy into one registry tag', 'runs', 'images'),
)


def render(figures, status):
    lines = [START, '']
    loop = figures.get('fault_loop')
    when = max([section.get('time', '') for section in figures.values()] or ['(no figures recorded)'])
    lines.append('Last run: %s, pytest exit status %d.' % (when, status))
    lines.append('')
    if loop:
        lines += ['Fault loop, seed %d (`PODKIT_FAULT_SEED=%d` repeats it):' % (loop['seed'], loop['seed']), '',
                  '| | |', '|---|---:|']
        lines += ['| %s | %s |' % (label, loop.get(key, 0)) for key, label in LOOP_ROWS]
        lines += ['', '| fault kind | trials | passed |', '|---|---:|---:|']
        for kind, stats in sorted(loop.get('by_kind', {}).items()):
            lines.append('| %s | %d | %d |' % (kind, stats['trials'], stats['passed']))
    else:
        lines.append('Fault loop: no figures (the test did not get to record them).')
    lines += ['', '| concurrency | parallel runs | result |', '|---|---:|---|']
    for key, label, runs, items in CONCURRENCY:
        section = figures.get(key)
        if section:
            lines.append('| %s | %d | passed, %d %s |' % (label, section[runs], section[items], items))
        else:
            lines.append('| %s | | failed or not run |' % label)
    sweep = figures.get('leak_sweep')
    lines.append('')
    if sweep:
        lines.append('Credential-leak sweep: %d tasks at -vvv, %d passes over /proc (%d new processes), %d files '
                     'scanned, %d leaks.' % (sweep['tasks'], sweep['process_samples'], sweep['processes'],
                                             sweep['files_scanned'], sweep['leaks']))
    else:
        lines.append('Credential-leak sweep: no figures (the test failed before recording them, or did not run).')
    lines += ['', END]
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('figures')
    parser.add_argument('docs')
    parser.add_argument('--status', type=int, default=0)
    args = parser.parse_args()
    figures = {}
    if os.path.exists(args.figures):
        with open(args.figures) as f:
            figures = json.load(f)
    os.environ.pop('PODKIT_SRC_DOCS', None)  # write_docs_block would prefer it over the path given here
    block = render(figures, args.status)
    print(block)
    bench_results.write_docs_block(block, START, END, 'Figures of the last run', args.docs)


if __name__ == '__main__':
    main()
