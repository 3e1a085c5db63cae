"""The `gradyard` command line: run the API, a worker, migrations, or the whole single-machine stack."""
