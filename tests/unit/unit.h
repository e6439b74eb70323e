/*
 * Minimal unit-test harness.  A test file #includes the module's .c (so
 * static functions are reachable, as chrony's tests do), defines
 * functions, and calls RUN() for each from main().  Every test prints
 * "ok NAME" or "not ok NAME" with the failed checks above it; tests/run.sh
 * counts those lines.
 */
#ifndef RPCGATE_UNIT_H
#define RPCGATE_UNIT_H

#include <stdio.h>

static int unit_failed_checks;
static int unit_failed_tests;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__,  \
			       __LINE__, #cond);                           \
			unit_failed_checks++;                              \
		}                                                          \
	} while (0)

static inline void unit_run(const char *name, void (*test)(void))
{
	int before = unit_failed_checks;

	test();
	if (unit_failed_checks == before) {
		printf("ok %s\n", name);
	} else {
		printf("not ok %s\n", name);
		unit_failed_tests++;
	}
	fflush(stdout);
}

#define RUN(test) unit_run(#test, test)
#define UNIT_EXIT() return unit_failed_tests ? 1 : 0

#endif
