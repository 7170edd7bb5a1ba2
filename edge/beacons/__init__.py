"""BLE input: the advertisement value, payload parsers, and the scanner facade with its backends."""
