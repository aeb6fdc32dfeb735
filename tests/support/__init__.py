"""Shared test helpers: real services on loopback ports (``servers``) and fixed-seed samples of every wire object (``samples``)."""
