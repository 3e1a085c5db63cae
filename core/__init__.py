"""What the API and the workers share: settings, database, ORM models, the job-spec contract and all SQL."""
