"""Fraud adapters: the payment simulator, LightGBM training, evaluation and scoring, and
the model artifact store."""
