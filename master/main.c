/* placeholder until the master lands */
#include <stdio.h>
int main(void);
int
main(void)
{
	puts("certstreamd " CERTSTREAM_VERSION);
	return 0;
}
