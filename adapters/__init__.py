"""Adapters to the outside world: persistence settings, brokers, models, gateways."""
