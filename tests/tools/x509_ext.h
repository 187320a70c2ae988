/*
 * Extensions for the certificates the test tools mint (the fake log's
 * entries, mkfeed's feeds): one place for OpenSSL's extension calls.
 */
#ifndef TESTS_TOOLS_X509_EXT_H
#define TESTS_TOOLS_X509_EXT_H

#include <openssl/x509.h>

/* Extension nid with value in openssl.cnf syntax ("critical,CA:TRUE"),
 * issuer's key for the key identifiers. 0, or -1. */
int x509_ext_add(X509 *x, X509 *issuer, int nid, const char *value);

/* Extension nid holding der as its value. 0, or -1. */
int x509_ext_add_der(X509 *x, int nid, int critical, const unsigned char *der,
    int len);

/* The precertificate poison (RFC 6962 3.1): critical, ASN.1 NULL. */
int x509_ext_add_poison(X509 *x);

#endif
