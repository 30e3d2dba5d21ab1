"""Evaluation: dataset schema, metrics, scoring (scoring.py), one run end to end (run.py), report
and the baseline gate."""
