/*
 * A regex that is only a literal (`paypal`, `^login\.`, `\.example\.com$`,
 * `^www\.example\.com$`): recognised so that it is matched as a literal,
 * with the keywords, and costs no Hyperscan compile at connect nor a scan
 * of its own. Anything else (a class, a dot, a quantifier, a group, an
 * escaped letter) is left to Hyperscan. Pure: no allocation.
 */
#ifndef BROADCAST_FILTER_RELIT_H
#define BROADCAST_FILTER_RELIT_H

#include <stddef.h>

#define RELIT_START 1u          /* ^: at the start of the name */
#define RELIT_END 2u            /* $: at its end (or before a final \n) */

/*
 * If re[0..len) is a plain literal, possibly anchored: 1, the literal
 * (ASCII lowercased, as the regex is matched caselessly) in out[0..*n)
 * (out holds len bytes) and its anchors in *anch. Else 0.
 */
int filter_relit(const char *re, size_t len, char *out, size_t *n,
    unsigned *anch);

/* Does text t[0..tn) hold the lowercase literal l[0..ln) with anch, text
 * A-Z read as a-z: the rule a regex would follow? */
int filter_relit_match(const char *t, size_t tn, const char *l, size_t ln,
    unsigned anch);

/* Does an occurrence of a literal of ln bytes ending at byte end of a text
 * of tn bytes (ending in last) satisfy anch? */
static inline int
filter_relit_at(size_t end, size_t ln, size_t tn, char last, unsigned anch)
{
	if ((anch & RELIT_START) && end != ln)
		return 0;
	if ((anch & RELIT_END) && end != tn &&
	    !(end + 1 == tn && last == '\n'))
		return 0;
	return 1;
}

#endif
