"""Backtesting: market data in, the live desks driven on a simulated clock, a report out."""
