/*
 * Fuzz target: one certificate (DER) to certstream JSON. Invariants beyond
 * "no crash":
 * - what d2i_X509 refuses is refused (never half a message);
 * - a refusal leaves both output buffers exactly as they were;
 * - what renders is one strict, UTF-8-valid JSON object.
 */
#include <string.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "ingest/render/x509_json.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct x509j *x;
	struct x509j_buf b, d;
	uint8_t *der = malloc(size ? size : 1);
	const unsigned char *p;
	X509 *ref;
	char err[128];
	int rc;

	FUZZ_CHECK(der != NULL);
	if (x == NULL)
		FUZZ_CHECK((x = x509j_new()) != NULL);
	memcpy(der, data, size);
	x509j_buf_init(&b);
	x509j_buf_init(&d);
	x509j_puts(&b, "[");
	x509j_puts(&d, "{");
	rc = x509j_cert(x, der, size, X509J_LEAF | X509J_DER | X509J_CLOSE, &b, &d,
	    err, sizeof(err));
	p = der;
	ref = d2i_X509(NULL, &p, (long)size);
	if (ref == NULL || p != der + size)
		FUZZ_CHECK(rc == -1);
	X509_free(ref);
	ERR_clear_error();
	if (rc != 0) {
		FUZZ_CHECK(b.len == 1 && strcmp(b.p, "[") == 0);
		FUZZ_CHECK(d.len == 1 && strcmp(d.p, "{") == 0);
	} else {
		struct json_tokener *tok = json_tokener_new();
		json_object *o;

		FUZZ_CHECK(tok != NULL);
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
		o = json_tokener_parse_ex(tok, b.p + 1, (int)(b.len - 1));
		FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
		FUZZ_CHECK(json_tokener_get_parse_end(tok) == b.len - 1);
		json_object_put(o);
		json_tokener_free(tok);
	}
	x509j_buf_fini(&b);
	x509j_buf_fini(&d);
	free(der);
	return 0;
}
