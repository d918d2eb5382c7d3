#include <stdio.h>

#include "greet.h"

void greet(char *buf, size_t n, const char *name) {
	snprintf(buf, n, "Hello, %s!", name);
}
