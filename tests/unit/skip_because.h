/* skip_because(fmt, ...): skip the running cmocka case and say why. cmocka 1.1's TAP output names a
 * skipped case ("not ok N # SKIP name") but carries no reason, so the reason goes first, on a line
 * "# skip-reason: ..." that tests/run-all.sh joins to the case: "skipped: unit/BIN/NAME: reason",
 * counted neither passed nor failed. Skip only what cannot run here for a reason outside the tree;
 * a missing build product is a failure. */
#ifndef TESTS_UNIT_SKIP_BECAUSE_H
#define TESTS_UNIT_SKIP_BECAUSE_H

#include <stdio.h>

#define skip_because(...)                                                                                              \
    do {                                                                                                               \
        printf("# skip-reason: ");                                                                                     \
        printf(__VA_ARGS__);                                                                                           \
        printf("\n");                                                                                                  \
        fflush(stdout);                                                                                                \
        skip();                                                                                                        \
    } while (0)

#endif
