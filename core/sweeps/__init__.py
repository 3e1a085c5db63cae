"""Hyperparameter sweeps: a space of values over a base job spec, searched by Optuna; every trial an ordinary job."""
