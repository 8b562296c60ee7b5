"""Trading strategies: pure classes that turn ticks into signals, their config and router."""
