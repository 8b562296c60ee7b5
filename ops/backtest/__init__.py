"""Backtesting: market data in, the live desks driven on a simulated clock, the figures and
the report of the run out."""
