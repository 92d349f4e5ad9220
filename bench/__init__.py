"""Benchmarks and dataset evaluations: programs that print figures (never timed assertions)."""
