"""instore-edge: an in-store IoT edge gateway for opted-in shoppers."""

__version__ = "0.1.0"
