build-m/tools/syn_probe: tests/tools/syn_probe.c
