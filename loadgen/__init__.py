"""loadgen: trace-driven load generation for serverless clusters.

Stages, one module each, with a documented file between them:
trace (Azure CSVs) -> mapping (mapping.csv) -> load (load.json) -> invoker (results CSV)
-> report (summary.json, figures).  Keep this module import-light: the invoker imports
`loadcore.errors` on worker nodes.
"""

__version__ = "0.1.0"
