"""Backtesting: the figures and the report of a run over recorded market data."""
