"""Reports computed from the gateway's events (``edge report …``)."""
