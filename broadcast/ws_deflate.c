/*
 * permessage-deflate offers (RFC 7692 §5, §7.1): parse, judge, answer.
 * Grammar (RFC 6455 §9.1): offers are comma-separated, each a token then
 * "; name[=value]" parameters, a value a token or a quoted string.
 */
#include "broadcast/ws_deflate.h"

#include <string.h>
#include <strings.h>

#define WSD_SERVER_NCT 0x1
#define WSD_CLIENT_NCT 0x2
#define WSD_SERVER_BITS 0x4
#define WSD_CLIENT_BITS 0x8

static int
wsd_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void
wsd_trim(const char **s, const char **e)
{
	while (*s < *e && wsd_space(**s))
		(*s)++;
	while (*e > *s && wsd_space((*e)[-1]))
		(*e)--;
}

static int
wsd_is(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - s) == n && strncasecmp(s, word, n) == 0;
}

/* A window-bits value: 8..15, plain digits (quotes already removed). */
static int
wsd_bits(const char *s, const char *e)
{
	if (e - s == 1 && *s >= '8' && *s <= '9')
		return *s - '0';
	if (e - s == 2 && s[0] == '1' && s[1] >= '0' && s[1] <= '5')
		return 10 + s[1] - '0';
	return -1;
}

/*
 * One offer, s..e (no top-level comma). Returns 1 if it is a
 * permessage-deflate offer the server honours (*sbits: the
 * server_max_window_bits it named, 0 if none), else 0.
 */
static int
wsd_offer(const char *s, const char *e, int *sbits)
{
	const char *p = s, *ne, *vs, *ve;
	unsigned seen = 0;
	int bits;

	while (p < e && *p != ';')
		p++;
	ne = p;
	wsd_trim(&s, &ne);
	if (!wsd_is(s, ne, "permessage-deflate"))
		return 0;
	*sbits = 0;
	while (p < e) {
		const char *ps = ++p, *pe;

		while (p < e && *p != ';') {
			if (*p == '"') {        /* quoted: skip to its end */
				for (p++; p < e && *p != '"'; p++)
					if (*p == '\\' && p + 1 < e)
						p++;
				if (p == e)
					return 0;
			}
			p++;
		}
		pe = p;
		vs = ve = NULL;
		for (const char *q = ps; q < pe; q++) {
			if (*q == '=') {
				vs = q + 1;
				ve = pe;
				pe = q;
				break;
			}
		}
		wsd_trim(&ps, &pe);
		if (vs != NULL) {
			wsd_trim(&vs, &ve);
			if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
				vs++;
				ve--;
			}
		}
		if (wsd_is(ps, pe, "server_no_context_takeover")) {
			/* the shared stream keeps its context */
			return 0;
		} else if (wsd_is(ps, pe, "client_no_context_takeover")) {
			if (vs != NULL || (seen & WSD_CLIENT_NCT))
				return 0;
			seen |= WSD_CLIENT_NCT;
		} else if (wsd_is(ps, pe, "server_max_window_bits")) {
			if (vs == NULL || (seen & WSD_SERVER_BITS) ||
			    (bits = wsd_bits(vs, ve)) == -1)
				return 0;
			/* the shared stream uses the 32 KiB window */
			if (bits < 15)
				return 0;
			*sbits = bits;
			seen |= WSD_SERVER_BITS;
		} else if (wsd_is(ps, pe, "client_max_window_bits")) {
			if ((seen & WSD_CLIENT_BITS) ||
			    (vs != NULL && wsd_bits(vs, ve) == -1))
				return 0;
			seen |= WSD_CLIENT_BITS;
		} else {
			return 0;       /* unknown parameter: decline (§5) */
		}
	}
	return 1;
}

int
ws_deflate_negotiate(const struct http_request *req,
    char resp[WS_DEFLATE_RESP_MAX])
{
	for (int i = 0; i < req->nheaders; i++) {
		const struct http_str *name = &req->headers[i].name;
		const char *p = req->headers[i].value.p;
		const char *end = p + req->headers[i].value.len;

		if (!wsd_is(name->p, name->p + name->len,
		    "sec-websocket-extensions"))
			continue;
		while (p < end) {
			const char *s = p;
			int sbits, inq = 0;

			for (; p < end && (inq || *p != ','); p++) {
				if (*p == '\\' && inq && p + 1 < end)
					p++;
				else if (*p == '"')
					inq = !inq;
			}
			if (wsd_offer(s, p, &sbits)) {
				/* §7.1.2.1: a named server window is echoed. */
				strcpy(resp, sbits ? "permessage-deflate; "
				    "server_max_window_bits=15" :
				    "permessage-deflate");
				return 1;
			}
			if (p < end)
				p++;
		}
	}
	return 0;
}

enum ws_frame_result
ws_deflate_frame_parse(const uint8_t *buf, size_t len, uint64_t max_payload,
    struct ws_frame *f, int *z)
{
	uint8_t hb[14];         /* the longest client frame header */
	size_t n = len < sizeof(hb) ? len : sizeof(hb);
	int op;

	*z = 0;
	if (len == 0 || !(buf[0] & 0x40))
		return ws_frame_parse(buf, len, max_payload, f);
	op = buf[0] & 0x0f;
	if (op != WS_OP_TEXT && op != WS_OP_BINARY)
		return WS_FRAME_ERR_PROTOCOL;
	/* The header alone, the bit cleared: the payload stays where it is. */
	memcpy(hb, buf, n);
	hb[0] &= (uint8_t)~0x40;
	*z = 1;
	return ws_frame_parse(hb, n, max_payload, f);
}
