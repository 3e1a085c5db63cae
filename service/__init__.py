"""The HTTP API: routes, request and response shapes, error mapping. It never imports torch or the worker."""
