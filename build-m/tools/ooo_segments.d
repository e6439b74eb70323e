build-m/tools/ooo_segments: tests/tools/ooo_segments.c
