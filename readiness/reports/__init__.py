"""Renderers of stored runs: the one place where results become text. They read a RunResults
(readiness.results) and never run a probe, so any run folder, complete or cut short, renders again."""
