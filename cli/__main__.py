"""`python -m cli`: the same commands as `gradyard`, so `gradyard up` can start its children with this interpreter."""

from cli.main import app

app(prog_name="gradyard")
