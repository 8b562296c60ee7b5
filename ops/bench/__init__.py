"""Benchmarks behind `alpha-panda bench`; each starts the throwaway servers it needs."""
