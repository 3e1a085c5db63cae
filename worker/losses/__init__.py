"""The training objective: the catalog's losses with the head and target adapters each needs (objective.py builds
it; classification.py and pairs.py the losses on classes and on pairs; custom.py the losses torch lacks)."""
