/*
 * Extensions for minted test certificates (x509_ext.h).
 */
#include "tests/tools/x509_ext.h"

#include <openssl/conf.h>
#include <openssl/x509v3.h>

int
x509_ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	CONF *conf = NCONF_new(NULL);   /* certificatePolicies wants a db */
	int ok;

	if (conf == NULL)
		return -1;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509V3_set_nconf(&ctx, conf);
	ext = X509V3_EXT_nconf_nid(conf, &ctx, nid, value);
	NCONF_free(conf);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

int
x509_ext_add_der(X509 *x, int nid, int critical, const unsigned char *der,
    int len)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int rc = -1;

	if (os == NULL || !ASN1_OCTET_STRING_set(os, der, len))
		goto done;
	ext = X509_EXTENSION_create_by_NID(NULL, nid, critical, os);
	if (ext == NULL || !X509_add_ext(x, ext, -1))
		goto done;
	rc = 0;
done:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	return rc;
}

int
x509_ext_add_poison(X509 *x)
{
	static const unsigned char der_null[] = { 0x05, 0x00 };

	return x509_ext_add_der(x, NID_ct_precert_poison, 1, der_null, 2);
}
