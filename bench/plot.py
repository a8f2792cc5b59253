"""docs/performance.svg from the newest measured results (bench/results/, see bench_results.py); run by scripts/bench.sh.

A horizontal bar chart of ratios, plain SVG written by hand (no plotting library):

  image_copy   engine / skopeo copy for cold copy, warm copy in-process, warm requests and peak RSS; the bar is
               the ratio of the medians, the whisker the range of the per-round ratios; the dashed line is parity
               with skopeo (1.0).
  lifecycle    play / stat floor of the same ansible-core for container_state and image_pull next to
               containers.podman's podman_container and podman_image; the bar is the median of the per-round
               ratios (the figure that survives a machine whose load changes), the whisker their range; red marks
               are the issue's figures (a target for podkit, its measurement for containers.podman).

Only numbers of the newest results file of each benchmark are drawn; the title names each file and its time.
Usage: python bench/plot.py [--results DIR] [--out FILE] [--root DIR]   (--root: paths in the title relative to it)
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import math
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import bench_results  # noqa: E402  pylint: disable=wrong-import-position

WIDTH = 1010
LABEL_X = 24
BAR_X = 390
BAR_W = 380
NOTE_X = BAR_X + BAR_W + 14
ROW_H = 24
BAR_H = 14
OURS = '#2b6cb0'
PEER = '#a0aec0'
MARK = '#c53030'


class Bar:
    """One ratio: ``value`` is the bar, ``span`` (low, high) the whisker, ``mark`` (value, label) a reference."""

    def __init__(self, label, value, note, span=None, mark=None, color=OURS):
        self.label, self.value, self.note, self.span, self.mark, self.color = label, value, note, span, mark, color


def _ratios(mine, theirs):
    return [a / b for a, b in zip(mine, theirs) if b]


def _span(ratios):
    return (min(ratios), max(ratios)) if ratios else None


def copy_groups(data):
    n, runs = data['numbers'], data.get('all_runs', {})

    def ratio_bar(key, unit, fmt):
        mine, theirs = n['%s_engine_%s' % (key, unit)], n['%s_skopeo_%s' % (key, unit)]
        span = _span(_ratios(runs.get('%s_engine_%s' % (key, unit), []), runs.get('%s_skopeo_%s' % (key, unit), [])))
        note = '%.2f  (%s vs %s)' % (mine / theirs, fmt % mine, fmt % theirs)
        return [Bar('image_copy / skopeo copy', mine / theirs, note, span)]

    return [
        ('cold copy, %d MiB in 5 layers, whole process' % n['cold_mib'], ratio_bar('cold', 's', '%.2f s')),
        ('warm copy, engine in-process vs skopeo process', ratio_bar('warm', 's', '%.3f s')),
        ('warm copy, HTTP requests on both registries', ratio_bar('warm', 'requests', '%d')),
        ('peak RSS, one %d MiB layer' % n['rss_mib'], ratio_bar('rss', 'mib', '%.0f MiB')),
    ]


def lifecycle_groups(data):
    n, targets = data['numbers'], data.get('targets', {})

    def floor_bar(label, key, floor, mark_label, color):
        ratios = _ratios(n['all_runs_s'][key], n['all_runs_s'][floor])
        value = statistics.median(ratios)
        note = '%.2f  (%.2f-%.2f; %.2f s / %.2f s)' % (value, min(ratios), max(ratios), n[key + '_s'], n[floor + '_s'])
        mark = (targets[key], mark_label % targets[key]) if key in targets else None
        return Bar(label, value, note, _span(ratios), mark, color)

    return [
        ('no-op, 10 running containers, state started', [
            floor_bar('container_state / stat floor', 'noop_podkit', 'noop_floor_podkit', 'target <= %g', OURS),
            floor_bar('podman_container / stat floor', 'noop_upstream', 'noop_floor_upstream', 'issue ~ %g', PEER)]),
        ('image up to date, one task', [
            floor_bar('image_pull (newer) / stat floor', 'pull_podkit', 'pull_floor_podkit', 'target <= %g', OURS),
            floor_bar('podman_image / stat floor', 'pull_upstream', 'pull_floor_upstream', 'issue ~ %g', PEER)]),
    ]


def _esc(text):
    return str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')


def _text(x, y, text, size=12, weight='normal', anchor='start', color='#1a202c'):
    return ('<text x="%.1f" y="%.1f" font-size="%d" font-weight="%s" text-anchor="%s" fill="%s">%s</text>'
            % (x, y, size, weight, anchor, color, _esc(text)))


def _line(x1, y1, x2, y2, color, width=1, dash=None):
    return ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%s"%s/>'
            % (x1, y1, x2, y2, color, width, ' stroke-dasharray="%s"' % dash if dash else ''))


def section(out, y, heading, explain, groups, parity=None):
    """Draw one section from ``y``: its own axis, 0 to the largest number drawn; returns the next y."""
    highest = [1.0 if parity else 0.0]
    for dummy, bars in groups:
        for b in bars:
            highest.append(b.value)
            if b.span:
                highest.append(b.span[1])
            if b.mark:
                highest.append(b.mark[0])
    top = math.ceil(max(highest) * 1.05 / 0.25) * 0.25

    def x_of(value):
        return BAR_X + BAR_W * value / top

    out.append(_text(LABEL_X - 14, y, heading, size=14, weight='bold'))
    out.append(_text(LABEL_X - 14, y + 17, explain, size=11, color='#4a5568'))
    y += 38
    axis_top = y - 6
    for name, bars in groups:
        out.append(_text(LABEL_X - 6, y + 4, name, weight='bold'))
        y += ROW_H - 6
        for b in bars:
            out.append(_text(LABEL_X, y + BAR_H - 3, b.label))
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"/>'
                       % (BAR_X, y, max(x_of(b.value) - BAR_X, 1), BAR_H, b.color))
            if b.span:
                mid = y + BAR_H / 2.0
                out.append(_line(x_of(b.span[0]), mid, x_of(b.span[1]), mid, '#1a202c'))
                for v in b.span:
                    out.append(_line(x_of(v), mid - 4, x_of(v), mid + 4, '#1a202c'))
            if b.mark:
                out.append(_line(x_of(b.mark[0]), y - 3, x_of(b.mark[0]), y + BAR_H + 3, MARK, width=2.5))
            out.append(_text(NOTE_X, y + BAR_H - 3, b.note, size=11))
            if b.mark:
                out.append(_text(NOTE_X, y + BAR_H + 9, b.mark[1], size=10, color=MARK))
                y += 8
            y += ROW_H
        y += 4
    axis_y = y
    out.append(_line(BAR_X, axis_top, BAR_X, axis_y, '#1a202c'))
    out.append(_line(BAR_X, axis_y, BAR_X + BAR_W, axis_y, '#1a202c'))
    step = 0.25 if top <= 2 else 0.5
    tick = 0.0
    while tick <= top + 1e-9:
        out.append(_line(x_of(tick), axis_y, x_of(tick), axis_y + 4, '#1a202c'))
        out.append(_text(x_of(tick), axis_y + 16, '%g' % tick, size=10, anchor='middle'))
        tick += step
    if parity:
        out.append(_line(x_of(1.0), axis_top, x_of(1.0), axis_y, '#1a202c', dash='5,4'))
        out.append(_text(x_of(1.0) + 4, axis_top + 8, parity, size=10))
    return axis_y + 40


def render(sources):
    """SVG text for {benchmark: (shown path, data)}."""
    body = []
    y = 30
    title = 'podkit.containers benchmarks, ratios of the latest measured runs: ' + '; '.join(
        '%s %s (%s)' % (kind, path, data['time']) for kind, (path, data) in sorted(sources.items()))
    body.append(_text(10, y, 'podkit.containers benchmarks: ratios from the latest measured runs', size=16, weight='bold'))
    for kind, (path, data) in sorted(sources.items()):
        n = data['numbers']
        y += 18
        body.append(_text(10, y, '%s: %s, measured %s, %s cores, load average (1 min) %.1f at start, %.1f at end'
                          % (kind, path, data['time'], n.get('nproc', '?'), n.get('loadavg_start', float('nan')),
                             n.get('loadavg_end', float('nan'))), size=11, color='#4a5568'))
    y += 40
    if 'copy' in sources:
        n = sources['copy'][1]['numbers']
        y = section(body, y, 'image_copy vs skopeo copy (engine / skopeo; lower is better)',
                    'bar: ratio of the medians of %d runs; whisker: range of the per-round ratios; dashed: parity' % n['runs'],
                    copy_groups(sources['copy'][1]), parity='skopeo = 1')
    if 'lifecycle' in sources:
        n = sources['lifecycle'][1]['numbers']
        y = section(body, y, 'container_state / image_pull vs containers.podman (play / stat floor; lower is better)',
                    'bar: median of %d per-round ratios; whisker: their range; red: the issue\'s figure' % n['runs'],
                    lifecycle_groups(sources['lifecycle'][1]))
    return '\n'.join([
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">' % (WIDTH, y, WIDTH, y),
        '<title>%s</title>' % _esc(title),
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ] + body + ['</svg>', ''])


def main(argv=None):
    parser = argparse.ArgumentParser(description='docs/performance.svg from the newest bench/results/*.json')
    parser.add_argument('--results', default=bench_results.results_dir())
    parser.add_argument('--out', default=os.path.join(ROOT, 'docs', 'performance.svg'))
    parser.add_argument('--root', default=os.environ.get('PODKIT_SRC') or ROOT)
    args = parser.parse_args(argv)
    sources = {}
    for kind in ('copy', 'lifecycle'):
        path = bench_results.latest(kind, args.results)
        if path:
            with open(path) as f:
                sources[kind] = (os.path.relpath(path, args.root), json.load(f))
            print('plot: %s from %s' % (kind, path))
    if not sources:
        print('plot: no results in %s (run scripts/bench.sh first)' % args.results, file=sys.stderr)
        return 1
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        f.write(render(sources))
    os.rename(tmp, args.out)
    print('plot: wrote %s' % args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
