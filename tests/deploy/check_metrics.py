#!/usr/bin/env python3
"""Every metric that deploy/grafana/parley.json and deploy/prometheus/alerts.yaml (and the
adapter rules) query exists on running processes: a `parley serve` that has answered a chat
request (so its histograms have series), a `parley worker` and a `parley gateway` over it (after a chat
request: the router's series). The dashboard's queries are also
checked as PromQL by promtool (written out as recording rules, Grafana's variables filled in).

Metrics of roles or features that are not built yet are listed in PENDING, each with where it will
come from. When one appears on a scrape the test fails until it is removed from PENDING (so the
list only shrinks), and a name queried that is neither exposed nor pending fails the test.

Usage: check_metrics.py --parley build/bin/parley [--promtool promtool]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join(ROOT, 'deploy', 'grafana', 'parley.json')
ALERTS = os.path.join(ROOT, 'deploy', 'prometheus', 'alerts.yaml')
ADAPTER = os.path.join(ROOT, 'deploy', 'prometheus', 'adapter-rules.yaml')
OPERATIONS = os.path.join(ROOT, 'docs', 'operations.md')
SCRAPE = os.path.join(ROOT, 'deploy', 'prometheus', 'prometheus.yaml')
TOKEN = 'check-metrics-cluster-token-0123456789'

# Queried but not exposed by `parley serve`, `parley worker` or `parley gateway` yet.
PENDING = {
}

NAME = re.compile(r'\bparley_[a-z0-9_]+')
HIST_SUFFIXES = ('_bucket', '_count', '_sum')


def base_name(name):
    for s in HIST_SUFFIXES:
        if name.endswith(s):
            return name[:-len(s)]
    return name


def dashboard_exprs():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            out.extend(t['expr'] for t in p.get('targets', []) if t.get('expr'))
            walk(p.get('panels', []))
    walk(dash['panels'])
    out.extend(v['query'] for v in dash.get('templating', {}).get('list', []) if v.get('type') == 'query')
    return out


def alert_exprs():
    with open(ALERTS) as f:
        rules = yaml.safe_load(f)
    return [r['expr'] for g in rules['groups'] for r in g['rules']]


def adapter_exprs():
    with open(ADAPTER) as f:
        return [r['seriesQuery'] for r in yaml.safe_load(f)['rules']]


def runbook_errors():
    """Every alert links a runbook: a '### AlertName' heading of docs/operations.md."""
    with open(OPERATIONS) as f:
        anchors = {line[4:].strip().lower() for line in f if line.startswith('### ')}
    with open(ALERTS) as f:
        rules = [r for g in yaml.safe_load(f)['groups'] for r in g['rules']]
    errors = []
    for r in rules:
        url = r.get('annotations', {}).get('runbook_url', '')
        if not url.startswith('docs/operations.md#') or url.split('#', 1)[1] not in anchors:
            errors.append(f"alert {r['alert']}: runbook_url {url!r} is not a heading of docs/operations.md")
    return errors


def start(cmd, marker):
    """Starts a parley process with JSON logs; returns (process, port) once `marker` is logged."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    logs = []
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        logs.append(line.rstrip())
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if str(event.get('msg', '')).startswith(marker) and event.get('port'):
            return proc, event['port']
    proc.kill()
    raise SystemExit(f'{cmd[0]} did not start:\n' + '\n'.join(logs))


