"""loadcore: what the master side (`loadgen`) and the worker side (`invoker`) share.

Every file passed between stages has its one home here, reader, writer and documented
columns together: `loadfile` (load.json), `mappingfile` (mapping.csv), `results` (the
invoker's results CSV), `scalingfile` (scaling.csv), `summary` (summary.json), `profiles`
(profile.json, config.json).
Also the errors, the time units, the statistics and the console helpers both sides use, and
the heap tuning of the process that writes load.json (`heap`).
This package imports neither `loadgen` nor `invoker`, and stays import-light: the invoker's
worker processes import it.
"""

__all__ = [
    "cli", "console", "csvfile", "csvrecords", "errors", "files", "heap", "histogram", "loadfile", "mappingfile", "names",
    "profiles", "results", "runs", "scalingfile", "shards", "shipped", "stats", "summary", "units",
]
