"""Benchmarks: `make bench` prints figures and ratios; nothing here asserts a timing."""
