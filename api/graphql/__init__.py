"""GraphQL for backoffice frontends: strawberry on FastAPI, over the read models."""
