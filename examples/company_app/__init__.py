"""A complete minimal company app on the CopyMe issuer SDK (see README.md in this folder)."""
