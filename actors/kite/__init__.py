"""Zerodha Kite Connect: the pieces of the live broker that need no server (packet codec)."""
