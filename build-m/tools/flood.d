build-m/tools/flood: tests/tools/flood.c
