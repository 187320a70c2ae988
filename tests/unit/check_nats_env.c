/* The NATS envelope: a record survives the trip byte for byte, and a
 * truncated or foreign message is refused. */
#include <check.h>
#include <string.h>

#include "ingest/nats_env.h"

static void
rec_of(struct ring_rec *r)
{
	static char lite[] = "{\"message_type\":\"certificate_update\"}";
	static char full[] = "{\"message_type\":\"certificate_update\",\"x\":1}";
	static char dom[] = "{\"message_type\":\"dns_entries\"}";
	static char facts[] = "\x01\x02\x00\x03";

	memset(r, 0, sizeof(*r));
	r->json[RV_LITE].iov_base = lite;
	r->json[RV_LITE].iov_len = strlen(lite);
	r->json[RV_FULL].iov_base = full;
	r->json[RV_FULL].iov_len = strlen(full);
	r->json[RV_DOMAINS].iov_base = dom;
	r->json[RV_DOMAINS].iov_len = strlen(dom);
	r->facts.iov_base = facts;
	r->facts.iov_len = 4;
	r->seen_us = 1700000000123456;
	r->index = 0x0102030405ULL;
	r->log = 7;
	r->flags = RING_F_PAIRED;
}

START_TEST(record_round_trips)
{
	static const char id[] = "sh4FD01OfhZ8p6LoUaGIHNcRj7jVhUiqPF2Eb8wYYGs=";
	struct ring_rec r, d;
	uint8_t buf[512];
	const char *logid;
	size_t n, loglen;

	rec_of(&r);
	n = nats_env_encode(buf, &r, id);
	ck_assert_uint_eq(n, nats_env_size(&r, strlen(id)));
	ck_assert_int_eq(nats_env_decode(buf, n, &d, &logid, &loglen), 0);
	ck_assert_uint_eq(loglen, strlen(id));
	ck_assert(memcmp(logid, id, loglen) == 0);
	for (int v = 0; v < RV_COUNT; v++) {
		ck_assert_uint_eq(d.json[v].iov_len, r.json[v].iov_len);
		ck_assert(memcmp(d.json[v].iov_base, r.json[v].iov_base,
		    r.json[v].iov_len) == 0);
	}
	ck_assert_uint_eq(d.facts.iov_len, 4);
	ck_assert(memcmp(d.facts.iov_base, "\x01\x02\x00\x03", 4) == 0);
	ck_assert_int_eq(d.seen_us, r.seen_us);
	ck_assert_uint_eq(d.index, r.index);
	ck_assert_uint_eq(d.flags, RING_F_PAIRED);
	/* the local slot does not travel: it means nothing elsewhere */
	ck_assert_uint_eq(d.log, RING_NO_LOG);
}
END_TEST

START_TEST(truncated_or_foreign_is_refused)
{
	struct ring_rec r, d;
	uint8_t buf[512];
	const char *logid;
	size_t n, loglen, cut;

	rec_of(&r);
	n = nats_env_encode(buf, &r, "https://log.example/");
	for (cut = 0; cut < n; cut++)
		ck_assert_int_eq(nats_env_decode(buf, cut, &d, &logid, &loglen),
		    -1);
	buf[n] = 'x';   /* a byte past the last part */
	ck_assert_int_eq(nats_env_decode(buf, n + 1, &d, &logid, &loglen), -1);
	buf[0] = '{';
	ck_assert_int_eq(nats_env_decode(buf, n, &d, &logid, &loglen), -1);
	/* a length that points past the end */
	nats_env_encode(buf, &r, "x");
	buf[24] = 0xff;
	ck_assert_int_eq(nats_env_decode(buf, n, &d, &logid, &loglen), -1);
}
END_TEST

Suite *nats_env_suite(void);

Suite *
nats_env_suite(void)
{
	Suite *s = suite_create("nats_env");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, record_round_trips);
	tcase_add_test(tc, truncated_or_foreign_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
