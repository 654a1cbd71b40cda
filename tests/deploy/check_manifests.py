#!/usr/bin/env python3
"""Renders every kustomize overlay of deploy/kubernetes with `kubectl kustomize` (offline) and checks
the invariants operators rely on (docs/operations.md#kubernetes):

- every container has readiness and liveness probes (init containers: none needed), CPU and memory
  requests, a memory limit, and a security context: non-root, read-only root filesystem, no
  privilege escalation, every capability dropped;
- every Deployment/StatefulSet has a PodDisruptionBudget selecting its pods, and its selector
  matches its pod template's labels; every Service selects some workload's pods and names ports
  those pods have; every HPA scales a workload that exists;
- images are pinned (a fixed tag other than `latest`, or a digest), the kustomize `images:` rule
  applied (no bare `parley`);
- `parley` containers listen where their flags say: `--port` is a containerPort, probes use it;
- the gateways' `--workers dns:NAME:PORT` names a headless Service selecting the workers on PORT;
- a NetworkPolicy selects the workers and lets in only gateways (and Prometheus) on their port;
- the termination grace period outlasts the worker's `--drain-timeout`;
- no secret sits in an env value (URLs and tokens come from Secrets), the ConfigMap holds parley.toml.

Usage: check_manifests.py [--kubectl PATH] [--self-test]
"""
import argparse
import copy
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KUSTOMIZE_DIR = os.path.join(ROOT, 'deploy', 'kubernetes')
OVERLAYS = ['single', 'cluster', 'gpu', 'dev']
WORKLOADS = ('Deployment', 'StatefulSet', 'DaemonSet')
SECRET_WORDS = ('PASSWORD', 'TOKEN', 'SECRET', 'URL', 'DSN', 'KEY')


