/*
 * OpenSSL glue for the workers. See tls.h for the write protocol.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "broadcast/tls.h"

static void
tls_err(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char why[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s", what, path, why);
}

SSL_CTX *
tls_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_err(err, errlen, "SSL_CTX_new", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No renegotiation: a write never needs a read. Unclean EOF is an
	 * ordinary close for a stream that only goes one way. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_err(err, errlen, "tls.cert", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, "tls.key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "tls.key does not match tls.cert:", key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

int
tls_accept(SSL *ssl, int *want_write, int *plain_http)
{
	int r, e;

	*want_write = 0;
	*plain_http = 0;
	ERR_clear_error();
	if ((r = SSL_accept(ssl)) == 1)
		return 1;
	e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	if (e == SSL_ERROR_WANT_WRITE) {
		*want_write = 1;
		return 0;
	}
	if (e == SSL_ERROR_SSL &&
	    ERR_GET_REASON(ERR_peek_error()) == SSL_R_HTTP_REQUEST)
		*plain_http = 1;
	ERR_clear_error();
	return -1;
}

ssize_t
tls_read(SSL *ssl, void *buf, size_t len)
{
	size_t n = 0;
	int e;

	ERR_clear_error();
	if (SSL_read_ex(ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	e = SSL_get_error(ssl, 0);
	ERR_clear_error();
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		errno = ECONNRESET;
		return -1;
	}
}

ssize_t
tls_write(SSL *ssl, const void *buf, size_t len, int *pending)
{
	size_t n = 0;
	int e;

	*pending = 0;
	ERR_clear_error();
	if (SSL_write_ex(ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	e = SSL_get_error(ssl, 0);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
		/* The record is built and buffered: it is ours to flush. */
		*pending = 1;
		return (ssize_t)len;
	}
	errno = ECONNRESET;
	return -1;
}

int
tls_flush(SSL *ssl, size_t len)
{
	static const unsigned char any[TLS_CHUNK];
	size_t n = 0;
	int e;

	/* OpenSSL sends the record it holds and never reads these bytes. */
	ERR_clear_error();
	if (SSL_write_ex(ssl, any, len, &n) == 1)
		return 1;
	e = SSL_get_error(ssl, 0);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
		return 0;
	errno = ECONNRESET;
	return -1;
}
