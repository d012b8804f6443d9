"""One tiny-data conformance recipe per algorithm (see conformance_examples.py)."""
