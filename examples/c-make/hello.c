/* hello: a small C program built with make inside the slsabox sandbox. */
#include <stdio.h>
#include <string.h>

#include "greet.h"

int main(int argc, char **argv) {
	const char *name = argc > 1 ? argv[1] : "world";
	if (strlen(name) > 64) {
		fprintf(stderr, "hello: name too long\n");
		return 2;
	}
	char buf[96];
	greet(buf, sizeof buf, name);
	puts(buf);
	return 0;
}
