"""The examples/ folder, run end to end."""
