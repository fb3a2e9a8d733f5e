"""Bearer-token authentication: JWT checks against a JWKS; the local development issuer."""
