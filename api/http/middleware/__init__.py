"""ASGI middleware and request throttling of the HTTP app: body size limit, rate limit, the
request context (correlation id, access log, metrics, server span)."""