def render(kubectl, overlay):
    out = subprocess.run([kubectl, 'kustomize', os.path.join(KUSTOMIZE_DIR, 'overlays', overlay)],
                         check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def name_of(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_spec(obj):
    return obj['spec']['template']['spec']


def pod_labels(obj):
    return obj['spec']['template']['metadata'].get('labels', {})


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def flag(args, name):
    """The value of --name=V or --name V in a container's args, else None."""
    for i, a in enumerate(args):
        if a.startswith(name + '='):
            return a.split('=', 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def check_container(where, c, pod_sc, init, errors):
    sc = c.get('securityContext', {})
    if not init:
        for probe in ('readinessProbe', 'livenessProbe'):
            if probe not in c:
                errors.append(f'{where}: no {probe}')
    res = c.get('resources', {})
    for r in ('cpu', 'memory'):
        if r not in res.get('requests', {}):
            errors.append(f'{where}: no {r} request')
    if 'memory' not in res.get('limits', {}):
        errors.append(f'{where}: no memory limit')
    if sc.get('allowPrivilegeEscalation') is not False:
        errors.append(f'{where}: allowPrivilegeEscalation is not false')
    if sc.get('readOnlyRootFilesystem') is not True:
        errors.append(f'{where}: readOnlyRootFilesystem is not true')
    if 'ALL' not in sc.get('capabilities', {}).get('drop', []):
        errors.append(f'{where}: capabilities do not drop ALL')
    if sc.get('privileged'):
        errors.append(f'{where}: privileged')
    if not (sc.get('runAsNonRoot') or pod_sc.get('runAsNonRoot')):
        errors.append(f'{where}: runAsNonRoot is not set')
    if sc.get('runAsUser', pod_sc.get('runAsUser')) == 0:
        errors.append(f'{where}: runs as uid 0')
    image = c.get('image', '')
    last = image.rsplit('/', 1)[-1]
    if '@sha256:' not in image and (':' not in last or last.endswith(':latest')):
        errors.append(f'{where}: image {image!r} is not pinned to a tag or digest')
    for e in c.get('env', []):
        if 'value' in e and any(w in e['name'].upper() for w in SECRET_WORDS) and e['value']:
            errors.append(f'{where}: env {e["name"]} has a literal value (use a Secret)')


def check_parley_ports(where, c, errors):
    args = c.get('args', [])
    if not c.get('image', '').rsplit('/', 1)[-1].startswith('parley') or not any(
            a in ('serve', 'worker', 'gateway') for a in args):
        return
    port = flag(args, '--port')
    ports = {p.get('name'): p['containerPort'] for p in c.get('ports', [])}
    if port is None or int(port) not in ports.values():
        errors.append(f'{where}: --port {port} is not a containerPort {sorted(ports.values())}')
    if flag(args, '--host') not in ('0.0.0.0', '::'):
        errors.append(f'{where}: --host does not listen on every interface')
    for probe in ('readinessProbe', 'livenessProbe', 'startupProbe'):
        get = c.get(probe, {}).get('httpGet')
        if get is None:
            continue
        p = get['port']
        if (ports.get(p) if isinstance(p, str) else p) != (int(port) if port else None):
            errors.append(f'{where}: {probe} port {p} is not the --port {port}')
        want = '/ready' if probe == 'readinessProbe' else '/health'
        if get['path'] != want:
            errors.append(f'{where}: {probe} path {get["path"]} is not {want}')


def check_workloads(objs, errors):
    workloads = [o for o in objs if o['kind'] in WORKLOADS]
    pdbs = [o for o in objs if o['kind'] == 'PodDisruptionBudget']
    for w in workloads:
        labels = pod_labels(w)
        if not selects(w['spec']['selector'].get('matchLabels', {}), labels):
            errors.append(f'{name_of(w)}: selector does not match its pod labels')
        if not any(selects(p['spec']['selector'].get('matchLabels', {}), labels) for p in pdbs):
            errors.append(f'{name_of(w)}: no PodDisruptionBudget selects its pods')
        spec = pod_spec(w)
        pod_sc = spec.get('securityContext', {})
        for init, key in ((False, 'containers'), (True, 'initContainers')):
            for c in spec.get(key, []):
                where = f"{name_of(w)} container {c['name']}"
                check_container(where, c, pod_sc, init, errors)
                if not init:
                    check_parley_ports(where, c, errors)
    for p in pdbs:
        if not any(selects(p['spec']['selector'].get('matchLabels', {}), pod_labels(w)) for w in workloads):
            errors.append(f'{name_of(p)}: selects no workload')
    return workloads


def container_ports(w):
    ports = {}
    for c in pod_spec(w)['containers']:
        for p in c.get('ports', []):
            ports[p.get('name')] = p['containerPort']
            ports[p['containerPort']] = p['containerPort']
    return ports


def check_services(objs, workloads, errors):
    for s in (o for o in objs if o['kind'] == 'Service'):
        targets = [w for w in workloads if selects(s['spec'].get('selector', {}), pod_labels(w))]
        if not targets:
            errors.append(f'{name_of(s)}: selects no workload')
        for p in s['spec']['ports']:
            t = p.get('targetPort', p['port'])
            for w in targets:
                if t not in container_ports(w):
                    errors.append(f'{name_of(s)}: targetPort {t} is not a port of {name_of(w)}')
    for h in (o for o in objs if o['kind'] == 'HorizontalPodAutoscaler'):
        ref = h['spec']['scaleTargetRef']
        if not any(w['kind'] == ref['kind'] and w['metadata']['name'] == ref['name'] for w in workloads):
            errors.append(f'{name_of(h)}: scales {ref["kind"]}/{ref["name"]}, which does not exist')


def role_of(w):
    return pod_labels(w).get('app.kubernetes.io/component')


def check_cluster_roles(objs, workloads, errors):
    gateways = [w for w in workloads if role_of(w) == 'gateway']
    workers = [w for w in workloads if role_of(w) == 'worker']
    if not gateways and not workers:
        return
    if not gateways or not workers:
        errors.append('a cluster needs both gateways and workers')
        return
    services = {s['metadata']['name']: s for s in objs if s['kind'] == 'Service'}
    for g in gateways:
        c = pod_spec(g)['containers'][0]
        target = flag(c.get('args', []), '--workers') or ''
        parts = target.split(':')
        if len(parts) != 3 or parts[0] != 'dns':
            errors.append(f'{name_of(g)}: --workers is not dns:NAME:PORT ({target!r})')
            continue
        svc = services.get(parts[1])
        if svc is None or svc['spec'].get('clusterIP') != 'None':
            errors.append(f'{name_of(g)}: --workers names {parts[1]}, which is not a headless Service')
            continue
        if not all(selects(svc['spec']['selector'], pod_labels(w)) for w in workers):
            errors.append(f'{name_of(svc)}: does not select the workers')
        if int(parts[2]) not in [p['port'] for p in svc['spec']['ports']]:
            errors.append(f'{name_of(g)}: --workers port {parts[2]} is not a port of {name_of(svc)}')
    for w in workers:
        c = pod_spec(w)['containers'][0]
        drain = int(flag(c['args'], '--drain-timeout') or 60)
        grace = pod_spec(w).get('terminationGracePeriodSeconds', 30)
        if grace <= drain:
            errors.append(f'{name_of(w)}: terminationGracePeriodSeconds {grace} <= --drain-timeout {drain}')
        port = int(flag(c['args'], '--port'))
        if not flag(c['args'], '--cluster-token-file'):
            errors.append(f'{name_of(w)}: no --cluster-token-file')
        check_network_policy(objs, w, gateways, port, errors)


def check_network_policy(objs, worker, gateways, port, errors):
    policies = [p for p in objs if p['kind'] == 'NetworkPolicy' and
                selects(p['spec']['podSelector'].get('matchLabels', {}), pod_labels(worker))]
    if not policies:
        errors.append(f'{name_of(worker)}: no NetworkPolicy selects the workers')
        return
    gateway_in = False
    for p in policies:
        if 'Ingress' not in p['spec'].get('policyTypes', ['Ingress']):
            errors.append(f'{name_of(p)}: does not restrict ingress')
        for rule in p['spec'].get('ingress', []):
            peers = rule.get('from')
            if not peers:
                errors.append(f'{name_of(p)}: an ingress rule admits every source')
                continue
            for peer in peers:
                if 'ipBlock' in peer:
                    errors.append(f'{name_of(p)}: an ingress rule admits an ipBlock')
                ns = peer.get('namespaceSelector')
                pod = peer.get('podSelector', {}).get('matchLabels', {})
                if ns is None and any(selects(pod, pod_labels(g)) for g in gateways):
                    gateway_in = gateway_in or any(q.get('port') == port for q in rule.get('ports', []))
                elif ns is None or not pod:
                    errors.append(f'{name_of(p)}: admits {peer}, which is neither the gateways nor Prometheus')
    if not gateway_in:
        errors.append(f'{name_of(worker)}: the NetworkPolicy does not let the gateways reach port {port}')


def check_objects(overlay, objs):
    errors = []
    workloads = check_workloads(objs, errors)
    check_services(objs, workloads, errors)
    check_cluster_roles(objs, workloads, errors)
    config = [o for o in objs if o['kind'] == 'ConfigMap' and o['metadata']['name'].startswith('parley-config')]
    if not config or 'parley.toml' not in config[0].get('data', {}):
        errors.append('no ConfigMap parley-config with parley.toml')
    if overlay == 'gpu':
        workers = [w for w in workloads if role_of(w) == 'worker']
        if not all('nvidia.com/gpu' in pod_spec(w)['containers'][0]['resources'].get('limits', {}) for w in workers):
            errors.append('gpu: the workers do not request nvidia.com/gpu')
    return [f'{overlay}: {e}' for e in errors]


def find(objs, kind, name):
    return next(o for o in objs if o['kind'] == kind and o['metadata']['name'] == name)


def self_test(objs):
    """Each invariant must catch its own breakage (the checker is tested, not just run)."""
    def broken(mutate, expect):
        copy_ = copy.deepcopy(objs)
        mutate(copy_)
        errors = check_objects('cluster', copy_)
        if not any(expect in e for e in errors):
            raise SystemExit(f'self-test: expected an error containing {expect!r}, got {errors}')

    def worker(o):
        return pod_spec(find(o, 'Deployment', 'parley-worker'))['containers'][0]

    def gateway(o):
        return pod_spec(find(o, 'Deployment', 'parley-gateway'))['containers'][0]

    if check_objects('cluster', objs):
        raise SystemExit('self-test: the unmodified cluster overlay must pass')
    broken(lambda o: worker(o).pop('readinessProbe'), 'no readinessProbe')
    broken(lambda o: worker(o)['resources'].pop('requests'), 'no cpu request')
    broken(lambda o: worker(o)['securityContext'].update(readOnlyRootFilesystem=False), 'readOnlyRootFilesystem')
    broken(lambda o: worker(o)['securityContext'].update(capabilities={}), 'drop ALL')
    broken(lambda o: worker(o).update(image='ghcr.io/parley-ai/parley:latest'), 'not pinned')
    broken(lambda o: gateway(o).update(image='parley'), 'not pinned')
    broken(lambda o: o.remove(find(o, 'PodDisruptionBudget', 'parley-worker')), 'no PodDisruptionBudget')
    broken(lambda o: find(o, 'Deployment', 'parley-gateway')['spec']['selector']['matchLabels'].update(x='y'),
           'selector does not match')
    broken(lambda o: worker(o)['args'].__setitem__(worker(o)['args'].index('--port=8081'), '--port=9000'),
           'is not a containerPort')
    broken(lambda o: o.remove(find(o, 'NetworkPolicy', 'parley-worker')), 'no NetworkPolicy')
    broken(lambda o: find(o, 'NetworkPolicy', 'parley-worker')['spec']['ingress'].append({}), 'admits every source')
    broken(lambda o: find(o, 'Service', 'parley-worker-pods')['spec'].pop('clusterIP'), 'not a headless Service')
    broken(lambda o: pod_spec(find(o, 'Deployment', 'parley-worker')).update(terminationGracePeriodSeconds=30),
           'terminationGracePeriodSeconds')
    broken(lambda o: gateway(o)['env'].append({'name': 'PARLEY_DATABASE_URL', 'value': 'postgres://u:pw@db/p'}),
           'literal value')
    broken(lambda o: find(o, 'Service', 'parley')['spec']['ports'][0].update(targetPort='nope'), 'targetPort')
    print('self-test: every invariant catches its breakage')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--kubectl', default='kubectl')
    ap.add_argument('--self-test', action='store_true')
    args = ap.parse_args()
    errors = []
    for overlay in OVERLAYS:
        objs = render(args.kubectl, overlay)
        kinds = sorted({o['kind'] for o in objs})
        errs = check_objects(overlay, objs)
        print(f'{overlay}: {len(objs)} objects ({", ".join(kinds)}): {"ok" if not errs else "FAILED"}')
        errors += errs
        if args.self_test and overlay == 'cluster':
            self_test(objs)
    for e in errors:
        print('error:', e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
