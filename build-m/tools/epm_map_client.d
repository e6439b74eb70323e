build-m/tools/epm_map_client: tests/tools/epm_map_client.c
