/* The message forms a certificate is rendered to (FORMAT.md): named by the
 * render library, the ring and the workers alike, so none depends on another. */
#ifndef COMMON_FORMS_H
#define COMMON_FORMS_H

/* Record variants, in the order they lie in a ring record's data area. */
enum ring_variant { RV_LITE = 0, RV_FULL = 1, RV_DOMAINS = 2, RV_COUNT = 3 };

#endif
