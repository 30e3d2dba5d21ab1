"""Evaluation: dataset schema, metrics, runner, report and the baseline gate."""
