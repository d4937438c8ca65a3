"""Deployment targets for the proxies: `knative` (a real cluster through the Kubernetes API).

Modules: `cluster` (connection, labels, one-line API errors), `manifests` (find and render
proxy manifests), `services` (apply and watch Knative Services), `objects` (dependency
objects and teardown by label), `knative` (the whole `--deploy knative` step).
"""