def get(url, body=None, token=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    if body:
        req.add_header('Content-Type', 'application/json')
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read().decode()


def exposed(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith('#'):
            n = NAME.match(line)
            if n:
                names.add(n.group(0))
                names.add(base_name(n.group(0)))
    return names


def scrape(parley, tmp):
    names = set()
    # --redis at a closed port: the Redis limiter's metrics exist (parley_redis_up), its calls fall back.
    serve, port = start([parley, '--log-format', 'json', 'serve', '--port', '0', '-t', '1', '--data', tmp,
                         '--redis', 'redis://127.0.0.1:1/0'], 'listening on')
    worker = None
    gateway = None
    try:
        base = f'http://127.0.0.1:{port}'
        get(base + '/v1/chat/completions',
            {'model': 'parley-demo', 'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 4})
        # The request's metrics are recorded as it ends, which may be just after the client has
        # the answer: scrape until they are there.
        deadline = time.time() + 30
        while True:
            scraped = exposed(get(base + '/metrics'))
            if 'parley_requests_total' in scraped or time.time() > deadline:
                break
            time.sleep(0.1)
        names |= scraped
        token_file = os.path.join(tmp, 'cluster.token')
        with open(token_file, 'w') as f:
            f.write(TOKEN + '\n')
        worker, wport = start([parley, '--log-format', 'json', 'worker', '--model', os.path.join(tmp, 'parley-demo.gguf'),
                               '--port', '0', '-t', '1', '--cluster-token-file', token_file], 'worker listening on')
        names |= exposed(get(f'http://127.0.0.1:{wport}/metrics', token=TOKEN))
        # `parley gateway` over that worker, after a chat request: the router's series.
        gateway, gport = start([parley, '--log-format', 'json', 'gateway', '--worker', f'http://127.0.0.1:{wport}',
                                '--port', '0', '--data', os.path.join(tmp, 'gateway-data'),
                                '--cluster-token-file', token_file], 'listening on')
        gbase = f'http://127.0.0.1:{gport}'
        get(gbase + '/v1/chat/completions',
            {'model': 'parley-demo', 'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 4})
        deadline = time.time() + 30
        while True:
            scraped = exposed(get(gbase + '/metrics'))
            if 'parley_router_requests_total' in scraped or time.time() > deadline:
                break
            time.sleep(0.1)
        names |= scraped
    finally:
        for p in (gateway, serve, worker):
            if p is not None:
                p.terminate()
                p.wait(timeout=60)
    return names


def check_promql(promtool, exprs):
    """The dashboard's queries as recording rules, for promtool's PromQL parser."""
    fill = {'$__rate_interval': '5m', '$model': '.*', '$namespace': '.*'}
    rules = []
    for i, e in enumerate(exprs):
        if e.startswith('label_values('):
            continue
        for k, v in fill.items():
            e = e.replace(k, v)
        rules.append({'record': f'parley:dashboard_query_{i}', 'expr': e})
    with tempfile.NamedTemporaryFile('w', suffix='.yaml', delete=False) as f:
        yaml.safe_dump({'groups': [{'name': 'dashboard', 'rules': rules}]}, f)
    try:
        r = subprocess.run([promtool, 'check', 'rules', f.name], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        raise SystemExit('the dashboard has queries promtool rejects:\n' + r.stdout + r.stderr)
    print(f'promtool: the dashboard\'s {len(rules)} queries parse')


def check_scrape_config(promtool):
    """deploy/prometheus/prometheus.yaml through `promtool check config`. Debian's Prometheus has no
    Kubernetes service discovery, so each job's kubernetes_sd_configs becomes a static target (the
    relabelling, authorization and rule files are checked as written)."""
    with open(SCRAPE) as f:
        config = yaml.safe_load(f)
    with tempfile.TemporaryDirectory(prefix='parley-promcfg-') as tmp:
        token = os.path.join(tmp, 'cluster-token')
        with open(token, 'w') as f:
            f.write(TOKEN)
        for job in config['scrape_configs']:
            if job.pop('kubernetes_sd_configs', None) is not None:
                job['static_configs'] = [{'targets': ['127.0.0.1:1']}]
            auth = job.get('authorization', {})
            if 'credentials_file' in auth:
                auth['credentials_file'] = token
        config['rule_files'] = [os.path.join(os.path.dirname(SCRAPE), r) for r in config.get('rule_files', [])]
        path = os.path.join(tmp, 'prometheus.yaml')
        with open(path, 'w') as f:
            yaml.safe_dump(config, f)
        r = subprocess.run([promtool, 'check', 'config', path], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit('promtool rejects deploy/prometheus/prometheus.yaml:\n' + r.stdout + r.stderr)
    print('promtool: deploy/prometheus/prometheus.yaml is valid (Kubernetes discovery aside)')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--parley', required=True)
    ap.add_argument('--promtool', default='')
    args = ap.parse_args()
    queried = {}
    for source, exprs in (('dashboard', dashboard_exprs()), ('alerts', alert_exprs()), ('adapter', adapter_exprs())):
        for e in exprs:
            for n in NAME.findall(e):
                queried.setdefault(base_name(n), set()).add(source)
    if args.promtool:
        check_promql(args.promtool, dashboard_exprs())
        check_scrape_config(args.promtool)
    with tempfile.TemporaryDirectory(prefix='parley-metrics-') as tmp:
        names = scrape(args.parley, tmp)
    errors = runbook_errors()
    for n, sources in sorted(queried.items()):
        if n in names and n in PENDING:
            errors.append(f'{n} is exposed now: remove it from PENDING')
        elif n not in names and n not in PENDING:
            errors.append(f'{n} (queried by {", ".join(sorted(sources))}) is not exposed by serve or worker')
    for n in sorted(set(PENDING) - set(queried)):
        errors.append(f'{n} is PENDING but nothing queries it: remove it')
    present = sorted(n for n in queried if n in names)
    pending = sorted(n for n in queried if n in PENDING)
    print(f'{len(present)} queried metrics exposed: {" ".join(present)}')
    print(f'{len(pending)} pending: ' + ', '.join(f'{n} ({PENDING[n]})' for n in pending))
    for e in errors:
        print('error:', e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
