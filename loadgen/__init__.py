"""loadgen: trace-driven load generation for serverless clusters (the master side).

Stages, one module each, with a documented file between them (formats in `loadcore`):
trace (Azure CSVs) -> mapping (mapping.csv) -> deploy -> load (load.json) -> `invoker`
(results CSV) -> report (summary.json, figures). Entry points: `generate.generate`,
`pipeline.run_experiment`, `report.report`, `plot.plot`, `deploy.objects.teardown`.
"""

__version__ = "0.1.0"
__all__ = ["deploy", "figures", "generate", "load", "mapping", "merge", "naming", "pipeline", "plot", "report",
           "report_figures", "report_tables", "trace"]
