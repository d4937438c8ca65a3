"""loadgen: trace-driven load generation for serverless clusters (the master side).

Stages, one module each, with a documented file between them (formats in `loadcore`):
traces (every trace layout) -> sample (representative samples) -> mapping (mapping.csv) ->
deploy -> load (load.json) -> `invoker` (results CSV; observe: scaling.csv, the Pods meanwhile)
-> report (summary.json, figures). Entry points: `generate.generate`, `sample.sample_trace`,
`pipeline.run_experiment`, `observe.observe`, `report.report`, `plot.plot`,
`deploy.objects.teardown`.
"""

__version__ = "0.1.0"
__all__ = ["coldstarts", "deploy", "distance", "figures", "generate", "load", "mapping", "merge", "naming", "observe",
           "pipeline", "plot", "report", "report_figures", "report_tables", "sample", "sample_figure", "synthetic", "traces"]
