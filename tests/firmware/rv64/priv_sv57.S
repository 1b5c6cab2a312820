/* Sv57: see paging.h. */
#define LEVELS 5
#define MODE 10
#define TEST_NAME priv_sv57
#include "paging.h"
