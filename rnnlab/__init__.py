"""rnnlab."""
