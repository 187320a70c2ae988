/* Unit tests: common/log.c. Text a CT log supplies (a checkpoint's origin,
 * an error body) reaches log lines: it must not be able to forge a line or
 * drive a terminal. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* Log fmt/arg to a fresh file and return what was written (malloc'd). */
static char *
logged(const char *arg)
{
	char path[] = "/tmp/check_log.XXXXXX";
	char *buf;
	FILE *f;
	long n;
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_init(path, LOG_LVL_INFO, "ingest"), 0);
	log_warnx("log %s: checkpoint origin \"%s\" changed", "https://l.example/",
	    arg);
	log_init("stderr", LOG_LVL_INFO, "certstreamd");
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	buf = calloc(1, 65536);
	ck_assert_ptr_nonnull(buf);
	n = (long)fread(buf, 1, 65535, f);
	fclose(f);
	unlink(path);
	ck_assert_int_gt(n, 0);
	return buf;
}

/* A newline, CR, ESC, a tab and the other controls, DEL and bytes that are not
 * UTF-8 are written as \xNN: the message stays one line and no terminal
 * sequence gets through; well-formed UTF-8 is kept as it is. */
START_TEST(log_supplied_controls_are_escaped)
{
	char *out = logged("evil\n2025-01-01T00:00:00.000Z [1] error master: "
	    "forged\r\x1b[31mred\t\x07\x7f\xff\xc3\x28 caf\xc3\xa9 \xc2\x9b");
	char *nl = strchr(out, '\n');

	ck_assert_ptr_nonnull(nl);
	ck_assert_msg(nl[1] == '\0', "more than one line: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "evil\\x0a2025-01-01T"));
	ck_assert_ptr_nonnull(strstr(out, "forged\\x0d\\x1b[31mred\\x09\\x07\\x7f"
	    "\\xff\\xc3( caf\xc3\xa9 \\xc2\\x9b\"" " changed\n"));
	free(out);
}
END_TEST

/* Plain text is written as it was given. */
START_TEST(log_plain_text_unchanged)
{
	char *out = logged("ct.example.org/2025h1 ok");

	ck_assert_ptr_nonnull(strstr(out, " warn ingest: log https://l.example/: "
	    "checkpoint origin \"ct.example.org/2025h1 ok\" changed\n"));
	free(out);
}
END_TEST

Suite *log_suite(void);

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, log_supplied_controls_are_escaped);
	tcase_add_test(tc, log_plain_text_unchanged);
	suite_add_tcase(s, tc);
	return s;
}
