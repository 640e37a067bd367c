"""The benchmarks (bench/README.md). Each bench/<name>.py runs as a program; the helpers
they share are in bench/benchlib.py."""
