"""The Celery worker: the training task and the engine (data, models, losses, loop). It never imports the API."""
