"""Uploaded datasets: their schema, the task it implies, and the parsing of each format into one canonical form."""
