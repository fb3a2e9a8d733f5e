"""The fraud context's domain: fraud cases, the model registry and the online features."""
