/*
 * TLS for the workers' clients (tls.cert, tls.key): one SSL_CTX per worker,
 * non-blocking handshakes, and reads/writes that look like read()/write()
 * to the client state machine.
 *
 * Writes: SSL_MODE_ENABLE_PARTIAL_WRITE with at most TLS_CHUNK bytes per
 * call makes every SSL_write() one TLS record. When the socket is full,
 * OpenSSL has already encrypted that record into its own buffer: the bytes
 * count as written, and the record is flushed later by tls_flush() (a retry
 * of the same length, as OpenSSL requires; with
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER the buffer itself may differ).
 * Helpers here never log: they fill err or set errno.
 */
#ifndef BROADCAST_TLS_H
#define BROADCAST_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#define TLS_CHUNK 16384         /* one TLS record of plaintext */

/* A server context from PEM files cert (chain) and key, checked to match.
 * NULL with err naming the file and OpenSSL's reason. */
SSL_CTX *tls_ctx_new(const char *cert, const char *key, char *err,
    size_t errlen);
void tls_ctx_free(SSL_CTX *ctx);

/* Handshake step. 1 done; 0 wants more (*want_write: wait for EV_WRITE
 * instead of EV_READ); -1 failed (*plain_http: the peer spoke HTTP). */
int tls_accept(SSL *ssl, int *want_write, int *plain_http);

/* Like read(2): bytes, 0 at EOF (close_notify or TCP FIN), -1 with errno
 * EAGAIN (wait) or ECONNRESET (broken). */
ssize_t tls_read(SSL *ssl, void *buf, size_t len);

/* Write len (<= TLS_CHUNK) bytes. Returns len; *pending is set when the
 * record still sits in OpenSSL's buffer (flush it with tls_flush() before
 * anything else is written). -1 with errno ECONNRESET: broken. */
ssize_t tls_write(SSL *ssl, const void *buf, size_t len, int *pending);

/* Flush the record of an earlier tls_write() that left *pending = len.
 * 1 flushed, 0 socket still full, -1 broken. */
int tls_flush(SSL *ssl, size_t len);

#endif
