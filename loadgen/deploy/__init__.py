"""Deployment targets for the proxies, as the deploy step of `loadgen generate`.

Modules: `step` (the step on the mapping table: `none`, `local` for the emulator, `knative`),
`knative` (the whole `--deploy knative`: plan, dry run, deploy), `manifests` (find and render
proxy manifests), `services` (apply and watch Knative Services), `objects` (dependency
objects, and teardown by label), `cluster` (connection, labels, one-line API errors).
"""
