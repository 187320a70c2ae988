/* Regexes that are only literals (filter_relit.h). */
#include <string.h>

#include "broadcast/filter_relit.h"

int
filter_relit(const char *re, size_t len, char *out, size_t *n,
    unsigned *anch)
{
	size_t i = 0, k = 0;

	*anch = 0;
	if (len > 0 && re[0] == '^') {
		*anch |= RELIT_START;
		i = 1;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)re[i];

		if (c == '\\') {
			if (++i == len)
				return 0;
			c = (unsigned char)re[i];
			/* an escaped letter or digit is a class, an anchor,
			 * a back reference or a code: not a literal */
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c < 0x20 || c >= 0x7f)
				return 0;
		} else if (c == '$' && i + 1 == len) {
			*anch |= RELIT_END;
			break;
		} else if (strchr(".[]()*+?{}|^$", c) != NULL || c == '\0' ||
		    c < 0x20) {
			return 0;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		out[k++] = (char)c;
	}
	*n = k;
	return k > 0;
}

int
filter_relit_match(const char *t, size_t tn, const char *l, size_t ln,
    unsigned anch)
{
	for (size_t i = 0; i + ln <= tn; i++) {
		size_t j;

		for (j = 0; j < ln; j++) {
			char c = t[i + j];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c + ('a' - 'A'));
			if (c != l[j])
				break;
		}
		if (j == ln && filter_relit_at(i + ln, ln, tn,
		    tn > 0 ? t[tn - 1] : 0, anch))
			return 1;
	}
	return 0;
}
