/* Unit tests: broadcast/client.c's list and teardown. A closed client is freed by
 * the reaper after the callback that closed it, never at once, so code
 * still holding it (a caller up the stack, a loop over w->clients) reads
 * live memory; under ASan or valgrind a free at client_close() shows up
 * here as a use after free or a double free. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "broadcast/client.h"
#include "broadcast/client_priv.h"
#include "broadcast/worker_ctx.h"
#include "tests/unit/fixture.h"

static struct wctx *w;
static struct shm_seg seg;
static struct config *cfg;
static int peer;                /* the test's end of the client's socket */

static void
setup(void)
{
	w = fixture_wctx_new(&seg);
	cfg = w->cfg;
	w->base = event_base_new();
	ck_assert_ptr_nonnull(w->base);
	ck_assert_int_eq(client_reaper_init(w), 0);
	peer = -1;
}

static void
teardown(void)
{
	while (w->clients != NULL)
		client_close(w->clients);
	client_reaper_fini(w);
	event_base_free(w->base);
	if (peer != -1)
		close(peer);
	fixture_wctx_free(w, &seg);
}

/* A client on one end of a socket pair, the test on the other. */
static struct client *
open_client(void)
{
	struct sockaddr_in sin;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	ck_assert_int_eq(client_open(w, sv[0], (struct sockaddr *)&sin), 0);
	peer = sv[1];
	ck_assert_ptr_nonnull(w->clients_last);
	return w->clients_last;
}

/* Has the peer's end seen the client's socket closed? */
static int
peer_sees_close(void)
{
	char b[64];
	ssize_t n;

	while ((n = read(peer, b, sizeof(b))) > 0)
		;
	return n == 0;
}

START_TEST(closed_client_stays_readable_until_the_reaper)
{
	struct client *c = open_client();

	ck_assert_uint_eq(w->nconns, 1);
	client_close(c);
	ck_assert_ptr_null(w->clients);
	ck_assert_uint_eq(w->nconns, 0);
	/* Still c: what a caller that closed it reads next. */
	ck_assert_int_eq(c->closed, 1);
	ck_assert_ptr_eq(c->w, w);
	/* Every entry point does nothing on it; closing twice is harmless. */
	client_close(c);
	client_tick(c);
	client_deliver(c);
	client_ping(c);
	client_shutdown(c);
	ck_assert_int_eq(client_behind(c, 0), 0);
	ck_assert_uint_eq(w->nconns, 0);
	/* The socket goes with the memory, in the reaper. */
	ck_assert_int_eq(peer_sees_close(), 0);
	ck_assert_int_ne(event_base_loop(w->base, EVLOOP_NONBLOCK), -1);
	ck_assert_ptr_null(w->dead);
	ck_assert_int_eq(peer_sees_close(), 1);
}
END_TEST

START_TEST(client_closed_in_its_callback_is_freed_after_it)
{
	struct client *c = open_client();
	int i;

	(void)c;
	/* The peer hangs up before a request: client_cb reads EOF and closes
	 * the client from inside its own callback. */
	ck_assert_int_eq(shutdown(peer, SHUT_WR), 0);
	for (i = 0; i < 10 && (w->clients != NULL || w->dead != NULL); i++)
		ck_assert_int_ne(event_base_loop(w->base, EVLOOP_ONCE |
		    EVLOOP_NONBLOCK), -1);
	ck_assert_ptr_null(w->clients);
	ck_assert_ptr_null(w->dead);
	ck_assert_uint_eq(w->nconns, 0);
	ck_assert_int_eq(peer_sees_close(), 1);
}
END_TEST

START_TEST(loop_over_clients_goes_on_past_a_closed_one)
{
	struct client *a, *b, *n;
	int p1;

	a = open_client();
	p1 = peer;
	b = open_client();      /* the list is a, b */
	ck_assert_ptr_eq(client_next(a), b);
	/* A tick past the header timeout closes each in turn, the way
	 * the worker's tick walks w->clients; the walk reads b after b is
	 * closed. */
	w->now = b->since + (uint32_t)cfg->server.header_timeout_secs * 1000u;
	for (n = w->clients; n != NULL; n = client_next(n))
		client_tick(n);
	ck_assert_ptr_null(w->clients);
	ck_assert_int_eq(a->closed && b->closed, 1);
	ck_assert_int_ne(event_base_loop(w->base, EVLOOP_NONBLOCK), -1);
	ck_assert_ptr_null(w->dead);
	close(p1);
}
END_TEST

/* The pump serves clients in list order: a newcomer goes after every
 * client already there, whichever ones left meanwhile. */
START_TEST(newcomer_is_served_after_those_before_it)
{
	struct client *c[4], *n;
	int fds[4], i, k;

	for (i = 0; i < 3; i++) {
		c[i] = open_client();
		fds[i] = peer;
	}
	client_close(c[2]);     /* the newest leaves: a, b */
	ck_assert_ptr_eq(w->clients_last, c[1]);
	c[3] = open_client();   /* a, b, d */
	fds[3] = peer;
	client_close(c[0]);     /* the oldest leaves: b, d */
	ck_assert_ptr_eq(w->clients, c[1]);
	ck_assert_ptr_eq(client_next(c[1]), c[3]);
	ck_assert_ptr_null(client_next(c[3]));
	ck_assert_ptr_eq(w->clients_last, c[3]);
	for (k = 0, n = w->clients; n != NULL; n = client_next(n))
		k++;
	ck_assert_int_eq(k, 2);
	ck_assert_uint_eq(w->nconns, 2);
	client_close(c[3]);
	client_close(c[1]);
	ck_assert_ptr_null(w->clients);
	ck_assert_ptr_null(w->clients_last);
	ck_assert_int_ne(event_base_loop(w->base, EVLOOP_NONBLOCK), -1);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	peer = fds[3];          /* closed by teardown */
}
END_TEST

Suite *client_suite(void);

Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("teardown");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, closed_client_stays_readable_until_the_reaper);
	tcase_add_test(tc, client_closed_in_its_callback_is_freed_after_it);
	tcase_add_test(tc, loop_over_clients_goes_on_past_a_closed_one);
	tcase_add_test(tc, newcomer_is_served_after_those_before_it);
	suite_add_tcase(s, tc);
	return s;
}
