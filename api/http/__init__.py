"""The HTTP app: FastAPI, REST routers under /v1, operations endpoints, middleware and the
browser pages (GraphQL is mounted from api.graphql)."""
