"""Positions, cash and PnL of one broker (pure, no I/O)."""
